"""Media types of OCI and Docker images: layers, configs, manifests, indexes."""

# Layers: tar streams, plain or compressed.
UNCOMPRESSED_LAYER = "application/vnd.oci.image.layer.v1.tar"
GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
ZSTD_LAYER = "application/vnd.oci.image.layer.v1.tar+zstd"

# Layers that registries are asked not to copy (deprecated by OCI).
NONDISTRIBUTABLE_UNCOMPRESSED_LAYER = "application/vnd.oci.image.layer.nondistributable.v1.tar"
NONDISTRIBUTABLE_GZIP_LAYER = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
NONDISTRIBUTABLE_ZSTD_LAYER = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"

# Layers of Docker (schema 2) images.
DOCKER_UNCOMPRESSED_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_GZIP_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_ZSTD_LAYER = "application/vnd.docker.image.rootfs.diff.tar.zstd"
DOCKER_FOREIGN_GZIP_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

# Every tar layer media type that layer metadata of rules_img accepts.
LAYER_TYPES = [
    UNCOMPRESSED_LAYER,
    GZIP_LAYER,
    ZSTD_LAYER,
    NONDISTRIBUTABLE_UNCOMPRESSED_LAYER,
    NONDISTRIBUTABLE_GZIP_LAYER,
    NONDISTRIBUTABLE_ZSTD_LAYER,
    DOCKER_UNCOMPRESSED_LAYER,
    DOCKER_GZIP_LAYER,
    DOCKER_ZSTD_LAYER,
    DOCKER_FOREIGN_GZIP_LAYER,
]

# Configs, manifests and indexes.
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
