"""tool_command: one command of the img tool as a `bazel run` target."""

load("//img/private/common:deploy.bzl", "DEPLOY_EXEC_GROUPS")
load("//img/private/common:build.bzl", "TOOLCHAIN")

def _tool_command_impl(ctx):
    tool = ctx.exec_groups["host"].toolchains[TOOLCHAIN].imgtoolchaininfo.tool_exe

    # img picks the server from the name it runs as (registry, bes; a
    # ".exe" suffix ignored, which Windows needs): the link's base name is
    # the command, in a directory of its own.
    name = (ctx.attr.command or "img") + (".exe" if tool.basename.endswith(".exe") else "")
    exe = ctx.actions.declare_file("{}_/{}".format(ctx.label.name, name))
    ctx.actions.symlink(output = exe, target_file = tool, is_executable = True)
    return [DefaultInfo(executable = exe, files = depset([exe]))]

tool_command = rule(
    implementation = _tool_command_impl,
    attrs = {
        "command": attr.string(
            values = ["", "registry", "bes"],
            doc = """The server to run: `registry` (an OCI registry over a remote cache's
CAS, plus the blob cache service of the cas_registry push strategy) or
`bes` (the Build Event Service backend of the bes push strategy). Empty:
the img tool itself, taking a command as its first argument.""",
        ),
    },
    exec_groups = DEPLOY_EXEC_GROUPS,
    executable = True,
    doc = """The img tool of the host's toolchain (prebuilt or built from source,
like every action's), as a target to `bazel run`:

```
bazel run @rules_img//img/tools:registry -- --reapi-endpoint grpc://localhost:8980
bazel run @rules_img//img/tools:bes -- --help
```""",
)
