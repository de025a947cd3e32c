"""A C toolchain configuration whose tools all fail: it lets rules that ask
for a C toolchain (py_binary does) be configured for a platform this host
cannot compile for."""

load("@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl", "tool_path")

def _no_cc_toolchain_config_impl(ctx):
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        toolchain_identifier = "no-cc-" + ctx.attr.cpu,
        host_system_name = "local",
        target_system_name = ctx.attr.cpu + "-linux-gnu",
        target_cpu = ctx.attr.cpu,
        target_libc = "glibc",
        compiler = "none",
        abi_version = "none",
        abi_libc_version = "none",
        tool_paths = [
            tool_path(name = name, path = "/bin/false")
            for name in ["ar", "cpp", "gcc", "gcov", "ld", "nm", "objdump", "strip"]
        ],
    )

no_cc_toolchain_config = rule(
    implementation = _no_cc_toolchain_config_impl,
    attrs = {"cpu": attr.string(mandatory = True, doc = "The target CPU, e.g. `aarch64`.")},
    provides = [CcToolchainConfigInfo],
    doc = "A C toolchain configuration that compiles and links nothing.",
)
