"""Helpers of the rules that import an OCI image layout: the layout's root, the
per-image outputs and arguments of `img from-oci-layout`, and the providers."""

load("//img/private/common:media_types.bzl", "LAYER_TYPES")
load("//img/private/providers:layer_info.bzl", "LayerInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")

SRC_DOC = """The OCI image layout: a directory with `oci-layout`, `index.json` and
`blobs/sha256/`. Either one directory (a tree artifact such as a rule's
`ctx.actions.declare_directory` output, or a source directory named by its
path), or a target with the files of a layout (e.g. a `filegroup` of
`glob(["layout/**"])`), among which the `index.json` nearest the top is the
root. Prefer the filegroup for a layout in the source tree: Bazel does not
notice changes inside a source directory named as one file."""

def _root(ctx):
    """The layout's root path and its input files.

    Returns:
        (string, list of File): the directory to pass to the tool, the inputs.
    """
    files = ctx.files.src
    if len(files) == 1 and files[0].basename != "index.json":
        return files[0].path, files
    roots = [f for f in files if f.basename == "index.json"]
    if not roots:
        fail("{}: src {} holds no index.json; give a layout directory or the files of one".format(ctx.label, ctx.attr.src.label))
    roots = sorted(roots, key = lambda f: len(f.path))
    root = roots[0].dirname
    for f in files:
        if not f.path.startswith(root + "/"):
            fail("{}: src file {} is outside the layout {} (the directory of its top index.json)".format(ctx.label, f.short_path, roots[0].short_path.rpartition("/")[0]))
    return root, files

def _extension(media_type):
    if media_type.endswith("gzip"):
        return ".tgz"
    if media_type.endswith("zstd"):
        return ".tar.zst"
    return ".tar"

def _check_media_types(ctx):
    if not ctx.attr.layers:
        fail("{}: layers is empty; list the media type of every layer of the image, bottom first".format(ctx.label))
    for mt in ctx.attr.layers:
        if mt not in LAYER_TYPES:
            fail("{}: layers entry {} is not a tar layer media type; use the constants of @rules_img//img:media_types.bzl".format(ctx.label, repr(mt)))

def _declare_image(ctx, prefix, os, arch, variant):
    """Declares the outputs of one image and its LayerInfo list.

    Returns:
        struct(platform, manifest, config, descriptor, digest, layers)
    """
    layers = []
    for i, mt in enumerate(ctx.attr.layers):
        layers.append(LayerInfo(
            blob = ctx.actions.declare_file("{}layer_{}{}".format(prefix, i, _extension(mt))),
            metadata = ctx.actions.declare_file("{}layer_{}_metadata.json".format(prefix, i)),
            media_type = mt,
            estargz = False,
        ))
    return struct(
        platform = "/".join([os, arch] + ([variant] if variant else [])),
        os = os,
        architecture = arch,
        variant = variant,
        manifest = ctx.actions.declare_file(prefix + "manifest.json"),
        config = ctx.actions.declare_file(prefix + "config.json"),
        descriptor = ctx.actions.declare_file(prefix + "descriptor.json"),
        digest = ctx.actions.declare_file(prefix + "digest"),
        layers = layers,
    )

def _image_args(args, image):
    args.add("--platform", image.platform)
    args.add("--manifest", image.manifest)
    args.add("--config", image.config)
    args.add("--descriptor", image.descriptor)
    args.add("--digest", image.digest)
    for layer in image.layers:
        args.add("--layer-blob", layer.blob)
        args.add("--layer-metadata", layer.metadata)

def _image_outputs(image):
    return [image.manifest, image.config, image.descriptor, image.digest] + [f for l in image.layers for f in [l.blob, l.metadata]]

def _manifest_info(image):
    """ImageManifestInfo of an imported image: every layer blob present."""
    platform = {"variant": image.variant} if image.variant else {}
    return ImageManifestInfo(
        base_image = None,
        descriptor = image.descriptor,
        digest = image.digest,
        manifest = image.manifest,
        config = image.config,
        structured_config = {"os": image.os, "architecture": image.architecture, "variant": image.variant},
        architecture = image.architecture,
        os = image.os,
        platform = platform,
        layers = image.layers,
        missing_blobs = [],
    )

def _default_variant(arch, variant):
    """arm64 without a variant is arm64/v8, as containerd and upstream say."""
    if arch == "arm64" and not variant:
        return "v8"
    return variant

layout_import = struct(
    root = _root,
    check_media_types = _check_media_types,
    declare_image = _declare_image,
    image_args = _image_args,
    image_outputs = _image_outputs,
    manifest_info = _manifest_info,
    default_variant = _default_variant,
)
