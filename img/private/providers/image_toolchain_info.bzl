"""ImageToolchainInfo: the img tool of the selected toolchain."""

ImageToolchainInfo = provider(
    doc = "The `img` tool that the rules' actions run.",
    fields = {
        "tool_exe": "File: the `img` executable for the execution platform. Never None.",
    },
)
