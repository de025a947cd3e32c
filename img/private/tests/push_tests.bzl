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
    asserts.equals(env, "eager", info.strategy)
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "DeployMetadata"]
    asserts.equals(env, 1, len(actions))
    for a in actions:
        inputs = [f.short_path for f in a.inputs.to_list()]
        for layer in image.layers:
            asserts.false(env, layer.blob.short_path in inputs, "DeployMetadata reads a layer blob")
    runfiles = target[DefaultInfo].default_runfiles
    paths = sorted([s.path for s in runfiles.root_symlinks.to_list()])
    want = ["0/manifests/0/config.json", "0/manifests/0/layer/0", "0/manifests/0/layer/1", "0/manifests/0/manifest.json", "0/root.json", "dispatch.json"]
    asserts.equals(env, want, paths, "runfiles layout")
    return analysistest.end(env)

push_test = analysistest.make(_push_impl, attrs = {"image": attr.label(providers = [ImageManifestInfo])})
