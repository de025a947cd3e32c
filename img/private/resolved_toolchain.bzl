"""resolved_toolchain: the img toolchain that Bazel resolves, as a target."""

load("//img/private/common:build.bzl", "TOOLCHAIN", "TOOLCHAINS")

def _resolved_toolchain_impl(ctx):
    toolchain = ctx.toolchains[TOOLCHAIN]
    tool = toolchain.imgtoolchaininfo.tool_exe
    return [
        toolchain,
        DefaultInfo(files = depset([tool]), runfiles = ctx.runfiles(files = [tool])),
    ]

resolved_toolchain = rule(
    implementation = _resolved_toolchain_impl,
    toolchains = TOOLCHAINS,
    doc = """Forwards the resolved img toolchain (ToolchainInfo) and its tool as files,
so that genrules and other rules can depend on `@rules_img//img:resolved_toolchain`.""",
)
