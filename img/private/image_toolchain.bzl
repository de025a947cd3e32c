"""image_toolchain: declares an `img` tool for toolchain resolution."""

load("//img/private/providers:image_toolchain_info.bzl", "ImageToolchainInfo")

# The toolchain type of the img tool, e.g. for `toolchains = [TOOLCHAIN_TYPE]`
# in a rule that runs it.
TOOLCHAIN_TYPE = str(Label("//img:toolchain_type"))

_ATTRS = {
    "tool_exe": attr.label(
        mandatory = True,
        allow_single_file = True,
        executable = True,
        cfg = "exec",
        doc = "The `img` executable. It runs on the execution platform and writes images for any target platform.",
    ),
    "build_tool_exe": attr.label(
        allow_single_file = True,
        executable = True,
        cfg = "exec",
        doc = """The `img` executable of the frequent build actions (layers, manifests,
indexes, layouts, templates): the same tool built with the Go tag
`img_build_actions`, without the registry, remote cache, daemon and other
rarely used code, so that each action starts faster. Actions that reach a
registry, the rare heavy actions, deploy launchers and test executables use
`tool_exe`. Empty: `tool_exe` for everything.""",
    ),
}

def _image_toolchain_impl(ctx):
    return [platform_common.ToolchainInfo(
        imgtoolchaininfo = ImageToolchainInfo(
            tool_exe = ctx.executable.tool_exe,
            build_tool_exe = ctx.executable.build_tool_exe or ctx.executable.tool_exe,
        ),
    )]

image_toolchain = rule(
    implementation = _image_toolchain_impl,
    attrs = _ATTRS,
    doc = """An `img` tool for `@rules_img//img:toolchain_type`.

Wrap it in a `toolchain()` with `exec_compatible_with` constraints only: the
tool writes images for every target platform.""",
)
