"""multi_deploy: several pushes and loads in one `bazel run`."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//img/private/common:build.bzl", "TOOLCHAINS", "img_full_tool")
load("//img/private/common:deploy.bzl", "DEPLOY_ENV_ATTRS", "DEPLOY_EXEC_GROUPS", "REMOTE_CACHE_ATTRS", "deploy_environment", "deploy_executable", "deploy_settings", "plan_runfile_args", "planned_operations", "remote_cache_args", "write_deploy_plan")
load("//img/private/common:transitions.bzl", "reset_platform_transition")
load("//img/private/providers:deploy_info.bzl", "DeployInfo")

_ATTRS = {
    "operations": attr.label_list(
        mandatory = True,
        providers = [DeployInfo],
        doc = "image_push and image_load targets, run in this order.",
    ),
    "push_strategy": attr.string(
        default = "auto",
        values = ["auto", "eager", "lazy", "cas_registry", "bes"],
        doc = "Strategy of all pushes. `auto`: `//img/settings:push_strategy`.",
    ),
    "load_strategy": attr.string(
        default = "auto",
        values = ["auto", "eager", "lazy"],
        doc = "Strategy of all loads. `auto`: `//img/settings:load_strategy`.",
    ),
    "_push_strategy": attr.label(default = "//img/settings:push_strategy", providers = [BuildSettingInfo]),
    "_load_strategy": attr.label(default = "//img/settings:load_strategy", providers = [BuildSettingInfo]),
} | REMOTE_CACHE_ATTRS | DEPLOY_ENV_ATTRS

def _multi_deploy_impl(ctx):
    ops = [t[DeployInfo] for t in ctx.attr.operations]
    push_strategy = ctx.attr.push_strategy
    if push_strategy == "auto":
        push_strategy = ctx.attr._push_strategy[BuildSettingInfo].value
    load_strategy = ctx.attr.load_strategy
    if load_strategy == "auto":
        load_strategy = ctx.attr._load_strategy[BuildSettingInfo].value
    if push_strategy != "bes" and all([op.plan for op in ops]):
        # Every operation is a plan: the merged plan is a file write, and the
        # launcher resolves it from the runfiles.
        strategies = {"push": push_strategy, "load": load_strategy}
        planned = [op | {"strategy": strategies[op["command"]]} for op in planned_operations(ops)]
        dispatch, _ = write_deploy_plan(ctx, planned, deploy_settings(ctx, push_strategy, load_strategy))
    else:
        dispatch = ctx.actions.declare_file(ctx.label.name + "_dispatch.json")
        args = ctx.actions.args()
        args.add("deploy-merge")
        args.add("--push-strategy", push_strategy)
        args.add("--load-strategy", load_strategy)
        remote_cache_args(ctx, args)
        plan_files = plan_runfile_args(args, ops)
        args.add(dispatch)
        args.add_all([op.dispatch for op in ops])
        ctx.actions.run(
            executable = img_full_tool(ctx),
            arguments = [args],
            inputs = [op.dispatch for op in ops] + plan_files,
            outputs = [dispatch],
            mnemonic = "DeployMerge",
            progress_message = "Merging the deploy manifests of %{label}",
        )
    exe, runfiles = deploy_executable(ctx, ops, dispatch)
    return [
        DefaultInfo(
            executable = exe,
            files = depset([dispatch] if push_strategy == "bes" else [exe]),
            runfiles = runfiles,
        ),
        deploy_environment(ctx),
    ]

multi_deploy = rule(
    implementation = _multi_deploy_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    exec_groups = DEPLOY_EXEC_GROUPS,
    cfg = reset_platform_transition,
    executable = True,
    doc = """Runs several deploy operations (image_push, image_load) with one `bazel run`.

```starlark
load("@rules_img//img:multi_deploy.bzl", "multi_deploy")

multi_deploy(
    name = "release",
    operations = [":push_app", ":push_worker"],
)
```""",
)
