"""image_optimize: every layer of an image rewritten to one format, e.g. eStargz."""

load("//img/private/common:build.bzl", "TOOLCHAINS", "img_tool")
load("//img/private/common:compression.bzl", "COMPRESSION_ATTRS", "compression", "layer_name")
load("//img/private/common:image_outputs.bzl", "IMAGE_OUTPUT_ATTRS", "image_output_groups")
load("//img/private/common:media_types.bzl", "LAYER_TYPES")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:layer_info.bzl", "LayerInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")

_ATTRS = {
    "image": attr.label(
        mandatory = True,
        providers = [[ImageManifestInfo], [ImageIndexInfo]],
        doc = """The image (ImageManifestInfo, e.g. an `image_manifest`) or index
(ImageIndexInfo) whose layers are rewritten. Every layer blob must be
available: a base layer of a shallow pull (never downloaded) fails the
build, naming it.""",
    ),
    "compress": attr.string(
        default = "auto",
        values = ["auto", "gzip", "zstd", "none"],
        doc = "Compression of every rewritten layer. `auto`: `//img/settings:compress`.",
    ),
} | {k: v for k, v in COMPRESSION_ATTRS.items() if k != "annotations"} | IMAGE_OUTPUT_ATTRS

def _where(ctx, manifest_index, layer_index):
    where = "layer {}".format(layer_index)
    if manifest_index != None:
        where = "manifest {}, {}".format(manifest_index, where)
    return "{} of {}".format(where, layer_name(ctx.attr.image.label))

def _optimize_layer(ctx, fmt, layer, prefix, where):
    """One action: the layer's tar in the target format, and its metadata."""
    if layer.blob == None:
        fail("""{}: {} ({}) has no blob: it is a base layer of a shallow pull that was never downloaded, and image_optimize rewrites layer bytes.
Pull the base image with its layers (pull with layer_handling = "eager" or "lazy"), or optimize an image without it.""".format(
            layer_name(ctx.label),
            where,
            layer.metadata.short_path,
        ))
    if layer.media_type not in LAYER_TYPES:
        fail("{}: {} has media type {}, which is not a tar layer; only tar layers are rewritten".format(layer_name(ctx.label), where, repr(layer.media_type)))
    blob = ctx.actions.declare_file(prefix + compression.extension(fmt.format))
    metadata = ctx.actions.declare_file(prefix + "_metadata.json")
    mtree = ctx.actions.declare_file(prefix + ".mtree")
    args = ctx.actions.args()
    args.add("compress")
    args.add("--name", "{} {}".format(layer_name(ctx.label), where))
    args.add("--metadata", metadata)
    args.add("--mtree", mtree)
    args.add("--format", fmt.format)
    if fmt.estargz:
        args.add("--estargz")
    args.add_all(compression.tuning_args(ctx, fmt.format))
    args.add(layer.blob)
    args.add(blob)
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args],
        inputs = [layer.blob],
        outputs = [blob, metadata, mtree],
        mnemonic = "ImageOptimizeLayer",
        progress_message = "Rewriting %{label}: " + where,
    )
    return LayerInfo(blob = blob, metadata = metadata, media_type = compression.media_type(fmt.format), estargz = fmt.estargz, mtree = mtree)

def _optimize_manifest(ctx, fmt, src, manifest_index = None):
    """The image src with every layer rewritten: one action per layer, then the manifest."""
    prefix = ctx.label.name
    if manifest_index != None:
        prefix += "_manifest_{}".format(manifest_index)
    layers = [
        _optimize_layer(ctx, fmt, layer, "{}_layer_{}".format(prefix, i), _where(ctx, manifest_index, i))
        for i, layer in enumerate(src.layers)
    ]
    manifest = ctx.actions.declare_file(prefix + "_manifest.json")
    config = ctx.actions.declare_file(prefix + "_config.json")
    descriptor = ctx.actions.declare_file(prefix + "_descriptor.json")
    digest = ctx.actions.declare_file(prefix + "_digest")
    args = ctx.actions.args()
    args.add("manifest")
    args.add("--replace-layers")
    args.add("--name", layer_name(ctx.label))
    args.add("--os", src.os)
    args.add("--architecture", src.architecture)
    if src.platform.get("variant"):
        args.add("--variant", src.platform["variant"])
    args.add("--base-manifest", src.manifest)
    args.add("--base-config", src.config)
    args.add_all([layer.metadata for layer in layers], before_each = "--layer-from-metadata")
    args.add("--manifest", manifest)
    args.add("--config", config)
    args.add("--descriptor", descriptor)
    args.add("--digest", digest)
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args],
        inputs = [src.manifest, src.config] + [layer.metadata for layer in layers],
        outputs = [manifest, config, descriptor, digest],
        mnemonic = "ImageOptimizeManifest",
        progress_message = "Writing optimized image manifest %{label}",
    )
    return ImageManifestInfo(
        base_image = None,
        descriptor = descriptor,
        digest = digest,
        manifest = manifest,
        config = config,
        structured_config = dict(src.structured_config),
        architecture = src.architecture,
        os = src.os,
        platform = dict(src.platform),
        layers = layers,
        missing_blobs = [],
    )

def _image_optimize_impl(ctx):
    fmt = compression.resolve(ctx, ctx.attr.compress, ctx.attr.estargz)
    if ImageManifestInfo in ctx.attr.image:
        info = _optimize_manifest(ctx, fmt, ctx.attr.image[ImageManifestInfo])
        groups = image_output_groups(ctx, [info])
        return [
            DefaultInfo(files = depset([info.manifest, info.config])),
            OutputGroupInfo(descriptor = depset([info.descriptor]), digest = depset([info.digest]), **groups),
            info,
        ]

    # Attestation manifests (platform unknown/unknown) describe the images
    # as they were; they are left out rather than kept stale.
    manifests = [
        _optimize_manifest(ctx, fmt, m, i)
        for i, m in enumerate(ctx.attr.image[ImageIndexInfo].manifests)
        if m.os != "unknown"
    ]
    if not manifests:
        fail("{}: index {} has no image manifests".format(layer_name(ctx.label), layer_name(ctx.attr.image.label)))
    name = ctx.label.name
    index = ctx.actions.declare_file(name + "_index.json")
    descriptor = ctx.actions.declare_file(name + "_descriptor.json")
    digest = ctx.actions.declare_file(name + "_digest")
    args = ctx.actions.args()
    args.add("index")
    args.add_all([m.descriptor for m in manifests], before_each = "--manifest-descriptor")
    args.add("--index", index)
    args.add("--descriptor", descriptor)
    args.add("--digest", digest)
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args],
        inputs = [m.descriptor for m in manifests],
        outputs = [index, descriptor, digest],
        mnemonic = "ImageOptimizeIndex",
        progress_message = "Writing optimized image index %{label}",
    )
    groups = image_output_groups(ctx, manifests, index = index)
    return [
        DefaultInfo(files = depset([index])),
        OutputGroupInfo(descriptor = depset([descriptor]), digest = depset([digest]), **groups),
        ImageIndexInfo(index = index, descriptor = descriptor, digest = digest, manifests = manifests),
    ]

image_optimize = rule(
    implementation = _image_optimize_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    doc = """An image with every layer rewritten to one format: eStargz, gzip, zstd or plain tar.

Each layer is one action (`img compress`, cached on its own) that reads the
layer's tar and writes it again in the target format, with its metadata;
then one action writes config and manifest from the new layers' metadata
and the source manifest and config, which are kept but for the layer
descriptors and `rootfs.diff_ids`. The tar of a layer is unchanged, so its
diff_id stays, except for eStargz, which adds its table of contents to the
tar: the config then lists the diff_ids of the eStargz tars, and each
layer descriptor gets the `containerd.io/snapshot/stargz/toc.digest` and
`io.containers.estargz.uncompressed-size` annotations. Other layer
annotations are kept. A Docker v2 source becomes an OCI manifest (the new
layers have OCI media types). The result provides ImageManifestInfo (or
ImageIndexInfo for an index), so `image_push`, `image_load` and
`image_index` take it like any image.

```starlark
load("@rules_img//img:image.bzl", "image_optimize")

image_optimize(
    name = "app_estargz",
    image = ":app",
    compress = "gzip",
    estargz = "enabled",
)

image_optimize(
    name = "app_zstd",
    image = ":app",
    compress = "zstd",
    estargz = "disabled",
)
```

Every layer blob must be available: a base layer of a shallow pull, never
downloaded, fails the build with a message naming the layer, instead of
being downloaded or kept as it is. For an index, each image manifest is
rewritten and a new index lists them; attestation manifests (platform
`unknown/unknown`) are left out, since they describe the old images, and
the source index's annotations are not kept. Output groups: `descriptor`,
`digest`, `oci_layout`, `oci_tarball`, and `tarball` for an image.""",
)
