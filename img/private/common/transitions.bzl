"""Platform transitions of image_index and image_manifest.

image_index builds its manifest once per platform (a split transition) and
remembers the platforms it started from; whatever comes after the index is
built for those again (reset). Layers drop the remembered value, so that a
layer that does not depend on the platform is built once, not once per
index entry."""

_PLATFORMS = "//command_line_option:platforms"
_ORIGINAL = str(Label("//img/private/settings:original_platforms"))

def _encode(platforms):
    return ",".join([str(p) for p in platforms])

def _split_impl(settings, attr):
    if not attr.platforms:
        return {"default": {_PLATFORMS: settings[_PLATFORMS], _ORIGINAL: settings[_ORIGINAL]}}
    original = settings[_ORIGINAL] or _encode(settings[_PLATFORMS])
    return {
        str(p): {_PLATFORMS: [p], _ORIGINAL: original}
        for p in attr.platforms
    }

multi_platform_image_transition = transition(
    implementation = _split_impl,
    inputs = [_PLATFORMS, _ORIGINAL],
    outputs = [_PLATFORMS, _ORIGINAL],
)

def _reset_impl(settings, _attr):
    original = settings[_ORIGINAL]
    return {
        _PLATFORMS: original.split(",") if original else settings[_PLATFORMS],
        _ORIGINAL: "",
    }

reset_platform_transition = transition(
    implementation = _reset_impl,
    inputs = [_PLATFORMS, _ORIGINAL],
    outputs = [_PLATFORMS, _ORIGINAL],
)

def _normalize_layer_impl(_settings, _attr):
    return {_ORIGINAL: ""}

normalize_layer_transition = transition(
    implementation = _normalize_layer_impl,
    inputs = [],
    outputs = [_ORIGINAL],
)
