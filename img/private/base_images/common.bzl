"""What the base image content rules share: platform scope, attributes and the `img base` action."""

load("//img/private/common:build.bzl", "img_full_tool")
load("//img/private/common:compression.bzl", "layer_name")
load("//img/private/common:templating.bzl", "TEMPLATING_ATTRS", "expand_templates")
load("//img/private/config:defs.bzl", "TargetPlatformInfo")
load("//img/private/providers:base_image_content_info.bzl", "BaseImageContentInfo")

# A rule outside its scope contributes nothing (it is not an error), so one
# BUILD file describes a base for several platforms without select()s.
SCOPE_ALL = "all"
SCOPE_UNIX = "unix"
SCOPE_LINUX = "linux"

# Target OSes (GOOS) that have /etc/passwd. Listed rather than "not
# windows", so that a new non-Unix OS does not quietly get one.
_UNIX = ["aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "linux", "netbsd", "openbsd", "solaris"]

BASE_CONTENT_ATTRS = dict(TEMPLATING_ATTRS) | {
    "_os_cpu": attr.label(
        default = "//img/private/platforms:target_os_cpu",
        providers = [TargetPlatformInfo],
        doc = "The target platform, for the rule's platform scope.",
    ),
}

def _in_scope(ctx, scope):
    if scope == SCOPE_ALL:
        return True
    os = ctx.attr._os_cpu[TargetPlatformInfo].os
    if os == "":
        # No known OS constraint: rules_img's images default to Linux.
        os = "linux"
    if scope == SCOPE_LINUX:
        return os == "linux"
    if scope == SCOPE_UNIX:
        return os in _UNIX
    fail("unknown scope {}".format(repr(scope)))

def _empty():
    return [
        DefaultInfo(files = depset()),
        BaseImageContentInfo(metadata = depset(), files = depset()),
    ]

def _check_mode(ctx, name, value):
    """Fails unless value is empty or an octal mode like "0644"."""
    if value == "":
        return
    ok = len(value) <= 5 and len(value) > 0
    for c in value.elems():
        if c not in "01234567":
            ok = False
    if not ok:
        fail("{}: {} = {} is not an octal mode like \"0644\"".format(ctx.label, name, repr(value)))

def _check_path(ctx, name, value):
    """Fails unless value is an absolute path inside the image."""
    parts = value.strip("/").split("/")
    if not value.startswith("/") or value.strip("/") == "" or ".." in parts:
        fail("{}: {} = {} is not an absolute path inside the image".format(ctx.label, name, repr(value)))

def _run(ctx, verb, config, templated = {}, inputs = [], referenced = None):
    """Declares the `img base VERB` action writing the rule's fragment.

    Args:
        ctx: rule context with BASE_CONTENT_ATTRS and the img toolchain.
        verb: the verb, e.g. "etc-passwd".
        config: dict of the rule's attributes (JSON-encodable).
        templated: the part of config that may hold templates; when any
            string in it does, its expansion replaces those keys.
        inputs: list of Files the action reads.
        referenced: depset of Files the fragment names as entry content,
            or None.

    Returns:
        The rule's providers.
    """
    out = ctx.actions.declare_file(ctx.label.name + ".basefrag.json")
    cfg = ctx.actions.declare_file(ctx.label.name + ".basecfg.json")
    ctx.actions.write(cfg, json.encode(config))
    args = ctx.actions.args()
    args.add("base")
    args.add(verb)
    args.add("--producer", layer_name(ctx.label))
    args.add("--config", cfg)
    all_inputs = [cfg] + inputs
    values = expand_templates(ctx, ctx.label.name + "_base", templated) if templated else None
    if values:
        args.add("--values", values)
        all_inputs.append(values)
    args.add(out)
    ctx.actions.run(
        executable = img_full_tool(ctx),
        arguments = [args],
        inputs = all_inputs,
        outputs = [out],
        mnemonic = "BaseImageContent",
        progress_message = "Describing base image content %{label}",
    )
    return [
        DefaultInfo(files = depset([out])),
        OutputGroupInfo(basemeta = depset([out])),
        BaseImageContentInfo(metadata = depset([out]), files = referenced or depset()),
    ]

base_content = struct(
    in_scope = _in_scope,
    empty = _empty,
    check_mode = _check_mode,
    check_path = _check_path,
    run = _run,
)
