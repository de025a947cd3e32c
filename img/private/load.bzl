"""image_load: `bazel run` loads an image into containerd, Docker or podman."""

load("//img/private/common:build.bzl", "TOOLCHAINS", "img_tool")
load("//img/private/common:deploy.bzl", "DEPLOY_ENV_ATTRS", "DEPLOY_EXEC_GROUPS", "REMOTE_CACHE_ATTRS", "deploy_environment", "deploy_executable", "deploy_metadata", "image_parts")
load("//img/private/common:templating.bzl", "TEMPLATING_ATTRS")
load("//img/private/common:transitions.bzl", "reset_platform_transition")
load("//img/private/providers:deploy_info.bzl", "DeployInfo")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:load_settings_info.bzl", "LoadSettingsInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")

_ATTRS = {
    "image": attr.label(
        mandatory = True,
        providers = [[ImageManifestInfo], [ImageIndexInfo]],
        doc = "The image (image_manifest) or index (image_index) to load.",
    ),
    "tag": attr.string(
        doc = """Image name to load as, e.g. `my-app:latest`. Templates allowed. Not
together with `tag_list`. Without any name the image is loaded by digest
(`bazel run //:load -- --tag NAME` adds one).""",
    ),
    "tag_list": attr.string_list(
        doc = "Image names to load as. Templates allowed.",
    ),
    "daemon": attr.string(
        default = "auto",
        values = ["auto", "containerd", "docker", "podman", "containerization", "tar", "generic"],
        doc = """Where to load. `containerd`: its content store, writing only missing blobs;
`docker`: through Docker's containerd when Docker uses the containerd image
store, else `docker load`; `podman`: `podman load`; `containerization`:
`container image load` (Apple's container CLI, or `LOADER_BINARY`), fed a tar
that is both a docker-save archive and an OCI layout (of the whole index for
an index); `tar`: no runtime, `bazel run` writes that tar to stdout
(`bazel run //:load > image.tar`, or `| docker load`; names and progress go
to stderr); `generic`: the program in `LOADER_BINARY`, fed a docker-save tar;
`auto`: `//img/settings:load_daemon` (default `docker`).""",
    ),
    "strategy": attr.string(
        default = "auto",
        values = ["auto", "eager", "lazy"],
        doc = """`eager`: the layers are runfiles (downloaded by Bazel); `lazy`: they
stay in the remote cache and the load reads those that containerd lacks
from there (see `//img/settings:remote_cache`). `auto`:
`//img/settings:load_strategy`.""",
    ),
    "_load_settings": attr.label(default = "//img/private/settings:load", providers = [LoadSettingsInfo]),
} | TEMPLATING_ATTRS | REMOTE_CACHE_ATTRS | DEPLOY_ENV_ATTRS

def _tarball(ctx, parts, tags):
    """A docker-save tar that is also an OCI layout.

    For an index the OCI layout holds the whole index and manifest.json
    lists its first manifest; every layer of every manifest is read.
    """
    out = ctx.actions.declare_file(ctx.label.name + "_docker.tar")
    args = ctx.actions.args()
    args.add("docker-save")
    inputs = []
    seen = {}  # layer metadata paths already passed
    if parts.kind == "index":
        args.add("--index", parts.root)
        inputs.append(parts.root)
    for m in parts.manifests:
        if parts.kind == "index":
            args.add("--manifest-path", m.manifest)
            args.add("--config-path", m.config)
        else:
            args.add("--manifest", m.manifest)
            args.add("--config", m.config)
        inputs.extend([m.manifest, m.config])
        for layer in m.layers:
            if layer.blob and layer.metadata.path not in seen:
                seen[layer.metadata.path] = True
                args.add("--layer", "{}={}".format(layer.metadata.path, layer.blob.path))
                inputs.extend([layer.metadata, layer.blob])
    if tags and "{{" not in tags[0]:
        args.add("--tag", tags[0])
    args.add("--output", out)
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args],
        inputs = depset(inputs),
        outputs = [out],
        mnemonic = "DockerSave",
        progress_message = "Writing docker tarball of %{label}",
    )
    return out

def _image_load_impl(ctx):
    strategy = ctx.attr.strategy
    if strategy == "auto":
        strategy = ctx.attr._load_settings[LoadSettingsInfo].strategy
    if ctx.attr.tag and ctx.attr.tag_list:
        fail("{}: set tag or tag_list, not both".format(ctx.label))
    tags = [ctx.attr.tag] if ctx.attr.tag else list(ctx.attr.tag_list)
    daemon = ctx.attr.daemon
    if daemon == "auto":
        daemon = ctx.attr._load_settings[LoadSettingsInfo].daemon
    request = {"tags": tags, "daemon": daemon}
    op = deploy_metadata(
        ctx,
        command = "load",
        image = ctx.attr.image,
        request = request,
        strategy = strategy,
    )
    exe, runfiles = deploy_executable(ctx, [op], op.dispatch)
    return [
        DefaultInfo(executable = exe, runfiles = runfiles),
        deploy_environment(ctx),
        OutputGroupInfo(tarball = depset([_tarball(ctx, image_parts(ctx.attr.image), tags)])),
        DeployInfo(command = "load", dispatch = op.dispatch, files = op.files, plan = op.plan, strategy = strategy),
    ]

image_load = rule(
    implementation = _image_load_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    exec_groups = DEPLOY_EXEC_GROUPS,
    cfg = reset_platform_transition,
    executable = True,
    doc = """Loads an image or index into a local runtime with `bazel run`.

Into containerd (directly, or as Docker's image store) only the blobs the
content store lacks are written, so loading again after a small change moves
one small layer. Without the containerd image store, Docker gets a
`docker load` tarball (one platform; not incremental).

```starlark
load("@rules_img//img:load.bzl", "image_load")

image_load(
    name = "load",
    image = ":app",
    tag = "my-app:latest",
)
```

`bazel run //:load -- --platform linux/amd64,linux/arm64 --tag my-app:dev`
adds the name `my-app:dev` and loads two platforms of an index (default:
all of them into containerd; the host's, or `$DOCKER_DEFAULT_PLATFORM`,
into Docker).
The `tarball` output group is a docker-save tar that is also an OCI layout;
for an index it holds every manifest (index.json names the index) and its
manifest.json, which `docker load` reads, lists the first one.""",
)
