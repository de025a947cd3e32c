"""ImageManifestInfo: a single-platform image, known by its metadata."""

ImageManifestInfo = provider(
    doc = """A single-platform image: manifest and config JSON and its layers.

Everything here is metadata; layer blobs are reachable through `layers` for
the outputs that need bytes (layouts, tarballs, deploys).""",
    fields = {
        "base_image": "ImageManifestInfo or ImageIndexInfo of the base image; None without a base.",
        "descriptor": "File: descriptor JSON of the manifest (mediaType, digest, size, platform).",
        "digest": "File: the manifest digest, `sha256:<hex>` without a newline.",
        "manifest": "File: the image manifest JSON (application/vnd.oci.image.manifest.v1+json).",
        "config": "File: the image config JSON (application/vnd.oci.image.config.v1+json); for an artifact manifest (`artifact_type`), the empty blob `{}` (application/vnd.oci.empty.v1+json).",
        "structured_config": "dict: the part of the config known at analysis time (`os`, `architecture`, `variant`).",
        "architecture": "string: the GOARCH-style CPU architecture, e.g. `amd64`.",
        "os": "string: the GOOS-style operating system, e.g. `linux`.",
        "platform": "dict of string: further platform fields (e.g. `variant`); empty when none.",
        "layers": "list of LayerInfo: all layers, base layers first. A base layer that was never downloaded has `blob = None`.",
        "missing_blobs": "list of string: hex sha256 digests of layers whose blobs are not available locally (shallow base images); empty when all are present.",
    },
)
