"""ImageIndexInfo: a multi-platform image index, known by its metadata."""

ImageIndexInfo = provider(
    doc = "An image index: one manifest per platform.",
    fields = {
        "index": "File: the image index JSON (application/vnd.oci.image.index.v1+json).",
        "descriptor": "File: descriptor JSON of the index. None for imported indexes that have none.",
        "digest": "File: the index digest, `sha256:<hex>` without a newline.",
        "manifests": "list of ImageManifestInfo: the images, in index order.",
    },
)
