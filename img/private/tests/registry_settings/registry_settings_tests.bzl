"""Analysis tests of the registry settings: docker_config_path, insecure and
the credential helpers reach `bazel run` deploys and DownloadBlob actions."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//img/private/providers:load_settings_info.bzl", "LoadSettingsInfo")
load("//img/private/providers:push_settings_info.bzl", "PushSettingsInfo")

_CONFIG = "/etc/rules_img/auth.json"

_ALL_SET = {
    "//img/settings:docker_config_path": _CONFIG,
    "//img/settings:insecure": "enabled",
    "//img/settings:credential_helper": "/opt/helpers/generic",
    "//img/settings:credential_helper_oci_registry": "/opt/helpers/oci",
    "//img/settings:credential_helper_remote_cache": "/opt/helpers/cache",
}

def _settings(values):
    return {str(Label(k)): v for k, v in values.items()}

def _flag_values(argv, flag):
    """Values that follow flag in argv (also --flag=value)."""
    out = []
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            out.append(argv[i + 1])
        elif a.startswith(flag + "="):
            out.append(a[len(flag) + 1:])
    return out

def _deploy_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    run_env = target[RunEnvironmentInfo]
    asserts.equals(env, ctx.attr.want_env, run_env.environment, "run environment")
    for name in ["IMG_DOCKER_CONFIG", "IMG_INSECURE", "DOCKER_CONFIG"]:
        asserts.true(env, name in run_env.inherited_environment, name + " is not inherited")
    plans = [
        json.decode(a.content)
        for a in analysistest.target_actions(env)
        if a.mnemonic == "FileWrite" and a.outputs.to_list()[0].basename.endswith("_dispatch.json")
    ]
    asserts.equals(env, 1, len(plans), "one deploy plan")
    for plan in plans:
        for flag, want in ctx.attr.want_flags.items():
            got = plan["settings"].get(flag.removeprefix("--").replace("-", "_"))
            asserts.equals(env, want if want else None, got, flag)
    return analysistest.end(env)

_DEPLOY_ATTRS = {
    "want_env": attr.string_dict(doc = "RunEnvironmentInfo.environment."),
    "want_flags": attr.string_dict(doc = "deploy-metadata flag -> value of the same setting in the deploy plan; empty: absent."),
}

deploy_settings_test = analysistest.make(
    _deploy_impl,
    attrs = _DEPLOY_ATTRS,
    config_settings = _settings(_ALL_SET),
)

deploy_defaults_test = analysistest.make(_deploy_impl, attrs = _DEPLOY_ATTRS)

def _download_impl(ctx):
    env = analysistest.begin(ctx)
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "DownloadBlob"]
    asserts.equals(env, 1, len(actions))
    for a in actions:
        asserts.equals(env, [_CONFIG], _flag_values(a.argv, "--docker-config"))
        asserts.true(env, "--insecure" in a.argv, "--insecure missing: {}".format(a.argv))
        asserts.equals(env, ["/opt/helpers/oci"], _flag_values(a.argv, "--credential-helper"), "the registry helper, not the generic one")
        asserts.false(env, "/opt/helpers/generic" in a.argv, "the generic helper reached a DownloadBlob action")
    return analysistest.end(env)

download_settings_test = analysistest.make(_download_impl, config_settings = _settings(_ALL_SET))

def _download_defaults_impl(ctx):
    env = analysistest.begin(ctx)
    for a in analysistest.target_actions(env):
        if a.mnemonic != "DownloadBlob":
            continue
        for flag in ["--docker-config", "--insecure", "--credential-helper"]:
            asserts.false(env, flag in a.argv, flag + " without the setting")
    return analysistest.end(env)

download_defaults_test = analysistest.make(_download_defaults_impl)

def _relative_config_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, "//img/settings:docker_config_path \"auth/config.json\" must be an absolute path for the DownloadBlob actions")
    return analysistest.end(env)

download_relative_config_test = analysistest.make(
    _relative_config_impl,
    expect_failure = True,
    config_settings = _settings({"//img/settings:docker_config_path": "auth/config.json"}),
)

def _providers_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[PushSettingsInfo] if PushSettingsInfo in target else target[LoadSettingsInfo]
    asserts.equals(env, _CONFIG, info.docker_config_path)
    asserts.equals(env, True, info.insecure)
    asserts.equals(env, "/opt/helpers/generic", info.credential_helper)
    asserts.equals(env, "/opt/helpers/oci", info.credential_helper_oci_registry)
    asserts.equals(env, "/opt/helpers/cache", info.credential_helper_remote_cache)
    return analysistest.end(env)

settings_providers_test = analysistest.make(_providers_impl, config_settings = _settings(_ALL_SET))
