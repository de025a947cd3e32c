"""ImageToolchainInfo: the img tool of the selected toolchain."""

ImageToolchainInfo = provider(
    doc = "The `img` tool that the rules' actions run.",
    fields = {
        "tool_exe": "File: the `img` executable for the execution platform. Never None.",
        "build_tool_exe": "File: the `img` executable of build actions that reach no registry (the `img_build_actions` variant, or `tool_exe`). Never None.",
    },
)
