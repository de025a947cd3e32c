"""Analysis tests of image_push."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//img/private/providers:deploy_info.bzl", "DeployInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")

def _push_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[DeployInfo]
    image = ctx.attr.image[ImageManifestInfo]
    asserts.equals(env, "push", info.command)
    asserts.equals(env, ctx.attr.strategy, info.strategy)
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "DeployMetadata"]
    plans = [
        json.decode(a.content)
        for a in analysistest.target_actions(env)
        if a.mnemonic == "FileWrite" and a.outputs.to_list()[0].basename.endswith("_dispatch.json")
    ]
    if ctx.attr.strategy == "bes":
        # The Build Event Service reads a resolved deploy manifest.
        asserts.equals(env, 1, len(actions))
        asserts.equals(env, [], plans)
        asserts.equals(env, None, info.plan)
    else:
        asserts.equals(env, [], actions, "a deploy plan needs no action")
        asserts.equals(env, 1, len(plans))
        for plan in plans:
            asserts.equals(env, json.decode(info.plan), plan, "DeployInfo.plan is the plan's text")
            asserts.equals(env, ctx.attr.strategy, plan["settings"]["push_strategy"])
            op = plan["planned_operations"][0]
            asserts.equals(env, ["push", ctx.attr.strategy, 1], [op["command"], op["strategy"], op["manifests"]])
            if ctx.attr.remote_cache:
                asserts.equals(env, ctx.attr.remote_cache, plan["settings"].get("remote_cache"), "remote cache setting")
    for a in actions:
        inputs = [f.short_path for f in a.inputs.to_list()]
        for layer in image.layers:
            asserts.false(env, layer.blob.short_path in inputs, "DeployMetadata reads a layer blob")
    runfiles = target[DefaultInfo].default_runfiles
    paths = sorted([s.path for s in runfiles.root_symlinks.to_list()])
    want = ["0/manifests/0/config.json", "0/manifests/0/layer/0", "0/manifests/0/layer/1", "0/manifests/0/manifest.json", "0/root.json", "dispatch.json"]
    if ctx.attr.strategy != "eager":
        # Lazy strategies leave the layers in the remote cache.
        want = [p for p in want if "/layer/" not in p]
    asserts.equals(env, want, paths, "runfiles layout")
    outputs = [f.basename for f in target[DefaultInfo].files.to_list()]
    want_outputs = [target.label.name + "_dispatch.json"] if ctx.attr.strategy == "bes" else [target.label.name]
    asserts.equals(env, want_outputs, outputs, "default outputs")
    return analysistest.end(env)

push_test = analysistest.make(_push_impl, attrs = {
    "image": attr.label(providers = [ImageManifestInfo]),
    "remote_cache": attr.string(),
    "strategy": attr.string(default = "eager"),
})

push_lazy_test = analysistest.make(
    _push_impl,
    attrs = {
        "image": attr.label(providers = [ImageManifestInfo]),
        "remote_cache": attr.string(),
        "strategy": attr.string(default = "eager"),
    },
    config_settings = {
        str(Label("//img/settings:push_strategy")): "lazy",
        str(Label("//img/settings:remote_cache")): "grpc://cache.example:9092",
    },
)

def _multi_deploy_impl(ctx):
    env = analysistest.begin(ctx)
    actions = analysistest.target_actions(env)
    merges = [a for a in actions if a.mnemonic == "DeployMerge"]
    plans = [
        json.decode(a.content)
        for a in actions
        if a.mnemonic == "FileWrite" and a.outputs.to_list()[0].basename.endswith("_dispatch.json")
    ]
    if ctx.attr.want_merge:
        # bes: a resolved deploy manifest, the plans resolved from the files
        # the action names as runfiles of operation I.
        asserts.equals(env, 1, len(merges))
        asserts.equals(env, [], plans)
        for a in merges:
            runfiles = [a.argv[i + 1].split("=")[0] for i, v in enumerate(a.argv) if v == "--runfile"]
            asserts.equals(env, sorted(ctx.attr.want_runfiles), sorted(runfiles), "--runfile of the planned operations")
    else:
        asserts.equals(env, [], merges, "merging plans needs no action")
        asserts.equals(env, 1, len(plans))
        for plan in plans:
            ops = plan["planned_operations"]
            asserts.equals(env, ctx.attr.want_commands, [op["command"] + " " + op["strategy"] for op in ops])
            asserts.equals(env, ctx.attr.want_targets, [op["target"] for op in ops])
    return analysistest.end(env)

multi_deploy_test = analysistest.make(_multi_deploy_impl, attrs = {
    "want_merge": attr.bool(),
    "want_commands": attr.string_list(),
    "want_targets": attr.string_list(),
    "want_runfiles": attr.string_list(),
})
