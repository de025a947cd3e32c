"""Toolchain constants shared by the rules."""

TOOLCHAIN = "//img:toolchain_type"

TOOLCHAINS = [TOOLCHAIN]

def img_tool(ctx):
    """Returns the `img` executable (File) of the resolved toolchain.

    Args:
        ctx: a rule context whose rule declares `toolchains = TOOLCHAINS`.

    Returns:
        The File to use as an action's executable.
    """
    return ctx.toolchains[TOOLCHAIN].imgtoolchaininfo.tool_exe
