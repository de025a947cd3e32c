"""Shared parts of the deploy rules (image_push, image_load, multi_deploy)."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("@platforms//host:constraints.bzl", "HOST_CONSTRAINTS")
load("//img/private/common:build.bzl", "TOOLCHAIN", "TOOLCHAINS", "img_tool")
load("//img/private/common:templating.bzl", "expand_templates")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")
load("//img/private/providers:pull_info.bzl", "PullInfo", "PullOriginsInfo")

def image_parts(target):
    """The root file, its kind and the manifests of an image target.

    Args:
        target: a target with ImageManifestInfo or ImageIndexInfo.

    Returns:
        struct(root, kind, manifests)
    """
    if ImageIndexInfo in target:
        info = target[ImageIndexInfo]
        return struct(root = info.index, kind = "index", manifests = info.manifests)
    info = target[ImageManifestInfo]
    return struct(root = info.manifest, kind = "manifest", manifests = [info])

def deploy_configuration(ctx, name, request):
    """The JSON configuration of a push or load, templates expanded.

    Args:
        ctx: rule context with TEMPLATING_ATTRS.
        name: output file name prefix.
        request: dict for the configuration (strings may be templates).

    Returns:
        File with the configuration JSON.
    """
    expanded = expand_templates(ctx, name, request, unstamped_missing = "keep")
    if expanded:
        return expanded
    configuration = ctx.actions.declare_file(name + ".json")
    ctx.actions.write(configuration, json.encode(request))
    return configuration

# The launcher of a deploy target runs where `bazel run` runs, not on an
# execution platform: the "host" exec group resolves the img toolchain for
# the host's constraints, also under remote execution or cross-compilation.
DEPLOY_EXEC_GROUPS = {
    "host": exec_group(
        exec_compatible_with = HOST_CONSTRAINTS,
        toolchains = TOOLCHAINS,
    ),
}

def target_label(label):
    """A label as users write it: //pkg:name in the main repository.

    Args:
        label: a Label.

    Returns:
        string
    """
    s = str(label)
    for main in ["@@//", "@//"]:  # bzlmod, WORKSPACE
        if s.startswith(main):
            return s[len(main) - 2:]
    return s

# Settings that say where the remote cache of lazy pushes (and of the Build
# Event Service push) is, and the credential helpers of remote cache and
# registry calls; recorded in the deploy manifest.
REMOTE_CACHE_ATTRS = {
    "_remote_cache": attr.label(default = "//img/settings:remote_cache", providers = [BuildSettingInfo]),
    "_remote_instance_name": attr.label(default = "//img/settings:remote_instance_name", providers = [BuildSettingInfo]),
    "_credential_helper": attr.label(default = "//img/settings:credential_helper", providers = [BuildSettingInfo]),
    "_credential_helper_oci_registry": attr.label(default = "//img/settings:credential_helper_oci_registry", providers = [BuildSettingInfo]),
    "_credential_helper_remote_cache": attr.label(default = "//img/settings:credential_helper_remote_cache", providers = [BuildSettingInfo]),
}

def remote_cache_args(ctx, args):
    """Adds the remote cache settings as --remote-cache etc. to args.

    Args:
        ctx: rule context with REMOTE_CACHE_ATTRS.
        args: Args of a deploy-metadata or deploy-merge action.
    """
    for flag, attr_value in [
        ("--remote-cache", ctx.attr._remote_cache),
        ("--remote-instance-name", ctx.attr._remote_instance_name),
        ("--credential-helper", ctx.attr._credential_helper),
        ("--credential-helper-oci-registry", ctx.attr._credential_helper_oci_registry),
        ("--credential-helper-remote-cache", ctx.attr._credential_helper_remote_cache),
    ]:
        value = attr_value[BuildSettingInfo].value
        if value:
            args.add(flag, value)

def _layer_origins(ctx, parts):
    """Writes which target produced each layer blob, and where it is.

    Lazy pushes name the target of a blob that the remote cache lacks, and
    read the blob from the output tree when it is there.
    """
    origins = []
    for m in parts.manifests:
        origins.append([
            {"target": target_label(layer.blob.owner), "path": layer.blob.path} if layer.blob else {}
            for layer in m.layers
        ])
    out = ctx.actions.declare_file(ctx.label.name + "_layer_origins.json")
    ctx.actions.write(out, json.encode(origins))
    return out

def deploy_metadata(ctx, *, command, image, configuration, strategy):
    """Declares the deploy-metadata action and the operation's runfiles.

    Args:
        ctx: rule context with the img toolchain.
        command: "push" or "load".
        image: the image target.
        configuration: File with the operation's JSON configuration.
        strategy: the resolved strategy; only eager puts the layer blobs
            into the runfiles (the others read them from the remote cache).

    Returns:
        DeployInfo fields as a struct(dispatch, files).
    """
    parts = image_parts(image)
    out = ctx.actions.declare_file(ctx.label.name + "_dispatch.json")
    args = ctx.actions.args()
    args.add("deploy-metadata")
    args.add("--command", command)
    args.add("--target", target_label(ctx.label))
    args.add("--root-path", parts.root)
    args.add("--root-kind", parts.kind)
    args.add("--configuration-file", configuration)
    args.add("--strategy", strategy)
    remote_cache_args(ctx, args)
    origins = _layer_origins(ctx, parts)
    args.add("--layer-origins-file", origins)
    inputs = [parts.root, configuration, origins]
    files = {"root.json": parts.root}
    for i, m in enumerate(parts.manifests):
        args.add("--manifest-path", "{}={}".format(i, m.manifest.path))
        if m.missing_blobs:
            args.add("--missing-blobs-for-manifest", "{}={}".format(i, ",".join(m.missing_blobs)))
        inputs.append(m.manifest)
        files["manifests/{}/manifest.json".format(i)] = m.manifest
        files["manifests/{}/config.json".format(i)] = m.config
        if strategy == "eager":
            for j, layer in enumerate(m.layers):
                if layer.blob:
                    files["manifests/{}/layer/{}".format(i, j)] = layer.blob
    if PullInfo in image:
        pull = image[PullInfo]
        args.add_all(pull.registries, before_each = "--original-registry")
        args.add("--original-repository", pull.repository)
        if pull.tag:
            args.add("--original-tag", pull.tag)
        args.add("--original-digest", pull.digest)
    if PullOriginsInfo in image:
        # An index over different pulled bases: each manifest's own.
        for i, origin in enumerate(image[PullOriginsInfo].manifests):
            if origin:
                args.add("--original-for-manifest", "{}={}@{}".format(i, origin.repository, ",".join(origin.registries)))
    args.add(out)
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args],
        inputs = inputs,
        outputs = [out],
        mnemonic = "DeployMetadata",
        progress_message = "Writing the deploy manifest of %{label}",
    )
    return struct(dispatch = out, files = files)

def deploy_executable(ctx, ops, dispatch):
    """The launcher and runfiles of a deploy target.

    Args:
        ctx: rule context with the img toolchain and DEPLOY_EXEC_GROUPS.
        ops: list of (DeployInfo-like struct with `files`) in operation order.
        dispatch: File, the deploy manifest of all operations.

    Returns:
        (executable File, runfiles)
    """
    exe = ctx.actions.declare_file(ctx.label.name)
    launcher = ctx.exec_groups["host"].toolchains[TOOLCHAIN].imgtoolchaininfo.tool_exe
    ctx.actions.symlink(output = exe, target_file = launcher, is_executable = True)
    symlinks = {"dispatch.json": dispatch}
    for i, op in enumerate(ops):
        for rel, f in op.files.items():
            symlinks["{}/{}".format(i, rel)] = f
    return exe, ctx.runfiles(root_symlinks = symlinks)

# Settings that reach the launcher through its environment.
DEPLOY_ENV_ATTRS = {
    "_docker_config_path": attr.label(default = "//img/settings:docker_config_path", providers = [BuildSettingInfo]),
    "_insecure": attr.label(default = "//img/settings:insecure", providers = [BuildSettingInfo]),
}

def deploy_environment(ctx):
    """The environment of a deploy target's `bazel run`.

    Args:
        ctx: rule context with DEPLOY_ENV_ATTRS.

    Returns:
        RunEnvironmentInfo
    """
    env = {}
    docker_config = ctx.attr._docker_config_path[BuildSettingInfo].value
    if docker_config:
        # Read instead of ~/.docker/config.json; the launcher resolves a
        # relative path against $BUILD_WORKSPACE_DIRECTORY.
        env["IMG_DOCKER_CONFIG"] = docker_config
    if ctx.attr._insecure[BuildSettingInfo].value == "enabled":
        env["IMG_INSECURE"] = "1"
    return RunEnvironmentInfo(
        environment = env,
        inherited_environment = [
            "DOCKER_CONFIG",
            "IMG_DOCKER_CONFIG",
            "IMG_INSECURE",
            "REGISTRY_AUTH_FILE",
            "LOADER_BINARY",
            "DOCKER_DEFAULT_PLATFORM",
        ],
    )
