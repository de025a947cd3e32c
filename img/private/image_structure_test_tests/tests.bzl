"""Analysis tests of image_structure_test: what reaches the test, and bad images."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//img/private/providers:layer_info.bzl", "LayerInfo")

def _no_blobs_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    info = target[DefaultInfo]
    runfiles = info.default_runfiles
    files = runfiles.files.to_list()
    paths = [f.path for f in files]
    linked = {s.path: s.target_file.path for s in runfiles.root_symlinks.to_list()}
    seen = paths + linked.values()
    inputs = [f.path for a in analysistest.target_actions(env) for f in a.inputs.to_list()]
    for t in ctx.attr.layers:
        layer = t[LayerInfo]
        asserts.false(env, layer.blob.path in seen, "layer blob {} is in the runfiles".format(layer.blob.short_path))
        asserts.false(env, layer.blob.path in inputs, "an action reads layer blob {}".format(layer.blob.short_path))
        asserts.true(env, layer.mtree.path in linked.values(), "the listing {} is not in the runfiles".format(layer.mtree.short_path))
        asserts.true(env, layer.metadata.path in linked.values(), "the metadata of {} is not in the runfiles".format(layer.blob.short_path))
    for t in ctx.attr.listless_layers:
        layer = t[LayerInfo]
        asserts.false(env, layer.blob.path in seen, "layer blob {} is in the runfiles".format(layer.blob.short_path))

        # A blob without a listing is listed by a build action of its own.
        readers = [a.mnemonic for a in analysistest.target_actions(env) if layer.blob in a.inputs.to_list()]
        asserts.equals(env, ["LayerListing"], readers, "actions reading the unlisted blob {}".format(layer.blob.short_path))
    asserts.equals(env, ctx.attr.want_images, len([p for p in linked if p.endswith("/config.json")]), "one image config per manifest")
    asserts.equals(env, ctx.attr.want_listings, len([p for p in linked if p.endswith(".mtree")]), "listings")
    asserts.true(env, "image_structure_test/request.json" in linked, "the request is at its runfiles path")
    asserts.equals(env, ctx.attr.want_configs, len([p for p in linked if "/configs/" in p]), "configs")
    asserts.equals(env, "image-structure-test", info.files_to_run.executable.basename, "img runs under the command's name")
    return analysistest.end(env)

no_blobs_test = analysistest.make(
    _no_blobs_impl,
    attrs = {
        "layers": attr.label_list(providers = [LayerInfo], doc = "Layers with listings."),
        "listless_layers": attr.label_list(providers = [LayerInfo], doc = "Layers without listings."),
        "want_images": attr.int(doc = "Number of image configs."),
        "want_listings": attr.int(doc = "Number of listings."),
        "want_configs": attr.int(doc = "Number of configs."),
    },
)

def _layout_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    layout = ctx.files.layout[0]
    runfiles = target[DefaultInfo].default_runfiles
    linked = {s.path: s.target_file for s in runfiles.root_symlinks.to_list()}
    seen = [f.path for f in runfiles.files.to_list()] + [f.path for f in linked.values()]
    asserts.false(env, layout.path in seen, "the layout directory (with its blobs) is in the runfiles")
    acts = [a for a in analysistest.target_actions(env) if a.mnemonic == "OCILayoutStructureMeta"]
    asserts.equals(env, 1, len(acts), "one action lists the layout")
    for a in acts:
        asserts.equals(env, [layout.path], [f.path for f in a.inputs.to_list() if f.is_directory], "it reads the layout")
        out = a.outputs.to_list()
        asserts.equals(env, 1, len(out))
        asserts.true(env, linked.get("image_structure_test/layout") == out[0], "its output is the runfile image_structure_test/layout")
    return analysistest.end(env)

layout_test = analysistest.make(
    _layout_impl,
    attrs = {"layout": attr.label(allow_files = True, doc = "The OCI layout target.")},
)

def _listing_groups_impl(ctx):
    config = ctx.actions.declare_file(ctx.label.name + "_config.json")
    ctx.actions.write(config, json.encode({"architecture": "amd64", "os": "linux", "config": {}}))
    mtree = ctx.actions.declare_file(ctx.label.name + ".mtree")
    ctx.actions.write(mtree, "#mtree\n./a/data.txt type=file mode=644 uid=0 gid=0 size=5\n")
    return [
        DefaultInfo(files = depset([config])),
        OutputGroupInfo(mtree = depset([mtree]), oci_image_config = depset([config])),
    ]

listing_groups = rule(
    implementation = _listing_groups_impl,
    doc = "An image of another ruleset: a config and a file system listing in output groups.",
)

def _failure_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.expect_failure(env, ctx.attr.message)
    return analysistest.end(env)

failure_test = analysistest.make(
    _failure_impl,
    expect_failure = True,
    attrs = {"message": attr.string(doc = "Part of the expected error.")},
)
