"""image_index_from_oci_layout: an image index of an OCI image layout directory."""

load("//img/private/common:build.bzl", "TOOLCHAINS", "img_full_tool")
load("//img/private/common:compression.bzl", "layer_name")
load("//img/private/common:image_outputs.bzl", "IMAGE_OUTPUT_ATTRS", "image_output_groups")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load(":layout_import.bzl", "SRC_DOC", "layout_import")

_ATTRS = {
    "src": attr.label(
        mandatory = True,
        allow_files = True,
        doc = SRC_DOC,
    ),
    "manifests": attr.string_list(
        mandatory = True,
        doc = """Platforms of the images to take, in index order, as
`os/architecture` or `os/architecture/variant`, e.g.
`["linux/amd64", "linux/arm64"]`. `linux/arm64` means `linux/arm64/v8`, and
matches a layout entry for arm64 with or without that variant. Each
must name one image of the layout's index. When they name all its images in
its order, the index is kept byte for byte (its digest stays that of the
layout); otherwise (a subset, e.g. without the attestation entries some
builders add, or another order) a new OCI index of the chosen images'
descriptors is written, with the source index's annotations.""",
    ),
    "layers": attr.string_list(
        mandatory = True,
        doc = """Media types of the layers of every image, bottom first, with the
constants of `@rules_img//img:media_types.bzl`; each image must have exactly
these layers (see `image_manifest_from_oci_layout`). Images whose layers
differ are imported one by one with `image_manifest_from_oci_layout` and put
together with `image_index` (a new index, so a new digest).""",
    ),
} | IMAGE_OUTPUT_ATTRS

def _parse_platform(ctx, s):
    parts = s.split("/")
    if len(parts) not in [2, 3] or "" in parts:
        fail("{}: manifests entry {} is not os/architecture or os/architecture/variant".format(ctx.label, repr(s)))
    return parts[0], parts[1], layout_import.default_variant(parts[1], parts[2] if len(parts) == 3 else "")

def _image_index_from_oci_layout_impl(ctx):
    layout_import.check_media_types(ctx)
    if not ctx.attr.manifests:
        fail("{}: manifests is empty; name the platforms of the images to take".format(ctx.label))
    root, inputs = layout_import.root(ctx)
    images = []
    seen = {}
    for i, s in enumerate(ctx.attr.manifests):
        os, arch, variant = _parse_platform(ctx, s)
        key = "/".join([os, arch, variant])
        if key in seen:
            fail("{}: manifests entries {} and {} are the same platform".format(ctx.label, repr(seen[key]), repr(s)))
        seen[key] = s
        images.append(layout_import.declare_image(ctx, "{}_m{}_".format(ctx.label.name, i), os, arch, variant))

    name = ctx.label.name
    index = ctx.actions.declare_file(name + "_index.json")
    descriptor = ctx.actions.declare_file(name + "_descriptor.json")
    digest = ctx.actions.declare_file(name + "_digest")
    args = ctx.actions.args()
    args.add("from-oci-layout")
    args.add("--layout", root)
    args.add("--name", layer_name(ctx.label))
    args.add_all(ctx.attr.layers, before_each = "--layer-media-type")
    outputs = [index, descriptor, digest]
    for image in images:
        layout_import.image_args(args, image)
        outputs.extend(layout_import.image_outputs(image))
    args.add("--index", index)
    args.add("--index-descriptor", descriptor)
    args.add("--index-digest", digest)
    ctx.actions.run(
        executable = img_full_tool(ctx),
        arguments = [args],
        inputs = inputs,
        outputs = outputs,
        mnemonic = "IndexFromOCILayout",
        progress_message = "Importing image index %{label} from an OCI layout",
    )

    manifests = [layout_import.manifest_info(image) for image in images]
    groups = image_output_groups(ctx, manifests, index = index)
    return [
        DefaultInfo(files = depset([index])),
        OutputGroupInfo(
            descriptor = depset([descriptor]),
            digest = depset([digest]),
            layer_blobs = depset([l.blob for image in images for l in image.layers]),
            **groups
        ),
        ImageIndexInfo(index = index, descriptor = descriptor, digest = digest, manifests = manifests),
    ]

image_index_from_oci_layout = rule(
    implementation = _image_index_from_oci_layout_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [ImageIndexInfo],
    doc = """An image index (ImageIndexInfo) from an OCI image layout directory.

The index is the one image index that `index.json` points to (as
`crane pull --platform=all --format=oci` writes a multi-platform image), or
`index.json` itself when it lists the images directly.

```starlark
load("@rules_img//img:convert.bzl", "image_index_from_oci_layout")
load("@rules_img//img:media_types.bzl", "GZIP_LAYER")

image_index_from_oci_layout(
    name = "base_multiarch",
    src = "//third_party/base_index_layout",  # a filegroup of its files
    manifests = ["linux/amd64", "linux/arm64"],
    layers = [GZIP_LAYER],
)
```

One action (mnemonic `IndexFromOCILayout`) writes the index, its descriptor
and digest, and for each image what `image_manifest_from_oci_layout` writes,
with the same checks of every blob. The result works as the `base` of
`image_manifest` (which picks the image of its platform), in `image_push`,
`image_load` and the output groups `oci_layout` and `oci_tarball`.""",
)
