"""The target platform's OS and CPU in OCI (GOOS/GOARCH) terms."""

TargetPlatformInfo = provider(
    doc = "OS and architecture of the target platform, as OCI image configs name them.",
    fields = {
        "os": "string: GOOS, e.g. `linux`; empty when no known OS constraint is set.",
        "architecture": "string: GOARCH, e.g. `amd64`; empty when no known CPU constraint is set.",
        "variant": "string: CPU variant, e.g. `v7` for 32-bit ARM; empty when none.",
    },
)

def _target_os_cpu_impl(ctx):
    return [TargetPlatformInfo(os = ctx.attr.os, architecture = ctx.attr.architecture, variant = ctx.attr.variant)]

target_os_cpu = rule(
    implementation = _target_os_cpu_impl,
    attrs = {
        "os": attr.string(doc = "GOOS, chosen by select() on @platforms//os constraints."),
        "architecture": attr.string(doc = "GOARCH, chosen by select() on @platforms//cpu constraints."),
        "variant": attr.string(doc = "CPU variant, chosen by select()."),
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
