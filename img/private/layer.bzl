"""image_layer: one action writes a layer blob and its metadata."""

load("//img/private/common:build.bzl", "TOOLCHAINS")
load("//img/private/common:compression.bzl", "COMPRESSION_ATTRS", "compression")
load("//img/private/common:layer_action.bzl", "LAYER_DIRECTORY_ATTRS", "add_runfiles", "directory_options", "runfiles_inputs", "typed_source", "write_layer")
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
} | COMPRESSION_ATTRS | LAYER_DIRECTORY_ATTRS

def _check_path(ctx, attr_name, path):
    parts = path.strip("/").split("/")
    if path.strip("/") == "" or ".." in parts:
        fail("{}: {} key {} is not a path inside the image".format(ctx.label, attr_name, repr(path)))

def _emit_layer(ctx, fmt, dirs):
    args = ctx.actions.args()
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
    empty_file = []  # the one empty input, declared when first needed
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
            empty = None
            if runfiles.empty_filenames:
                # Files Bazel creates empty in runfiles trees (Python's
                # __init__.py), all from one empty input.
                if not empty_file:
                    empty_file.append(ctx.actions.declare_file(ctx.label.name + "_empty_file"))
                    ctx.actions.write(empty_file[0], "")
                empty = empty_file[0]
                inputs.append(depset([empty]))
            add_runfiles(rf, ws, runfiles, empty = empty)
            repo_mapping = getattr(info.files_to_run, "repo_mapping_manifest", None)
            if repo_mapping:
                # Runfiles libraries resolve apparent repository names with it.
                rf.add("_repo_mapping\0" + typed_source(repo_mapping))
            extra.append(rf)
            args.add("--executable", "{}={}".format(path, exe.path))
            inputs.append(depset([exe] + ([repo_mapping] if repo_mapping else []), transitive = [runfiles_inputs(runfiles)]))
            continue
        if not info.files:  # a depset is true when non-empty; no flattening
            fail("{}: srcs[{}] = {} provides no files".format(ctx.label, repr(path), target.label))
        files.add_all(info.files, map_each = typed_source, format_each = path.replace("%", "%%") + "\0%s", expand_directories = False)
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

    return write_layer(ctx, basename = ctx.label.name, fmt = fmt, dirs = dirs, entry_args = [args] + extra + [files], inputs = inputs)

def _image_layer_impl(ctx):
    fmt = compression.resolve(ctx, ctx.attr.compress, ctx.attr.estargz)
    info = _emit_layer(ctx, fmt, directory_options(ctx))
    return [
        DefaultInfo(files = depset([info.blob])),
        OutputGroupInfo(layer = depset([info.blob]), metadata = depset([info.metadata]), mtree = depset([info.mtree])),
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
