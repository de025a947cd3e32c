"""Media types: names for the media types of layers, configs, manifests and indexes.

Use them wherever a rule takes a media type, for example the `media_type`
of `layer_from_file`, instead of spelling the strings out.

```starlark
load("@rules_img//img:layer.bzl", "layer_from_file")
load("@rules_img//img:media_types.bzl", "DOCKER_GZIP_LAYER")

layer_from_file(
    name = "vendor",
    src = "//third_party:vendor.layer",
    media_type = DOCKER_GZIP_LAYER,
)
```

| Constant | Media type |
| :------- | :--------- |
| `UNCOMPRESSED_LAYER` | `application/vnd.oci.image.layer.v1.tar` |
| `GZIP_LAYER` | `application/vnd.oci.image.layer.v1.tar+gzip` |
| `ZSTD_LAYER` | `application/vnd.oci.image.layer.v1.tar+zstd` |
| `NONDISTRIBUTABLE_UNCOMPRESSED_LAYER` | `application/vnd.oci.image.layer.nondistributable.v1.tar` |
| `NONDISTRIBUTABLE_GZIP_LAYER` | `application/vnd.oci.image.layer.nondistributable.v1.tar+gzip` |
| `NONDISTRIBUTABLE_ZSTD_LAYER` | `application/vnd.oci.image.layer.nondistributable.v1.tar+zstd` |
| `DOCKER_UNCOMPRESSED_LAYER` | `application/vnd.docker.image.rootfs.diff.tar` |
| `DOCKER_GZIP_LAYER` | `application/vnd.docker.image.rootfs.diff.tar.gzip` |
| `DOCKER_ZSTD_LAYER` | `application/vnd.docker.image.rootfs.diff.tar.zstd` |
| `DOCKER_FOREIGN_GZIP_LAYER` | `application/vnd.docker.image.rootfs.foreign.diff.tar.gzip` |
| `LAYER_TYPES` | the list of all ten layer media types above |
| `OCI_CONFIG` | `application/vnd.oci.image.config.v1+json` |
| `OCI_MANIFEST` | `application/vnd.oci.image.manifest.v1+json` |
| `OCI_INDEX` | `application/vnd.oci.image.index.v1+json` |
| `DOCKER_CONFIG` | `application/vnd.docker.container.image.v1+json` |
| `DOCKER_MANIFEST` | `application/vnd.docker.distribution.manifest.v2+json` |
| `DOCKER_MANIFEST_LIST` | `application/vnd.docker.distribution.manifest.list.v2+json` |
"""

load(
    "//img/private/common:media_types.bzl",
    _DOCKER_CONFIG = "DOCKER_CONFIG",
    _DOCKER_FOREIGN_GZIP_LAYER = "DOCKER_FOREIGN_GZIP_LAYER",
    _DOCKER_GZIP_LAYER = "DOCKER_GZIP_LAYER",
    _DOCKER_MANIFEST = "DOCKER_MANIFEST",
    _DOCKER_MANIFEST_LIST = "DOCKER_MANIFEST_LIST",
    _DOCKER_UNCOMPRESSED_LAYER = "DOCKER_UNCOMPRESSED_LAYER",
    _DOCKER_ZSTD_LAYER = "DOCKER_ZSTD_LAYER",
    _GZIP_LAYER = "GZIP_LAYER",
    _LAYER_TYPES = "LAYER_TYPES",
    _NONDISTRIBUTABLE_GZIP_LAYER = "NONDISTRIBUTABLE_GZIP_LAYER",
    _NONDISTRIBUTABLE_UNCOMPRESSED_LAYER = "NONDISTRIBUTABLE_UNCOMPRESSED_LAYER",
    _NONDISTRIBUTABLE_ZSTD_LAYER = "NONDISTRIBUTABLE_ZSTD_LAYER",
    _OCI_CONFIG = "OCI_CONFIG",
    _OCI_INDEX = "OCI_INDEX",
    _OCI_MANIFEST = "OCI_MANIFEST",
    _UNCOMPRESSED_LAYER = "UNCOMPRESSED_LAYER",
    _ZSTD_LAYER = "ZSTD_LAYER",
)

UNCOMPRESSED_LAYER = _UNCOMPRESSED_LAYER
GZIP_LAYER = _GZIP_LAYER
ZSTD_LAYER = _ZSTD_LAYER
NONDISTRIBUTABLE_UNCOMPRESSED_LAYER = _NONDISTRIBUTABLE_UNCOMPRESSED_LAYER
NONDISTRIBUTABLE_GZIP_LAYER = _NONDISTRIBUTABLE_GZIP_LAYER
NONDISTRIBUTABLE_ZSTD_LAYER = _NONDISTRIBUTABLE_ZSTD_LAYER
DOCKER_UNCOMPRESSED_LAYER = _DOCKER_UNCOMPRESSED_LAYER
DOCKER_GZIP_LAYER = _DOCKER_GZIP_LAYER
DOCKER_ZSTD_LAYER = _DOCKER_ZSTD_LAYER
DOCKER_FOREIGN_GZIP_LAYER = _DOCKER_FOREIGN_GZIP_LAYER
LAYER_TYPES = _LAYER_TYPES
OCI_CONFIG = _OCI_CONFIG
OCI_MANIFEST = _OCI_MANIFEST
OCI_INDEX = _OCI_INDEX
DOCKER_CONFIG = _DOCKER_CONFIG
DOCKER_MANIFEST = _DOCKER_MANIFEST
DOCKER_MANIFEST_LIST = _DOCKER_MANIFEST_LIST
