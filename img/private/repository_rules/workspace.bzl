"""WORKSPACE macros for the tools from a prebuilt-binary lockfile, under upstream's names."""

load(":go_tool.bzl", "pull_hub_repo", "tool_repo", "toolchain_hub_repo")

# The repository the pull repository rules run their tool from (bzlmod: the
# img_tool extension's collection of the same name).
PULL_TOOL_REPO = "rules_img_pull_tool"

DEFAULT_PLATFORMS = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
    ("windows", "arm64"),
]

_IMG_SOURCE = {
    "go_mod": Label("//img_tool:go.mod"),
    "package": "./cmd/img",
}

_PULL_TOOL_SOURCE = {
    "go_mod": Label("//pull_tool:go.mod"),
    "package": ".",
    "watch": [Label("//img_tool:go.mod")],
}

def _keys(platforms):
    return ["{}_{}".format(goos, goarch) for goos, goarch in platforms]

def _host_tool_platform(macro, host_tool, host_os, host_cpu):
    if not host_tool:
        return ""
    if not host_os or not host_cpu:
        fail("{}: host_os and host_cpu are required with host_tool ({})".format(macro, host_tool))
    return "{}_{}".format(host_os, host_cpu)

def img_register_prebuilt_toolchains(
        name = "img_toolchain",
        lockfile = Label("//:prebuilt_lockfile.json"),
        host_tool = None,
        host_os = None,
        host_cpu = None,
        platforms = DEFAULT_PLATFORMS):
    """Declares img toolchains from a prebuilt-binary lockfile.

    One repository `<name>_<os>_<cpu>` per platform downloads that
    platform's binary from the lockfile (integrity checked) when a
    toolchain for it is selected. The hub `<name>` declares a toolchain for
    each platform the lockfile lists, for `host_tool`, and, for the host
    when neither covers it, for the img tool built from rules_img's sources
    with the host's `go` (repository `<name>_host`). rules_img publishes no
    binaries yet and its own `prebuilt_lockfile.json` is empty, so by
    default the host builds from source.

    A lockfile entry whose binary does not match its `integrity` fails the
    fetch, naming the lockfile and both hashes.

    ```starlark
    load("@rules_img//img:repositories.bzl", "img_register_prebuilt_toolchains")

    img_register_prebuilt_toolchains()
    register_toolchains("@img_toolchain//:all")
    ```

    Like upstream's macro it does not call `register_toolchains`.

    Args:
        name: name of the hub repository with the toolchains.
        lockfile: label of a JSON list of
            `{"version", "integrity", "os", "cpu", "url_templates"?}`.
        host_tool: label of a locally built img binary for `host_os`/`host_cpu`.
        host_os: GOOS of `host_tool`; required with it.
        host_cpu: GOARCH of `host_tool`; required with it.
        platforms: (os, cpu) pairs whose lockfile entries give toolchains.
    """
    host_key = _host_tool_platform("img_register_prebuilt_toolchains", host_tool, host_os, host_cpu)
    keys = _keys(platforms)
    for goos, goarch in platforms:
        tool_repo(
            name = "{}_{}_{}".format(name, goos, goarch),
            binary = "img",
            os = goos,
            cpu = goarch,
            lockfile = lockfile,
            **_IMG_SOURCE
        )
    if host_tool:
        tool_repo(
            name = "{}_{}_host".format(name, host_key),
            binary = "img",
            os = host_os,
            cpu = host_cpu,
            host_tool = host_tool,
            host_tool_platform = host_key,
            **_IMG_SOURCE
        )
    tool_repo(
        name = name + "_host",
        binary = "img",
        lockfile = lockfile,
        platforms = keys,
        **_IMG_SOURCE
    )
    toolchain_hub_repo(
        name = name,
        prefix = name,
        lockfile = lockfile,
        platforms = keys,
        host_tool_platform = host_key,
    )

def pull_tool_repository(lockfile, platforms = DEFAULT_PLATFORMS, host_tool = None, host_tool_platform = ""):
    """Declares the pull tool repository that `pull` and `pull_blob_*` run.

    Args:
        lockfile: label of the pull tool's lockfile.
        platforms: (os, cpu) pairs whose lockfile entries may be used.
        host_tool: label of a locally built pull_tool, or None.
        host_tool_platform: `<os>_<cpu>` of host_tool.
    """
    tool_repo(
        name = PULL_TOOL_REPO,
        binary = "pull_tool",
        lockfile = lockfile,
        platforms = _keys(platforms),
        host_tool = host_tool,
        host_tool_platform = host_tool_platform,
        **_PULL_TOOL_SOURCE
    )

def pull_tool_register_prebuilt_repositories(
        name = "pull_hub_repo",
        lockfile = Label("//:pull_tool_lockfile.json"),
        host_tool = None,
        host_os = None,
        host_cpu = None,
        platforms = DEFAULT_PLATFORMS):
    """Declares the pull tool that `pull`, `pull_blob_file` and `pull_blob_archive` run.

    Repository rules run on the host, so only the host's binary matters:
    `host_tool` when it is for the host, else the lockfile's entry for the
    host (integrity checked; a mismatch fails naming the lockfile and both
    hashes), else the pull tool built from rules_img's sources with the
    host's `go`. rules_img publishes no binaries yet and its own
    `pull_tool_lockfile.json` is empty, so by default the host builds from
    source.

    The tool lives in the repository `rules_img_pull_tool` (the name the
    bzlmod extension uses too); `<name>` is a hub with `:pull_tool` and a
    `defs.bzl` whose `tool_for_repository_os(rctx)` gives its label.

    `rules_img_dependencies()` declares `rules_img_pull_tool` with the
    defaults when nothing did before. This macro replaces that declaration
    when it is called before `rules_img_dependencies()` or after it in the
    same load block; Bazel ignores a WORKSPACE repository declared again
    after a later `load`.

    ```starlark
    load("@rules_img//img:repositories.bzl", "pull_tool_register_prebuilt_repositories", "rules_img_dependencies")

    rules_img_dependencies()

    pull_tool_register_prebuilt_repositories()
    ```

    Args:
        name: name of the hub repository.
        lockfile: label of a JSON list of
            `{"version", "integrity", "os", "cpu", "url_templates"?}`.
        host_tool: label of a locally built pull_tool for `host_os`/`host_cpu`.
        host_os: GOOS of `host_tool`; required with it.
        host_cpu: GOARCH of `host_tool`; required with it.
        platforms: (os, cpu) pairs whose lockfile entries may be used.
    """
    host_key = _host_tool_platform("pull_tool_register_prebuilt_repositories", host_tool, host_os, host_cpu)
    pull_tool_repository(lockfile, platforms, host_tool, host_key)
    if name != PULL_TOOL_REPO:
        pull_hub_repo(
            name = name,
            tool = "@{}//:pull_tool".format(PULL_TOOL_REPO),
        )
