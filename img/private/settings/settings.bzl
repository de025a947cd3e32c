"""The push settings of //img/settings as one provider, for rules written
outside rules_img (`@rules_img//img/private/settings:push`)."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//img/private/providers:push_settings_info.bzl", "PushSettingsInfo")

def _value(ctx, name):
    return getattr(ctx.attr, "_" + name)[BuildSettingInfo].value

def _push_settings_impl(ctx):
    return [PushSettingsInfo(
        strategy = _value(ctx, "push_strategy"),
        destination_registry = _value(ctx, "destination_registry"),
        remote_cache = _value(ctx, "remote_cache"),
        remote_instance_name = _value(ctx, "remote_instance_name"),
        credential_helper = _value(ctx, "credential_helper"),
        credential_helper_oci_registry = _value(ctx, "credential_helper_oci_registry"),
        credential_helper_remote_cache = _value(ctx, "credential_helper_remote_cache"),
        docker_config_path = _value(ctx, "docker_config_path"),
        insecure = _value(ctx, "insecure") == "enabled",
    )]

push_settings = rule(
    implementation = _push_settings_impl,
    attrs = {
        "_" + name: attr.label(default = "//img/settings:" + name, providers = [BuildSettingInfo])
        for name in ["push_strategy", "destination_registry", "remote_cache", "remote_instance_name", "credential_helper", "credential_helper_oci_registry", "credential_helper_remote_cache", "docker_config_path", "insecure"]
    },
    doc = "PushSettingsInfo of the build's //img/settings values.",
)
