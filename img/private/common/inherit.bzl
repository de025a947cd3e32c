"""INHERIT_FROM_BASE: "keep what the image had so far" for config attributes.

It is the default of `image_manifest`'s `user`, `working_dir`,
`stop_signal` (string attributes) and `entrypoint`, `cmd` (its list
attributes default to `[INHERIT_FROM_BASE]`), so that leaving an attribute
alone and setting it to empty mean different things:

- left at the default: the value of the base image, after the layers'
  configs (ImageLayerConfigInfo) are applied;
- `""` or `[]`: the field is unset (absent from the config);
- in a list, each INHERIT_FROM_BASE item is replaced by that inherited
  list, so `entrypoint = [INHERIT_FROM_BASE, "--verbose"]` appends.

The trailing NUL keeps it apart from every real value. A NUL cannot be an
argument of a command line, so the values reach the `img` tool in a JSON
file (see `config_overrides`).
"""

INHERIT_FROM_BASE = "<inherit from base>\0"

def _string(value):
    """A string attribute's value for the overrides file, or None for "inherit"."""
    return None if value == INHERIT_FROM_BASE else value

def _list(value):
    """A list attribute's value for the overrides file, or None for "inherit"."""
    return None if value == [INHERIT_FROM_BASE] else value

def _layer_config(info):
    """The JSON form of one ImageLayerConfigInfo (fields None when unset)."""
    return {
        "entrypoint": getattr(info, "entrypoint", None),
        "cmd": getattr(info, "cmd", None),
        "env": getattr(info, "env", None),
        "working_dir": getattr(info, "working_dir", None),
    }

def config_overrides(ctx, name, layer_configs, attrs):
    """Declares the JSON file of `img manifest --config-overrides`, if needed.

    Args:
        ctx: rule context.
        name: prefix of the output file.
        layer_configs: list of ImageLayerConfigInfo, in layer order.
        attrs: dict with the values of `user`, `working_dir`, `stop_signal`,
            `entrypoint` and `cmd` (INHERIT_FROM_BASE where left alone).

    Returns:
        The File, or None when no layer has a config and every attribute
        inherits (the image then inherits everything, as without the file).
    """
    image = {}
    for key in ["user", "working_dir", "stop_signal"]:
        v = _string(attrs[key])
        if v != None:
            image[key] = v
    for key in ["entrypoint", "cmd"]:
        v = _list(attrs[key])
        if v != None:
            image[key] = v
    if not image and not layer_configs:
        return None
    out = ctx.actions.declare_file(name + "_config_overrides.json")
    ctx.actions.write(out, json.encode(image | {"layers": [_layer_config(c) for c in layer_configs]}))
    return out

inherit = struct(
    config_overrides = config_overrides,
)
