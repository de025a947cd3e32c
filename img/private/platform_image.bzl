"""platform_image: an image target built for one given platform."""

load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")
load("//img/private/providers:pull_info.bzl", "PullInfo")

_PLATFORMS = "//command_line_option:platforms"
_ORIGINAL = str(Label("//img/private/settings:original_platforms"))

def _to_platform_impl(settings, attr):
    original = settings[_ORIGINAL] or ",".join([str(p) for p in settings[_PLATFORMS]])
    return {_PLATFORMS: [attr.platform], _ORIGINAL: original}

_to_platform = transition(
    implementation = _to_platform_impl,
    inputs = [_PLATFORMS, _ORIGINAL],
    outputs = [_PLATFORMS, _ORIGINAL],
)

def _platform_image_impl(ctx):
    image = ctx.attr.image[0]
    providers = [image[ImageManifestInfo], image[DefaultInfo]]
    if OutputGroupInfo in image:
        providers.append(image[OutputGroupInfo])
    if PullInfo in image:
        providers.append(image[PullInfo])
    return providers

platform_image = rule(
    implementation = _platform_image_impl,
    doc = """The image of `image`, built for `platform`: what `image_from_binary` makes
for exactly one platform, so that its binary is compiled for that platform
while the target stays a single-platform image.""",
    attrs = {
        "image": attr.label(
            mandatory = True,
            providers = [ImageManifestInfo],
            cfg = _to_platform,
            doc = "An image_manifest target.",
        ),
        "platform": attr.label(
            mandatory = True,
            providers = [platform_common.PlatformInfo],
            doc = "The platform to build `image` for.",
        ),
    },
    provides = [ImageManifestInfo],
)
