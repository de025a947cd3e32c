"""Analysis tests of layer_from_binary and image_from_binary."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:layer_config_info.bzl", "ImageLayerConfigInfo")
load("//img/private/providers:layers_info.bzl", "LayersInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")

def _layer_from_binary_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    layers = target[LayersInfo].layers
    asserts.equals(env, ctx.attr.want_layers, len(layers), "number of layers")
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "LayerTar"]
    asserts.equals(env, ctx.attr.want_layers, len(actions), "one LayerTar action per layer")
    asserts.equals(
        env,
        sorted([f.basename for layer in layers for f in [layer.blob, layer.metadata, layer.mtree]]),
        sorted([f.basename for a in actions for f in a.outputs.to_list()]),
        "each action writes one layer's blob, metadata and listing",
    )
    names = []
    for a in actions:
        argv = a.argv
        for i, arg in enumerate(argv):
            if arg == "--name":
                names.append(argv[i + 1])
    # {skylib}: bazel_skylib's canonical repository name, which depends on
    # the Bazel version (bazel_skylib~ or bazel_skylib+).
    skylib = Label("@bazel_skylib//lib:paths").repo_name
    want_names = [n.replace("{skylib}", skylib) for n in ctx.attr.want_names]
    asserts.equals(env, sorted(want_names), sorted(names), "layer names")
    config = target[ImageLayerConfigInfo]
    asserts.equals(env, ctx.attr.want_entrypoint, config.entrypoint)
    asserts.equals(env, ctx.attr.want_cmd, config.cmd)
    asserts.equals(env, ctx.attr.want_env, config.env)
    asserts.equals(env, ctx.attr.want_working_dir or None, config.working_dir)
    return analysistest.end(env)

_LAYER_FROM_BINARY_ATTRS = {
    "want_layers": attr.int(mandatory = True),
    "want_names": attr.string_list(mandatory = True),
    "want_entrypoint": attr.string_list(mandatory = True),
    "want_cmd": attr.string_list(),
    "want_env": attr.string_dict(),
    "want_working_dir": attr.string(),
}

layer_from_binary_test = analysistest.make(_layer_from_binary_impl, attrs = _LAYER_FROM_BINARY_ATTRS)

def _image_from_binary_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    if ctx.attr.want_index:
        asserts.true(env, ImageIndexInfo in target, "an index")
        manifests = target[ImageIndexInfo].manifests if ImageIndexInfo in target else []
    else:
        asserts.true(env, ImageManifestInfo in target and ImageIndexInfo not in target, "a single image")
        manifests = [target[ImageManifestInfo]] if ImageManifestInfo in target else []
    asserts.equals(env, ctx.attr.want_architectures, [m.architecture for m in manifests], "architectures")
    for m in manifests:
        asserts.equals(env, ctx.attr.want_layer_count, len(m.layers), "layers of each manifest")
    return analysistest.end(env)

image_from_binary_test = analysistest.make(_image_from_binary_impl, attrs = {
    "want_index": attr.bool(default = False),
    "want_architectures": attr.string_list(mandatory = True),
    "want_layer_count": attr.int(mandatory = True),
})

# `runfiles_sharing_mode = "auto"` follows the setting; `shared` there splits
# the runfiles per repository and moves them below runfiles_shared_path.
layer_from_binary_shared_setting_test = analysistest.make(
    _layer_from_binary_impl,
    attrs = _LAYER_FROM_BINARY_ATTRS,
    config_settings = {
        str(Label("//img/settings:runfiles_sharing_mode")): "shared",
        str(Label("//img/settings:runfiles_shared_path")): "/srv/runfiles",
    },
)
