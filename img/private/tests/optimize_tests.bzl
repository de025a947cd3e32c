"""Analysis tests of image_optimize: one action per layer, the manifest from metadata, errors."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("@bazel_skylib//rules:write_file.bzl", "write_file")
load("//img:image.bzl", "image_index", "image_manifest", "image_optimize")
load("//img:layer.bzl", "image_layer")
load("//img:media_types.bzl", "GZIP_LAYER")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:layer_info.bzl", "LayerInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")

def _pairs(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag and i + 1 < len(argv)]

def _optimize_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    if ImageIndexInfo in target:
        manifests = target[ImageIndexInfo].manifests
        index_actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "ImageOptimizeIndex"]
        asserts.equals(env, 1, len(index_actions))
        for a in index_actions:
            asserts.equals(env, [m.descriptor.path for m in manifests], _pairs(a.argv, "--manifest-descriptor"))
    else:
        manifests = [target[ImageManifestInfo]]
    asserts.equals(env, ctx.attr.want_manifests, len(manifests))
    layer_actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "ImageOptimizeLayer"]
    manifest_actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "ImageOptimizeManifest"]
    asserts.equals(env, ctx.attr.want_manifests, len(manifest_actions))
    asserts.equals(env, ctx.attr.want_layers * ctx.attr.want_manifests, len(layer_actions), "one action per layer")
    for m in manifests:
        asserts.equals(env, ctx.attr.want_layers, len(m.layers))
        asserts.equals(env, [], m.missing_blobs)
        for layer in m.layers:
            asserts.equals(env, ctx.attr.want_media_type, layer.media_type)
            asserts.equals(env, ctx.attr.want_estargz, layer.estargz)
            asserts.true(env, layer.mtree != None, "every rewritten layer has its listing")
    for a in layer_actions:
        argv = a.argv
        asserts.equals(env, "compress", argv[1])
        asserts.equals(env, [ctx.attr.want_format], _pairs(argv, "--format"))
        asserts.equals(env, ctx.attr.want_estargz, "--estargz" in argv)
        asserts.true(env, argv[-2] in [f.path for f in a.inputs.to_list()], "reads the source blob")
    blobs = [layer.blob for m in manifests for layer in m.layers]
    for a in manifest_actions:
        argv = a.argv
        asserts.true(env, "--replace-layers" in argv)
        asserts.equals(env, ctx.attr.want_layers, len(_pairs(argv, "--layer-from-metadata")))
        asserts.equals(env, 1, len(_pairs(argv, "--base-manifest")))
        read = a.inputs.to_list()
        for b in blobs:
            asserts.false(env, b in read, "the manifest action reads blob " + b.short_path)
    return analysistest.end(env)

optimize_test = analysistest.make(
    _optimize_impl,
    attrs = {
        "want_manifests": attr.int(default = 1),
        "want_layers": attr.int(mandatory = True),
        "want_format": attr.string(mandatory = True),
        "want_media_type": attr.string(mandatory = True),
        "want_estargz": attr.bool(default = False),
    },
)

def _failure_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, ctx.attr.want_message)
    return analysistest.end(env)

optimize_failure_test = analysistest.make(
    _failure_impl,
    expect_failure = True,
    attrs = {"want_message": attr.string(mandatory = True)},
)

def _shallow_image_impl(ctx):
    f = ctx.file.json
    layer = LayerInfo(blob = None, metadata = f, media_type = GZIP_LAYER, estargz = False)
    return [ImageManifestInfo(
        base_image = None,
        descriptor = f,
        digest = f,
        manifest = f,
        config = f,
        structured_config = {},
        architecture = "amd64",
        os = "linux",
        platform = {},
        layers = [layer],
        missing_blobs = ["a" * 64],
    )]

_shallow_image = rule(
    implementation = _shallow_image_impl,
    attrs = {"json": attr.label(allow_single_file = True)},
    doc = "An image whose one layer was never downloaded, as a shallow pull gives.",
)

def optimize_test_suite(name):
    """Subjects and analysis tests of image_optimize.

    Args:
        name: name of the test_suite.
    """
    write_file(name = name + "_data", out = name + "/data.txt", content = ["data"], tags = ["manual"])
    for i in range(2):
        image_layer(name = "{}_layer_{}".format(name, i), srcs = {"/d{}/data.txt".format(i): ":" + name + "_data"}, tags = ["manual"])
    image_manifest(
        name = name + "_image",
        layers = [":{}_layer_{}".format(name, i) for i in range(2)],
        os = "linux",
        architecture = "amd64",
        tags = ["manual"],
    )
    image_index(name = name + "_index", manifests = [":" + name + "_image"], tags = ["manual"])
    image_optimize(name = name + "_estargz", image = ":" + name + "_image", compress = "gzip", estargz = "enabled", tags = ["manual"])
    image_optimize(name = name + "_zstd", image = ":" + name + "_image", compress = "zstd", estargz = "disabled", tags = ["manual"])
    image_optimize(name = name + "_index_zstd", image = ":" + name + "_index", compress = "zstd", tags = ["manual"])
    image_optimize(name = name + "_zstd_estargz", image = ":" + name + "_image", compress = "zstd", estargz = "enabled", tags = ["manual"])
    _shallow_image(name = name + "_shallow", json = ":" + name + "_data", tags = ["manual"])
    image_optimize(name = name + "_of_shallow", image = ":" + name + "_shallow", compress = "gzip", tags = ["manual"])

    optimize_test(
        name = name + "_estargz_test",
        target_under_test = name + "_estargz",
        want_layers = 2,
        want_format = "gzip",
        want_media_type = GZIP_LAYER,
        want_estargz = True,
    )
    optimize_test(
        name = name + "_zstd_test",
        target_under_test = name + "_zstd",
        want_layers = 2,
        want_format = "zstd",
        want_media_type = "application/vnd.oci.image.layer.v1.tar+zstd",
    )
    optimize_test(
        name = name + "_index_zstd_test",
        target_under_test = name + "_index_zstd",
        want_layers = 2,
        want_format = "zstd",
        want_media_type = "application/vnd.oci.image.layer.v1.tar+zstd",
    )
    optimize_failure_test(
        name = name + "_zstd_estargz_test",
        target_under_test = name + "_zstd_estargz",
        want_message = "estargz needs gzip compression, not \"zstd\"",
    )
    optimize_failure_test(
        name = name + "_of_shallow_test",
        target_under_test = name + "_of_shallow",
        want_message = "_of_shallow: layer 0 of //img/private/tests:{}_shallow (img/private/tests/{}/data.txt) has no blob: it is a base layer of a shallow pull that was never downloaded".format(name, name),
    )
    native.test_suite(
        name = name,
        tests = [name + s for s in [
            "_estargz_test",
            "_zstd_test",
            "_index_zstd_test",
            "_zstd_estargz_test",
            "_of_shallow_test",
        ]],
    )
