"""system_libraries: shared libraries with their SONAME links."""

load("//img/private/base_images:common.bzl", "BASE_CONTENT_ATTRS", "SCOPE_LINUX", "base_content")
load("//img/private/common:build.bzl", "TOOLCHAINS")
load("//img/private/config:defs.bzl", "TargetPlatformInfo")
load("//img/private/providers:base_image_content_info.bzl", "BaseImageContentInfo")

# Debian's multiarch tuple per GOARCH.
_MULTIARCH = {
    "386": "i386-linux-gnu",
    "amd64": "x86_64-linux-gnu",
    "arm": "arm-linux-gnueabihf",
    "arm64": "aarch64-linux-gnu",
    "mips64le": "mips64el-linux-gnuabi64",
    "ppc64le": "powerpc64le-linux-gnu",
    "riscv64": "riscv64-linux-gnu",
    "s390x": "s390x-linux-gnu",
}

_ATTRS = BASE_CONTENT_ATTRS | {
    "libs": attr.label_list(
        allow_files = True,
        doc = """Shared libraries. Each must be an ELF shared object; it is placed under
its file name, plus a symlink named after its SONAME when that differs. The
same file reached twice is placed once; two different files of one name
are an error.""",
    ),
    "usr_merged": attr.bool(
        default = True,
        doc = "Libraries go under `/usr/lib` (True) or `/lib`. Use the value of the `linux_skeleton`.",
    ),
    "libdir_layout": attr.string(
        default = "plain",
        values = ["plain", "lib64", "multiarch"],
        doc = """`plain`: `/usr/lib`; `lib64`: `/usr/lib64` (Fedora); `multiarch`:
`/usr/lib/<tuple>` with Debian's tuple of the target CPU, e.g.
`/usr/lib/x86_64-linux-gnu`.""",
    ),
    "ldso_conf": attr.bool(
        default = True,
        doc = "Whether to write `/etc/ld.so.conf.d/rules_img.conf` naming the directory (read by `ldconfig`).",
    ),
    "ldso_cache": attr.bool(
        default = False,
        doc = """Whether to write a prebuilt `/etc/ld.so.cache` (glibc 2.32 and later read
its format; musl ignores it) listing every library by SONAME, for the target
CPU. It spares the loader a directory search for libraries outside its
default directories; it must be rebuilt when the library set changes, which
this rule does. Off by default.""",
    ),
    "default_metadata": attr.string(
        doc = "`file_metadata()` JSON for every library file (mode, uid, gid, uname, gname).",
    ),
    "file_metadata": attr.string_dict(
        doc = "Full path of a library in the image -> `file_metadata()` JSON, over `default_metadata`.",
    ),
    "mode": attr.string(doc = "Octal mode of the libraries; empty: 0755."),
}

def _lib_dir(ctx):
    root = "/usr/lib" if ctx.attr.usr_merged else "/lib"
    if ctx.attr.libdir_layout == "plain":
        return root
    if ctx.attr.libdir_layout == "lib64":
        return root + "64"
    cpu = ctx.attr._os_cpu[TargetPlatformInfo].cpu
    if cpu not in _MULTIARCH:
        fail("{}: libdir_layout = \"multiarch\": no Debian multiarch tuple for CPU {}; use plain or lib64".format(ctx.label, repr(cpu)))
    return root + "/" + _MULTIARCH[cpu]

def _system_libraries_impl(ctx):
    if not base_content.in_scope(ctx, SCOPE_LINUX):
        return base_content.empty()
    base_content.check_mode(ctx, "mode", ctx.attr.mode)
    by_name = {}
    for lib in ctx.files.libs:
        prev = by_name.get(lib.basename)
        if prev != None and prev.path != lib.path:
            fail("{}: {} and {} would both be {}/{}".format(ctx.label, prev.path, lib.path, _lib_dir(ctx), lib.basename))
        by_name[lib.basename] = lib
    if not by_name:
        fail("{}: system_libraries needs at least one file in libs".format(ctx.label))
    libs = [by_name[n] for n in sorted(by_name)]
    lib_dir = _lib_dir(ctx)
    for path in ctx.attr.file_metadata:
        base_content.check_path(ctx, "file_metadata key", path)
    config = {
        "arch": ctx.attr._os_cpu[TargetPlatformInfo].cpu,
        "default_metadata": ctx.attr.default_metadata,
        "file_metadata": ctx.attr.file_metadata,
        "ldso_cache": ctx.attr.ldso_cache,
        "ldso_conf": ctx.attr.ldso_conf,
        "lib_dir": lib_dir,
        "libraries": [[f.basename, f.path] for f in libs],
        "mode": ctx.attr.mode,
    }

    # The action reads the ELF headers; the layer action reads the bytes.
    return base_content.run(ctx, "system-libraries", config, inputs = libs, referenced = depset(libs))

system_libraries = rule(
    implementation = _system_libraries_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [BaseImageContentInfo],
    doc = """Shared libraries of a Linux base image, each in the library directory with
the symlink named after its `SONAME` (read from the ELF file), the name the
dynamic linker resolves: `libssl.so.3.0.14` gains `libssl.so.3`. A file
that is not an ELF shared object fails the action, naming the target.

The rule takes plain files, not `CcInfo`, so rules_img needs no rules_cc.
The fragment names the libraries; their bytes are read only when the
`base_image_layer` is written.

Linux only: for another target OS the rule contributes nothing.

```starlark
load("@rules_img//img:base_images.bzl", "system_libraries")

system_libraries(
    name = "libs",
    libs = ["@sysroot//:usr/lib/x86_64-linux-gnu/libssl.so.3"],
    libdir_layout = "multiarch",
)
```""",
)
