"""Analysis tests of layer_from_file: the file is the blob, one metadata action, flags, errors."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("@bazel_skylib//rules:write_file.bzl", "write_file")
load("//img:layer.bzl", "layer_from_file")
load("//img:media_types.bzl", "DOCKER_GZIP_LAYER", "UNCOMPRESSED_LAYER", "ZSTD_LAYER")
load("//img/private/providers:layer_info.bzl", "LayerInfo")

def _pairs(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag and i + 1 < len(argv)]

def _action_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[LayerInfo]
    src = ctx.file.src
    asserts.equals(env, ctx.attr.want_media_type, info.media_type)
    asserts.false(env, info.estargz)
    actions = analysistest.target_actions(env)
    symlinks = [a for a in actions if a.mnemonic == "Symlink"]
    if ctx.attr.want_blob:
        asserts.equals(env, ctx.attr.want_blob, info.blob.basename)
        asserts.equals(env, 1, len(symlinks), "a symlink named for its compression")
        for a in symlinks:
            asserts.equals(env, [src], a.inputs.to_list())
            asserts.equals(env, [info.blob], a.outputs.to_list())
    else:
        asserts.equals(env, src, info.blob, "the blob is src itself")
        asserts.equals(env, 0, len(symlinks))
    metadata_actions = [a for a in actions if a.mnemonic != "Symlink"]
    asserts.equals(env, ["LayerMetadata"], [a.mnemonic for a in metadata_actions], "one metadata action, nothing else")
    for a in metadata_actions:
        asserts.equals(env, [info.metadata, info.mtree], a.outputs.to_list(), "the action writes only the metadata and the listing")
        asserts.true(env, src in a.inputs.to_list(), "the action reads src")
        argv = a.argv
        asserts.equals(env, ["//img/private/tests:" + ctx.attr.target_name], _pairs(argv, "--name"))
        asserts.equals(env, [ctx.attr.want_media_type], _pairs(argv, "--media-type"))
        asserts.equals(env, sorted(ctx.attr.want_annotations), sorted(_pairs(argv, "--annotation")))
        asserts.equals(env, ctx.attr.want_diff_id_annotations, _pairs(argv, "--diff-id-annotation"))
        asserts.equals(env, [src.path, info.metadata.path], argv[-2:], "src and metadata are the last arguments")
    files = sorted([f.basename for f in target[DefaultInfo].files.to_list()])
    asserts.equals(env, sorted([info.blob.basename, ctx.attr.target_name + "_metadata.json"]), files)
    return analysistest.end(env)

layer_from_file_action_test = analysistest.make(
    _action_impl,
    attrs = {
        "src": attr.label(allow_single_file = True, mandatory = True),
        "target_name": attr.string(mandatory = True),
        "want_media_type": attr.string(mandatory = True),
        "want_blob": attr.string(doc = "Basename of the symlink blob; empty: the blob is src."),
        "want_annotations": attr.string_list(),
        "want_diff_id_annotations": attr.string_list(),
    },
)

def _failure_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, ctx.attr.want_message)
    return analysistest.end(env)

layer_from_file_failure_test = analysistest.make(
    _failure_impl,
    expect_failure = True,
    attrs = {"want_message": attr.string(mandatory = True)},
)

def layer_from_file_test_suite(name):
    """Subjects and analysis tests of layer_from_file.

    Args:
        name: name of the test_suite.
    """
    write_file(
        name = name + "_blob",
        out = name + "/vendor.layer",
        content = ["not read at analysis time"],
        tags = ["manual"],
    )
    blob = ":" + name + "_blob"
    write_file(
        name = name + "_tar",
        out = name + "/vendor.tar.zst",
        content = ["not read at analysis time"],
        tags = ["manual"],
    )

    layer_from_file(name = name + "_default", src = blob, tags = ["manual"])
    layer_from_file(name = name + "_empty_media_type", src = blob, media_type = "", tags = ["manual"])
    layer_from_file(
        name = name + "_docker",
        src = blob,
        media_type = DOCKER_GZIP_LAYER,
        annotations = {"org.example.a": "1", "org.example.title": "explicit"},
        base_name_annotations = ["org.opencontainers.image.title", "org.example.title"],
        diff_id = True,
        diff_id_annotations = ["org.example.diff_id", "x.uncompressed"],
        tags = ["manual"],
    )
    layer_from_file(name = name + "_tar_named", src = ":" + name + "_tar", media_type = ZSTD_LAYER, tags = ["manual"])
    layer_from_file(name = name + "_artifact", src = blob, media_type = "application/vnd.example.chart+tar", tags = ["manual"])
    layer_from_file(
        name = name + "_conflict",
        src = blob,
        annotations = {"k": "v"},
        diff_id_annotations = ["k"],
        tags = ["manual"],
    )

    layer_from_file_action_test(
        name = name + "_default_test",
        target_under_test = name + "_default",
        target_name = name + "_default",
        src = blob,
        want_media_type = UNCOMPRESSED_LAYER,
        want_blob = name + "_default.tar",
    )
    layer_from_file_action_test(
        name = name + "_tar_named_test",
        target_under_test = name + "_tar_named",
        target_name = name + "_tar_named",
        src = ":" + name + "_tar",
        want_media_type = "application/vnd.oci.image.layer.v1.tar+zstd",
    )
    layer_from_file_action_test(
        name = name + "_empty_media_type_test",
        target_under_test = name + "_empty_media_type",
        target_name = name + "_empty_media_type",
        src = blob,
        want_media_type = UNCOMPRESSED_LAYER,
        want_blob = name + "_empty_media_type.tar",
    )
    layer_from_file_action_test(
        name = name + "_docker_test",
        target_under_test = name + "_docker",
        target_name = name + "_docker",
        src = blob,
        want_media_type = "application/vnd.docker.image.rootfs.diff.tar.gzip",
        want_annotations = [
            "org.example.a=1",
            "org.example.title=explicit",
            "org.opencontainers.image.title=vendor.layer",
        ],
        want_diff_id_annotations = ["org.example.diff_id", "x.uncompressed"],
        want_blob = name + "_docker.tgz",
    )
    layer_from_file_failure_test(
        name = name + "_artifact_test",
        target_under_test = name + "_artifact",
        want_message = "//img/private/tests:{}_artifact: media_type \"application/vnd.example.chart+tar\" is not a tar layer media type".format(name),
    )
    layer_from_file_failure_test(
        name = name + "_conflict_test",
        target_under_test = name + "_conflict",
        want_message = "//img/private/tests:{}_conflict: annotation \"k\" is set by diff_id_annotations and by annotations".format(name),
    )
    native.test_suite(
        name = name,
        tests = [
            name + "_default_test",
            name + "_tar_named_test",
            name + "_empty_media_type_test",
            name + "_docker_test",
            name + "_artifact_test",
            name + "_conflict_test",
        ],
    )
