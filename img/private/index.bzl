"""image_index: a multi-platform image index."""

load("//img/private/common:build.bzl", "TOOLCHAINS", "img_tool")
load("//img/private/common:image_outputs.bzl", "IMAGE_OUTPUT_ATTRS", "image_output_groups")
load("//img/private/common:templating.bzl", "TEMPLATING_ATTRS", "expand_templates")
load("//img/private/common:transitions.bzl", "multi_platform_image_transition", "reset_platform_transition")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")
load("//img/private/providers:pull_info.bzl", "PullInfo", "PullOriginsInfo")

_ATTRS = {
    "manifests": attr.label_list(
        providers = [ImageManifestInfo],
        cfg = multi_platform_image_transition,
        doc = """Images of the index. With `platforms`, each is built once per platform
(usually one image_manifest target, built for every platform). Several
images may have the same platform; they stay in this order.""",
    ),
    "platforms": attr.label_list(
        providers = [platform_common.PlatformInfo],
        doc = "Platforms to build `manifests` for (a split transition). Empty: as configured.",
    ),
    "annotations": attr.string_dict(doc = "Index annotations. Templates allowed."),
} | TEMPLATING_ATTRS | IMAGE_OUTPUT_ATTRS

def _ordered_manifests(ctx):
    """The manifest targets in `platforms` order, then `manifests` order."""
    if not ctx.attr.platforms:
        return ctx.attr.manifests
    split = ctx.split_attr.manifests
    return [t for p in ctx.attr.platforms for t in split[str(p.label)]]

def _image_index_impl(ctx):
    targets = _ordered_manifests(ctx)
    manifests = [m[ImageManifestInfo] for m in targets]
    if not manifests:
        fail("{}: an index needs at least one manifest".format(ctx.label))

    name = ctx.label.name
    index = ctx.actions.declare_file(name + "_index.json")
    descriptor = ctx.actions.declare_file(name + "_descriptor.json")
    digest = ctx.actions.declare_file(name + "_digest")
    args = ctx.actions.args()
    args.add("index")
    args.add_all([m.descriptor for m in manifests], before_each = "--manifest-descriptor")
    for k, v in ctx.attr.annotations.items():
        args.add("--annotation", "{}={}".format(k, v))
    inputs = [m.descriptor for m in manifests]
    templates = expand_templates(ctx, name, {"annotations": ctx.attr.annotations})
    if templates:
        args.add("--config-templates", templates)
        inputs.append(templates)
    args.add("--index", index)
    args.add("--descriptor", descriptor)
    args.add("--digest", digest)
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args],
        inputs = inputs,
        outputs = [index, descriptor, digest],
        mnemonic = "ImageIndex",
        progress_message = "Writing image index %{label}",
    )
    groups = image_output_groups(ctx, manifests, index = index)
    providers = [
        DefaultInfo(files = depset([index])),
        OutputGroupInfo(descriptor = depset([descriptor]), digest = depset([digest]), **groups),
        ImageIndexInfo(index = index, descriptor = descriptor, digest = digest, manifests = manifests),
    ]

    # Where the base layers of shallow pulls live, as image_manifest says:
    # pushes and loads of the index fetch or mount them from there.
    origins = [t[PullInfo] if PullInfo in t else None for t in targets]
    pulled = [o for o in origins if o]
    if pulled:
        providers.append(pulled[0])
        providers.append(PullOriginsInfo(manifests = origins))
    return providers

image_index = rule(
    implementation = _image_index_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    cfg = reset_platform_transition,
    provides = [ImageIndexInfo],
    doc = """A multi-platform image index.

Usually one `image_manifest` built for several platforms:

```starlark
load("@rules_img//img:image.bzl", "image_index", "image_manifest")

image_manifest(name = "app", layers = [":app_layer"], entrypoint = ["/app"])

image_index(
    name = "app_multiarch",
    manifests = [":app"],
    platforms = [":linux_amd64", ":linux_arm64"],
)
```

The index action reads only the manifests' descriptors. Layers that do not
depend on the platform are built once for all entries. Output groups as for
`image_manifest`, without `tarball` (docker loads single images).""",
)
