"""The target platform's OS and CPU in OCI (GOOS/GOARCH) terms."""

load("//img/private/config:defs.bzl", _TargetPlatformInfo = "TargetPlatformInfo")

TargetPlatformInfo = _TargetPlatformInfo

def _target_os_cpu_impl(ctx):
    variant = ctx.attr.constraint_variant or ctx.attr.variant
    return [TargetPlatformInfo(
        os = ctx.attr.os,
        cpu = ctx.attr.architecture,
        architecture = ctx.attr.architecture,
        variant = variant,
    )]

target_os_cpu = rule(
    implementation = _target_os_cpu_impl,
    attrs = {
        "os": attr.string(doc = "GOOS, chosen by select() on @platforms//os constraints."),
        "architecture": attr.string(doc = "GOARCH, chosen by select() on @platforms//cpu constraints."),
        "variant": attr.string(doc = "CPU variant implied by the CPU constraint (e.g. armv7), chosen by select()."),
        "constraint_variant": attr.string(doc = "CPU variant of `//img/constraints:variant`, chosen by select(); wins over `variant`."),
    },
    doc = "Reports the target platform's OS and CPU; the BUILD file selects the values.",
)

# @platforms constraint -> OCI name.
OS = {
    "linux": "linux",
    "windows": "windows",
    "macos": "darwin",
    "freebsd": "freebsd",
    "openbsd": "openbsd",
    "netbsd": "netbsd",
    "android": "android",
    "ios": "ios",
    "wasi": "wasip1",
}

CPU = {
    "x86_64": ("amd64", ""),
    "aarch64": ("arm64", ""),
    "armv7": ("arm", "v7"),
    "armv6-m": ("arm", "v6"),
    "i386": ("386", ""),
    "x86_32": ("386", ""),
    "ppc64le": ("ppc64le", ""),
    "ppc": ("ppc64", ""),
    "s390x": ("s390x", ""),
    "riscv64": ("riscv64", ""),
    "mips64": ("mips64", ""),
    "wasm32": ("wasm", ""),
}

# //img/constraints/<arch>:<value> -> OCI variant.
VARIANTS = {
    "amd64": ["v1", "v2", "v3", "v4"],
    "arm": ["v5", "v6", "v7", "v8"],
    "arm64": ["v8", "v8.1", "v8.2", "v8.3", "v8.4", "v8.5", "v8.6", "v8.7", "v8.8", "v8.9", "v9", "v9.1", "v9.2", "v9.3", "v9.4", "v9.5"],
}
