"""A rule of this workspace that wraps image_manifest the way upstream's
examples extend rules_img: a macro around image_manifest, plus a rule that
reads rules_img's target platform and stamping settings."""

load("@rules_img//img:image.bzl", "image_manifest")
load("@rules_img//img:layer.bzl", "image_layer")
load("@rules_img//img/private/config:defs.bzl", "TargetPlatformInfo")
load("@rules_img//img/private/providers:push_settings_info.bzl", "PushSettingsInfo")
load("@rules_img//img/private/providers:stamp_setting_info.bzl", "StampSettingInfo")

def _platform_note_impl(ctx):
    platform = ctx.attr._os_cpu[TargetPlatformInfo]
    stamp = ctx.attr._stamp[StampSettingInfo]
    out = ctx.actions.declare_file(ctx.label.name + ".txt")
    push = ctx.attr._push[PushSettingsInfo]
    ctx.actions.write(out, "built for {}/{} (stamping: {}, pushes: {})\n".format(platform.os, platform.cpu, "on" if stamp.bazel_setting else "off", push.strategy))
    return [DefaultInfo(files = depset([out]))]

platform_note = rule(
    implementation = _platform_note_impl,
    attrs = {
        "_os_cpu": attr.label(default = "@rules_img//img/private/config:target_os_cpu"),
        "_stamp": attr.label(default = "@rules_img//img/private/settings:stamp"),
        "_push": attr.label(default = "@rules_img//img/private/settings:push"),
    },
)

def noted_image(name, layers = [], **kwargs):
    """An image_manifest with a layer that says which platform it was built for."""
    platform_note(name = name + "_note")
    image_layer(
        name = name + "_note_layer",
        srcs = {"/etc/platform-note": ":" + name + "_note"},
    )
    image_manifest(
        name = name,
        layers = layers + [":" + name + "_note_layer"],
        **kwargs
    )
