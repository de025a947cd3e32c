"""download_blobs: fetch layer blobs in build actions (lazy pulls)."""

load("@bazel_skylib//lib:paths.bzl", "paths")
load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//img/private/common:build.bzl", "TOOLCHAINS", "img_full_tool")

_ATTRS = {
    "digests": attr.string_list(mandatory = True, doc = "Blob digests (`sha256:<hex>`) to download."),
    "registries": attr.string_list(mandatory = True, doc = "Registries to try, in order."),
    "repository": attr.string(mandatory = True, doc = "Repository of the blobs."),
    "sizes": attr.string_dict(doc = """Blob digest -> size in bytes (a decimal string: sizes may exceed
32 bits), where known: a blob longer or shorter than its size fails the
download. Without a size, the tool's maximum blob size bounds it."""),
    "_docker_config_path": attr.label(default = "//img/settings:docker_config_path", providers = [BuildSettingInfo]),
    "_insecure": attr.label(default = "//img/settings:insecure", providers = [BuildSettingInfo]),
    "_credential_helper_oci_registry": attr.label(default = "//img/settings:credential_helper_oci_registry", providers = [BuildSettingInfo]),
}

def _registry_args(ctx):
    """The registry settings of //img/settings as download-blob flags.

    The generic credential_helper is not passed: it usually serves the
    remote cache, and only a helper meant for registries belongs in these
    actions.
    """
    args = []
    config = ctx.attr._docker_config_path[BuildSettingInfo].value
    if config:
        if not paths.is_absolute(config):
            fail("{}: //img/settings:docker_config_path {} must be an absolute path for the DownloadBlob actions (only `bazel run` resolves it against the workspace)".format(ctx.label, repr(config)))
        args.extend(["--docker-config", config])
    if ctx.attr._insecure[BuildSettingInfo].value == "enabled":
        args.append("--insecure")
    helper = ctx.attr._credential_helper_oci_registry[BuildSettingInfo].value
    if helper:
        args.extend(["--credential-helper", helper])
    return args

def _download_blobs_impl(ctx):
    registry_args = _registry_args(ctx)
    outs = []
    for d in ctx.attr.digests:
        hex = d.removeprefix("sha256:")
        out = ctx.actions.declare_file("{}/{}".format(ctx.label.name, hex))
        args = ctx.actions.args()
        args.add("download-blob")
        args.add_all(ctx.attr.registries, before_each = "--registry")
        args.add("--repository", ctx.attr.repository)
        args.add("--digest", d)
        if d in ctx.attr.sizes:
            args.add("--size", ctx.attr.sizes[d])
        args.add("--output", out)
        args.add_all(registry_args)
        ctx.actions.run(
            executable = img_full_tool(ctx),
            arguments = [args],
            outputs = [out],
            mnemonic = "DownloadBlob",
            progress_message = "Downloading {} from {}".format(d[:19], ctx.attr.repository),
            execution_requirements = {"requires-network": "1", "no-remote-exec": "1"},
            env = {k: v for k, v in ctx.configuration.default_shell_env.items()},
        )
        outs.append(out)
    return [DefaultInfo(files = depset(outs))]

download_blobs = rule(
    implementation = _download_blobs_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    doc = """Downloads blobs from a registry in build actions, one action per blob.

The `layers` target of a lazily pulled image: its blobs are fetched only when
something needs their bytes (a layout, a tarball, a load), and then cached
like any build output. Credentials and transport follow `//img/settings`:
`docker_config_path` (absolute), `insecure` and
`credential_helper_oci_registry`.""",
)
