"""etc_release: /etc/os-release (and /etc/lsb-release)."""

load("//img/private/base_images:common.bzl", "BASE_CONTENT_ATTRS", "SCOPE_LINUX", "base_content")
load("//img/private/common:build.bzl", "TOOLCHAINS")
load("//img/private/providers:base_image_content_info.bzl", "BaseImageContentInfo")

_ATTRS = BASE_CONTENT_ATTRS | {
    "os_release": attr.string_dict(
        doc = "os-release fields, e.g. `ID`, `NAME`, `VERSION_ID`. Values may be templates. They win over `os_release_srcs`.",
    ),
    "lsb_release": attr.string_dict(
        doc = "lsb-release fields (`DISTRIB_ID`, ...), written when `write_lsb_release`. Values may be templates.",
    ),
    "os_release_srcs": attr.label_list(
        allow_files = True,
        doc = "Existing os-release files to merge in, in order.",
    ),
    "lsb_release_srcs": attr.label_list(
        allow_files = True,
        doc = "Existing lsb-release files to merge in, in order.",
    ),
    "write_lsb_release": attr.bool(
        default = False,
        doc = "Whether to write the older lsb-release file too.",
    ),
    "usr_lib_symlink": attr.bool(
        default = True,
        doc = """Whether the file is written at `usr_lib_path` with `os_release_path` a
relative symlink to it, as os-release(5) describes. False: a plain file at
`os_release_path`.""",
    ),
    "os_release_path": attr.string(default = "/etc/os-release", doc = "Path of os-release (or its symlink) in the image."),
    "usr_lib_path": attr.string(default = "/usr/lib/os-release", doc = "Path of the file when `usr_lib_symlink`."),
    "lsb_release_path": attr.string(default = "/etc/lsb-release", doc = "Path of lsb-release in the image."),
    "mode": attr.string(doc = "Octal mode; empty: 0644."),
}

def _etc_release_impl(ctx):
    if not base_content.in_scope(ctx, SCOPE_LINUX):
        return base_content.empty()
    base_content.check_mode(ctx, "mode", ctx.attr.mode)
    for name in ["os_release_path", "usr_lib_path", "lsb_release_path"]:
        base_content.check_path(ctx, name, getattr(ctx.attr, name))
    os_srcs = ctx.files.os_release_srcs
    lsb_srcs = ctx.files.lsb_release_srcs
    templated = {
        "lsb_release": [[k, v] for k, v in ctx.attr.lsb_release.items()],
        "os_release": [[k, v] for k, v in ctx.attr.os_release.items()],
    }
    config = templated | {
        "lsb_release_path": ctx.attr.lsb_release_path,
        "lsb_release_srcs": [f.path for f in lsb_srcs],
        "mode": ctx.attr.mode,
        "os_release_path": ctx.attr.os_release_path,
        "os_release_srcs": [f.path for f in os_srcs],
        "usr_lib_path": ctx.attr.usr_lib_path,
        "usr_lib_symlink": ctx.attr.usr_lib_symlink,
        "write_lsb_release": ctx.attr.write_lsb_release,
    }
    return base_content.run(ctx, "etc-release", config, templated, inputs = os_srcs + lsb_srcs)

etc_release = rule(
    implementation = _etc_release_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [BaseImageContentInfo],
    doc = """`/etc/os-release`, how software in the image identifies the system it runs
on, and optionally `/etc/lsb-release`. Values are written double-quoted
(with `"`, `\\`, `$` and backquote escaped); a key that is not upper-case
letters, digits and `_` is an error.

Linux only: for another target OS the rule contributes nothing.

```starlark
load("@rules_img//img:base_images.bzl", "etc_release")

etc_release(
    name = "release",
    build_settings = {"VERSION": "//settings:version"},
    os_release = {
        "ID": "acme-base",
        "NAME": "ACME Base",
        "PRETTY_NAME": "ACME Base {{.VERSION}}",
        "VERSION_ID": "{{.VERSION}}",
    },
)
```""",
)
