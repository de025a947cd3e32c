"""ImageLayerConfigInfo: what a layer says about the image config."""

ImageLayerConfigInfo = provider(
    doc = """Image config fields that a layer brings along, e.g. the entrypoint of the
binary it holds (`layer_from_binary`).

`image_manifest` applies the layers' opinions in layer order, over the base
image's config and before its own attributes, the way consecutive
Dockerfile instructions would: a layer that sets `entrypoint` also sets
`cmd` (to its own `cmd`, or to empty), `env` entries are added over
earlier ones, and `working_dir` replaces the earlier one. Attributes of
`image_manifest` that are set (not `INHERIT_FROM_BASE`) win over all
layers.""",
    fields = {
        "entrypoint": "list of string, or None: the entrypoint argv; None leaves the earlier entrypoint and cmd alone.",
        "cmd": "list of string, or None: default arguments. With `entrypoint` set, None means an empty cmd.",
        "env": "dict of string to string, or None: environment variables added over the earlier ones.",
        "working_dir": "string, or None: the working directory; None keeps the earlier one.",
    },
)
