"""etc_environment: the PAM environment file."""

load("//img/private/base_images:common.bzl", "BASE_CONTENT_ATTRS", "SCOPE_LINUX", "base_content")
load("//img/private/common:build.bzl", "TOOLCHAINS")
load("//img/private/providers:base_image_content_info.bzl", "BaseImageContentInfo")

_ATTRS = BASE_CONTENT_ATTRS | {
    "env": attr.string_dict(
        doc = "Name -> value. Values may be templates. They win over `srcs`.",
    ),
    "srcs": attr.label_list(
        allow_files = True,
        doc = "Existing environment files (`KEY=value` lines) to merge in, in order; later values win.",
    ),
    "path": attr.string(default = "/etc/environment", doc = "Path of the file in the image."),
    "quote": attr.bool(
        default = True,
        doc = "Whether to write values in double quotes. Without, a value with blanks or quotes is an error.",
    ),
    "mode": attr.string(doc = "Octal mode; empty: 0644."),
}

def _etc_environment_impl(ctx):
    if not base_content.in_scope(ctx, SCOPE_LINUX):
        return base_content.empty()
    base_content.check_mode(ctx, "mode", ctx.attr.mode)
    base_content.check_path(ctx, "path", ctx.attr.path)
    srcs = ctx.files.srcs
    templated = {"env": [[k, v] for k, v in ctx.attr.env.items()]}
    config = templated | {
        "mode": ctx.attr.mode,
        "path": ctx.attr.path,
        "quote": ctx.attr.quote,
        "srcs": [f.path for f in srcs],
    }
    return base_content.run(ctx, "etc-environment", config, templated, inputs = srcs)

etc_environment = rule(
    implementation = _etc_environment_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [BaseImageContentInfo],
    doc = """`/etc/environment`, the system-wide environment that PAM reads: one
`KEY="value"` line per variable. It is not a shell script: no expansion, no
`export`. (A container's process environment comes from the image config's
`env`, not from this file.)

Linux only: for another target OS the rule contributes nothing.

```starlark
load("@rules_img//img:base_images.bzl", "etc_environment")

etc_environment(
    name = "environment",
    env = {"LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin"},
)
```""",
)
