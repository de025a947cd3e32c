"""base_image_layer: base image content descriptions merged into one layer."""

load("//img/private/common:build.bzl", "TOOLCHAINS", "img_full_tool")
load("//img/private/common:compression.bzl", "COMPRESSION_ATTRS", "compression", "layer_name")
load("//img/private/common:layer_action.bzl", "write_layer")
load("//img/private/providers:base_image_content_info.bzl", "BaseImageContentInfo")
load("//img/private/providers:layer_info.bzl", "LayerInfo")

_ATTRS = {
    "srcs": attr.label_list(
        providers = [BaseImageContentInfo],
        doc = """Content rules (`linux_skeleton`, `etc_passwd`, `trust_store`, ...) to
merge, in order: for a path that several describe, the last one wins.""",
    ),
    "compress": attr.string(
        default = "auto",
        values = ["auto", "gzip", "zstd", "none"],
        doc = "Compression of the blob. `auto`: `//img/settings:compress`.",
    ),
    "default_metadata": attr.string(
        doc = """`file_metadata()` JSON (`@rules_img//img:layer.bzl`) of which only `mtime`
applies, to every entry (default: the Unix epoch). Modes and owners are the
content rules' to decide.""",
    ),
    "file_metadata": attr.string_dict(
        doc = """Path in the image -> `file_metadata()` JSON that replaces the fields it
sets on that entry. Every path must be an entry of the layer, or the
action fails.""",
    ),
} | COMPRESSION_ATTRS

def _base_image_layer_impl(ctx):
    fmt = compression.resolve(ctx, ctx.attr.compress, ctx.attr.estargz)

    # Preorder keeps the srcs order, which decides which description wins.
    fragments = depset(order = "preorder", transitive = [s[BaseImageContentInfo].metadata for s in ctx.attr.srcs])
    referenced = depset(transitive = [s[BaseImageContentInfo].files for s in ctx.attr.srcs])

    merged = ctx.actions.declare_file(ctx.label.name + "_base.tar")
    args = ctx.actions.args()
    args.add("base")
    args.add("merge")
    args.add("--name", layer_name(ctx.label))
    if ctx.attr.default_metadata:
        args.add("--default-metadata", ctx.attr.default_metadata)
    listing = ctx.actions.args()
    listing.set_param_file_format("multiline")
    listing.use_param_file("--fragments-from-file=%s", use_always = True)
    listing.add_all(fragments)
    ctx.actions.run(
        executable = img_full_tool(ctx),
        arguments = [args, listing, merged.path],
        inputs = depset(transitive = [fragments, referenced]),
        outputs = [merged],
        mnemonic = "BaseImageMerge",
        progress_message = "Merging base image content of %{label}",
    )

    entries = ctx.actions.args()
    for path, md in ctx.attr.file_metadata.items():
        parts = path.strip("/").split("/")
        if path.strip("/") == "" or ".." in parts:
            fail("{}: file_metadata key {} is not a path inside the image".format(ctx.label, repr(path)))
        entries.add("--file-metadata", "{}={}".format(path.strip("/"), md))
    entries.add("--import-tar", merged)

    # The merged tar already holds every parent directory.
    dirs = struct(parents = False, trees = "full")
    info = write_layer(ctx, basename = ctx.label.name, fmt = fmt, dirs = dirs, entry_args = [entries], inputs = [depset([merged])])
    return [
        DefaultInfo(files = depset([info.blob])),
        OutputGroupInfo(layer = depset([info.blob]), metadata = depset([info.metadata]), mtree = depset([info.mtree]), tar = depset([merged])),
        info,
    ]

base_image_layer = rule(
    implementation = _base_image_layer_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [LayerInfo],
    doc = """One layer from base image content descriptions: a distroless-style base
built from nothing, without pulling.

The content rules only describe (`BaseImageContentInfo`); this rule merges
their descriptions in `srcs` order into one uncompressed tar (action
`BaseImageMerge`), which the layer action of `image_layer` (`LayerTar`)
writes as the blob, with the same compression and eStargz settings and
the same metadata JSON. For a path described twice the last description
wins; two descriptions of different types (a directory and a symlink), or
an entry below a path that another makes a file or symlink (e.g. a library
under `/lib` when the skeleton made `/lib` a symlink), fail the build
naming both rules. Every parent directory that no rule describes is added
(root, 0755; 1777 for `/tmp`, `/var/tmp`, `/dev/shm`, `/run/lock`).

Entries are sorted by path, have mtime 0 (see `default_metadata`) and no
host metadata: equal inputs give the same digest on every machine.

Output groups: `layer` (the blob), `metadata` (its JSON), `mtree` (the
file listing of the layer, as for `image_layer`), `tar` (the merged,
uncompressed tar).

```starlark
load(
    "@rules_img//img:base_images.bzl",
    "base_image_layer",
    "etc_passwd",
    "linux_skeleton",
    "passwd_entry",
    "trust_store",
)
load("@rules_img//img:image.bzl", "image_manifest")

linux_skeleton(name = "skeleton")

etc_passwd(
    name = "users",
    users = [passwd_entry(username = "app", uid = 1000, gid = 1000, home = "/home/app")],
)

trust_store(
    name = "trust",
    certs = ["//pki:corporate-root.pem"],
)

base_image_layer(
    name = "base_layer",
    srcs = [":skeleton", ":users", ":trust"],
)

image_manifest(
    name = "base",
    layers = [":base_layer"],
    user = "app",
)
```""",
)
