"""Analysis tests of image_layer and layer_from_tar: providers, actions, flags, errors."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//img/private/providers:layer_info.bzl", "LayerInfo")

def _one_action(env, mnemonic):
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == mnemonic]
    asserts.equals(env, 1, len(actions), "want one {} action".format(mnemonic))
    return actions[0] if actions else None

def _flag_value(argv, flag):
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(flag + "="):
            return a[len(flag) + 1:]
    return None

def _layer_action_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[LayerInfo]
    action = _one_action(env, "LayerTar")
    if action:
        outs = sorted([f.basename for f in action.outputs.to_list()])
        asserts.equals(env, sorted([info.blob.basename, info.metadata.basename, info.mtree.basename]), outs, "blob, metadata and listing come from one action")
        asserts.equals(env, info.mtree.path, _flag_value(action.argv, "--mtree"), "--mtree names the listing")
        argv = action.argv
        asserts.equals(env, ctx.attr.want_format, _flag_value(argv, "--format"))
        asserts.equals(env, ctx.attr.want_jobs, _flag_value(argv, "--compressor-jobs") or "")
        asserts.equals(env, ctx.attr.want_level, _flag_value(argv, "--compression-level") or "")
        asserts.equals(env, ctx.attr.want_estargz, "--estargz" in argv)
        asserts.equals(env, "//img/private/tests:" + ctx.attr.target_name, _flag_value(argv, "--name"))
    asserts.equals(env, ctx.attr.want_media_type, info.media_type)
    asserts.equals(env, ctx.attr.want_extension, info.blob.basename[len(ctx.attr.target_name):])
    asserts.equals(env, ctx.attr.want_estargz, info.estargz)
    return analysistest.end(env)

_LAYER_ATTRS = {
    "target_name": attr.string(mandatory = True),
    "want_format": attr.string(mandatory = True),
    "want_media_type": attr.string(mandatory = True),
    "want_extension": attr.string(mandatory = True),
    "want_jobs": attr.string(default = ""),
    "want_level": attr.string(default = ""),
    "want_estargz": attr.bool(default = False),
}

layer_action_test = analysistest.make(_layer_action_impl, attrs = _LAYER_ATTRS)

layer_action_opt_test = analysistest.make(
    _layer_action_impl,
    attrs = _LAYER_ATTRS,
    config_settings = {"//command_line_option:compilation_mode": "opt"},
)

layer_action_zstd_default_test = analysistest.make(
    _layer_action_impl,
    attrs = _LAYER_ATTRS,
    config_settings = {
        str(Label("//img/settings:compress")): "zstd",
        str(Label("//img/settings:compression_jobs")): "3",
        str(Label("//img/settings:compression_level")): "best",
    },
)

def _runfiles_impl(ctx):
    env = analysistest.begin(ctx)
    action = _one_action(env, "LayerTar")
    if action:
        argv = action.argv
        asserts.true(env, ctx.attr.want_exe_flag in argv, "{} in {}".format(ctx.attr.want_exe_flag, argv))
        for want in ctx.attr.want_runfiles:
            asserts.true(env, any([a.startswith(want + "\0f") for a in argv]), "runfile {} is listed: {}".format(want, argv))
        inputs = [f.short_path for f in action.inputs.to_list()]
        for want in ctx.attr.want_inputs:
            asserts.true(env, want in inputs, "{} is an input".format(want))
    return analysistest.end(env)

runfiles_test = analysistest.make(_runfiles_impl, attrs = {
    "want_exe_flag": attr.string(mandatory = True),
    "want_runfiles": attr.string_list(),
    "want_inputs": attr.string_list(),
})

def _from_tar_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[LayerInfo]
    actions = analysistest.target_actions(env)
    asserts.equals(env, [ctx.attr.want_mnemonic], [a.mnemonic for a in actions])
    asserts.equals(env, ctx.attr.want_blob, info.blob.basename)
    asserts.equals(env, ctx.attr.want_media_type, info.media_type)
    if actions:
        asserts.equals(env, [f.basename for f in actions[0].inputs.to_list() if not f.basename.startswith("img")], [ctx.attr.want_input])
    return analysistest.end(env)

from_tar_test = analysistest.make(_from_tar_impl, attrs = {
    "want_mnemonic": attr.string(mandatory = True),
    "want_blob": attr.string(mandatory = True),
    "want_media_type": attr.string(mandatory = True),
    "want_input": attr.string(mandatory = True),
})

def _failure_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, ctx.attr.want_message)
    return analysistest.end(env)

failure_test = analysistest.make(
    _failure_impl,
    expect_failure = True,
    attrs = {"want_message": attr.string(mandatory = True)},
)

def _directory_flags_impl(ctx):
    env = analysistest.begin(ctx)
    action = _one_action(env, "LayerTar")
    if action:
        argv = action.argv
        asserts.equals(env, ctx.attr.want_parents, "--create-parent-directories" in argv, "--create-parent-directories in {}".format(argv))
        asserts.equals(env, ctx.attr.want_trees, _flag_value(argv, "--layer-tree-artifact-handling"))
    return analysistest.end(env)

_DIRECTORY_FLAGS_ATTRS = {
    "want_parents": attr.bool(mandatory = True),
    "want_trees": attr.string(mandatory = True),
}

# The LayerTar action's --create-parent-directories and
# --layer-tree-artifact-handling under the default settings ...
layer_directory_flags_test = analysistest.make(_directory_flags_impl, attrs = _DIRECTORY_FLAGS_ATTRS)

# ... and with both settings set away from their defaults.
layer_directory_flags_settings_test = analysistest.make(
    _directory_flags_impl,
    attrs = _DIRECTORY_FLAGS_ATTRS,
    config_settings = {
        str(Label("//img/settings:create_parent_directories")): "enabled",
        str(Label("//img/settings:layer_tree_artifact_handling")): "deduplicate_symlink",
    },
)

def _test_binary_impl(ctx):
    exe = ctx.actions.declare_file(ctx.label.name)
    ctx.actions.symlink(output = exe, target_file = ctx.file.src, is_executable = True)
    return [
        DefaultInfo(executable = exe, runfiles = ctx.runfiles(files = ctx.files.data)),
        RunEnvironmentInfo(environment = ctx.attr.run_env),
    ]

# An executable with runfiles, like sh_binary, without a rules_shell dependency
# (the tests load when rules_img is not the root module, e.g. in BCR presubmits).
test_binary = rule(
    implementation = _test_binary_impl,
    executable = True,
    attrs = {
        "src": attr.label(mandatory = True, allow_single_file = True),
        "data": attr.label_list(allow_files = True),
        "run_env": attr.string_dict(doc = "Environment for `bazel run`, as RunEnvironmentInfo (Starlark rules have no `env`)."),
    },
)
