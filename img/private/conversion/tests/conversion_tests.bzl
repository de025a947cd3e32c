"""Analysis tests of image_manifest_from_oci_layout and image_index_from_oci_layout."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//img/private/providers:deploy_info.bzl", "DeployInfo")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")

def _values(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag and i + 1 < len(argv)]

def _one_action(env, mnemonic):
    actions = [a for a in analysistest.target_actions(env) if a.mnemonic == mnemonic]
    asserts.equals(env, 1, len(actions), "one {} action".format(mnemonic))
    return actions[0] if actions else None

def _check_image(env, action, m, want_platform, want_layers):
    """The image's files are the action's outputs; its layers carry blobs."""
    outputs = action.outputs.to_list()
    for f in [m.manifest, m.config, m.descriptor, m.digest]:
        asserts.true(env, f in outputs, "{} is not written by the import action".format(f.basename))
    asserts.equals(env, len(want_layers), len(m.layers))
    asserts.equals(env, want_layers, [l.media_type for l in m.layers])
    for l in m.layers:
        asserts.true(env, l.blob in outputs and l.metadata in outputs, "layer blob and metadata come from the import action")
    asserts.equals(env, [], m.missing_blobs)
    os, arch, variant = (want_platform.split("/") + [""])[:3]
    asserts.equals(env, [os, arch], [m.os, m.architecture])
    asserts.equals(env, {"variant": variant} if variant else {}, m.platform)

def _manifest_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    m = target[ImageManifestInfo]
    a = _one_action(env, "ImageFromOCILayout")
    if a:
        argv = a.argv
        asserts.equals(env, [ctx.attr.want_root], [p.split("/bin/", 1)[-1] for p in _values(argv, "--layout")])
        asserts.equals(env, [ctx.attr.want_platform], _values(argv, "--platform"))
        asserts.equals(env, ctx.attr.want_layers, _values(argv, "--layer-media-type"))
        asserts.equals(env, [], _values(argv, "--index"), "an image, not an index")
        inputs = [f.basename for f in a.inputs.to_list()]
        for want in ctx.attr.want_inputs:
            asserts.true(env, want in inputs, "{} is not an input: {}".format(want, inputs))
        _check_image(env, a, m, ctx.attr.want_platform, ctx.attr.want_layers)
    groups = target[OutputGroupInfo]
    for g in ["oci_layout", "oci_tarball", "tarball", "digest", "descriptor", "layer_blobs"]:
        asserts.true(env, hasattr(groups, g), "output group " + g)
    return analysistest.end(env)

manifest_test = analysistest.make(_manifest_impl, attrs = {
    "want_root": attr.string(mandatory = True, doc = "Path of the layout, after bazel-out/<config>/bin/ for generated ones."),
    "want_platform": attr.string(mandatory = True),
    "want_layers": attr.string_list(mandatory = True),
    "want_inputs": attr.string_list(),
})

def _index_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[ImageIndexInfo]
    a = _one_action(env, "IndexFromOCILayout")
    if a:
        argv = a.argv
        asserts.equals(env, ctx.attr.want_platforms, _values(argv, "--platform"))
        asserts.equals(env, [info.index.path], _values(argv, "--index"))
        asserts.equals(env, [info.digest.path], _values(argv, "--index-digest"))
        asserts.equals(env, len(ctx.attr.want_platforms), len(info.manifests))
        for p, m in zip(ctx.attr.want_platforms, info.manifests):
            _check_image(env, a, m, p, ctx.attr.want_layers)
        blobs = _values(argv, "--layer-blob")
        asserts.equals(env, len(ctx.attr.want_platforms) * len(ctx.attr.want_layers), len(blobs))
        asserts.equals(env, len(blobs), len({b: 1 for b in blobs}), "every layer blob has its own output")
    return analysistest.end(env)

index_test = analysistest.make(_index_impl, attrs = {
    "want_platforms": attr.string_list(mandatory = True),
    "want_layers": attr.string_list(mandatory = True),
})

def _on_top_impl(ctx):
    """image_manifest over an import: base layers first, metadata only; a push ships the imported blobs."""
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    m = target[ImageManifestInfo]
    if ImageIndexInfo in ctx.attr.base:
        base = ctx.attr.base[ImageIndexInfo].manifests[ctx.attr.entry]
    else:
        base = ctx.attr.base[ImageManifestInfo]
    asserts.equals(env, len(base.layers) + 1, len(m.layers))
    asserts.equals(env, [l.blob for l in base.layers], [l.blob for l in m.layers[:len(base.layers)]], "base layers keep their blobs")
    a = _one_action(env, "ImageManifest")
    if a:
        inputs = a.inputs.to_list()
        asserts.true(env, base.manifest in inputs and base.config in inputs, "reads the imported manifest and config")
        for l in base.layers:
            asserts.false(env, l.blob in inputs, "the manifest action reads a layer blob")
    if not ctx.attr.push:
        return analysistest.end(env)
    runfiles = ctx.attr.push[DefaultInfo].default_runfiles.root_symlinks.to_list()
    shipped = {s.target_file: s.path for s in runfiles}
    asserts.equals(env, "push", ctx.attr.push[DeployInfo].command)
    for i, l in enumerate(m.layers):
        asserts.equals(env, "0/manifests/0/layer/{}".format(i), shipped.get(l.blob), "layer {} in the push's runfiles".format(i))
    return analysistest.end(env)

on_top_test = analysistest.make(_on_top_impl, attrs = {
    "base": attr.label(providers = [[ImageManifestInfo], [ImageIndexInfo]]),
    "entry": attr.int(default = 0, doc = "For an index base: the manifest the image is built on."),
    "push": attr.label(providers = [DeployInfo], doc = "A push of the image: its runfiles must hold every layer blob."),
})

def _deploy_impl(ctx):
    """A push or load of an import ships every layer blob of every image (eager)."""
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    asserts.equals(env, ctx.attr.command, target[DeployInfo].command)
    if ImageIndexInfo in ctx.attr.image:
        manifests = ctx.attr.image[ImageIndexInfo].manifests
    else:
        manifests = [ctx.attr.image[ImageManifestInfo]]
    shipped = {s.target_file: s.path for s in target[DefaultInfo].default_runfiles.root_symlinks.to_list()}
    for i, m in enumerate(manifests):
        for j, l in enumerate(m.layers):
            asserts.equals(env, "0/manifests/{}/layer/{}".format(i, j), shipped.get(l.blob), "image {} layer {} in the runfiles".format(i, j))
    return analysistest.end(env)

deploy_test = analysistest.make(_deploy_impl, attrs = {
    "image": attr.label(providers = [[ImageManifestInfo], [ImageIndexInfo]]),
    "command": attr.string(mandatory = True, values = ["push", "load"]),
})

def _index_of_import_impl(ctx):
    """image_index over an imported image reads its descriptor, keeps its layers."""
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    imported = ctx.attr.image[ImageManifestInfo]
    info = target[ImageIndexInfo]
    asserts.equals(env, 1, len(info.manifests))
    asserts.equals(env, imported.descriptor, info.manifests[0].descriptor)
    asserts.equals(env, [l.blob for l in imported.layers], [l.blob for l in info.manifests[0].layers])
    a = _one_action(env, "ImageIndex")
    if a:
        asserts.equals(env, [imported.descriptor.path], _values(a.argv, "--manifest-descriptor"))
    return analysistest.end(env)

index_of_import_test = analysistest.make(_index_of_import_impl, attrs = {
    "image": attr.label(providers = [ImageManifestInfo]),
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

def _layout_dir_impl(ctx):
    out = ctx.actions.declare_directory(ctx.label.name)
    ctx.actions.run_shell(outputs = [out], command = "mkdir -p " + out.path, mnemonic = "LayoutDir")
    return [DefaultInfo(files = depset([out]))]

layout_dir = rule(
    implementation = _layout_dir_impl,
    doc = "An empty tree artifact standing for a layout directory (never built by the analysis tests).",
)
