"""LayerInfo: what later rules know about a layer."""

LayerInfo = provider(
    doc = """A layer blob and its metadata.

Rules that assemble images read only `metadata` (digest, diff_id, size, media
type, annotations); `blob` is passed along so that the deploy and layout
outputs can place the bytes where they are needed.""",
    fields = {
        "blob": "File: the layer blob (compressed or plain tar). None for a base-image layer that was never downloaded.",
        "metadata": "File: layer metadata JSON with name, diff_id, mediaType, digest, size and annotations. Never None.",
        "media_type": "string: the OCI media type of the blob, e.g. `application/vnd.oci.image.layer.v1.tar+gzip`.",
        "estargz": "bool: True when the blob is an eStargz layer (seekable gzip with a table of contents).",
        "mtree": """File: the layer's file listing (BSD mtree text: one line per tar entry
with type, mode, uid, gid, size and link), written by the action that wrote
or read the blob; image_structure_test reads it instead of the blob. None
when the layer's bytes were never seen (e.g. shallow-pulled base layers) or
the rule that made the layer writes none; read it with
`getattr(layer, "mtree", None)`.""",
    },
)
