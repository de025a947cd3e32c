"""image_layer: one action writes a layer blob and its metadata."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//img/private/common:build.bzl", "TOOLCHAINS", "img_tool")
load("//img/private/common:compression.bzl", "COMPRESSION_ATTRS", "compression", "layer_name")
load("//img/private/providers:layer_info.bzl", "LayerInfo")

_ATTRS = {
    "srcs": attr.string_keyed_label_dict(
        allow_files = True,
        doc = """Path in the image -> files. A file lands at that path; a target with
several files puts each under the path by basename; a directory (tree
artifact) is copied below the path. An executable target is added with its
runfiles under `<path>.runfiles/`.""",
    ),
    "symlinks": attr.string_dict(
        doc = "Path in the image -> symlink target (kept as written, absolute or relative).",
    ),
    "compress": attr.string(
        default = "auto",
        values = ["auto", "gzip", "zstd", "none"],
        doc = "Compression of the blob. `auto`: `//img/settings:compress`.",
    ),
    "default_metadata": attr.string(
        doc = "Tar header defaults for every entry, from `file_metadata()`. Directories keep their mode.",
    ),
    "file_metadata": attr.string_dict(
        doc = """Path in the image -> tar header overrides from `file_metadata()`. Every path
must match an entry of the layer, or the action fails.""",
    ),
    "create_parent_directories": attr.string(
        default = "auto",
        values = ["auto", "enabled", "disabled"],
        doc = """`enabled`: the layer also holds a directory entry (mode 0755, owner 0:0,
mtime 0) for every parent directory of its entries that it does not list
itself, written once, before the first entry below it; never for `/`.
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
} | COMPRESSION_ATTRS

def _check_path(ctx, attr_name, path):
    parts = path.strip("/").split("/")
    if path.strip("/") == "" or ".." in parts:
        fail("{}: {} key {} is not a path inside the image".format(ctx.label, attr_name, repr(path)))

def _runfiles_path(workspace_name, f):
    """Path of f below a runfiles root: <repo>/<path>."""
    if f.short_path.startswith("../"):
        return f.short_path[3:]
    return workspace_name + "/" + f.short_path

def _typed(f):
    return ("d" if f.is_directory else "f") + f.path

def _tree_options(ctx):
    """The directory choices of the layer action, `auto` resolved.

    Args:
        ctx: image_layer's rule context.

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

def _emit_layer(ctx, fmt, dirs):
    out = ctx.actions.declare_file(ctx.label.name + compression.extension(fmt.format))
    metadata = ctx.actions.declare_file(ctx.label.name + "_metadata.json")
    args = ctx.actions.args()
    args.add("layer")
    args.add("--name", layer_name(ctx.label))
    args.add("--format", fmt.format)
    args.add("--metadata", metadata)
    if fmt.estargz:
        args.add("--estargz")
    args.add_all(compression.tuning_args(ctx, fmt.format))
    if dirs.parents:
        args.add("--create-parent-directories")
    args.add("--layer-tree-artifact-handling", dirs.trees)
    for k, v in ctx.attr.annotations.items():
        args.add("--annotation", "{}={}".format(k, v))
    if ctx.attr.default_metadata:
        args.add("--default-metadata", ctx.attr.default_metadata)
    for path, md in ctx.attr.file_metadata.items():
        _check_path(ctx, "file_metadata", path)
        args.add("--file-metadata", "{}={}".format(path.strip("/"), md))

    files = ctx.actions.args()
    files.set_param_file_format("multiline")
    files.use_param_file("--add-from-file=%s", use_always = True)
    inputs = []
    extra = []
    ws = ctx.workspace_name
    for path, target in ctx.attr.srcs.items():
        _check_path(ctx, "srcs", path)
        path = path.strip("/")
        info = target[DefaultInfo]
        exe = info.files_to_run.executable if info.files_to_run else None
        if exe and not exe.is_source:
            runfiles = info.default_runfiles
            rf = ctx.actions.args()
            rf.set_param_file_format("multiline")
            rf.use_param_file("--runfiles=" + exe.path + "=%s", use_always = True)
            rf.add_all(runfiles.files, map_each = lambda f: _runfiles_path(ws, f) + "\0" + _typed(f), expand_directories = False, allow_closure = True)
            rf.add_all(runfiles.symlinks, map_each = lambda s: ws + "/" + s.path + "\0" + _typed(s.target_file), allow_closure = True)
            rf.add_all(runfiles.root_symlinks, map_each = lambda s: s.path + "\0" + _typed(s.target_file), allow_closure = True)
            repo_mapping = getattr(info.files_to_run, "repo_mapping_manifest", None)
            if repo_mapping:
                # Runfiles libraries resolve apparent repository names with it.
                rf.add("_repo_mapping\0" + _typed(repo_mapping))
            extra.append(rf)
            args.add("--executable", "{}={}".format(path, exe.path))
            inputs.append(depset([exe] + ([repo_mapping] if repo_mapping else []), transitive = [runfiles.files]))
            inputs.extend([depset([s.target_file for s in runfiles.symlinks.to_list() + runfiles.root_symlinks.to_list()])])
            continue
        if not info.files.to_list():
            fail("{}: srcs[{}] = {} provides no files".format(ctx.label, repr(path), target.label))
        files.add_all(info.files, map_each = _typed, format_each = path.replace("%", "%%") + "\0%s", expand_directories = False)
        inputs.append(info.files)

    if ctx.attr.symlinks:
        links = ctx.actions.args()
        links.set_param_file_format("multiline")
        links.use_param_file("--symlinks-from-file=%s", use_always = True)
        for path, target in ctx.attr.symlinks.items():
            _check_path(ctx, "symlinks", path)
            if not target:
                fail("{}: symlinks[{}] has an empty target".format(ctx.label, repr(path)))
            links.add(path.strip("/") + "\0" + target)
        extra.append(links)

    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args] + extra + [files, out.path],
        inputs = depset(transitive = inputs),
        outputs = [out, metadata],
        mnemonic = "LayerTar",
        progress_message = "Writing layer %{label}",
    )
    return LayerInfo(blob = out, metadata = metadata, media_type = compression.media_type(fmt.format), estargz = fmt.estargz)

def _image_layer_impl(ctx):
    fmt = compression.resolve(ctx, ctx.attr.compress, ctx.attr.estargz)
    info = _emit_layer(ctx, fmt, _tree_options(ctx))
    return [
        DefaultInfo(files = depset([info.blob])),
        OutputGroupInfo(layer = depset([info.blob]), metadata = depset([info.metadata])),
        info,
    ]

image_layer = rule(
    implementation = _image_layer_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [LayerInfo],
    doc = """A layer from files, directories, executables and symlinks.

One action writes the blob and its metadata JSON (digest, diff_id, size,
media type) together, reading every input once. Files with equal content and
equal header fields are stored once and hardlinked; headers are reproducible.
Later rules read only the metadata.

```starlark
load("@rules_img//img:layer.bzl", "file_metadata", "image_layer")

image_layer(
    name = "app",
    srcs = {
        "/app/bin/server": "//cmd/server",   # plus /app/bin/server.runfiles/
        "/app/config.json": ":config.json",
        "/usr/share/app": ":static_tree",    # a directory output
    },
    symlinks = {"/usr/bin/server": "/app/bin/server"},
    default_metadata = file_metadata(uid = 1000, gid = 1000),
    file_metadata = {"/app/config.json": file_metadata(mode = "0600")},
)
```""",
)
