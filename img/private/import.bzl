"""image_import: an image from pulled manifests and configs (metadata only)."""

load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:layer_info.bzl", "LayerInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")
load("//img/private/providers:pull_info.bzl", "PullInfo")

_ESTARGZ_TOC = "containerd.io/snapshot/stargz/toc.digest"

_ATTRS = {
    "pull_json": attr.string(
        mandatory = True,
        doc = "The pull summary (pull.json of the repository rule) as a string: root, manifests with platforms, configs and layer descriptors with diff_ids.",
    ),
    "blobs": attr.label_list(
        allow_files = True,
        doc = "Files named `blobs/sha256/<hex>`: the index, manifests and configs, and any layer blobs present.",
    ),
    "layer_blobs": attr.label_list(
        allow_files = True,
        doc = "Layer blobs downloaded by build actions (lazy mode), named by their hex digest.",
    ),
    "registries": attr.string_list(doc = "Registries the image can be fetched from, in order."),
    "repository": attr.string(doc = "Repository of the image."),
    "tag": attr.string(doc = "Tag that was resolved; informational."),
}

def _by_hex(files):
    return {f.basename: f for f in files}

def _descriptor_file(ctx, name, content):
    f = ctx.actions.declare_file(name)
    ctx.actions.write(f, content)
    return f

def _image_import_impl(ctx):
    summary = json.decode(ctx.attr.pull_json)
    blobs = _by_hex(ctx.files.blobs)
    layer_files = _by_hex(ctx.files.layer_blobs) | blobs
    ref = "{}/{}".format(ctx.attr.registries[0] if ctx.attr.registries else "", ctx.attr.repository)

    def blob(desc, what):
        hex = desc["digest"].removeprefix("sha256:")
        if hex not in blobs:
            fail("{}: the {} {} is not among the pulled blobs".format(ctx.label, what, desc["digest"]))
        return blobs[hex]

    manifests = []
    for i, m in enumerate(summary["manifests"]):
        layers = []
        missing = []
        for j, l in enumerate(m["layers"]):
            hex = l["digest"].removeprefix("sha256:")
            md = _descriptor_file(ctx, "{}_m{}_layer{}_metadata.json".format(ctx.label.name, i, j), json.encode({
                "name": "{}@{}".format(ref, l["digest"]),
                "diff_id": l["diff_id"],
                "mediaType": l["mediaType"],
                "digest": l["digest"],
                "size": l["size"],
                "annotations": l.get("annotations") or {},
            }))
            present = layer_files.get(hex)
            if not present:
                missing.append(hex)
            layers.append(LayerInfo(
                blob = present,
                metadata = md,
                media_type = l["mediaType"],
                estargz = _ESTARGZ_TOC in (l.get("annotations") or {}),
            ))
        platform = dict(m["platform"])
        descriptor = {"mediaType": m["mediaType"], "digest": m["digest"], "size": m["size"], "platform": platform}
        os = platform.pop("os")
        arch = platform.pop("architecture")
        manifests.append(ImageManifestInfo(
            base_image = None,
            descriptor = _descriptor_file(ctx, "{}_m{}_descriptor.json".format(ctx.label.name, i), json.encode(descriptor)),
            digest = _descriptor_file(ctx, "{}_m{}_digest".format(ctx.label.name, i), m["digest"]),
            manifest = blob(m, "manifest"),
            config = blob(m["config"], "config"),
            structured_config = {"os": os, "architecture": arch, "variant": platform.get("variant", "")},
            architecture = arch,
            os = os,
            platform = platform,
            layers = layers,
            missing_blobs = missing,
        ))

    root = summary["root"]
    pull_info = PullInfo(
        registries = ctx.attr.registries,
        repository = ctx.attr.repository,
        tag = ctx.attr.tag,
        digest = root["digest"],
    )
    digest = _descriptor_file(ctx, ctx.label.name + "_digest", root["digest"])
    if root["mediaType"] in ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"]:
        index = blob(root, "index")
        descriptor = _descriptor_file(ctx, ctx.label.name + "_descriptor.json", json.encode(root))
        return [
            DefaultInfo(files = depset([index])),
            OutputGroupInfo(digest = depset([digest]), descriptor = depset([descriptor])),
            ImageIndexInfo(index = index, descriptor = descriptor, digest = digest, manifests = manifests),
            pull_info,
        ]
    m = manifests[0]
    return [
        DefaultInfo(files = depset([m.manifest, m.config])),
        OutputGroupInfo(digest = depset([m.digest]), descriptor = depset([m.descriptor])),
        m,
        pull_info,
    ]

image_import = rule(
    implementation = _image_import_impl,
    attrs = _ATTRS,
    doc = """An image (ImageManifestInfo) or index (ImageIndexInfo) from pulled blobs.

Written by the `pull` repository rule; layer metadata comes from the manifest
descriptors and the config's diff_ids, so no layer blob is needed. Layers
that were not downloaded have `blob = None` and are listed in
`missing_blobs`.""",
)
