"""The platforms rules_img's Go tools exist for, by GOOS and GOARCH."""

# GOOS -> constraint value.
OS_CONSTRAINTS = {
    "linux": "@platforms//os:linux",
    "darwin": "@platforms//os:macos",
    "windows": "@platforms//os:windows",
}

# GOARCH -> constraint value.
CPU_CONSTRAINTS = {
    "amd64": "@platforms//cpu:x86_64",
    "arm64": "@platforms//cpu:aarch64",
    "s390x": "@platforms//cpu:s390x",
    "ppc64le": "@platforms//cpu:ppc64le",
    "riscv64": "@platforms//cpu:riscv64",
}

# The platforms a release has prebuilt binaries for (tools/release.sh).
RELEASE_PLATFORMS = [
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("windows", "amd64"),
    ("windows", "arm64"),
]

# Every platform that gets a toolchain: a release's, plus Linux machines
# that only a source build serves.
TOOL_PLATFORMS = RELEASE_PLATFORMS + [
    ("linux", "ppc64le"),
    ("linux", "riscv64"),
    ("linux", "s390x"),
]

_HOST_OS = {"linux": "linux", "mac os x": "darwin", "darwin": "darwin"}
_HOST_CPU = {
    "amd64": "amd64",
    "x86_64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "s390x": "s390x",
    "ppc64le": "ppc64le",
    "riscv64": "riscv64",
}

def platform_key(goos, goarch):
    """`<os>_<cpu>`, the name suffix of a platform's repositories.

    Args:
        goos: GOOS.
        goarch: GOARCH.

    Returns:
        string
    """
    return "{}_{}".format(goos, goarch)

def host_platform(rctx):
    """The host as (goos, goarch).

    Args:
        rctx: a repository_ctx or module_ctx.

    Returns:
        A (os, cpu) tuple such as ("linux", "amd64").
    """
    name = rctx.os.name.lower()
    goos = "windows" if name.startswith("windows") else _HOST_OS.get(name)
    goarch = _HOST_CPU.get(rctx.os.arch)
    if not goos or not goarch:
        fail("rules_img: unsupported host platform {}/{}".format(rctx.os.name, rctx.os.arch))
    return goos, goarch

def check_platform(goos, goarch, where):
    """Fails unless rules_img knows the constraints of goos/goarch.

    Args:
        goos: GOOS.
        goarch: GOARCH.
        where: what names the platform (a lockfile, a tag), for the message.
    """
    if goos not in OS_CONSTRAINTS or goarch not in CPU_CONSTRAINTS:
        fail("rules_img: {}: unknown platform {}/{} (os: {}; cpu: {})".format(
            where,
            goos,
            goarch,
            ", ".join(OS_CONSTRAINTS),
            ", ".join(CPU_CONSTRAINTS),
        ))
