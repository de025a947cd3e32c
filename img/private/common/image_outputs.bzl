"""Actions for the byte-carrying outputs of images: OCI layout (directory or
tar) and docker-save tarball. They are output groups, built only on request;
nothing else in the build graph reads layer blobs."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//img/private/common:build.bzl", "img_tool")

IMAGE_OUTPUT_ATTRS = {
    "_shallow_oci_layout": attr.label(
        default = "//img/settings:shallow_oci_layout",
        providers = [BuildSettingInfo],
    ),
}

def _layer_args(args, inputs, layers):
    for layer in layers:
        if layer.blob == None:
            continue
        args.add("--layer", "{}={}".format(layer.metadata.path, layer.blob.path))
        inputs.extend([layer.metadata, layer.blob])

def _layout(ctx, out, fmt, manifests, index):
    args = ctx.actions.args()
    args.add("oci-layout")
    inputs = []
    if index:
        args.add("--index", index)
        inputs.append(index)
    for m in manifests:
        args.add("--manifest", m.manifest)
        args.add("--config", m.config)
        inputs.extend([m.manifest, m.config])
        _layer_args(args, inputs, m.layers)
    if ctx.attr._shallow_oci_layout[BuildSettingInfo].value == "i_know_what_i_am_doing":
        args.add("--allow-missing-blobs")
    args.add("--format", fmt)
    args.add("--output", out.path)
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args],
        inputs = depset(inputs),
        outputs = [out],
        mnemonic = "OCILayout",
        progress_message = "Writing OCI layout of %{label}",
    )
    return out

def image_output_groups(ctx, manifests, index = None):
    """Declares the layout and tarball actions of an image.

    Args:
        ctx: rule context with IMAGE_OUTPUT_ATTRS and the img toolchain.
        manifests: list of ImageManifestInfo (one for image_manifest).
        index: File of the index JSON for image_index, else None.

    Returns:
        dict of output group name -> depset, to merge into OutputGroupInfo.
    """
    name = ctx.label.name
    groups = {
        "oci_layout": depset([_layout(ctx, ctx.actions.declare_directory(name + "_oci_layout"), "directory", manifests, index)]),
        "oci_tarball": depset([_layout(ctx, ctx.actions.declare_file(name + "_oci_layout.tar"), "tar", manifests, index)]),
    }
    if index == None:
        m = manifests[0]
        tarball = ctx.actions.declare_file(name + "_docker.tar")
        args = ctx.actions.args()
        args.add("docker-save")
        args.add("--manifest", m.manifest)
        args.add("--config", m.config)
        inputs = [m.manifest, m.config]
        _layer_args(args, inputs, m.layers)
        args.add("--format", "tar")
        args.add("--output", tarball)
        ctx.actions.run(
            executable = img_tool(ctx),
            arguments = [args],
            inputs = inputs,
            outputs = [tarball],
            mnemonic = "DockerSave",
            progress_message = "Writing docker tarball of %{label}",
        )
        groups["tarball"] = depset([tarball])
    return groups
