"""Analysis tests of the behaviour that upstream rules_img users rely on:
run-time destinations, optional load names, the load_daemon setting,
stamping only with --stamp, indexes over pulled bases and of one platform."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//img/private/config:defs.bzl", "TargetPlatformInfo")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")
load("//img/private/providers:pull_info.bzl", "PullInfo")

def _actions(env, mnemonic):
    return [a for a in analysistest.target_actions(env) if a.mnemonic == mnemonic]

def _configuration(env, suffix):
    """The JSON that a FileWrite action of the target writes to *suffix."""
    for a in analysistest.target_actions(env):
        if a.mnemonic == "FileWrite" and a.outputs.to_list()[0].basename.endswith(suffix):
            return json.decode(a.content)
    return None

def _argv_value(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv else None

def _deploy_config_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.equals(env, [], _actions(env, "DeployMetadata"), "a deploy plan needs no action")
    asserts.equals(env, None, _configuration(env, ctx.attr.config_suffix), "a destination without templates needs no file")
    plan = _configuration(env, "_dispatch.json")
    asserts.true(env, plan != None, "no deploy plan written")
    if plan != None:
        op = plan["planned_operations"][0]
        asserts.equals(env, ctx.attr.want_target, op["target"])
        asserts.equals(env, json.decode(ctx.attr.want_json), op.get("configuration"), "deploy configuration in the plan")
    return analysistest.end(env)

_DEPLOY_CONFIG_ATTRS = {
    "config_suffix": attr.string(mandatory = True),
    "want_json": attr.string(mandatory = True),
    "want_target": attr.string(mandatory = True),
}

deploy_config_test = analysistest.make(_deploy_config_impl, attrs = _DEPLOY_CONFIG_ATTRS)

deploy_config_settings_test = analysistest.make(
    _deploy_config_impl,
    attrs = _DEPLOY_CONFIG_ATTRS,
    config_settings = {
        str(Label("//img/settings:destination_registry")): "registry.example:5000",
        str(Label("//img/settings:load_daemon")): "containerd",
    },
)

def _stamp_impl(ctx):
    env = analysistest.begin(ctx)
    actions = _actions(env, "ExpandTemplate")
    asserts.equals(env, 1, len(actions))
    for a in actions:
        stamps = [f.basename for f in a.inputs.to_list() if f.basename in ["stable-status.txt", "volatile-status.txt"]]
        asserts.equals(env, ctx.attr.want_stamped, len(stamps) == 2, "reads the workspace status: {}".format(stamps))
        asserts.equals(env, ctx.attr.want_missing_key, _argv_value(a.argv, "--missing-key"))
        typed = [v for v in a.argv if v.startswith("FLAG=")]
        asserts.equals(env, ["FLAG=true"], typed, "a bool setting reaches the template as JSON")

        # {{.KEY}} templates run on the build-action tool; others on the
        # full tool, which has the whole Go template language.
        tool = a.argv[0].split("/")[-1]
        asserts.equals(env, ctx.attr.want_full_tool, not tool.startswith("img_build"), "expanded by " + tool)
    return analysistest.end(env)

_STAMP_ATTRS = {
    "want_stamped": attr.bool(),
    "want_missing_key": attr.string(),
    "want_full_tool": attr.bool(doc = "The templates are not all {{.KEY}}: the full img tool expands them."),
}

stamp_off_test = analysistest.make(_stamp_impl, attrs = _STAMP_ATTRS)

stamp_on_test = analysistest.make(
    _stamp_impl,
    attrs = _STAMP_ATTRS,
    config_settings = {"//command_line_option:stamp": True},
)

stamp_force_test = analysistest.make(
    _stamp_impl,
    attrs = _STAMP_ATTRS,
    config_settings = {str(Label("//img/settings:stamp")): "force"},
)

stamp_enabled_spelling_test = analysistest.make(
    _stamp_impl,
    attrs = _STAMP_ATTRS,
    config_settings = {
        "//command_line_option:stamp": True,
        str(Label("//img/settings:stamp")): "enabled",
    },
)

def _pulled_index_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[ImageIndexInfo]
    asserts.equals(env, ctx.attr.want_platforms, ["{}/{}".format(m.os, m.architecture) for m in info.manifests])
    if ctx.attr.want_repository:
        asserts.true(env, PullInfo in target, "the index forwards its base's PullInfo")
        if PullInfo in target:
            asserts.equals(env, ctx.attr.want_repository, target[PullInfo].repository)
    return analysistest.end(env)

pulled_index_test = analysistest.make(_pulled_index_impl, attrs = {
    "want_platforms": attr.string_list(),
    "want_repository": attr.string(),
})

def _fake_pulled_impl(ctx):
    return [
        ctx.attr.image[ImageManifestInfo],
        PullInfo(registries = ["mirror.example", "registry.example"], repository = ctx.attr.repository, tag = "1", digest = "sha256:" + "a" * 64),
    ]

fake_pulled = rule(
    implementation = _fake_pulled_impl,
    attrs = {
        "image": attr.label(providers = [ImageManifestInfo]),
        "repository": attr.string(),
    },
    doc = "An image that looks pulled: an image's ImageManifestInfo plus a PullInfo.",
)

def _os_cpu_impl(ctx):
    env = analysistest.begin(ctx)
    info = analysistest.target_under_test(env)[TargetPlatformInfo]
    asserts.equals(env, ["linux", "arm64", "arm64", "v8.2"], [info.os, info.cpu, info.architecture, info.variant])
    return analysistest.end(env)

os_cpu_test = analysistest.make(
    _os_cpu_impl,
    config_settings = {"//command_line_option:platforms": str(Label("//img/private/tests:linux_arm64_v8_2"))},
)

def _two_bases_push_impl(ctx):
    env = analysistest.begin(ctx)
    plan = _configuration(env, "_dispatch.json")
    asserts.true(env, plan != None, "no deploy plan written")
    if plan != None:
        op = plan["planned_operations"][0]
        got = [
            "{}={}@{}".format(i, o["repository"], ",".join(o["registries"]))
            for i, o in enumerate(op.get("manifest_origins", []))
            if o
        ]
        asserts.equals(env, ctx.attr.want, got, "per-manifest base origins")
        asserts.equals(env, "library/base", op.get("original_repository"), "the index's own origin is the first manifest's")
    return analysistest.end(env)

two_bases_push_test = analysistest.make(_two_bases_push_impl, attrs = {"want": attr.string_list()})
