"""layer_from_tar: a layer from an existing tar file."""

load("//img/private/common:build.bzl", "TOOLCHAINS", "img_tool")
load("//img/private/common:compression.bzl", "COMPRESSION_ATTRS", "compression", "layer_name")
load("//img/private/providers:layer_info.bzl", "LayerInfo")

_ATTRS = {
    "src": attr.label(
        mandatory = True,
        allow_single_file = compression.tar_extensions,
        doc = "The tar file: `.tar`, `.tar.gz`, `.tgz`, `.tar.zst` or `.tzst`.",
    ),
    "compress": attr.string(
        default = "auto",
        values = ["auto", "gzip", "zstd", "none"],
        doc = """Compression of the layer. `auto` keeps the tar's own compression, unless
`optimize` or eStargz rewrites it; then `//img/settings:compress` applies.""",
    ),
    "optimize": attr.bool(
        default = False,
        doc = "Rewrite the tar: files with equal content and headers become hardlinks.",
    ),
} | COMPRESSION_ATTRS

def _layer_from_tar_impl(ctx):
    src = ctx.file.src
    source_format = compression.source_compression(src)
    explicit = ctx.attr.compress != "auto"
    fmt = compression.resolve(ctx, ctx.attr.compress, ctx.attr.estargz)
    target_format = fmt.format if (explicit or fmt.estargz or ctx.attr.optimize) else source_format
    metadata = ctx.actions.declare_file(ctx.label.name + "_metadata.json")
    mtree = ctx.actions.declare_file(ctx.label.name + ".mtree")
    args = ctx.actions.args()
    common = ["--name", layer_name(ctx.label), "--metadata", metadata.path, "--mtree", mtree.path]
    for k, v in ctx.attr.annotations.items():
        common.extend(["--annotation", "{}={}".format(k, v)])

    if target_format == source_format and not ctx.attr.optimize and not fmt.estargz:
        # The tar is the blob: only its metadata is computed.
        blob = src
        args.add("layer-metadata")
        args.add_all(["--name", layer_name(ctx.label)])
        for k, v in ctx.attr.annotations.items():
            args.add("--annotation", "{}={}".format(k, v))
        args.add("--mtree", mtree)
        args.add(src)
        args.add(metadata)
        mnemonic = "LayerMetadata"
        outputs = [metadata, mtree]
    else:
        blob = ctx.actions.declare_file(ctx.label.name + compression.extension(target_format))
        if ctx.attr.optimize:
            args.add("layer")
            args.add("--import-tar", src)
            mnemonic = "LayerOptimize"
        else:
            args.add("compress")
            mnemonic = "LayerCompress"
        args.add_all(common)
        args.add("--format", target_format)
        if fmt.estargz:
            args.add("--estargz")
        args.add_all(compression.tuning_args(ctx, target_format))
        if mnemonic == "LayerCompress":
            args.add(src)
        args.add(blob)
        outputs = [blob, metadata, mtree]

    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args],
        inputs = [src],
        outputs = outputs,
        mnemonic = mnemonic,
        progress_message = "Writing layer %{label} from " + src.short_path,
    )
    info = LayerInfo(blob = blob, metadata = metadata, media_type = compression.media_type(target_format), estargz = fmt.estargz, mtree = mtree)
    return [
        DefaultInfo(files = depset([blob, metadata])),
        OutputGroupInfo(layer = depset([blob]), metadata = depset([metadata]), mtree = depset([mtree])),
        info,
    ]

layer_from_tar = rule(
    implementation = _layer_from_tar_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [LayerInfo],
    doc = """A layer from a tar file, used as it is or rewritten.

With the defaults the tar itself is the blob and one action computes its
metadata. A different `compress` recompresses it in one pass; `optimize`
rewrites it with deduplicated contents; eStargz re-frames it.

Every path reads the tar under one policy, and a violation fails the action
naming the member: names are cleaned (`./` and `/` prefixes dropped, as in
`tar -C dir -cf x.tar .`) and may not escape the root with `..`; no entry
may sit under a file or a symlink of the same tar; hardlinks point to
earlier regular files; devices and fifos are kept; old GNU sparse entries
are refused (PAX sparse files are stored whole, up to 1 GiB each); gzip CRCs
and zstd checksums are verified, and zstd frames may use a window of at most
128 MiB, which bounds the memory of decompression. A corrupt or truncated
tar fails the action.

```starlark
load("@rules_img//img:layer.bzl", "layer_from_tar")

layer_from_tar(name = "vendor", src = "//third_party:vendor.tar.gz")
layer_from_tar(name = "vendor_zstd", src = "//third_party:vendor.tar.gz", compress = "zstd", optimize = True)
```""",
)
