"""linux_skeleton: the directory tree of a Linux root file system."""

load("//img/private/base_images:common.bzl", "BASE_CONTENT_ATTRS", "SCOPE_LINUX", "base_content")
load("//img/private/common:build.bzl", "TOOLCHAINS")
load("//img/private/providers:base_image_content_info.bzl", "BaseImageContentInfo")

# Directory groups, in the order `img base skeleton` knows them.
_GROUPS = {
    "etc": "Whether to create `/etc` (0755).",
    "bin_and_lib": """Whether to create `/usr` with `bin`, `sbin`, `lib`, `lib64`, `libexec`,
`share` and `local/{bin,sbin,lib,share}` (all 0755), and the top-level
`/bin`, `/sbin`, `/lib` and `/lib64`: symlinks into `/usr` or real
directories, as `usr_merged` says.""",
    "home": "Whether to create `/home` (0755).",
    "root": "Whether to create `/root`, root's home, with mode 0700.",
    "tmp": "Whether to create `/tmp` with the sticky, world-writable mode 1777.",
    "var": """Whether to create `/var` with `cache`, `lib`, `log`, `spool` (0755) and
`tmp` (1777). When the `run` group is on too, `/var/run -> ../run` and
`/var/lock -> ../run/lock` are added as symlinks.""",
    "run": "Whether to create `/run` (0755) and `/run/lock` (1777).",
    "mount_points": """Whether to create the mount points: `/dev`, `/mnt`, `/media` (0755) and
the kernel pseudo-file systems `/proc` and `/sys` (0555).""",
    "opt_srv": "Whether to create `/opt` and `/srv` (0755).",
}

def _group_attr(doc):
    return attr.string(
        default = "auto",
        values = ["auto", "enabled", "disabled"],
        doc = doc + " `auto` is `enabled`.",
    )

_ATTRS = BASE_CONTENT_ATTRS | {
    "usr_merged": attr.bool(
        default = True,
        doc = """Merged `/usr`: `/bin`, `/sbin`, `/lib` and `/lib64` are relative symlinks
into `/usr`, as on every current distribution. False: real directories.
Give `system_libraries` the same value; a library placed under a path that
the skeleton made a symlink fails the `base_image_layer`, naming both
rules.""",
    ),
    "extra_directories": attr.string_dict(
        doc = """Further directories: path in the image -> `file_metadata()` JSON
(`@rules_img//img:layer.bzl`) with mode, uid, gid, uname and gname; an
empty value is 0755 owned by root. They win over the groups' directories.""",
    ),
} | {group: _group_attr(doc) for group, doc in _GROUPS.items()}

def _linux_skeleton_impl(ctx):
    if not base_content.in_scope(ctx, SCOPE_LINUX):
        return base_content.empty()
    for path in ctx.attr.extra_directories:
        base_content.check_path(ctx, "extra_directories key", path)
    config = {
        "disabled": [g for g in _GROUPS if getattr(ctx.attr, g) == "disabled"],
        "extra_directories": ctx.attr.extra_directories,
        "usr_merged": ctx.attr.usr_merged,
    }
    return base_content.run(ctx, "skeleton", config)

linux_skeleton = rule(
    implementation = _linux_skeleton_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [BaseImageContentInfo],
    doc = """The empty directory tree of a Linux root file system, with the modes of a
stock distribution: 0755 for what the system owns, 1777 (sticky,
world-writable) for `/tmp`, `/var/tmp` and `/run/lock`, 0700 for `/root`,
0555 for `/proc` and `/sys`; everything owned by root. Each group of
directories can be turned off.

Linux only: for another target OS the rule contributes nothing.

```starlark
load("@rules_img//img:base_images.bzl", "linux_skeleton")

# Enough for a static binary that writes nowhere but /tmp.
linux_skeleton(
    name = "skeleton",
    home = "disabled",
    opt_srv = "disabled",
    var = "disabled",
)
```""",
)
