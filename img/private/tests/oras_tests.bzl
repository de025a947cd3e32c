"""Analysis tests of oras_file_layer, oras_layer and image_manifest's artifact_type."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("@bazel_skylib//rules:write_file.bzl", "write_file")
load("//img:image.bzl", "image_manifest")
load("//img:media_types.bzl", "GZIP_LAYER", "UNCOMPRESSED_LAYER")
load("//img:oras.bzl", "oras_file_layer", "oras_layer")
load("//img/private/providers:layer_info.bzl", "LayerInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")

def _pairs(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag and i + 1 < len(argv)]

def _blob_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[LayerInfo]
    asserts.equals(env, ctx.attr.want_media_type, info.media_type)
    asserts.false(env, info.estargz)
    if ctx.attr.want_blob:
        asserts.equals(env, ctx.attr.want_blob, info.blob.basename)
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic != "Symlink"]
    asserts.equals(env, [ctx.attr.want_mnemonic], [a.mnemonic for a in actions], "one metadata action")
    for a in actions:
        argv = a.argv
        asserts.equals(env, [ctx.attr.want_command], [x for x in argv if x in ["artifact-metadata", "layer-metadata"]])
        want_outputs = [info.metadata] + ([info.mtree] if ctx.attr.want_command == "layer-metadata" else [])
        asserts.equals(env, want_outputs, a.outputs.to_list(), "the metadata (and a tar's listing) only")
        asserts.equals(env, ctx.attr.want_command == "layer-metadata", info.mtree != None, "a tar has a listing, an artifact blob none")
        asserts.equals(env, [ctx.attr.want_media_type], _pairs(argv, "--media-type"))
        asserts.equals(env, sorted(ctx.attr.want_annotations), sorted(_pairs(argv, "--annotation")))
        asserts.equals(env, ctx.attr.want_diff_id_annotations, _pairs(argv, "--diff-id-annotation"))
        asserts.equals(env, info.metadata.path, argv[-1])
    return analysistest.end(env)

oras_blob_test = analysistest.make(
    _blob_impl,
    attrs = {
        "want_mnemonic": attr.string(mandatory = True),
        "want_command": attr.string(mandatory = True),
        "want_media_type": attr.string(mandatory = True),
        "want_blob": attr.string(doc = "Basename of the blob; empty: not checked."),
        "want_annotations": attr.string_list(),
        "want_diff_id_annotations": attr.string_list(),
    },
)

def _artifact_manifest_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[ImageManifestInfo]
    asserts.equals(env, len(ctx.attr.want_blobs), len(info.layers))
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == "ImageManifest"]
    asserts.equals(env, 1, len(actions))
    blobs = [layer.blob for layer in info.layers]
    for a in actions:
        argv = a.argv
        asserts.equals(env, [ctx.attr.want_artifact_type], _pairs(argv, "--artifact-type"))
        asserts.equals(env, [layer.metadata.path for layer in info.layers], _pairs(argv, "--layer-from-metadata"))
        for flag in ["--config-overrides", "--created-from-status", "--base-manifest", "--env", "--label"]:
            asserts.false(env, flag in argv, "an artifact passes no " + flag)
        asserts.equals(env, ["k=v"], _pairs(argv, "--annotation"))
        read = a.inputs.to_list()
        for b in blobs:
            asserts.false(env, b in read, "the manifest action reads blob " + b.short_path)
    asserts.equals(env, ctx.attr.want_blobs, [b.basename for b in blobs])
    return analysistest.end(env)

oras_artifact_manifest_test = analysistest.make(
    _artifact_manifest_impl,
    attrs = {
        "want_artifact_type": attr.string(mandatory = True),
        "want_blobs": attr.string_list(mandatory = True),
    },
)

def _failure_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, ctx.attr.want_message)
    return analysistest.end(env)

oras_failure_test = analysistest.make(
    _failure_impl,
    expect_failure = True,
    attrs = {"want_message": attr.string(mandatory = True)},
)

def oras_test_suite(name):
    """Subjects and analysis tests of the ORAS rules and artifact manifests.

    Args:
        name: name of the test_suite.
    """
    write_file(name = name + "_notes", out = name + "/notes.txt", content = ["notes"], tags = ["manual"])
    write_file(name = name + "_tree", out = name + "/tree.tar.gz", content = ["not read at analysis time"], tags = ["manual"])
    write_file(name = name + "_odd", out = name + "/tree.bundle", content = ["not read at analysis time"], tags = ["manual"])
    notes = ":" + name + "_notes"

    oras_file_layer(name = name + "_text", src = notes, media_type = "text/plain", tags = ["manual"])
    oras_file_layer(
        name = name + "_dir",
        src = ":" + name + "_tree",
        kind = "directory",
        title = "tree",
        annotations = {"org.example": "1"},
        tags = ["manual"],
    )
    oras_file_layer(name = name + "_odd_name", src = ":" + name + "_odd", media_type = GZIP_LAYER, tags = ["manual"])
    oras_file_layer(name = name + "_default", src = notes, tags = ["manual"])
    oras_file_layer(name = name + "_bad_kind", src = notes, kind = "directory", media_type = "text/plain", tags = ["manual"])
    oras_file_layer(
        name = name + "_bad_digest",
        src = ":" + name + "_tree",
        kind = "directory",
        annotations = {"io.deis.oras.content.digest": "sha256:x"},
        tags = ["manual"],
    )
    oras_layer(name = name + "_files", srcs = {"/notes.txt": notes}, tags = ["manual"])
    image_manifest(
        name = name + "_artifact",
        artifact_type = "application/vnd.example.bundle.v1",
        layers = [":" + name + "_text", ":" + name + "_dir", ":" + name + "_files"],
        annotations = {"k": "v"},
        tags = ["manual"],
    )
    image_manifest(
        name = name + "_artifact_env",
        artifact_type = "application/vnd.example.bundle.v1",
        layers = [":" + name + "_text"],
        env = {"A": "1"},
        entrypoint = ["/x"],
        tags = ["manual"],
    )
    image_manifest(
        name = name + "_artifact_empty",
        artifact_type = "application/vnd.example.bundle.v1",
        tags = ["manual"],
    )

    oras_blob_test(
        name = name + "_text_test",
        target_under_test = name + "_text",
        want_mnemonic = "ArtifactMetadata",
        want_command = "artifact-metadata",
        want_media_type = "text/plain",
        want_blob = "notes.txt",
        want_annotations = ["org.opencontainers.image.title=notes.txt"],
    )
    oras_blob_test(
        name = name + "_dir_test",
        target_under_test = name + "_dir",
        want_mnemonic = "LayerMetadata",
        want_command = "layer-metadata",
        want_media_type = GZIP_LAYER,
        want_blob = "tree.tar.gz",
        want_annotations = ["org.opencontainers.image.title=tree", "io.deis.oras.content.unpack=true", "org.example=1"],
        want_diff_id_annotations = ["io.deis.oras.content.digest"],
    )
    oras_blob_test(
        name = name + "_odd_name_test",
        target_under_test = name + "_odd_name",
        want_mnemonic = "LayerMetadata",
        want_command = "layer-metadata",
        want_media_type = GZIP_LAYER,
        want_blob = name + "_odd_name.tgz",
        want_annotations = ["org.opencontainers.image.title=tree.bundle"],
    )
    oras_blob_test(
        name = name + "_default_test",
        target_under_test = name + "_default",
        want_mnemonic = "LayerMetadata",
        want_command = "layer-metadata",
        want_media_type = UNCOMPRESSED_LAYER,
        want_blob = name + "_default.tar",
        want_annotations = ["org.opencontainers.image.title=notes.txt"],
    )
    oras_blob_test(
        name = name + "_files_test",
        target_under_test = name + "_files",
        want_mnemonic = "LayerMetadata",
        want_command = "layer-metadata",
        want_media_type = GZIP_LAYER,
        want_blob = name + "_files_tar.tgz",
        want_annotations = ["org.opencontainers.image.title=" + name + "_files", "io.deis.oras.content.unpack=true"],
        want_diff_id_annotations = ["io.deis.oras.content.digest"],
    )
    oras_artifact_manifest_test(
        name = name + "_artifact_test",
        target_under_test = name + "_artifact",
        want_artifact_type = "application/vnd.example.bundle.v1",
        want_blobs = ["notes.txt", "tree.tar.gz", name + "_files_tar.tgz"],
    )
    oras_failure_test(
        name = name + "_bad_kind_test",
        target_under_test = name + "_bad_kind",
        want_message = "_bad_kind: kind \"directory\" unpacks a tar, but media_type \"text/plain\" is not a tar layer media type",
    )
    oras_failure_test(
        name = name + "_bad_digest_test",
        target_under_test = name + "_bad_digest",
        want_message = "_bad_digest: annotations may not set io.deis.oras.content.digest",
    )
    oras_failure_test(
        name = name + "_artifact_env_test",
        target_under_test = name + "_artifact_env",
        want_message = "_artifact_env: artifact_type \"application/vnd.example.bundle.v1\" makes an artifact manifest, which has no image config; remove env, entrypoint",
    )
    oras_failure_test(
        name = name + "_artifact_empty_test",
        target_under_test = name + "_artifact_empty",
        want_message = "needs at least one blob in layers",
    )
    native.test_suite(
        name = name,
        tests = [name + s for s in [
            "_text_test",
            "_dir_test",
            "_odd_name_test",
            "_default_test",
            "_files_test",
            "_artifact_test",
            "_bad_kind_test",
            "_bad_digest_test",
            "_artifact_env_test",
            "_artifact_empty_test",
        ]],
    )
