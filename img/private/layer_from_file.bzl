"""layer_from_file: a file that already is a layer blob, used as it is."""

load("//img/private/common:build.bzl", "TOOLCHAINS", "img_tool")
load("//img/private/common:compression.bzl", "compression", "layer_name")
load("//img/private/common:media_types.bzl", "LAYER_TYPES", "UNCOMPRESSED_LAYER")
load("//img/private/providers:layer_info.bzl", "LayerInfo")

_ATTRS = {
    "src": attr.label(
        mandatory = True,
        allow_single_file = True,
        doc = "The layer blob: a tar stream, plain, gzip or zstd, under any file name.",
    ),
    "media_type": attr.string(
        default = UNCOMPRESSED_LAYER,
        doc = """Media type of the layer descriptor: one of `LAYER_TYPES` in
`@rules_img//img:media_types.bzl` (OCI, non-distributable or Docker tar
layers). Its compression must be the blob's: `GZIP_LAYER` for a gzip stream,
`ZSTD_LAYER` for zstd, `UNCOMPRESSED_LAYER` for a plain tar. An empty string
means `UNCOMPRESSED_LAYER`.""",
    ),
    "annotations": attr.string_dict(
        doc = "Annotations of the layer descriptor in the manifest. They win over `base_name_annotations`.",
    ),
    "base_name_annotations": attr.string_list(
        doc = "Annotation keys whose value is the base name of `src`, e.g. `org.opencontainers.image.title`.",
    ),
    "diff_id": attr.bool(
        default = False,
        doc = """Read the blob as a (possibly compressed) tar to compute its diff_id.
rules_img always does: every image config lists the diff_id of each layer,
and `media_type` is always a tar layer type. The attribute is accepted so
that BUILD files that set it keep working.""",
    ),
    "diff_id_annotations": attr.string_list(
        doc = "Annotation keys whose value is the diff_id (`sha256:...` of the uncompressed tar).",
    ),
}

def _layer_from_file_impl(ctx):
    media_type = ctx.attr.media_type or UNCOMPRESSED_LAYER
    if media_type not in LAYER_TYPES:
        fail("{}: media_type {} is not a tar layer media type; rules_img images hold filesystem layers only, want one of {}".format(
            ctx.label,
            repr(media_type),
            ", ".join(LAYER_TYPES),
        ))
    annotations = {k: ctx.file.src.basename for k in ctx.attr.base_name_annotations}
    annotations.update(ctx.attr.annotations)
    for key in ctx.attr.diff_id_annotations:
        if not key:
            fail("{}: diff_id_annotations holds an empty key".format(ctx.label))
        if key in annotations:
            fail("{}: annotation {} is set by diff_id_annotations and by annotations or base_name_annotations".format(ctx.label, repr(key)))

    src = ctx.file.src
    metadata = ctx.actions.declare_file(ctx.label.name + "_metadata.json")
    mtree = ctx.actions.declare_file(ctx.label.name + ".mtree")
    args = ctx.actions.args()
    args.add("layer-metadata")
    args.add("--name", layer_name(ctx.label))
    args.add("--media-type", media_type)
    for k, v in annotations.items():
        args.add("--annotation", "{}={}".format(k, v))
    args.add_all(ctx.attr.diff_id_annotations, before_each = "--diff-id-annotation")
    args.add("--mtree", mtree)
    args.add(src)
    args.add(metadata)
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args],
        inputs = [src],
        outputs = [metadata, mtree],
        mnemonic = "LayerMetadata",
        progress_message = "Describing layer %{label} from " + src.short_path,
    )

    # Rules that take layers or tar files (image_manifest) accept a target
    # whose files include a tar by extension; another name gets a symlink.
    blob = src
    if not [ext for ext in compression.tar_extensions if src.basename.endswith(ext)]:
        blob = ctx.actions.declare_file(ctx.label.name + compression.extension(compression.of_media_type(media_type)))
        ctx.actions.symlink(output = blob, target_file = src)
    info = LayerInfo(blob = blob, metadata = metadata, media_type = media_type, estargz = False, mtree = mtree)
    return [
        DefaultInfo(files = depset([blob, metadata])),
        OutputGroupInfo(layer = depset([blob]), metadata = depset([metadata]), mtree = depset([mtree])),
        info,
    ]

layer_from_file = rule(
    implementation = _layer_from_file_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [LayerInfo],
    doc = """A layer whose blob is a given file, byte for byte.

The file is never rewritten: one action reads it once and writes the layer
metadata (digest and size of the file, diff_id of the uncompressed tar,
`media_type`, annotations). When the file name does not end in a tar
extension, the layer blob is a symlink to it named after the target and
the compression (`<name>.tar`, `<name>.tgz` or `<name>.tar.zst`), so that
`image_manifest` and other rules that take tar files accept the target. Use it for a prebuilt layer blob with a media
type of its own, for example a Docker `rootfs.diff.tar.gzip` or a
non-distributable layer, or a tar whose file name does not say its
compression. `layer_from_tar` does the same for `.tar`, `.tar.gz` and
`.tar.zst` files and can also recompress or optimize them.

The blob must be a tar stream: it is read under the same policy as by
`layer_from_tar`, and the action fails, naming the target, when it is not a
tar, when it is corrupt, or when its compression is not the one that
`media_type` names. Blobs that are not tar streams (artifacts such as Helm
charts or WASM modules with their own media types) are refused: an image of
rules_img is a filesystem image whose config lists the diff_id of every
layer, and such a blob has none.

```starlark
load("@rules_img//img:layer.bzl", "layer_from_file")
load("@rules_img//img:media_types.bzl", "DOCKER_GZIP_LAYER")

layer_from_file(
    name = "vendor",
    src = "//third_party:vendor.layer",
    media_type = DOCKER_GZIP_LAYER,
    base_name_annotations = ["org.opencontainers.image.title"],
    diff_id_annotations = ["org.example.diff_id"],
)
```""",
)
