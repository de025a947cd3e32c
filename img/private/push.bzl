"""image_push: `bazel run` pushes an image or index to a registry."""

load("//img/private/common:build.bzl", "TOOLCHAINS")
load("//img/private/common:deploy.bzl", "DEPLOY_ENV_ATTRS", "DEPLOY_EXEC_GROUPS", "REMOTE_CACHE_ATTRS", "deploy_environment", "deploy_executable", "deploy_metadata")
load("//img/private/common:names.bzl", "check_push_destination")
load("//img/private/common:templating.bzl", "TEMPLATING_ATTRS")
load("//img/private/common:transitions.bzl", "reset_platform_transition")
load("//img/private/providers:deploy_info.bzl", "DeployInfo")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")
load("//img/private/providers:push_settings_info.bzl", "PushSettingsInfo")

_ATTRS = {
    "image": attr.label(
        mandatory = True,
        providers = [[ImageManifestInfo], [ImageIndexInfo]],
        doc = "The image (image_manifest) or index (image_index) to push.",
    ),
    "registry": attr.string(doc = """Registry host, e.g. `ghcr.io` or `127.0.0.1:5000`. Templates allowed.
Empty: `//img/settings:destination_registry`, or `--registry` at run time."""),
    "repository": attr.string(doc = "Repository, e.g. `my-org/app`. Templates allowed. Empty: `--repository` at run time."),
    "tag": attr.string(doc = "One tag. Templates allowed. Not together with `tag_list`."),
    "tag_list": attr.string_list(doc = "Tags. Templates allowed. Without any tag the push is by digest only."),
    "strategy": attr.string(
        default = "auto",
        values = ["auto", "eager", "lazy", "cas_registry", "bes"],
        doc = "How blobs reach the registry. `auto`: `//img/settings:push_strategy`. See docs/push-strategies.md.",
    ),
    "_push_settings": attr.label(default = "//img/private/settings:push", providers = [PushSettingsInfo]),
} | TEMPLATING_ATTRS | REMOTE_CACHE_ATTRS | DEPLOY_ENV_ATTRS

def _image_push_impl(ctx):
    if ctx.attr.tag and ctx.attr.tag_list:
        fail("{}: set tag or tag_list, not both".format(ctx.label))
    settings = ctx.attr._push_settings[PushSettingsInfo]
    registry = ctx.attr.registry or settings.destination_registry
    strategy = ctx.attr.strategy
    if strategy == "auto":
        strategy = settings.strategy
    tags = [ctx.attr.tag] if ctx.attr.tag else list(ctx.attr.tag_list)
    check_push_destination(ctx.label, registry, ctx.attr.repository, tags)
    request = {"registry": registry, "repository": ctx.attr.repository, "tags": tags}
    op = deploy_metadata(
        ctx,
        command = "push",
        image = ctx.attr.image,
        request = request,
        strategy = strategy,
    )
    exe, runfiles = deploy_executable(ctx, [op], op.dispatch)
    return [
        # With the bes strategy the deploy manifest is the target's output:
        # the Build Event Service backend finds it in the build's events.
        DefaultInfo(
            executable = exe,
            files = depset([op.dispatch] if strategy == "bes" else [exe]),
            runfiles = runfiles,
        ),
        deploy_environment(ctx),
        DeployInfo(command = "push", dispatch = op.dispatch, files = op.files, plan = op.plan, strategy = strategy),
    ]

image_push = rule(
    implementation = _image_push_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    exec_groups = DEPLOY_EXEC_GROUPS,
    cfg = reset_platform_transition,
    executable = True,
    doc = """Pushes an image or index with `bazel run`.

The registry receives only the blobs it lacks: every blob is checked with
HEAD first; base layers that were never downloaded (shallow pulls) are
mounted from the base's repository when it is on the same registry, or
streamed from the base's registry. Manifests follow, tags last, so a failed
push never leaves a tag on a partial image.

```starlark
load("@rules_img//img:push.bzl", "image_push")

image_push(
    name = "push",
    image = ":app",
    registry = "ghcr.io",
    repository = "my-org/app",
    tag_list = ["latest", "{{.STABLE_GIT_COMMIT}}"],
    stamp = "enabled",
)
```

`bazel run //:push -- --tag extra --registry localhost:5000` adds a tag and
sets the registry at run time; `registry` and `repository` may be left
empty on the target and given that way. A tag whose template needs the
workspace status (`{{.STABLE_GIT_COMMIT}}`) builds without `--stamp`, but
the push then refuses to run and says so. Credentials come from the docker
`config.json` (`DOCKER_CONFIG`, `//img/settings:docker_config_path`),
credential helpers, and Google's application default credentials for
Google registries.""",
)
