"""//img/settings:shallow_oci_layout as a provider, for rules written
outside rules_img (`@rules_img//img/private/settings:oci_layout`)."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//img/private/providers:oci_layout_settings_info.bzl", "OCILayoutSettingsInfo")

def _oci_layout_settings_impl(ctx):
    mode = ctx.attr._shallow_oci_layout[BuildSettingInfo].value
    return [OCILayoutSettingsInfo(allow_shallow_oci_layout = mode == "i_know_what_i_am_doing")]

oci_layout_settings = rule(
    implementation = _oci_layout_settings_impl,
    attrs = {
        "_shallow_oci_layout": attr.label(default = "//img/settings:shallow_oci_layout", providers = [BuildSettingInfo]),
    },
    doc = "OCILayoutSettingsInfo of //img/settings:shallow_oci_layout.",
)
