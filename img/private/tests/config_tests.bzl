"""Analysis tests of image_manifest's config attributes: INHERIT_FROM_BASE,
the layers' configs (ImageLayerConfigInfo), LayersInfo and the creation
time (created, created_timestamp, stamp_created)."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//img:image.bzl", "INHERIT_FROM_BASE")
load("//img/private/providers:layer_config_info.bzl", "ImageLayerConfigInfo")
load("//img/private/providers:layer_info.bzl", "LayerInfo")
load("//img/private/providers:layers_info.bzl", "LayersInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")

def _fake_layer_impl(ctx):
    """Layers with made-up metadata (valid for `img manifest`), and a config."""
    layers = []
    for i in range(ctx.attr.count):
        name = "{}_{}".format(ctx.label.name, i)
        blob = ctx.actions.declare_file(name + ".tgz")
        ctx.actions.write(blob, name)
        metadata = ctx.actions.declare_file(name + "_metadata.json")
        ctx.actions.write(metadata, json.encode({
            "name": name,
            "diff_id": "sha256:" + "{}".format(i) * 64,
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": "sha256:" + "{}".format(i + 1) * 64,
            "size": 10 + i,
            "annotations": {},
        }))
        layers.append(LayerInfo(blob = blob, metadata = metadata, media_type = "application/vnd.oci.image.layer.v1.tar+gzip", estargz = False))
    providers = [DefaultInfo(files = depset([layer.blob for layer in layers]))]
    if ctx.attr.several:
        providers.append(LayersInfo(layers = layers))
    else:
        providers.append(layers[0])
    if ctx.attr.config:
        c = json.decode(ctx.attr.config)
        providers.append(ImageLayerConfigInfo(
            entrypoint = c.get("entrypoint"),
            cmd = c.get("cmd"),
            env = c.get("env"),
            working_dir = c.get("working_dir"),
        ))
    return providers

fake_layer = rule(
    implementation = _fake_layer_impl,
    attrs = {
        "count": attr.int(default = 1, doc = "Number of layers."),
        "several": attr.bool(doc = "Return LayersInfo instead of LayerInfo."),
        "config": attr.string(doc = "JSON of the ImageLayerConfigInfo fields; empty: none."),
    },
    doc = "A layer target for tests, without a layer action.",
)

def _actions(env, mnemonic):
    return [a for a in analysistest.target_actions(env) if a.mnemonic == mnemonic]

def _argv_value(argv, flag):
    return argv[argv.index(flag) + 1] if flag in argv else None

def _written(env, suffix):
    """The content of the FileWrite action of the target that writes *suffix, or None."""
    for a in analysistest.target_actions(env):
        if a.mnemonic == "FileWrite" and a.outputs.to_list()[0].basename.endswith(suffix):
            return a.content
    return None

def _overrides_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.equals(env, "<inherit from base>\0", INHERIT_FROM_BASE, "the sentinel of upstream rules_img")
    actions = _actions(env, "ImageManifest")
    asserts.equals(env, 1, len(actions))
    content = _written(env, "_config_overrides.json")
    for a in actions:
        for flag in ["--user", "--entrypoint", "--cmd", "--working-dir", "--stop-signal"]:
            asserts.false(env, flag in a.argv, "the image's config goes through the overrides file, not " + flag)
        path = _argv_value(a.argv, "--config-overrides")
        if not ctx.attr.want_json:
            asserts.equals(env, None, path, "no overrides file when everything inherits")
            asserts.equals(env, None, content)
            continue
        asserts.true(env, path != None and path.endswith("_config_overrides.json"), "--config-overrides " + str(path))
        asserts.true(env, path in [f.path for f in a.inputs.to_list()], "the overrides file is an input")
    if ctx.attr.want_json:
        asserts.equals(env, json.decode(ctx.attr.want_json), json.decode(content or "null"))
        asserts.equals(env, ctx.attr.want_nul, "\\u0000" in (content or ""), "the sentinel is written as \\u0000")
    return analysistest.end(env)

config_overrides_test = analysistest.make(
    _overrides_impl,
    attrs = {
        "want_json": attr.string(doc = "The overrides file as JSON; empty: no file."),
        "want_nul": attr.bool(doc = "Whether the file holds the sentinel."),
    },
)

def _layers_info_impl(ctx):
    env = analysistest.begin(ctx)
    info = analysistest.target_under_test(env)[ImageManifestInfo]
    want = []
    for t in ctx.attr.layers:
        want.extend([layer.metadata.short_path for layer in (t[LayersInfo].layers if LayersInfo in t else [t[LayerInfo]])])
    asserts.equals(env, len(want), len(info.layers), "every layer of a LayersInfo is in the image")
    asserts.equals(env, want, [layer.metadata.short_path for layer in info.layers])
    for a in _actions(env, "ImageManifest"):
        got = [a.argv[i + 1] for i in range(len(a.argv) - 1) if a.argv[i] == "--layer-from-metadata"]
        want_paths = [layer.metadata.path for layer in info.layers]
        asserts.equals(env, want_paths, got, "the layers reach img manifest in order")
    return analysistest.end(env)

layers_info_test = analysistest.make(
    _layers_info_impl,
    attrs = {"layers": attr.label_list(doc = "The subject's layers, in order.")},
)

def _created_impl(ctx):
    env = analysistest.begin(ctx)
    actions = _actions(env, "ImageManifest")
    asserts.equals(env, 1, len(actions))
    for a in actions:
        flags = [f for f in ["--created", "--created-file", "--created-from-status"] if f in a.argv]
        asserts.equals(env, [ctx.attr.want_flag] if ctx.attr.want_flag else [], flags, "created flags")
        if ctx.attr.want_flag:
            value = _argv_value(a.argv, ctx.attr.want_flag)
            asserts.true(env, value.endswith(ctx.attr.want_value), "{} {}, want ...{}".format(ctx.attr.want_flag, value, ctx.attr.want_value))
            if ctx.attr.want_flag != "--created":
                asserts.true(env, value in [f.path for f in a.inputs.to_list()], value + " is an input")
        status = [f.basename for f in a.inputs.to_list() if f.basename.endswith("-status.txt")]
        asserts.equals(env, ["volatile-status.txt"] if ctx.attr.want_flag == "--created-from-status" else [], status, "workspace status read")
        label = analysistest.target_under_test(env).label
        asserts.equals(env, "//{}:{}".format(label.package, label.name), _argv_value(a.argv, "--name"), "errors name the target as users write it")
    return analysistest.end(env)

_CREATED_ATTRS = {
    "want_flag": attr.string(doc = "The one created flag expected; empty: none."),
    "want_value": attr.string(doc = "Suffix of its value."),
}

created_test = analysistest.make(_created_impl, attrs = _CREATED_ATTRS)

created_stamp_test = analysistest.make(
    _created_impl,
    attrs = _CREATED_ATTRS,
    config_settings = {"//command_line_option:stamp": True},
)

created_stamp_setting_test = analysistest.make(
    _created_impl,
    attrs = _CREATED_ATTRS,
    config_settings = {
        "//command_line_option:stamp": True,
        str(Label("//img/settings:stamp_created")): "enabled",
    },
)

created_setting_without_stamp_test = analysistest.make(
    _created_impl,
    attrs = _CREATED_ATTRS,
    config_settings = {str(Label("//img/settings:stamp_created")): "enabled"},
)
