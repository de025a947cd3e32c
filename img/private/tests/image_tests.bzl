"""Analysis tests of image_manifest and image_index."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:layer_info.bzl", "LayerInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")

def _actions(env, mnemonic):
    return [a for a in analysistest.target_actions(env) if a.mnemonic == mnemonic]

def _metadata_only_impl(ctx):
    env = analysistest.begin(ctx)
    info = analysistest.target_under_test(env)[ImageManifestInfo]
    blobs = [layer.blob.path for layer in info.layers if layer.blob]
    asserts.true(env, len(blobs) >= 2, "the image has layer blobs to avoid")
    actions = _actions(env, "ImageManifest")
    asserts.equals(env, 1, len(actions))
    for a in actions:
        inputs = [f.path for f in a.inputs.to_list()]
        short = [f.short_path for f in a.inputs.to_list()]
        for b in blobs:
            asserts.false(env, b in inputs, "ImageManifest reads the layer blob " + b)
        for layer in ctx.attr.layers:
            asserts.true(env, layer[LayerInfo].metadata.short_path in short, "reads the layer metadata")
        asserts.equals(env, ["linux", "amd64"], [a.argv[a.argv.index("--os") + 1], a.argv[a.argv.index("--architecture") + 1]])
    asserts.equals(env, "amd64", info.architecture)
    asserts.equals(env, "linux", info.os)
    return analysistest.end(env)

metadata_only_test = analysistest.make(
    _metadata_only_impl,
    attrs = {"layers": attr.label_list(providers = [LayerInfo])},
    config_settings = {"//command_line_option:platforms": str(Label("//img/private/tests:linux_amd64"))},
)

def _index_impl(ctx):
    env = analysistest.begin(ctx)
    info = analysistest.target_under_test(env)[ImageIndexInfo]
    asserts.equals(env, ["linux/amd64", "linux/arm64"], ["{}/{}".format(m.os, m.architecture) for m in info.manifests], "platforms order")
    actions = _actions(env, "ImageIndex")
    asserts.equals(env, 1, len(actions))
    for a in actions:
        inputs = sorted([f.basename for f in a.inputs.to_list() if not f.basename.startswith("img")])
        asserts.equals(env, ["multi_entry_descriptor.json", "multi_entry_descriptor.json"], inputs, "the index reads only the manifests' descriptors")
    return analysistest.end(env)

index_test = analysistest.make(_index_impl)

def _base_impl(ctx):
    env = analysistest.begin(ctx)
    info = analysistest.target_under_test(env)[ImageManifestInfo]
    base = ctx.attr.base[ImageManifestInfo]
    asserts.equals(env, len(base.layers) + 1, len(info.layers), "base layers come first")
    asserts.equals(env, base.layers[0].metadata, info.layers[0].metadata)
    a = _actions(env, "ImageManifest")[0]
    asserts.true(env, "--base-manifest" in a.argv and "--base-config" in a.argv)
    return analysistest.end(env)

base_test = analysistest.make(_base_impl, attrs = {"base": attr.label(providers = [ImageManifestInfo])})
