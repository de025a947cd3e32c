"""Shared parts of the deploy rules (image_push, image_load, multi_deploy)."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("@platforms//host:constraints.bzl", "HOST_CONSTRAINTS")
load("//img/private/common:build.bzl", "TOOLCHAIN", "TOOLCHAINS", "img_full_tool")
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

_REMOTE_CACHE_SETTINGS = [
    # (flag of deploy-metadata and deploy-merge, deploy manifest setting, attribute)
    ("--remote-cache", "remote_cache", "_remote_cache"),
    ("--remote-instance-name", "remote_instance_name", "_remote_instance_name"),
    ("--credential-helper", "credential_helper", "_credential_helper"),
    ("--credential-helper-oci-registry", "credential_helper_oci_registry", "_credential_helper_oci_registry"),
    ("--credential-helper-remote-cache", "credential_helper_remote_cache", "_credential_helper_remote_cache"),
]

def _remote_cache_values(ctx):
    """(flag, setting key, value) of each remote cache setting that is set."""
    values = []
    for flag, key, name in _REMOTE_CACHE_SETTINGS:
        value = getattr(ctx.attr, name)[BuildSettingInfo].value
        if value:
            values.append((flag, key, value))
    return values

def remote_cache_args(ctx, args):
    """Adds the remote cache settings as --remote-cache etc. to args.

    Args:
        ctx: rule context with REMOTE_CACHE_ATTRS.
        args: Args of a deploy-metadata or deploy-merge action.
    """
    for flag, _, value in _remote_cache_values(ctx):
        args.add(flag, value)

def deploy_settings(ctx, push_strategy = None, load_strategy = None):
    """The settings of a deploy plan: strategies and remote cache settings.

    Args:
        ctx: rule context with REMOTE_CACHE_ATTRS.
        push_strategy: strategy of the pushes, or None.
        load_strategy: strategy of the loads, or None.

    Returns:
        dict in the deploy manifest's "settings" format.
    """
    settings = {}
    if push_strategy:
        settings["push_strategy"] = push_strategy
    if load_strategy:
        settings["load_strategy"] = load_strategy
    for _, key, value in _remote_cache_values(ctx):
        settings[key] = value
    return settings

def write_deploy_plan(ctx, planned_operations, settings):
    """Writes a deploy plan: a deploy manifest that the launcher resolves.

    Args:
        ctx: rule context.
        planned_operations: list of planned operations (dicts).
        settings: dict from deploy_settings.

    Returns:
        (File, string): the plan, named like a deploy manifest, and its
        JSON text (the value of DeployInfo.plan).
    """
    out = ctx.actions.declare_file(ctx.label.name + "_dispatch.json")
    text = json.encode({"planned_operations": planned_operations, "settings": settings})
    ctx.actions.write(out, text)
    return out, text

def planned_operations(ops):
    """The planned operations of DeployInfos whose plan is set, in order.

    Args:
        ops: list of DeployInfo with `plan`.

    Returns:
        list of dicts.
    """
    return [json.decode(op.plan)["planned_operations"][0] for op in ops]

def plan_runfile_args(args, ops):
    """Adds --runfile I/PATH=FILE for the files that resolve planned ops.

    Args:
        args: Args of a deploy-merge action.
        ops: the DeployInfo of the merged operations, in order.

    Returns:
        list of File: the files named, inputs of the action.
    """
    inputs = []
    for i, op in enumerate(ops):
        if not op.plan:
            continue
        for rel, f in op.files.items():
            if rel in ("root.json", "configuration.json") or rel.endswith("/manifest.json"):
                args.add("--runfile", "{}/{}={}".format(i, rel, f.path))
                inputs.append(f)
    return inputs

def _layer_origins(parts):
    """Which target produced each layer blob, and where it is.

    Lazy pushes name the target of a blob that the remote cache lacks, and
    read the blob from the output tree when it is there.
    """
    return [
        [
            {"target": target_label(layer.blob.owner), "path": layer.blob.path} if layer.blob else {}
            for layer in m.layers
        ]
        for m in parts.manifests
    ]

def _planned_operation(ctx, command, image, parts, strategy):
    """The operation as a deploy plan entry (see deploy.PlannedOperation)."""
    op = {
        "command": command,
        "target": target_label(ctx.label),
        "root_kind": parts.kind,
        "strategy": strategy,
        "manifests": len(parts.manifests),
        "layer_origins": _layer_origins(parts),
    }
    missing = [list(m.missing_blobs or []) for m in parts.manifests]
    if [m for m in missing if m]:
        op["missing_blobs"] = missing
    if PullInfo in image:
        pull = image[PullInfo]
        op["original_registries"] = list(pull.registries)
        op["original_repository"] = pull.repository
        if pull.tag:
            op["original_tag"] = pull.tag
        op["original_digest"] = pull.digest
    if PullOriginsInfo in image:
        # An index over different pulled bases: each manifest's own.
        op["manifest_origins"] = [
            {"registries": list(origin.registries), "repository": origin.repository} if origin else None
            for origin in image[PullOriginsInfo].manifests
        ]
    return op

def _resolved_deploy_manifest(ctx, command, parts, configuration, plan, out):
    """Declares the action that writes a resolved deploy manifest (bes)."""
    args = ctx.actions.args()
    args.add("deploy-metadata")
    args.add("--command", command)
    args.add("--target", plan["target"])
    args.add("--root-path", parts.root)
    args.add("--root-kind", parts.kind)
    args.add("--configuration-file", configuration)
    args.add("--strategy", plan["strategy"])
    remote_cache_args(ctx, args)
    origins = ctx.actions.declare_file(ctx.label.name + "_layer_origins.json")
    ctx.actions.write(origins, json.encode(plan["layer_origins"]))
    args.add("--layer-origins-file", origins)
    inputs = [parts.root, configuration, origins]
    for i, m in enumerate(parts.manifests):
        args.add("--manifest-path", "{}={}".format(i, m.manifest.path))
        if m.missing_blobs:
            args.add("--missing-blobs-for-manifest", "{}={}".format(i, ",".join(m.missing_blobs)))
        inputs.append(m.manifest)
    args.add_all(plan.get("original_registries", []), before_each = "--original-registry")
    for flag, key in [("--original-repository", "original_repository"), ("--original-tag", "original_tag"), ("--original-digest", "original_digest")]:
        if plan.get(key):
            args.add(flag, plan[key])
    for i, origin in enumerate(plan.get("manifest_origins", [])):
        if origin:
            args.add("--original-for-manifest", "{}={}@{}".format(i, origin["repository"], ",".join(origin["registries"])))
    args.add(out)
    ctx.actions.run(
        executable = img_full_tool(ctx),
        arguments = [args],
        inputs = inputs,
        outputs = [out],
        mnemonic = "DeployMetadata",
        progress_message = "Writing the deploy manifest of %{label}",
    )

def deploy_metadata(ctx, *, command, image, request, strategy):
    """The deploy manifest of one push or load, and its runfiles.

    Every strategy but bes gets a deploy plan, written at analysis without
    a process: the launcher resolves it from the runfiles when it starts.
    A bes push gets the resolved deploy manifest from one action, because
    the Build Event Service reads it without runfiles.

    Args:
        ctx: rule context with the img toolchain and TEMPLATING_ATTRS.
        command: "push" or "load".
        image: the image target.
        request: dict, the destination (strings may be templates).
        strategy: the resolved strategy; only eager puts the layer blobs
            into the runfiles (the others read them from the remote cache).

    Returns:
        DeployInfo fields as a struct(dispatch, files, plan).
    """
    parts = image_parts(image)
    files = {"root.json": parts.root}

    # Templates are expanded by an action (into a runfile); a destination
    # without them goes into the plan itself.
    configuration = expand_templates(ctx, "{}_{}".format(ctx.label.name, command), request, unstamped_missing = "keep")
    if configuration:
        files["configuration.json"] = configuration
    for i, m in enumerate(parts.manifests):
        files["manifests/{}/manifest.json".format(i)] = m.manifest
        files["manifests/{}/config.json".format(i)] = m.config
        if strategy == "eager":
            for j, layer in enumerate(m.layers):
                if layer.blob:
                    files["manifests/{}/layer/{}".format(i, j)] = layer.blob
    plan = _planned_operation(ctx, command, image, parts, strategy)
    if not configuration:
        plan["configuration"] = request
    if strategy == "bes":
        if not configuration:
            configuration = ctx.actions.declare_file("{}_{}.json".format(ctx.label.name, command))
            ctx.actions.write(configuration, json.encode(request))
        out = ctx.actions.declare_file(ctx.label.name + "_dispatch.json")
        _resolved_deploy_manifest(ctx, command, parts, configuration, plan, out)
        return struct(dispatch = out, files = files, plan = None)
    settings = deploy_settings(
        ctx,
        push_strategy = strategy if command == "push" else None,
        load_strategy = strategy if command == "load" else None,
    )
    # The provider keeps the file's text, which the action holds anyway,
    # not a second copy of the plan as dicts: multi_deploy decodes it.
    dispatch, text = write_deploy_plan(ctx, [plan], settings)
    return struct(dispatch = dispatch, files = files, plan = text)

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
