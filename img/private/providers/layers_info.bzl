"""LayersInfo: several layers from one target, in order."""

LayersInfo = provider(
    doc = """Layers that one target contributes to an image, bottom first.

`layer_from_binary` returns it when a binary's runfiles are split into
several layers; `image_manifest` accepts a target with LayersInfo in
`layers` and appends all of them, in this order.""",
    fields = {
        "layers": "list of LayerInfo: the layers, bottom first. Never empty.",
    },
)
