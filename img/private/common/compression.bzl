"""Compression choices of layer actions: formats, media types, tuning."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load(":media_types.bzl", "GZIP_LAYER", "UNCOMPRESSED_LAYER", "ZSTD_LAYER")

_EXTENSIONS = {
    "gzip": ".tgz",
    "zstd": ".tar.zst",
    "none": ".tar",
}

_MEDIA_TYPES = {
    "gzip": GZIP_LAYER,
    "zstd": ZSTD_LAYER,
    "none": UNCOMPRESSED_LAYER,
}

# Compression of a tar input, from its file name.
_SOURCE_COMPRESSION = {
    "tar": "none",
    "tgz": "gzip",
    "gz": "gzip",
    "tzst": "zstd",
    "zst": "zstd",
}

_LEVELS = {
    "gzip": ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    "zstd": ["1", "2", "3", "4"],
}

# Attributes every layer rule has, with the hidden settings they default to.
COMPRESSION_ATTRS = {
    "estargz": attr.string(
        default = "auto",
        values = ["auto", "enabled", "disabled"],
        doc = "Write an eStargz (lazily pullable) gzip layer. `auto`: `//img/settings:estargz`.",
    ),
    "annotations": attr.string_dict(
        doc = "Annotations of the layer descriptor in the manifest.",
    ),
    "_default_compression": attr.label(default = "//img/settings:compress", providers = [BuildSettingInfo]),
    "_default_estargz": attr.label(default = "//img/settings:estargz", providers = [BuildSettingInfo]),
    "_compression_jobs": attr.label(default = "//img/settings:compression_jobs", providers = [BuildSettingInfo]),
    "_compression_level": attr.label(default = "//img/settings:compression_level", providers = [BuildSettingInfo]),
}

def _resolve(ctx, compress, estargz):
    """Turns `auto` attribute values into concrete choices.

    Args:
        ctx: rule context with COMPRESSION_ATTRS.
        compress: the rule's `compress` attribute value.
        estargz: the rule's `estargz` attribute value.

    Returns:
        struct(format, estargz) with format in gzip, zstd, none.
    """
    if compress == "auto":
        compress = ctx.attr._default_compression[BuildSettingInfo].value
    if estargz == "auto":
        # The setting applies to gzip layers; with zstd or none it is moot
        # (a .bazelrc may set both compress=zstd and estargz=enabled).
        estargz = ctx.attr._default_estargz[BuildSettingInfo].value if compress == "gzip" else "disabled"
    on = estargz == "enabled"
    if on and compress != "gzip":
        fail("{}: estargz needs gzip compression, not {}".format(ctx.label, repr(compress)))
    return struct(format = compress, estargz = on)

def _tuning_args(ctx, format):
    """Compressor flags from the compilation mode and //img/settings.

    fastbuild favours speed (all cores, level 1), opt favours size (one job,
    best level), dbg keeps the library defaults. The settings
    `compression_jobs` and `compression_level` override both.

    Args:
        ctx: rule context with COMPRESSION_ATTRS.
        format: gzip, zstd or none.

    Returns:
        A list of command-line arguments.
    """
    if format == "none":
        return []
    mode = ctx.var.get("COMPILATION_MODE", "fastbuild")
    best = _LEVELS[format][-1]
    jobs = {"opt": "1"}.get(mode, "nproc")
    level = {"fastbuild": "1", "opt": best}.get(mode, "-1")
    jobs_setting = ctx.attr._compression_jobs[BuildSettingInfo].value
    if jobs_setting != "auto":
        if jobs_setting != "nproc" and (not jobs_setting.isdigit() or int(jobs_setting) < 1):
            fail("{}: //img/settings:compression_jobs must be auto, nproc or a positive number, not {}".format(ctx.label, repr(jobs_setting)))
        jobs = jobs_setting
    level_setting = ctx.attr._compression_level[BuildSettingInfo].value
    if level_setting != "auto":
        level = {"fastest": _LEVELS[format][0] if format == "zstd" else "1", "best": best}.get(level_setting, level_setting)
    if level != "-1" and level not in _LEVELS[format]:
        fail("{}: compression level {} is not valid for {} (valid: {})".format(ctx.label, level, format, ", ".join(_LEVELS[format])))
    args = ["--compressor-jobs", jobs]
    if level != "-1":
        args.extend(["--compression-level", level])
    return args

def _source_compression(file):
    """Compression of a tar file, from its extension.

    Args:
        file: a File ending in .tar, .tar.gz, .tgz, .tar.zst or .tzst.

    Returns:
        gzip, zstd or none.
    """
    return _SOURCE_COMPRESSION[file.extension]

def _of_media_type(media_type):
    """The compression that a tar layer media type names.

    Args:
        media_type: an OCI or Docker tar layer media type.

    Returns:
        gzip, zstd or none.
    """
    for suffix, name in [("+gzip", "gzip"), (".gzip", "gzip"), ("+zstd", "zstd"), (".zstd", "zstd")]:
        if media_type.endswith(suffix):
            return name
    return "none"

compression = struct(
    resolve = _resolve,
    tuning_args = _tuning_args,
    extension = lambda format: _EXTENSIONS[format],
    media_type = lambda format: _MEDIA_TYPES[format],
    source_compression = _source_compression,
    of_media_type = _of_media_type,
    tar_extensions = [".tar", ".tar.gz", ".tgz", ".tar.zst", ".tzst"],
)

def layer_name(label):
    """The label as users write it: `//pkg:name` for the main repository.

    Args:
        label: a Label.

    Returns:
        A string for metadata names and history entries.
    """
    name = str(label)
    for main in ["@@//", "@//"]:
        if name.startswith(main):
            return name[len(main) - 2:]
    return name
