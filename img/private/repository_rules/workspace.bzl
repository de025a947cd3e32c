"""WORKSPACE macros for rules_img's tools, under upstream's names."""

load(":go_tool.bzl", "tool_repo")
load(":platforms.bzl", "TOOL_PLATFORMS", "platform_key")
load(":tool_hub.bzl", "servers_repo", "toolchain_hub_repo")

# The repository the pull repository rules run their tool from (bzlmod: the
# pull_tool extension's hub, imported under this name).
PULL_TOOL_REPO = "rules_img_pull_tool"

_IMG_SOURCE = {
    "go_mod": Label("//img_tool:go.mod"),
    "package": "./cmd/img",
}

_PULL_TOOL_SOURCE = {
    "go_mod": Label("//pull_tool:go.mod"),
    "package": ".",
    "watch": [Label("//img_tool:go.mod")],
}

def _host_tool_key(macro, host_tool, host_os, host_cpu):
    if not host_tool:
        return ""
    if not host_os or not host_cpu:
        fail("{}: host_os and host_cpu are required with host_tool ({})".format(macro, host_tool))
    return platform_key(host_os, host_cpu)

def _tool_repos(name, binary, source, lockfile, host_tool, host_key, platforms):
    """Declares `<name>_<os>_<cpu>` per platform (and `<name>_host_tool`); returns key -> label."""
    tools = {}
    for goos, goarch in platforms:
        key = platform_key(goos, goarch)
        tool_repo(
            name = "{}_{}".format(name, key),
            binary = binary,
            os = goos,
            cpu = goarch,
            lockfile = lockfile,
            **source
        )
        tools[key] = "@{}_{}//:{}.exe".format(name, key, binary)
    if host_tool:
        goos, _, goarch = host_key.partition("_")
        tool_repo(
            name = name + "_host_tool",
            binary = binary,
            os = goos,
            cpu = goarch,
            host_tool = host_tool,
            host_tool_platform = host_key,
            **source
        )
        tools[host_key] = "@{}_host_tool//:{}.exe".format(name, binary)
    return tools

def img_register_prebuilt_toolchains(
        name = "img_toolchain",
        lockfile = Label("//:prebuilt_lockfile.json"),
        host_tool = None,
        host_os = None,
        host_cpu = None,
        platforms = TOOL_PLATFORMS):
    """Declares img toolchains, one per platform.

    One repository `<name>_<os>_<cpu>` per platform holds that platform's
    img binary: the lockfile's (downloaded when the toolchain is selected,
    integrity checked; a mismatch fails naming the lockfile and both
    hashes), else one built from rules_img's sources with the host's `go`,
    cross-compiled. The hub `<name>` declares the toolchains. In a release
    of rules_img `prebuilt_lockfile.json` lists the prebuilt binaries; in a
    source checkout it is empty and every platform builds from source.

    ```starlark
    load("@rules_img//img:repositories.bzl", "img_register_prebuilt_toolchains")

    img_register_prebuilt_toolchains()
    register_toolchains("@img_toolchain//:all")
    ```

    Like upstream's macro it does not call `register_toolchains`. It also
    declares `rules_img_tool`, whose `//cmd/registry` and `//cmd/bes` run the
    servers of the cas_registry and bes push strategies.

    Args:
        name: name of the hub repository with the toolchains.
        lockfile: label of a JSON list of
            `{"version", "integrity", "os", "cpu", "url_templates"?}`, or
            None to build every platform from source.
        host_tool: label of a locally built img binary for `host_os`/`host_cpu`.
        host_os: GOOS of `host_tool`; required with it.
        host_cpu: GOARCH of `host_tool`; required with it.
        platforms: (os, cpu) pairs that get a toolchain.
    """
    host_key = _host_tool_key("img_register_prebuilt_toolchains", host_tool, host_os, host_cpu)
    tools = _tool_repos(name, "img", _IMG_SOURCE, lockfile, host_tool, host_key, platforms)
    toolchain_hub_repo(name = name, tools = tools)
    if not native.existing_rule("rules_img_tool"):
        servers_repo(name = "rules_img_tool")

def pull_tool_register_prebuilt_repositories(
        name = "pull_hub_repo",
        lockfile = Label("//:pull_tool_lockfile.json"),
        host_tool = None,
        host_os = None,
        host_cpu = None):
    """Declares the pull tool that `pull`, `pull_blob_file` and `pull_blob_archive` run.

    Repository rules run on the host, so a pull tool exists only for it:
    `host_tool` when `host_os`/`host_cpu` are the host's, else the
    lockfile's entry for the host (integrity checked), else a build from
    rules_img's sources with the host's `go`.

    The repository `<name>` holds it as `:pull_tool` with a `defs.bzl` whose
    `tool_for_repository_os(rctx)` gives its label. The repository rules run
    `@rules_img_pull_tool//:pull_tool`: this macro declares that name too,
    replacing the default of `rules_img_dependencies()` when it is called
    first or in the same load block (Bazel ignores a WORKSPACE repository
    declared again after a later `load`).

    ```starlark
    load("@rules_img//img:repositories.bzl", "pull_tool_register_prebuilt_repositories", "rules_img_dependencies")

    pull_tool_register_prebuilt_repositories()

    rules_img_dependencies()
    ```

    Args:
        name: name of the repository.
        lockfile: label of a JSON list of
            `{"version", "integrity", "os", "cpu", "url_templates"?}`, or None
            to build from source.
        host_tool: label of a locally built pull_tool for `host_os`/`host_cpu`.
        host_os: GOOS of `host_tool`; required with it.
        host_cpu: GOARCH of `host_tool`; required with it.
    """
    host_key = _host_tool_key("pull_tool_register_prebuilt_repositories", host_tool, host_os, host_cpu)
    for repo in [name] if name == PULL_TOOL_REPO else [name, PULL_TOOL_REPO]:
        tool_repo(
            name = repo,
            binary = "pull_tool",
            lockfile = lockfile,
            host_tool = host_tool,
            host_tool_platform = host_key,
            defs_bzl = True,
            **_PULL_TOOL_SOURCE
        )
