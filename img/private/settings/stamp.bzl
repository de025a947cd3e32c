"""Resolves //img/settings:stamp and Bazel's --stamp into one bool."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")

StampSettingInfo = provider(
    doc = "Whether targets with `stamp = \"auto\"` stamp.",
    fields = {"enabled": "bool: stamp."},
)

def _stamp_setting_impl(ctx):
    mode = ctx.attr.setting[BuildSettingInfo].value
    enabled = {"force": True, "enabled": True, "disabled": False}.get(mode, ctx.attr.bazel_stamp)
    return [StampSettingInfo(enabled = enabled)]

stamp_setting = rule(
    implementation = _stamp_setting_impl,
    attrs = {
        "setting": attr.label(mandatory = True, providers = [BuildSettingInfo], doc = "//img/settings:stamp."),
        "bazel_stamp": attr.bool(doc = "Bazel's --stamp, by select()."),
    },
    doc = "`auto` follows --stamp; `force` always stamps; `disabled` never does.",
)
