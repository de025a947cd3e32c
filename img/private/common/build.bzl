"""Toolchain constants shared by the rules."""

TOOLCHAIN = "//img:toolchain_type"

TOOLCHAINS = [TOOLCHAIN]

def img_tool(ctx):
    """Returns the `img` executable (File) of build actions.

    The build-action variant of the tool: it has every subcommand that
    writes layers, manifests, indexes and layouts, and starts fast.

    Args:
        ctx: a rule context whose rule declares `toolchains = TOOLCHAINS`.

    Returns:
        The File to use as an action's executable.
    """
    return ctx.toolchains[TOOLCHAIN].imgtoolchaininfo.build_tool_exe

def img_full_tool(ctx):
    """Returns the full `img` executable (File) of the resolved toolchain.

    For the build actions that reach a registry or resolve deploy
    manifests (download-blob, deploy-metadata, deploy-merge).

    Args:
        ctx: a rule context whose rule declares `toolchains = TOOLCHAINS`.

    Returns:
        The File to use as an action's executable.
    """
    return ctx.toolchains[TOOLCHAIN].imgtoolchaininfo.tool_exe
