"""image_manifest_from_oci_layout: one image of an OCI image layout directory."""

load("//img/private/common:build.bzl", "TOOLCHAINS", "img_full_tool")
load("//img/private/common:image_outputs.bzl", "IMAGE_OUTPUT_ATTRS", "image_output_groups")
load("//img/private/common:compression.bzl", "layer_name")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")
load(":layout_import.bzl", "SRC_DOC", "layout_import")

ARCHITECTURES = ["386", "amd64", "arm", "arm64", "loong64", "mips64", "mips64le", "ppc64le", "riscv64", "s390x"]

OPERATING_SYSTEMS = ["android", "darwin", "freebsd", "ios", "linux", "netbsd", "openbsd", "wasip1", "windows"]

_ATTRS = {
    "src": attr.label(
        mandatory = True,
        allow_files = True,
        doc = SRC_DOC,
    ),
    "os": attr.string(
        mandatory = True,
        values = OPERATING_SYSTEMS,
        doc = "Operating system of the image to take from the layout (GOOS), e.g. `linux`.",
    ),
    "architecture": attr.string(
        mandatory = True,
        values = ARCHITECTURES,
        doc = "CPU architecture of the image to take from the layout (GOARCH), e.g. `amd64`.",
    ),
    "variant": attr.string(
        doc = """CPU variant, e.g. `v7` for arm or `v8` for arm64. Empty: none, but
`arm64` means `arm64/v8` (a layout entry for arm64 without a variant matches
it, too).""",
    ),
    "layers": attr.string_list(
        mandatory = True,
        doc = """Media types of the image's layers, bottom first, e.g.
`[GZIP_LAYER, GZIP_LAYER]` with the constants of
`@rules_img//img:media_types.bzl`. The image must have exactly these layers:
their number is needed at analysis time (see the rule's doc). When they
differ, the build fails and the message lists the media types the image
has, ready to paste here.""",
    ),
} | IMAGE_OUTPUT_ATTRS

def _image_manifest_from_oci_layout_impl(ctx):
    layout_import.check_media_types(ctx)
    root, inputs = layout_import.root(ctx)
    variant = layout_import.default_variant(ctx.attr.architecture, ctx.attr.variant)
    image = layout_import.declare_image(ctx, ctx.label.name + "_", ctx.attr.os, ctx.attr.architecture, variant)

    args = ctx.actions.args()
    args.add("from-oci-layout")
    args.add("--layout", root)
    args.add("--name", layer_name(ctx.label))
    args.add_all(ctx.attr.layers, before_each = "--layer-media-type")
    layout_import.image_args(args, image)
    ctx.actions.run(
        executable = img_full_tool(ctx),
        arguments = [args],
        inputs = inputs,
        outputs = layout_import.image_outputs(image),
        mnemonic = "ImageFromOCILayout",
        progress_message = "Importing image %{label} from an OCI layout",
    )

    info = layout_import.manifest_info(image)
    groups = image_output_groups(ctx, [info])
    return [
        DefaultInfo(files = depset([image.manifest, image.config])),
        OutputGroupInfo(
            descriptor = depset([image.descriptor]),
            digest = depset([image.digest]),
            layer_blobs = depset([l.blob for l in image.layers]),
            **groups
        ),
        info,
    ]

image_manifest_from_oci_layout = rule(
    implementation = _image_manifest_from_oci_layout_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [ImageManifestInfo],
    doc = """An image (ImageManifestInfo) from an OCI image layout directory.

The layout may come from another tool (`crane pull --format=oci`, rules_oci's
`oci_image`, `skopeo copy ... oci:dir`) or be checked in. The image of the
platform `os`/`architecture`/`variant` is taken from `index.json`, or from
the one image index that `index.json` points to (as `crane pull` writes an
index); a layout with a single image that names no platform gives that
image. Its config must be for the same OS and architecture.

```starlark
load("@rules_img//img:convert.bzl", "image_manifest_from_oci_layout")
load("@rules_img//img:image.bzl", "image_manifest")
load("@rules_img//img:media_types.bzl", "GZIP_LAYER")

image_manifest_from_oci_layout(
    name = "base",
    src = "//third_party/base_layout",  # a filegroup of its files, or a directory
    os = "linux",
    architecture = "amd64",
    layers = [GZIP_LAYER, GZIP_LAYER],
)

image_manifest(
    name = "app",
    base = ":base",
    layers = [":app_layer"],
)
```

One action (mnemonic `ImageFromOCILayout`) reads the layout and writes the
manifest and config byte for byte (so the digest is the layout's), the
manifest's descriptor and digest, and for each layer a copy of its blob and
its layer metadata (diff_id from the config). Every blob is checked while
it is read: size and sha256 digest must match the descriptor, or the build
fails naming the layout and the blob; JSON documents are bounded (32 MiB)
as in a pull; a relative symlink in the layout that leads out of it is
refused. Absolute symlinks are followed, because Bazel stages the inputs of
sandboxed actions that way; the digest check still holds for what they
point to.

The result works wherever an image does: as `base` of `image_manifest`, in
`image_index`, `image_push`, `image_load`, and in the output groups
`oci_layout`, `oci_tarball` and `tarball`; `layer_blobs` has the copied
blobs.

Why `layers` is needed: the number of layers is only known when the layout
is read, at execution time, but every consumer of an image (push and load
targets, the layout and tarball outputs) places each layer blob as a file
of its own, declared at analysis time. Declaring one output per listed
layer keeps the imported image exactly like a built one, without a
directory of blobs that every consumer would have to learn to read. The
media types guard against a changed layout: any difference in count or
type fails the build with the list to use.""",
)
