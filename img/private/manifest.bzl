"""image_manifest: a single-platform image from a base and layers."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//img/private/common:build.bzl", "TOOLCHAINS", "img_tool")
load("//img/private/common:compression.bzl", "compression", "layer_name")
load("//img/private/common:image_outputs.bzl", "IMAGE_OUTPUT_ATTRS", "image_output_groups")
load("//img/private/common:inherit.bzl", "INHERIT_FROM_BASE", "inherit")
load("//img/private/common:templating.bzl", "TEMPLATING_ATTRS", "build_stamps", "expand_templates")
load("//img/private/common:transitions.bzl", "normalize_layer_transition")
load("//img/private/platforms:platforms.bzl", "TargetPlatformInfo")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:layer_config_info.bzl", "ImageLayerConfigInfo")
load("//img/private/providers:layer_info.bzl", "LayerInfo")
load("//img/private/providers:layers_info.bzl", "LayersInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")
load("//img/private/providers:pull_info.bzl", "PullInfo")

_ATTRS = {
    "base": attr.label(
        providers = [[ImageManifestInfo], [ImageIndexInfo]],
        doc = """Base image: an image (ImageManifestInfo) or an index (ImageIndexInfo), from
which the manifest of the target platform (os, architecture, `platform`) is
taken. Its layers come first; its config is inherited.""",
    ),
    "layers": attr.label_list(
        # Any file: LayerInfo targets may have blobs of any name (artifact
        # blobs); _layer_infos checks that a plain file is a tar.
        allow_files = True,
        cfg = normalize_layer_transition,
        doc = """Layers on top of the base, bottom first: targets with LayerInfo
(`image_layer`, `layer_from_tar`), targets with LayersInfo (all their
layers, in order, e.g. `layer_from_binary`), or plain tar files. A target
that also returns ImageLayerConfigInfo brings config along (e.g. the
entrypoint of its binary): the layers' configs are applied in this order
over the base's config, before `config_fragment` and the attributes below.""",
    ),
    "os": attr.string(
        doc = "OS of the image (GOOS). Empty: the base image's, else the target platform's.",
    ),
    "architecture": attr.string(
        doc = "CPU architecture of the image (GOARCH). Empty: the base image's, else the target platform's.",
    ),
    "platform": attr.string_dict(
        doc = "Further platform fields, e.g. `{\"variant\": \"v8\"}`; also used to choose the manifest of a base index.",
    ),
    "user": attr.string(
        default = INHERIT_FROM_BASE,
        doc = """User (name or UID, optionally `:group`) the container process runs as.
Default `INHERIT_FROM_BASE`: the base's (after the layers' configs); `""`
unsets it.""",
    ),
    "env": attr.string_dict(doc = """Environment variables, over the base's and then the layers' (a variable
of the same name is replaced in place). Templates allowed."""),
    "entrypoint": attr.string_list(
        default = [INHERIT_FROM_BASE],
        doc = """Entrypoint argv. Default `[INHERIT_FROM_BASE]`: the base's, or the last
one a layer set (ImageLayerConfigInfo); `[]` unsets it; each
`INHERIT_FROM_BASE` item is replaced by that inherited list, so
`[INHERIT_FROM_BASE, "--verbose"]` appends an argument.""",
    ),
    "cmd": attr.string_list(
        default = [INHERIT_FROM_BASE],
        doc = """Default arguments (cmd), with the same rules as `entrypoint`:
`[INHERIT_FROM_BASE]` (the default) inherits, `[]` unsets, items
`INHERIT_FROM_BASE` splice the inherited list in. A layer that sets an
entrypoint also sets cmd (to its own, or empty), as Dockerfile's
`ENTRYPOINT` does.""",
    ),
    "working_dir": attr.string(
        default = INHERIT_FROM_BASE,
        doc = """Working directory of the container process. Default `INHERIT_FROM_BASE`:
the base's (after the layers' configs); `""` unsets it.""",
    ),
    "labels": attr.string_dict(doc = "Config labels, merged over the base's. Templates allowed."),
    "annotations": attr.string_dict(doc = "Manifest annotations. Templates allowed."),
    "stop_signal": attr.string(
        default = INHERIT_FROM_BASE,
        doc = """Signal that stops the container, e.g. `SIGTERM`. Default
`INHERIT_FROM_BASE`: the base's; `""` unsets it.""",
    ),
    "created": attr.label(
        allow_single_file = True,
        doc = """File holding the creation time of the image (the config's `created`),
as an RFC 3339 date-time (e.g. `2024-05-06T07:08:09Z`) or Unix seconds;
whitespace around it is ignored. E.g. a file written by a stamped genrule.
Wins over `created_timestamp` and `stamp_created`. An invalid time fails
the build, naming the target and the value.""",
    ),
    "created_timestamp": attr.string(
        doc = """Creation time of the image: an RFC 3339 date-time (e.g.
`2024-05-06T07:08:09Z`, an offset and fractional seconds are kept as
written) or Unix seconds as digits (e.g. `1700000000`, written as RFC 3339
in UTC). Used when `created` is not set; wins over `stamp_created`.
Without `created`, `created_timestamp` and stamping, the image is created
at the Unix epoch, so that equal inputs give equal digests.""",
    ),
    "stamp_created": attr.string(
        default = "auto",
        values = ["auto", "enabled", "disabled"],
        doc = """Whether a stamped build sets the creation time to the build's time
(`BUILD_TIMESTAMP` of Bazel's volatile workspace status, in UTC).
`enabled`: when Bazel's `--stamp` is given (or `//img/settings:stamp` is
`force`); `disabled`: never; `auto`: as `//img/settings:stamp_created`
says (default `disabled`). `created` and `created_timestamp` win over it.""",
    ),
    "_stamp_created_setting": attr.label(
        default = "//img/settings:stamp_created",
        providers = [BuildSettingInfo],
    ),
    "config_fragment": attr.label(
        allow_single_file = [".json"],
        doc = """JSON of a partial image config, merged over the base's config before the
attributes above. It may not describe layers: `rootfs` is refused, and
`history` may only add entries with `"empty_layer": true` (the manifest
writes rootfs and one history entry per layer itself). A numeric user must
be a uid (and gid) from 0 to 2147483647.""",
    ),
    "artifact_type": attr.string(
        doc = """Write an OCI 1.1 artifact manifest of this `artifactType` (a media type,
e.g. `application/vnd.example.docs.v1`) instead of an image: its config is
the empty blob `{}` (`application/vnd.oci.empty.v1+json`), and `layers` may
hold artifact blobs of any media type (`oras_file_layer`) besides tar
layers. An artifact has no image config, so `base`, `config_fragment`,
`env`, `labels`, `created`, `created_timestamp`, layers with a config
(ImageLayerConfigInfo), and `user`, `working_dir`, `stop_signal`,
`entrypoint` and `cmd` other than their defaults fail the build;
`annotations` are kept, and `os`/`architecture` only describe the manifest
in an index. Empty (the default): an image.""",
    ),
    "_os_cpu": attr.label(
        default = "//img/private/platforms:target_os_cpu",
        providers = [TargetPlatformInfo],
    ),
} | TEMPLATING_ATTRS | IMAGE_OUTPUT_ATTRS

def _matches(manifest, os, arch, platform):
    if manifest.os != os or manifest.architecture != arch:
        return False
    for k, v in platform.items():
        if manifest.platform.get(k, "") != v:
            return False
    return True

def _select_base(ctx, os, arch):
    base = ctx.attr.base
    if base == None:
        return None
    if ImageManifestInfo in base:
        return base[ImageManifestInfo]
    candidates = base[ImageIndexInfo].manifests
    for m in candidates:
        if _matches(m, os, arch, ctx.attr.platform):
            return m
    fail("{}: base {} has no manifest for {}/{}{} (it has: {})".format(
        ctx.label,
        base.label,
        os,
        arch,
        "".join(["/{}={}".format(k, v) for k, v in ctx.attr.platform.items()]),
        ", ".join(sorted(["{}/{}".format(m.os, m.architecture) for m in candidates])),
    ))

def _layer_infos(ctx):
    """The new layers, bottom first, and the layers' configs in layer order."""
    infos = []
    configs = []
    for target in ctx.attr.layers:
        if ImageLayerConfigInfo in target:
            configs.append(target[ImageLayerConfigInfo])
        if LayersInfo in target:
            if not target[LayersInfo].layers:
                fail("{}: layers entry {} has LayersInfo without layers".format(ctx.label, target.label))
            infos.extend(target[LayersInfo].layers)
            continue
        if LayerInfo in target:
            infos.append(target[LayerInfo])
            continue
        files = target[DefaultInfo].files.to_list()
        if not [f for f in files if [e for e in compression.tar_extensions if f.basename.endswith(e)]]:
            fail("in layers attribute of image_manifest rule {}: '{}' does not produce any image_manifest layers files (expected {}); a layer is a target with LayerInfo or LayersInfo, or a tar file".format(
                layer_name(ctx.label),
                layer_name(target.label),
                ", ".join(compression.tar_extensions),
            ))
        if len(files) != 1 or not [e for e in compression.tar_extensions if files[0].basename.endswith(e)]:
            fail("{}: layers entry {} is neither a layer (LayerInfo) nor a single tar file".format(ctx.label, target.label))
        tar = files[0]
        md = ctx.actions.declare_file("{}_layer_{}_metadata.json".format(ctx.label.name, len(infos)))
        listing = ctx.actions.declare_file("{}_layer_{}.mtree".format(ctx.label.name, len(infos)))
        ctx.actions.run(
            executable = img_tool(ctx),
            arguments = ["layer-metadata", "--name", layer_name(target.label), "--mtree", listing.path, tar.path, md.path],
            inputs = [tar],
            outputs = [md, listing],
            mnemonic = "LayerMetadata",
            progress_message = "Describing layer " + tar.short_path,
        )
        fmt = compression.source_compression(tar)
        infos.append(LayerInfo(blob = tar, metadata = md, media_type = compression.media_type(fmt), estargz = False, mtree = listing))
    return infos, configs

def _stamp_created(ctx):
    """Whether the creation time comes from the workspace status."""
    if ctx.attr.stamp_created == "disabled":
        return False
    if ctx.attr.stamp_created == "auto" and ctx.attr._stamp_created_setting[BuildSettingInfo].value != "enabled":
        return False
    return build_stamps(ctx)

def _check_created_timestamp(ctx):
    """Fails early for a created_timestamp of neither shape; `img manifest` checks the rest."""
    ts = ctx.attr.created_timestamp
    if ts and not ts.isdigit() and not (len(ts) >= 20 and ts[4] == "-" and ts[10] == "T"):
        fail("{}: created_timestamp {} is neither an RFC 3339 date-time (2024-05-06T07:08:09Z) nor Unix seconds".format(ctx.label, repr(ts)))

def _check_artifact(ctx, base, layer_configs):
    """Fails for what an artifact manifest, which has no image config, cannot hold."""
    set_attrs = [a for a, v in [
        ("base", base),
        ("config_fragment", ctx.file.config_fragment),
        ("env", ctx.attr.env),
        ("labels", ctx.attr.labels),
        ("created", ctx.file.created),
        ("created_timestamp", ctx.attr.created_timestamp),
        ("user", ctx.attr.user != INHERIT_FROM_BASE),
        ("working_dir", ctx.attr.working_dir != INHERIT_FROM_BASE),
        ("stop_signal", ctx.attr.stop_signal != INHERIT_FROM_BASE),
        ("entrypoint", ctx.attr.entrypoint != [INHERIT_FROM_BASE]),
        ("cmd", ctx.attr.cmd != [INHERIT_FROM_BASE]),
        ("layers with a config (ImageLayerConfigInfo)", layer_configs),
    ] if v]
    if set_attrs:
        fail("{}: artifact_type {} makes an artifact manifest, which has no image config; remove {}".format(
            ctx.label,
            repr(ctx.attr.artifact_type),
            ", ".join(set_attrs),
        ))
    if not ctx.attr.layers:
        fail("{}: artifact_type {} needs at least one blob in layers".format(ctx.label, repr(ctx.attr.artifact_type)))

def _image_manifest_impl(ctx):
    _check_created_timestamp(ctx)
    target = ctx.attr._os_cpu[TargetPlatformInfo]
    want_os = ctx.attr.os or target.os
    want_arch = ctx.attr.architecture or target.architecture
    platform = dict(ctx.attr.platform)
    if target.variant and not ctx.attr.architecture and "variant" not in platform:
        platform["variant"] = target.variant
    base = _select_base(ctx, want_os, want_arch)
    if base:
        for what, mine, theirs in [("os", ctx.attr.os, base.os), ("architecture", ctx.attr.architecture, base.architecture)]:
            if mine and mine != theirs:
                fail("{}: {} {} differs from the base image's {}".format(ctx.label, what, repr(mine), repr(theirs)))
        os, arch = base.os, base.architecture
        platform = dict(base.platform) | dict(ctx.attr.platform)
    else:
        os, arch = want_os, want_arch
    if not os or not arch:
        fail("{}: the target platform has no known OS/CPU constraint; set os and architecture".format(ctx.label))

    new_layers, layer_configs = _layer_infos(ctx)
    if ctx.attr.artifact_type:
        _check_artifact(ctx, base, layer_configs)
    name = ctx.label.name
    manifest = ctx.actions.declare_file(name + "_manifest.json")
    config = ctx.actions.declare_file(name + "_config.json")
    descriptor = ctx.actions.declare_file(name + "_descriptor.json")
    digest = ctx.actions.declare_file(name + "_digest")

    args = ctx.actions.args()
    args.add("manifest")
    args.add("--name", layer_name(ctx.label))
    args.add("--os", os)
    args.add("--architecture", arch)
    if platform.get("variant"):
        args.add("--variant", platform["variant"])
    inputs = [layer.metadata for layer in new_layers]
    if base:
        args.add("--base-manifest", base.manifest)
        args.add("--base-config", base.config)
        inputs.extend([base.manifest, base.config])
    for layer in new_layers:
        args.add("--layer-from-metadata", layer.metadata)
    if ctx.file.config_fragment:
        args.add("--config-fragment", ctx.file.config_fragment)
        inputs.append(ctx.file.config_fragment)
    overrides = None if ctx.attr.artifact_type else inherit.config_overrides(ctx, name, layer_configs, {
        "user": ctx.attr.user,
        "working_dir": ctx.attr.working_dir,
        "stop_signal": ctx.attr.stop_signal,
        "entrypoint": ctx.attr.entrypoint,
        "cmd": ctx.attr.cmd,
    })
    if overrides:
        args.add("--config-overrides", overrides)
        inputs.append(overrides)
    if ctx.file.created:
        args.add("--created-file", ctx.file.created)
        inputs.append(ctx.file.created)
    elif ctx.attr.created_timestamp:
        args.add("--created", ctx.attr.created_timestamp)
    elif _stamp_created(ctx) and not ctx.attr.artifact_type:
        args.add("--created-from-status", ctx.version_file)
        inputs.append(ctx.version_file)
    if ctx.attr.artifact_type:
        args.add("--artifact-type", ctx.attr.artifact_type)
    for k, v in ctx.attr.env.items():
        args.add("--env", "{}={}".format(k, v))
    for k, v in ctx.attr.labels.items():
        args.add("--label", "{}={}".format(k, v))
    for k, v in ctx.attr.annotations.items():
        args.add("--annotation", "{}={}".format(k, v))
    templates = expand_templates(ctx, name, {
        "env": ctx.attr.env,
        "labels": ctx.attr.labels,
        "annotations": ctx.attr.annotations,
    })
    if templates:
        args.add("--config-templates", templates)
        inputs.append(templates)
    args.add("--manifest", manifest)
    args.add("--config", config)
    args.add("--descriptor", descriptor)
    args.add("--digest", digest)
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args],
        inputs = inputs,
        outputs = [manifest, config, descriptor, digest],
        mnemonic = "ImageManifest",
        progress_message = "Writing image manifest %{label}",
    )

    layers = (base.layers if base else []) + new_layers
    info = ImageManifestInfo(
        base_image = ctx.attr.base[ImageIndexInfo] if ctx.attr.base and ImageIndexInfo in ctx.attr.base else base,
        descriptor = descriptor,
        digest = digest,
        manifest = manifest,
        config = config,
        structured_config = {"os": os, "architecture": arch, "variant": platform.get("variant", "")},
        architecture = arch,
        os = os,
        platform = platform,
        layers = layers,
        missing_blobs = base.missing_blobs if base else [],
    )
    groups = image_output_groups(ctx, [info])
    providers = [
        DefaultInfo(files = depset([manifest, config])),
        OutputGroupInfo(descriptor = depset([descriptor]), digest = depset([digest]), **groups),
        info,
    ]
    if ctx.attr.base and PullInfo in ctx.attr.base:
        providers.append(ctx.attr.base[PullInfo])  # where the base layers live
    return providers

image_manifest = rule(
    implementation = _image_manifest_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [ImageManifestInfo],
    doc = """A single-platform image: manifest and config from a base and layers.

One action writes manifest, config, descriptor and digest from metadata only:
it reads the layers' metadata JSON and the base's manifest and config, never a
layer blob. The OS and architecture come from the base, or from the target
platform's `@platforms` constraints.

```starlark
load("@rules_img//img:image.bzl", "image_manifest")

image_manifest(
    name = "app",
    base = "@distroless_cc",
    layers = [":app_layer"],
    entrypoint = ["/app/bin/server"],
    env = {"APP_ENV": "production"},
    labels = {"org.opencontainers.image.version": "{{.STABLE_VERSION}}"},
    stamp = "enabled",
)
```

Config fields, in order: the base's config, then each layer's config
(ImageLayerConfigInfo, e.g. from `layer_from_binary`), then
`config_fragment`, then the attributes. `user`, `working_dir`,
`stop_signal`, `entrypoint` and `cmd` default to `INHERIT_FROM_BASE`
(loaded from `@rules_img//img:image.bzl`): left alone they keep that
value, set to `""` or `[]` they unset the field, and in a list the item
`INHERIT_FROM_BASE` stands for the inherited list:

```starlark
load("@rules_img//img:image.bzl", "INHERIT_FROM_BASE", "image_manifest")

image_manifest(
    name = "debug",
    base = ":app",
    entrypoint = [INHERIT_FROM_BASE, "--verbose"],  # the base's, plus a flag
    cmd = [],  # no cmd
    user = "",  # no user: root
)
```

Output groups: `descriptor`, `digest`, `oci_layout` (a directory),
`oci_tarball` (the layout as a tar, for `ctr images import` or
`podman load`) and `tarball` (for `docker load`).""",
)
