"""Hub repositories: the img toolchains over the per-platform tool
repositories, and the servers under upstream's labels."""

load(":platforms.bzl", "CPU_CONSTRAINTS", "OS_CONSTRAINTS")

DEFS_BZL = """\
\"\"\"The {what} of this repository by platform, for repository rules.\"\"\"

load("@rules_img//img/private/repository_rules:platforms.bzl", "host_platform", "platform_key")

TOOLS = {tools}

def tool_for_repository_os(rctx):
    \"\"\"Label of the {what} for the host a repository rule runs on.\"\"\"
    key = platform_key(*host_platform(rctx))
    if key not in TOOLS:
        fail("rules_img: no {what} for the host platform " + key)
    return Label(TOOLS[key])
"""

def _defs_bzl(rctx, what):
    rctx.file("defs.bzl", DEFS_BZL.format(what = what, tools = json.encode_indent(rctx.attr.tools, indent = "    ")))

def _toolchain_hub_repo_impl(rctx):
    out = [
        'load("@rules_img//img/private:image_toolchain.bzl", "image_toolchain")',
        "",
        'exports_files(["defs.bzl"], visibility = ["//visibility:public"])',
        "",
    ]
    for key, label in sorted(rctx.attr.tools.items()):
        goos, _, goarch = key.partition("_")
        out.append("""image_toolchain(
    name = "img_{key}",
    tool_exe = "{label}",
    build_tool_exe = "{build_label}",
    visibility = ["//visibility:public"],
)

toolchain(
    name = "img_{key}_toolchain",
    exec_compatible_with = ["{os_c}", "{cpu_c}"],
    toolchain = ":img_{key}",
    toolchain_type = "@rules_img//img:toolchain_type",
)
""".format(key = key, label = label, build_label = label.removesuffix(".exe") + "_build.exe", os_c = OS_CONSTRAINTS[goos], cpu_c = CPU_CONSTRAINTS[goarch]))
    rctx.file("BUILD.bazel", "\n".join(out))
    _defs_bzl(rctx, "img tool")

toolchain_hub_repo = repository_rule(
    implementation = _toolchain_hub_repo_impl,
    attrs = {"tools": attr.string_dict(doc = "`<os>_<cpu>` -> label of that platform's img binary.")},
    doc = """One img toolchain per platform, each with the exec constraints of
its binary. A platform's binary is fetched (downloaded or built) only when
toolchain resolution selects it.""",
)

_SERVER_BUILD = """\
# `bazel run @{name}//cmd/{cmd}`: upstream's label of the {what}.
alias(
    name = "{cmd}",
    actual = "@rules_img//img/tools:{cmd}",
    visibility = ["//visibility:public"],
)
"""

def _servers_repo_impl(rctx):
    rctx.file("BUILD.bazel", "")
    for cmd, what in [
        ("registry", "registry over a remote cache (push strategy cas_registry)"),
        ("bes", "Build Event Service backend (push strategy bes)"),
        ("img", "img tool"),
    ]:
        rctx.file("cmd/{}/BUILD.bazel".format(cmd), _SERVER_BUILD.format(name = rctx.attr.name, cmd = cmd, what = what))

servers_repo = repository_rule(
    implementation = _servers_repo_impl,
    doc = "`//cmd/registry`, `//cmd/bes` and `//cmd/img`: aliases of rules_img's `//img/tools` targets under upstream's labels.",
)
