"""The layer action shared by the layer rules: one action, blob and metadata."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//img/private/common:build.bzl", "img_tool")
load("//img/private/common:compression.bzl", "compression", "layer_name")
load("//img/private/providers:layer_info.bzl", "LayerInfo")

# Directory handling of the layer rules that take files, with the hidden
# settings behind `auto`.
LAYER_DIRECTORY_ATTRS = {
    "create_parent_directories": attr.string(
        default = "auto",
        values = ["auto", "enabled", "disabled"],
        doc = """`enabled`: the layer also holds a directory entry (owner 0:0, mtime 0) for
every parent directory of its entries that it does not list itself,
written once, before the first entry below it; never for `/`. The mode is
0755, except for the world-writable directories `/tmp`, `/var/tmp`,
`/dev/shm` and `/run/lock`, which get 1777 so that a layer never narrows
them in a base image.
Layer-wide `default_metadata` does not apply to them; a `file_metadata`
entry for such a directory does. `disabled`: only the listed entries, so
the directories of lower layers keep their modes and owners. `auto`:
`//img/settings:create_parent_directories`.""",
    ),
    "tree_artifact_handling": attr.string(
        default = "auto",
        values = ["auto", "full", "deduplicate_symlink"],
        doc = """A directory output (tree artifact) at more than one path of the layer, for
example in `srcs` and in the runfiles of an executable. `full`: written in
full at every path (its files are stored once, the others hardlinked).
`deduplicate_symlink`: written in full at the first path; each later path
is a relative symlink to it. `auto`:
`//img/settings:layer_tree_artifact_handling`.""",
    ),
    "_default_create_parent_directories": attr.label(
        default = "//img/settings:create_parent_directories",
        providers = [BuildSettingInfo],
        doc = "The setting behind `create_parent_directories = \"auto\"`.",
    ),
    "_default_tree_artifact_handling": attr.label(
        default = "//img/settings:layer_tree_artifact_handling",
        providers = [BuildSettingInfo],
        doc = "The setting behind `tree_artifact_handling = \"auto\"`.",
    ),
}

def runfiles_path(workspace_name, f):
    """Path of a runfile below a runfiles root: `<repo>/<path>`.

    Args:
        workspace_name: the main repository's directory name (ctx.workspace_name).
        f: a File.

    Returns:
        The path as runfiles libraries look it up.
    """
    if f.short_path.startswith("../"):
        return f.short_path[3:]
    return workspace_name + "/" + f.short_path

def typed_source(f):
    """A layer parameter-file source: `f` or `d` (a directory output), then the path.

    Args:
        f: a File.

    Returns:
        The string after the NUL of an `--add-from-file` line.
    """
    return ("d" if f.is_directory else "f") + f.path

def add_runfiles(args, workspace_name, runfiles, *, prefix = "", repos = None, links = True, empty = None):
    """Adds a binary's runfiles to `args` as `<prefix><repo>/<path>\\0<f|d><file>` lines.

    The order is files, symlinks, root symlinks, empty files.

    Args:
        args: an Args object (in multiline param-file format).
        workspace_name: the main repository's directory name.
        runfiles: the binary's runfiles.
        prefix: prepended to every runfiles path, e.g. `app/bin/server.runfiles/`.
        repos: dict of repository directory names whose files to add; None: all.
        links: whether to add the symlinks and root symlinks (as copies of
            their targets).
        empty: the empty File that stands for `runfiles.empty_filenames`
            (e.g. Python's `__init__.py`); None leaves them out.
    """

    def file_entry(f):
        rel = runfiles_path(workspace_name, f)
        if repos != None and rel.split("/", 1)[0] not in repos:
            return None
        return prefix + rel + "\0" + typed_source(f)

    args.add_all(runfiles.files, map_each = file_entry, expand_directories = False, uniquify = True, allow_closure = True)
    if links:
        args.add_all(runfiles.symlinks, map_each = lambda s: prefix + workspace_name + "/" + s.path + "\0" + typed_source(s.target_file), allow_closure = True)
        args.add_all(runfiles.root_symlinks, map_each = lambda s: prefix + s.path + "\0" + typed_source(s.target_file), allow_closure = True)
    if empty:
        args.add_all(runfiles.empty_filenames, map_each = lambda n: prefix + (n[3:] if n.startswith("../") else workspace_name + "/" + n) + "\0" + typed_source(empty), allow_closure = True)

def runfiles_inputs(runfiles):
    """The files that add_runfiles reads: runfiles and the symlinks' targets.

    Args:
        runfiles: a runfiles object.

    Returns:
        A depset of Files.
    """
    if not runfiles.symlinks and not runfiles.root_symlinks:
        # The usual case: no symlinks, nothing to flatten.
        return runfiles.files

    # Symlinks are few (rules declare them one by one); only their targets
    # are listed here, never the runfiles' files.
    targets = [s.target_file for s in runfiles.symlinks.to_list() + runfiles.root_symlinks.to_list()]
    return depset(targets, transitive = [runfiles.files])

def directory_options(ctx):
    """The directory choices of a layer action, `auto` resolved.

    Args:
        ctx: rule context with LAYER_DIRECTORY_ATTRS.

    Returns:
        struct(parents, trees): parents a bool, trees "full" or
        "deduplicate_symlink".
    """
    parents = ctx.attr.create_parent_directories
    if parents == "auto":
        parents = ctx.attr._default_create_parent_directories[BuildSettingInfo].value
    trees = ctx.attr.tree_artifact_handling
    if trees == "auto":
        trees = ctx.attr._default_tree_artifact_handling[BuildSettingInfo].value
    if parents not in ["enabled", "disabled"]:
        fail("{}: //img/settings:create_parent_directories must be enabled or disabled, not {}".format(ctx.label, repr(parents)))
    if trees not in ["full", "deduplicate_symlink"]:
        fail("{}: //img/settings:layer_tree_artifact_handling must be full or deduplicate_symlink, not {}".format(ctx.label, repr(trees)))
    return struct(parents = parents == "enabled", trees = trees)

def write_layer(ctx, *, basename, fmt, dirs, entry_args, inputs, name = None):
    """Declares the blob and metadata of one layer and the action writing both.

    Args:
        ctx: rule context with COMPRESSION_ATTRS and `annotations`.
        basename: file name stem of the outputs (the blob gets the extension).
        fmt: struct(format, estargz) from compression.resolve.
        dirs: struct(parents, trees) from directory_options.
        entry_args: list of Args (or strings) naming what goes into the layer.
        inputs: list of depsets of the files those arguments read.
        name: the name recorded in the metadata; default the target's label.

    Returns:
        LayerInfo of the new layer (with its file listing `<basename>.mtree`).
    """
    out = ctx.actions.declare_file(basename + compression.extension(fmt.format))
    metadata = ctx.actions.declare_file(basename + "_metadata.json")
    mtree = ctx.actions.declare_file(basename + ".mtree")
    args = ctx.actions.args()
    args.add("layer")
    args.add("--name", name or layer_name(ctx.label))
    args.add("--format", fmt.format)
    args.add("--metadata", metadata)
    args.add("--mtree", mtree)
    if fmt.estargz:
        args.add("--estargz")
    args.add_all(compression.tuning_args(ctx, fmt.format))
    if dirs.parents:
        args.add("--create-parent-directories")
    args.add("--layer-tree-artifact-handling", dirs.trees)
    for k, v in ctx.attr.annotations.items():
        args.add("--annotation", "{}={}".format(k, v))
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args] + entry_args + [out.path],
        inputs = depset(transitive = inputs),
        outputs = [out, metadata, mtree],
        mnemonic = "LayerTar",
        progress_message = "Writing layer %{label}" + ("" if name == None else " ({})".format(name)),
    )
    return LayerInfo(blob = out, metadata = metadata, media_type = compression.media_type(fmt.format), estargz = fmt.estargz, mtree = mtree)
