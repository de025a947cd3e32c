"""oras_file_layer: one file as a blob of an ORAS artifact, byte for byte."""

load("//img/private/common:build.bzl", "TOOLCHAINS", "img_tool")
load("//img/private/common:compression.bzl", "compression", "layer_name")
load("//img/private/common:media_types.bzl", "LAYER_TYPES")
load("//img/private/providers:layer_info.bzl", "LayerInfo")

TITLE = "org.opencontainers.image.title"
UNPACK = "io.deis.oras.content.unpack"
CONTENT_DIGEST = "io.deis.oras.content.digest"

_ATTRS = {
    "src": attr.label(
        mandatory = True,
        allow_single_file = True,
        doc = "The file to use as the blob, byte for byte.",
    ),
    "media_type": attr.string(
        doc = """Media type of the blob's descriptor, e.g. `text/plain` or
`application/vnd.example.config.v1+json`. A media type of its own (not one
of `LAYER_TYPES`) makes the file an artifact blob that is never read as a
tar; such a blob goes into an `image_manifest` with `artifact_type`. A tar
layer media type (`LAYER_TYPES` of `@rules_img//img:media_types.bzl`)
makes the file a tar layer, read and checked as one, whose compression
must be the one the media type names. Empty: the OCI tar layer media type
of the compression that the file name says (`.tar.gz`, `.tgz`: `+gzip`;
`.tar.zst`, `.tzst`: `+zstd`; any other name:
`application/vnd.oci.image.layer.v1.tar`, which is what the ORAS CLI
records for a file by default); a file that is not such a tar then fails
the build, so give it a media type of its own.
`kind = "directory"` needs a tar layer media type or empty.""",
    ),
    "title": attr.string(
        doc = "Value of the `org.opencontainers.image.title` annotation (the file name ORAS clients write on pull). Empty: the base name of `src`.",
    ),
    "kind": attr.string(
        default = "file",
        values = ["file", "directory"],
        doc = """`file`: ORAS clients write the blob as a file named `title`.
`directory`: the blob is a tar (plain, gzip or zstd) of a directory tree
that ORAS clients unpack into a directory named `title`. Every entry of the
tar must lie below `<title>/` (as `tar -czf docs.tar.gz docs/` writes
them): ORAS clients refuse to unpack the blob otherwise, so set `title` to
the tar's top directory. The annotations
`io.deis.oras.content.unpack = "true"` and `io.deis.oras.content.digest`
(the diff_id, digest of the uncompressed tar) are added.""",
    ),
    "annotations": attr.string_dict(
        doc = "Annotations of the blob's descriptor. They win over the title and the ORAS annotations set by `kind`.",
    ),
}

def oras_annotations(title, kind, annotations):
    """The descriptor annotations of an ORAS blob.

    Args:
        title: value of org.opencontainers.image.title.
        kind: file or directory.
        annotations: the user's annotations, which win.

    Returns:
        A dict of annotations, without the diff_id annotation (an action
        computes it).
    """
    merged = {TITLE: title}
    if kind == "directory":
        merged[UNPACK] = "true"
    merged.update(annotations)
    return merged

def _oras_file_layer_impl(ctx):
    src = ctx.file.src
    media_type = ctx.attr.media_type
    kind = ctx.attr.kind
    as_tar = media_type == "" or media_type in LAYER_TYPES
    tar_named = [ext for ext in compression.tar_extensions if src.basename.endswith(ext)]
    if not media_type:
        media_type = compression.media_type(compression.source_compression(src) if tar_named else "none")
    if kind == "directory" and not as_tar:
        fail("{}: kind \"directory\" unpacks a tar, but media_type {} is not a tar layer media type; want one of {} or empty".format(
            ctx.label,
            repr(media_type),
            ", ".join(LAYER_TYPES),
        ))
    annotations = oras_annotations(ctx.attr.title or src.basename, kind, ctx.attr.annotations)
    diff_id_annotations = []
    if kind == "directory":
        if CONTENT_DIGEST in annotations:
            fail("{}: annotations may not set {}; kind \"directory\" sets it to the diff_id".format(ctx.label, CONTENT_DIGEST))
        diff_id_annotations.append(CONTENT_DIGEST)

    metadata = ctx.actions.declare_file(ctx.label.name + "_metadata.json")

    # A tar's file listing, for image_structure_test; an artifact blob has none.
    mtree = ctx.actions.declare_file(ctx.label.name + ".mtree") if as_tar else None
    args = ctx.actions.args()
    args.add("layer-metadata" if as_tar else "artifact-metadata")
    args.add("--name", layer_name(ctx.label))
    args.add("--media-type", media_type)
    for k, v in annotations.items():
        args.add("--annotation", "{}={}".format(k, v))
    args.add_all(diff_id_annotations, before_each = "--diff-id-annotation")
    if mtree:
        args.add("--mtree", mtree)
    args.add(src)
    args.add(metadata)
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args],
        inputs = [src],
        outputs = [metadata] + ([mtree] if mtree else []),
        mnemonic = "LayerMetadata" if as_tar else "ArtifactMetadata",
        progress_message = "Describing ORAS blob %{label} from " + src.short_path,
    )

    # image_manifest takes targets whose files include a tar by extension;
    # a tar of another name gets a symlink named for its compression.
    blob = src
    if as_tar and not tar_named:
        blob = ctx.actions.declare_file(ctx.label.name + compression.extension(compression.of_media_type(media_type)))
        ctx.actions.symlink(output = blob, target_file = src)
    info = LayerInfo(blob = blob, metadata = metadata, media_type = media_type, estargz = False, mtree = mtree)
    return [
        DefaultInfo(files = depset([blob, metadata])),
        OutputGroupInfo(layer = depset([blob]), metadata = depset([metadata]), mtree = depset([mtree] if mtree else [])),
        info,
    ]

oras_file_layer = rule(
    implementation = _oras_file_layer_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [LayerInfo],
    doc = """One file as a blob of an ORAS artifact, used byte for byte.

The descriptor carries `org.opencontainers.image.title` (`title`, or the
base name of `src`), the name under which ORAS clients (`oras pull`)
write the blob. One action reads the file once and writes the metadata:
digest and size of the file, the media type and the annotations. With a
media type of its own (`text/plain`, `application/vnd.example+json`) the
file is an artifact blob, never read as a tar; put it into an
`image_manifest` with `artifact_type` set, which writes an OCI 1.1 artifact
manifest (`artifactType`, the empty config
`application/vnd.oci.empty.v1+json`).

```starlark
load("@rules_img//img:image.bzl", "image_manifest")
load("@rules_img//img:oras.bzl", "oras_file_layer")

oras_file_layer(
    name = "readme",
    src = "README.md",
    media_type = "text/markdown",
)

oras_file_layer(
    name = "docs",
    src = ":docs.tar.gz",
    kind = "directory",  # `oras pull` unpacks it into docs/
    title = "docs",
)

image_manifest(
    name = "artifact",
    artifact_type = "application/vnd.example.docs.v1",
    layers = [":readme", ":docs"],
)
```

Unlike the ORAS CLI, rules_img does not describe a file that is not a tar
as a tar layer: with an empty or tar layer `media_type` the file must be a
tar (it is read and checked as one), otherwise the action fails, naming
the target. `kind = "directory"` needs a tar, since ORAS clients unpack it.""",
)
