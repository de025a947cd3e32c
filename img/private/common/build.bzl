"""Toolchain constants shared by the rules."""

TOOLCHAIN = "//img:toolchain_type"

TOOLCHAINS = [TOOLCHAIN]

def img_tool(ctx):
    """Returns the `img` executable (File) of build actions.

    The build-action variant of the tool: it has the subcommands of the
    many short actions (layer, layer-metadata, compress, manifest, index,
    expand-template, oci-layout, docker-save) and starts fast.

    Args:
        ctx: a rule context whose rule declares `toolchains = TOOLCHAINS`.

    Returns:
        The File to use as an action's executable.
    """
    return ctx.toolchains[TOOLCHAIN].imgtoolchaininfo.build_tool_exe

def img_full_tool(ctx):
    """Returns the full `img` executable (File) of the resolved toolchain.

    For the build actions that reach a registry or resolve deploy
    manifests (download-blob, deploy-metadata, deploy-merge), and for the
    few per build whose code would slow every other action's start
    (base, from-oci-layout, oci-layout-metadata, and expand-template of
    templates that do more than name keys).

    Args:
        ctx: a rule context whose rule declares `toolchains = TOOLCHAINS`.

    Returns:
        The File to use as an action's executable.
    """
    return ctx.toolchains[TOOLCHAIN].imgtoolchaininfo.tool_exe
