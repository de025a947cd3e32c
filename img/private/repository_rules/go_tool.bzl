"""Repository rules that provide rules_img's Go tools: built from source with
the host Go, or downloaded prebuilt from a lockfile."""

_OS = {"linux": "linux", "mac os x": "darwin", "darwin": "darwin"}
_CPU = {"amd64": "amd64", "x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "s390x": "s390x"}
_CONSTRAINTS = {
    "linux": "@platforms//os:linux",
    "darwin": "@platforms//os:macos",
    "windows": "@platforms//os:windows",
    "amd64": "@platforms//cpu:x86_64",
    "arm64": "@platforms//cpu:aarch64",
    "s390x": "@platforms//cpu:s390x",
}

# Where release binaries of rules_img's tools would be downloaded from, for
# lockfile entries without url_templates ({binary} is filled in first).
DEFAULT_URL_TEMPLATE = "https://github.com/rules-img/rules_img/releases/download/{version}/{binary}_{os}_{cpu}{dot}{extension}"

def host_platform(rctx):
    """The host as (goos, goarch).

    Args:
        rctx: a repository_ctx or module_ctx.

    Returns:
        A (os, cpu) tuple such as ("linux", "amd64").
    """
    name = rctx.os.name.lower()
    goos = "windows" if name.startswith("windows") else _OS.get(name)
    goarch = _CPU.get(rctx.os.arch)
    if not goos or not goarch:
        fail("rules_img: unsupported host platform {}/{}".format(rctx.os.name, rctx.os.arch))
    return goos, goarch

def _toolchain_build(tools):
    """BUILD content declaring one img toolchain per (os, cpu) -> label."""
    out = ['load("@rules_img//img/private:image_toolchain.bzl", "image_toolchain")', ""]
    for (goos, goarch), label in sorted(tools.items()):
        out.append("""image_toolchain(
    name = "img_{os}_{cpu}",
    tool_exe = "{label}",
)

toolchain(
    name = "img_{os}_{cpu}_toolchain",
    exec_compatible_with = ["{os_c}", "{cpu_c}"],
    toolchain = ":img_{os}_{cpu}",
    toolchain_type = "@rules_img//img:toolchain_type",
)
""".format(os = goos, cpu = goarch, label = label, os_c = _CONSTRAINTS[goos], cpu_c = _CONSTRAINTS[goarch]))
    return "\n".join(out)

def _go_build(rctx, go_mod, package, binary, watch):
    """Builds a Go tool of rules_img with the host's `go`.

    Returns:
        The name of the executable written at the repository root.
    """
    go = rctx.which("go")
    if not go:
        goroot = rctx.os.environ.get("GOROOT", "")
        if goroot and rctx.path(goroot + "/bin/go").exists:
            go = rctx.path(goroot + "/bin/go")
    if not go:
        fail("""rules_img: building the {tool} tool from source needs `go` (Go 1.24 or later) on PATH,
but no `go` was found (PATH={path}).
Install Go, or use prebuilt binaries: in MODULE.bazel,
  img_tool = use_extension("@rules_img//img:extensions.bzl", "img_tool")
  img_tool.from_file(collection = "{name}", file = "//:img_lockfile.json")
or, in WORKSPACE, a lockfile that lists this host's binary (img_register_prebuilt_toolchains,
pull_tool_register_prebuilt_repositories).""".format(
            tool = binary,
            path = rctx.os.environ.get("PATH", ""),
            name = rctx.attr.name.split("~")[-1].split("+")[-1],
        ))
    module_dir = rctx.path(go_mod).dirname
    rctx.watch_tree(module_dir)
    for other in watch:
        rctx.watch_tree(rctx.path(other).dirname)
    goos, _ = host_platform(rctx)
    exe = binary + (".exe" if goos == "windows" else "")
    env = {
        "CGO_ENABLED": "0",
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod",
    }
    res = rctx.execute(
        [go, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", str(rctx.path(exe)), package],
        working_directory = str(module_dir),
        environment = env,
        timeout = 1800,
        quiet = True,
    )
    if res.return_code != 0:
        fail("rules_img: `go build {}` in {} failed (exit {}):\n{}{}".format(
            package,
            module_dir,
            res.return_code,
            res.stdout,
            res.stderr,
        ))
    return exe

def _go_source_repo_impl(rctx):
    exe = _go_build(rctx, rctx.attr.go_mod, rctx.attr.package, rctx.attr.binary, rctx.attr.watch)
    goos, goarch = host_platform(rctx)
    build = 'exports_files(["{}"], visibility = ["//visibility:public"])\n\n'.format(exe)
    if rctx.attr.toolchain:
        build += _toolchain_build({(goos, goarch): ":" + exe})
    rctx.file("BUILD.bazel", build)

go_source_repo = repository_rule(
    implementation = _go_source_repo_impl,
    attrs = {
        "go_mod": attr.label(mandatory = True, doc = "go.mod of the Go module to build."),
        "package": attr.string(mandatory = True, doc = "Package to build, e.g. `./cmd/img`."),
        "binary": attr.string(mandatory = True, doc = "Name of the executable."),
        "toolchain": attr.bool(default = True, doc = "Also declare an image_toolchain for the host."),
        "watch": attr.label_list(doc = "go.mod files of other modules the build uses (replace directives); their trees are watched too."),
    },
    environ = ["PATH", "GOROOT", "GOPROXY", "GOPATH", "GOMODCACHE", "GOCACHE", "GOFLAGS", "HOME"],
    doc = "Builds a Go tool of rules_img with the host's Go (no rules_go needed).",
)

def _url(template, entry):
    goos = entry["os"]
    ext = "exe" if goos == "windows" else ""
    return template.format(
        version = entry["version"],
        os = goos,
        cpu = entry["cpu"],
        dot = "." if ext else "",
        extension = ext,
    )

def _prebuilt_repo_impl(rctx):
    entry = {"version": rctx.attr.version, "os": rctx.attr.os, "cpu": rctx.attr.cpu}
    if not rctx.attr.url_templates:
        fail("rules_img: prebuilt {} {} {}/{} has no url_templates".format(rctx.attr.binary, rctx.attr.version, rctx.attr.os, rctx.attr.cpu))
    urls = [_url(t, entry) for t in rctx.attr.url_templates]
    exe = rctx.attr.binary + ".exe"
    rctx.download(urls, output = exe, executable = True, integrity = rctx.attr.integrity)
    rctx.file("BUILD.bazel", 'exports_files(["{}"], visibility = ["//visibility:public"])\n'.format(exe))

prebuilt_repo = repository_rule(
    implementation = _prebuilt_repo_impl,
    attrs = {
        "binary": attr.string(mandatory = True, doc = "Tool name; the file is `<binary>.exe`."),
        "version": attr.string(mandatory = True, doc = "Release version, for `{version}` in the URL templates."),
        "integrity": attr.string(mandatory = True, doc = "Subresource integrity of the binary, e.g. `sha256-...`."),
        "os": attr.string(mandatory = True, values = ["linux", "darwin", "windows"], doc = "GOOS of the binary."),
        "cpu": attr.string(mandatory = True, values = ["amd64", "arm64"], doc = "GOARCH of the binary."),
        "url_templates": attr.string_list(doc = "URL templates with `{version}`, `{os}`, `{cpu}`, `{dot}`, `{extension}`."),
    },
    doc = "Downloads one prebuilt binary and checks its integrity.",
)

def _hub_repo_impl(rctx):
    tools = {}
    for key, label in rctx.attr.tools.items():
        goos, goarch = key.split("_")
        tools[(goos, goarch)] = label
    rctx.file("BUILD.bazel", _toolchain_build(tools))

hub_repo = repository_rule(
    implementation = _hub_repo_impl,
    attrs = {"tools": attr.string_dict(doc = "`<os>_<cpu>` -> label of the img binary.")},
    doc = "Declares img toolchains for prebuilt binaries, one per platform.",
)

def _lockfile_repo_impl(rctx):
    entries = json.decode(rctx.read(rctx.attr.lockfile))
    goos, goarch = host_platform(rctx)
    match = [e for e in entries if e.get("os") == goos and e.get("cpu") == goarch]
    if not match:
        fail("rules_img: lockfile {} has no {} binary for this host ({}/{})".format(rctx.attr.lockfile, rctx.attr.binary, goos, goarch))
    e = match[0]
    urls = [_url(t, e) for t in e.get("url_templates", rctx.attr.url_templates)]
    if not urls:
        fail("rules_img: lockfile {}: the {}/{} entry has no url_templates".format(rctx.attr.lockfile, goos, goarch))
    exe = rctx.attr.binary + ".exe"
    rctx.download(urls, output = exe, executable = True, integrity = e["integrity"])
    files = [exe]
    if goos != "windows":
        rctx.symlink(exe, rctx.attr.binary)  # the name a source build has
        files.append(rctx.attr.binary)
    build = 'exports_files({}, visibility = ["//visibility:public"])\n\n'.format(repr(files))
    if rctx.attr.toolchain:
        build += _toolchain_build({(goos, goarch): ":" + exe})
    rctx.file("BUILD.bazel", build)

lockfile_repo = repository_rule(
    implementation = _lockfile_repo_impl,
    attrs = {
        "binary": attr.string(mandatory = True, doc = "Tool name; the file is `<binary>.exe`."),
        "lockfile": attr.label(mandatory = True, doc = "Lockfile: a JSON list of {version, integrity, os, cpu, url_templates}."),
        "url_templates": attr.string_list(doc = "URL templates for entries that have none."),
        "toolchain": attr.bool(default = True, doc = "Also declare an image_toolchain for it."),
    },
    doc = "Downloads the host's prebuilt binary from a lockfile and, for img, declares its toolchain.",
)

def read_lockfile(rctx, lockfile):
    """The entries of a prebuilt-binary lockfile, checked.

    Args:
        rctx: a repository_ctx.
        lockfile: label of a JSON list of
            `{"version", "integrity", "os", "cpu", "url_templates"?}` objects.

    Returns:
        The list of entries (dicts).
    """
    entries = json.decode(rctx.read(lockfile))
    if type(entries) != "list":
        fail("rules_img: lockfile {} must hold a JSON list, not a {}".format(lockfile, type(entries)))
    for e in entries:
        if type(e) != "dict":
            fail("rules_img: lockfile {}: entry {} is not an object".format(lockfile, e))
        for k in ["version", "integrity", "os", "cpu"]:
            if k not in e:
                fail("rules_img: lockfile {}: entry {} lacks {}".format(lockfile, e, repr(k)))
    return entries

def _entry_for(entries, goos, goarch):
    for e in entries:
        if e["os"] == goos and e["cpu"] == goarch:
            return e
    return None

def _download_entry(rctx, lockfile, entry, binary, exe):
    """Downloads a lockfile entry to exe; fails naming the lockfile and both hashes on a mismatch."""
    default = DEFAULT_URL_TEMPLATE.replace("{binary}", binary)
    urls = [_url(t, entry) for t in entry.get("url_templates", [default])]
    if not urls:
        fail("rules_img: lockfile {}: the {}/{} entry has no url_templates".format(lockfile, entry["os"], entry["cpu"]))
    res = rctx.download(urls, output = exe, executable = True, integrity = entry["integrity"], allow_fail = True)
    if res.success:
        return

    # Learn what the URLs serve, to say which hash the lockfile should have.
    probe = exe + ".unverified"
    got = rctx.download(urls, output = probe, allow_fail = True)
    if got.success:
        rctx.delete(probe)
        fail("""rules_img: lockfile {lockfile}: the {binary} binary for {os}/{cpu} ({version}) does not match its integrity:
  lockfile:   {want}
  downloaded: {got} (sha256 {sha256})
from {urls}""".format(
            lockfile = lockfile,
            binary = binary,
            os = entry["os"],
            cpu = entry["cpu"],
            version = entry["version"],
            want = entry["integrity"],
            got = got.integrity,
            sha256 = got.sha256,
            urls = ", ".join(urls),
        ))
    fail("rules_img: lockfile {}: cannot download the {} binary for {}/{} from {}".format(lockfile, binary, entry["os"], entry["cpu"], ", ".join(urls)))

def _tool_repo_impl(rctx):
    binary = rctx.attr.binary
    host = host_platform(rctx)
    goos = rctx.attr.os or host[0]
    goarch = rctx.attr.cpu or host[1]
    key = "{}_{}".format(goos, goarch)
    exe = binary + ".exe"
    entry = None
    if rctx.attr.lockfile and (not rctx.attr.platforms or key in rctx.attr.platforms):
        entry = _entry_for(read_lockfile(rctx, rctx.attr.lockfile), goos, goarch)
    if rctx.attr.host_tool and rctx.attr.host_tool_platform == key:
        rctx.symlink(rctx.attr.host_tool, exe)
        how = "the host_tool {}".format(rctx.attr.host_tool)
    elif entry:
        _download_entry(rctx, rctx.attr.lockfile, entry, binary, exe)
        how = "lockfile {} ({})".format(rctx.attr.lockfile, entry["version"])
    elif (goos, goarch) == host:
        built = _go_build(rctx, rctx.attr.go_mod, rctx.attr.package, binary, rctx.attr.watch)
        if built != exe:
            rctx.symlink(built, exe)
        how = "built from source with the host's go ({} has no {} entry)".format(rctx.attr.lockfile, key) if rctx.attr.lockfile else "built from source with the host's go"
    else:
        fail("rules_img: lockfile {} has no {} binary for {}, and only the host ({}_{}) can build it from source".format(
            rctx.attr.lockfile,
            binary,
            key,
            host[0],
            host[1],
        ))
    files = [exe]
    if goos != "windows":
        if not rctx.path(binary).exists:
            rctx.symlink(exe, binary)
        files.append(binary)
    rctx.file("BUILD.bazel", "# {} for {}: {}.\nexports_files({}, visibility = [\"//visibility:public\"])\n".format(binary, key, how, repr(files)))

tool_repo = repository_rule(
    implementation = _tool_repo_impl,
    attrs = {
        "binary": attr.string(mandatory = True, doc = "Tool name: `img` or `pull_tool`; the repository exports `<binary>.exe` (and `<binary>` off Windows)."),
        "os": attr.string(doc = "GOOS of the binary; empty: the host's."),
        "cpu": attr.string(doc = "GOARCH of the binary; empty: the host's."),
        "lockfile": attr.label(doc = "Lockfile: a JSON list of {version, integrity, os, cpu, url_templates?}. None: build from source."),
        "platforms": attr.string_list(doc = "`<os>_<cpu>` keys whose lockfile entries may be used; empty: all."),
        "host_tool": attr.label(allow_single_file = True, doc = "A locally built binary used instead, for `host_tool_platform`."),
        "host_tool_platform": attr.string(doc = "`<os>_<cpu>` of `host_tool`."),
        "go_mod": attr.label(mandatory = True, doc = "go.mod of the tool's Go module, for the source build."),
        "package": attr.string(mandatory = True, doc = "Package to build from source, e.g. `./cmd/img`."),
        "watch": attr.label_list(doc = "go.mod files of other modules the source build uses (replace directives)."),
    },
    environ = ["PATH", "GOROOT", "GOPROXY", "GOPATH", "GOMODCACHE", "GOCACHE", "GOFLAGS", "HOME"],
    doc = """One Go tool of rules_img for one platform: the lockfile's binary
(integrity checked), else a host_tool, else (on the host only) a source
build with the host's `go`.""",
)

_DEFS_BZL = """\
\"\"\"The {what} of this repository by platform, for repository rules.\"\"\"

load("@rules_img//img/private/repository_rules:go_tool.bzl", "host_platform")

TOOLS = {tools}

def tool_for_repository_os(rctx):
    \"\"\"Label of the {what} for the host a repository rule runs on.\"\"\"
    key = "_".join(host_platform(rctx))
    if key not in TOOLS:
        fail("rules_img: no {what} for the host platform " + key)
    return Label(TOOLS[key])
"""

def _toolchain_hub_repo_impl(rctx):
    entries = read_lockfile(rctx, rctx.attr.lockfile) if rctx.attr.lockfile else []
    tools = {}
    for key in rctx.attr.platforms:
        goos, _, goarch = key.partition("_")
        if _entry_for(entries, goos, goarch):
            tools[(goos, goarch)] = "@{}_{}//:img.exe".format(rctx.attr.prefix, key)
    if rctx.attr.host_tool_platform:
        goos, _, goarch = rctx.attr.host_tool_platform.partition("_")
        tools[(goos, goarch)] = "@{}_{}_host//:img.exe".format(rctx.attr.prefix, rctx.attr.host_tool_platform)
    host = host_platform(rctx)
    if host not in tools:
        tools[host] = "@{}_host//:img.exe".format(rctx.attr.prefix)
    rctx.file("BUILD.bazel", _toolchain_build(tools) + '\nexports_files(["defs.bzl"], visibility = ["//visibility:public"])\n')
    rctx.file("defs.bzl", _DEFS_BZL.format(
        what = "img tool",
        tools = json.encode_indent({"{}_{}".format(k[0], k[1]): v for k, v in tools.items()}),
    ))

toolchain_hub_repo = repository_rule(
    implementation = _toolchain_hub_repo_impl,
    attrs = {
        "prefix": attr.string(mandatory = True, doc = "Prefix of the tool repositories: `<prefix>_<os>_<cpu>`, `<prefix>_host`."),
        "lockfile": attr.label(doc = "The lockfile whose entries the tool repositories download."),
        "platforms": attr.string_list(doc = "`<os>_<cpu>` keys for which a lockfile entry gives a toolchain."),
        "host_tool_platform": attr.string(doc = "`<os>_<cpu>` of a host_tool, if any (repository `<prefix>_<os>_<cpu>_host`)."),
    },
    doc = """img toolchains, one per platform that has a binary: the lockfile's
entries among `platforms`, a host_tool, and for the host without either,
the source build in `<prefix>_host`.""",
)

def _pull_hub_repo_impl(rctx):
    rctx.file("BUILD.bazel", """alias(
    name = "pull_tool",
    actual = "{tool}",
    visibility = ["//visibility:public"],
)

exports_files(["defs.bzl"], visibility = ["//visibility:public"])
""".format(tool = rctx.attr.tool))
    rctx.file("defs.bzl", _DEFS_BZL.format(
        what = "pull tool",
        tools = json.encode_indent({"_".join(host_platform(rctx)): rctx.attr.tool}),
    ))

pull_hub_repo = repository_rule(
    implementation = _pull_hub_repo_impl,
    attrs = {"tool": attr.string(mandatory = True, doc = "Label of the host's pull tool.")},
    doc = "The pull tool under a second name: `:pull_tool` and `defs.bzl`'s `tool_for_repository_os`.",
)
