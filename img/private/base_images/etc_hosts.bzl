"""etc_hosts: the static host name table."""

load("//img/private/base_images:common.bzl", "BASE_CONTENT_ATTRS", "SCOPE_LINUX", "base_content")
load("//img/private/common:build.bzl", "TOOLCHAINS")
load("//img/private/providers:base_image_content_info.bzl", "BaseImageContentInfo")

_ATTRS = BASE_CONTENT_ATTRS | {
    "hosts": attr.string_dict(
        doc = "IP address -> space-separated host names. Values may be templates.",
    ),
    "srcs": attr.label_list(
        allow_files = True,
        doc = "Existing hosts files to merge in, in order.",
    ),
    "include_defaults": attr.bool(
        default = True,
        doc = """Whether to start with the loopback records of Debian's netbase:
`127.0.0.1 localhost`, `::1 localhost ip6-localhost ip6-loopback`,
`ff02::1 ip6-allnodes`, `ff02::2 ip6-allrouters`.""",
    ),
    "path": attr.string(default = "/etc/hosts", doc = "Path of the file in the image."),
    "mode": attr.string(doc = "Octal mode; empty: 0644."),
}

def _etc_hosts_impl(ctx):
    if not base_content.in_scope(ctx, SCOPE_LINUX):
        return base_content.empty()
    base_content.check_mode(ctx, "mode", ctx.attr.mode)
    base_content.check_path(ctx, "path", ctx.attr.path)
    srcs = ctx.files.srcs
    templated = {"hosts": [[k, v] for k, v in ctx.attr.hosts.items()]}
    config = templated | {
        "include_defaults": ctx.attr.include_defaults,
        "mode": ctx.attr.mode,
        "path": ctx.attr.path,
        "srcs": [f.path for f in srcs],
    }
    return base_content.run(ctx, "etc-hosts", config, templated, inputs = srcs)

etc_hosts = rule(
    implementation = _etc_hosts_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [BaseImageContentInfo],
    doc = """`/etc/hosts`. Names accumulate per address (the defaults, then `srcs`, then
`hosts`), so your names for `127.0.0.1` join `localhost` on one line. An
address that is not an IP address fails the action, naming the target.

Linux only: for another target OS the rule contributes nothing.

```starlark
load("@rules_img//img:base_images.bzl", "etc_hosts")

etc_hosts(
    name = "hosts",
    hosts = {"127.0.0.1": "app.local", "10.0.0.7": "db db.internal"},
)
```""",
)
