"""Resolves //img/settings:stamp and Bazel's --stamp for the rules."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//img/private/providers:stamp_setting_info.bzl", "StampSettingInfo")

def _stamp_setting_impl(ctx):
    mode = ctx.attr.setting[BuildSettingInfo].value
    preference = {"enabled": "auto"}.get(mode, mode)
    return [StampSettingInfo(
        bazel_setting = ctx.attr.bazel_stamp,
        user_preference = preference,
        enabled = preference == "force" or (preference == "auto" and ctx.attr.bazel_stamp),
    )]

stamp_setting = rule(
    implementation = _stamp_setting_impl,
    attrs = {
        "setting": attr.label(mandatory = True, providers = [BuildSettingInfo], doc = "//img/settings:stamp."),
        "bazel_stamp": attr.bool(doc = "Bazel's --stamp, by select()."),
    },
    doc = "`auto` (or `enabled`) follows --stamp; `force` always stamps; `disabled` never does.",
)
