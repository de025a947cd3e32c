"""TargetPlatformInfo: the target platform in OCI terms.

Public at `@rules_img//img/private/config:defs.bzl` because rules that wrap
rules_img's rules read `@rules_img//img/private/config:target_os_cpu`."""

TargetPlatformInfo = provider(
    doc = "OS, architecture and variant of the target platform, as OCI image configs name them.",
    fields = {
        "os": "string: GOOS, e.g. `linux`; empty when no known OS constraint is set.",
        "cpu": "string: GOARCH, e.g. `amd64`; empty when no known CPU constraint is set.",
        "architecture": "string: the same as `cpu`.",
        "variant": "string: CPU variant, e.g. `v7` for 32-bit ARM or one of `//img/constraints:variant`; empty when none.",
    },
)
