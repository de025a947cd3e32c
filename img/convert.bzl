"""Convert: images and indexes from OCI image layout directories.

An OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`) written by
another tool (`crane pull --format=oci`, rules_oci, skopeo) or checked in
becomes an image of rules_img: a base for `image_manifest`, an entry of
`image_index`, pushable with `image_push` and loadable with `image_load`.

- `image_manifest_from_oci_layout`: the image of one platform.
- `image_index_from_oci_layout`: an index of the images of several
  platforms.

```starlark
load("@rules_img//img:convert.bzl", "image_manifest_from_oci_layout")
load("@rules_img//img:image.bzl", "image_manifest")
load("@rules_img//img:media_types.bzl", "GZIP_LAYER")

filegroup(
    name = "base_layout",
    srcs = glob(["base_layout/**"]),  # written by `crane pull --format=oci`
)

image_manifest_from_oci_layout(
    name = "base",
    src = ":base_layout",
    os = "linux",
    architecture = "amd64",
    layers = [GZIP_LAYER],
)

image_manifest(
    name = "app",
    base = ":base",
    layers = [":app_layer"],
)
```
"""

load("//img/private/conversion:index_from_oci_layout.bzl", _image_index_from_oci_layout = "image_index_from_oci_layout")
load("//img/private/conversion:manifest_from_oci_layout.bzl", _image_manifest_from_oci_layout = "image_manifest_from_oci_layout")

image_manifest_from_oci_layout = _image_manifest_from_oci_layout
image_index_from_oci_layout = _image_index_from_oci_layout
