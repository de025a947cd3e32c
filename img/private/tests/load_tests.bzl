"""Analysis tests of image_load's tarball output group."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")

def _values(argv, flag):
    return [argv[i + 1] for i in range(len(argv) - 1) if argv[i] == flag]

def _docker_save_index_impl(ctx):
    env = analysistest.begin(ctx)
    info = ctx.attr.image[ImageIndexInfo]
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "DockerSave"]
    asserts.equals(env, 1, len(actions))
    for a in actions:
        inputs = [f.path for f in a.inputs.to_list()]
        asserts.equals(env, [info.index.path], _values(a.argv, "--index"), "--index names the index")
        asserts.true(env, info.index.path in inputs, "reads the index")
        asserts.equals(env, [m.manifest.path for m in info.manifests], _values(a.argv, "--manifest-path"), "a --manifest-path per manifest, in index order")
        asserts.equals(env, [m.config.path for m in info.manifests], _values(a.argv, "--config-path"), "a --config-path per manifest, in index order")
        asserts.equals(env, [], _values(a.argv, "--manifest") + _values(a.argv, "--config"), "no single-image flags")
        layers = _values(a.argv, "--layer")
        for m in info.manifests:
            asserts.true(env, m.manifest.path in inputs, "reads the manifest " + m.manifest.path)
            asserts.true(env, m.config.path in inputs, "reads the config " + m.config.path)
            for layer in m.layers:
                asserts.true(env, layer.blob.path in inputs, "reads the layer blob " + layer.blob.path)
                asserts.true(env, layer.metadata.path in inputs, "reads the layer metadata " + layer.metadata.path)
                asserts.true(env, "{}={}".format(layer.metadata.path, layer.blob.path) in layers, "--layer for " + layer.blob.path)
        blobs = {layer.blob.path: True for m in info.manifests for layer in m.layers}
        asserts.equals(env, len(info.manifests), len(blobs), "one layer blob per platform")
    return analysistest.end(env)

docker_save_index_test = analysistest.make(
    _docker_save_index_impl,
    attrs = {"image": attr.label(providers = [ImageIndexInfo])},
)

def _docker_save_image_impl(ctx):
    env = analysistest.begin(ctx)
    info = ctx.attr.image[ImageManifestInfo]
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "DockerSave"]
    asserts.equals(env, 1, len(actions))
    for a in actions:
        asserts.equals(env, [info.manifest.path], _values(a.argv, "--manifest"))
        asserts.equals(env, [info.config.path], _values(a.argv, "--config"))
        asserts.equals(env, [], _values(a.argv, "--index") + _values(a.argv, "--manifest-path"), "no index flags")
        asserts.equals(env, len(info.layers), len(_values(a.argv, "--layer")), "a --layer per layer")
    return analysistest.end(env)

docker_save_image_test = analysistest.make(
    _docker_save_image_impl,
    attrs = {"image": attr.label(providers = [ImageManifestInfo])},
)
