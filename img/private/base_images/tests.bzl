"""Analysis tests of the base image rules."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//img/private/providers:base_image_content_info.bzl", "BaseImageContentInfo")
load("//img/private/providers:layer_info.bzl", "LayerInfo")

def _actions(env, mnemonic):
    return [a for a in analysistest.target_actions(env) if a.mnemonic == mnemonic]

def _layer_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[LayerInfo]
    merges = _actions(env, "BaseImageMerge")
    layers = _actions(env, "LayerTar")
    asserts.equals(env, 1, len(merges), "one BaseImageMerge action")
    asserts.equals(env, 1, len(layers), "one LayerTar action")
    merged = merges[0].outputs.to_list()[0]
    argv = layers[0].argv
    asserts.true(env, "--import-tar" in argv, "the layer action imports the merged tar")
    asserts.equals(env, merged.path, argv[argv.index("--import-tar") + 1])
    asserts.true(env, argv[argv.index("--format") + 1] == ctx.attr.want_format, "format " + ctx.attr.want_format)
    asserts.equals(env, ctx.attr.want_estargz, "--estargz" in argv)
    asserts.true(env, info.blob.basename.endswith(ctx.attr.want_extension), "blob " + info.blob.basename)
    asserts.equals(env, info.blob, [f for f in layers[0].outputs.to_list() if f == info.blob][0])

    # The merge reads the fragments of all srcs, and the files they name.
    read = [f.short_path for f in merges[0].inputs.to_list()]
    for want in ctx.attr.want_merge_inputs:
        asserts.true(env, [p for p in read if p.endswith(want)] != [], "merge reads " + want + ": " + str(read))

    # The layer action reads only the merged tar (and the tool), no fragment.
    layer_read = [f.basename for f in layers[0].inputs.to_list()]
    asserts.false(env, [f for f in layer_read if f.endswith(".basefrag.json")] != [], "layer action reads a fragment")
    for flag in ctx.attr.want_layer_args:
        asserts.true(env, flag in argv, "layer args hold " + flag + ": " + str(argv))
    return analysistest.end(env)

layer_test = analysistest.make(
    _layer_test_impl,
    attrs = {
        "want_format": attr.string(default = "gzip"),
        "want_estargz": attr.bool(default = False),
        "want_extension": attr.string(default = ".tgz"),
        "want_merge_inputs": attr.string_list(),
        "want_layer_args": attr.string_list(),
    },
)

def _order_test_impl(ctx):
    env = analysistest.begin(ctx)
    frags = [f.basename for f in analysistest.target_under_test(env)[BaseImageContentInfo].metadata.to_list()]
    asserts.equals(env, ctx.attr.want, frags)
    return analysistest.end(env)

# The order of the fragments of a content rule's provider; a wrapping rule
# below passes srcs through as base_image_layer reads them.
order_test = analysistest.make(_order_test_impl, attrs = {"want": attr.string_list()})

def _forward_impl(ctx):
    return [BaseImageContentInfo(
        metadata = depset(order = "preorder", transitive = [s[BaseImageContentInfo].metadata for s in ctx.attr.srcs]),
        files = depset(transitive = [s[BaseImageContentInfo].files for s in ctx.attr.srcs]),
    )]

forward_content = rule(
    implementation = _forward_impl,
    attrs = {"srcs": attr.label_list(providers = [BaseImageContentInfo])},
    doc = "Test helper: the content of srcs, merged the way base_image_layer merges it.",
)

def _content_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[BaseImageContentInfo]
    acts = _actions(env, "BaseImageContent")
    if not ctx.attr.want_verb:
        asserts.equals(env, 0, len(acts), "out of scope: no action")
        asserts.equals(env, [], info.metadata.to_list())
        return analysistest.end(env)
    asserts.equals(env, 1, len(acts))
    argv = acts[0].argv
    asserts.equals(env, ["base", ctx.attr.want_verb], argv[1:3])
    asserts.true(env, argv[argv.index("--producer") + 1].endswith("//img/private/base_images:" + target.label.name), "--producer names the target")
    asserts.equals(env, ctx.attr.want_values, "--values" in argv, "--values (templates)")
    asserts.equals(env, ctx.attr.want_expand, len(_actions(env, "ExpandTemplate")) == 1, "ExpandTemplate action")
    asserts.equals(env, acts[0].outputs.to_list(), info.metadata.to_list())
    asserts.equals(env, sorted(ctx.attr.want_files), sorted([f.basename for f in info.files.to_list()]))

    # The configuration the action reads, as the rule wrote it.
    writes = [a for a in analysistest.target_actions(env) if a.mnemonic == "FileWrite" and a.outputs.to_list()[0].basename.endswith(".basecfg.json")]
    asserts.equals(env, 1, len(writes))
    config = json.decode(writes[0].content)
    for k, v in ctx.attr.want_config.items():
        asserts.equals(env, v, json.encode(config.get(k)), "config " + k)
    for k, v in ctx.attr.want_config_suffix.items():
        got = json.encode(config.get(k))
        asserts.true(env, got.endswith(v), "config {}: {} does not end with {}".format(k, got, v))
    return analysistest.end(env)

content_test = analysistest.make(
    _content_test_impl,
    attrs = {
        "want_verb": attr.string(doc = "Empty: the rule is out of scope."),
        "want_values": attr.bool(default = False),
        "want_expand": attr.bool(default = False),
        "want_files": attr.string_list(),
        "want_config": attr.string_dict(doc = "Key -> JSON of the value in the configuration."),
        "want_config_suffix": attr.string_dict(doc = "Key -> the end of the JSON of the value."),
    },
)

def _windows_content_test_impl(ctx):
    return _content_test_impl(ctx)

windows_content_test = analysistest.make(
    _windows_content_test_impl,
    attrs = {
        "want_verb": attr.string(),
        "want_values": attr.bool(default = False),
        "want_expand": attr.bool(default = False),
        "want_files": attr.string_list(),
        "want_config": attr.string_dict(),
        "want_config_suffix": attr.string_dict(),
    },
    config_settings = {"//command_line_option:platforms": str(Label("//img/private/base_images:windows_amd64"))},
)

def _failure_test_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, ctx.attr.want)
    return analysistest.end(env)

failure_test = analysistest.make(
    _failure_test_impl,
    expect_failure = True,
    attrs = {"want": attr.string(doc = "A part of the error message.")},
)
