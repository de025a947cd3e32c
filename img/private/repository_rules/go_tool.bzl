"""Repository rules that provide rules_img's Go tools: built from source with
the host Go, or downloaded prebuilt from a lockfile."""

_OS = {"linux": "linux", "mac os x": "darwin", "darwin": "darwin"}
_CPU = {"amd64": "amd64", "x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_CONSTRAINTS = {
    "linux": "@platforms//os:linux",
    "darwin": "@platforms//os:macos",
    "windows": "@platforms//os:windows",
    "amd64": "@platforms//cpu:x86_64",
    "arm64": "@platforms//cpu:aarch64",
}

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

def _go_source_repo_impl(rctx):
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
  img_tool.from_file(collection = "{name}", file = "//:img_lockfile.json")""".format(
            tool = rctx.attr.binary,
            path = rctx.os.environ.get("PATH", ""),
            name = rctx.attr.name.split("~")[-1].split("+")[-1],
        ))
    module_dir = rctx.path(rctx.attr.go_mod).dirname
    rctx.watch_tree(module_dir)
    for other in rctx.attr.watch:
        rctx.watch_tree(rctx.path(other).dirname)
    goos, goarch = host_platform(rctx)
    exe = rctx.attr.binary + (".exe" if goos == "windows" else "")
    env = {
        "CGO_ENABLED": "0",
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod",
    }
    res = rctx.execute(
        [go, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", str(rctx.path(exe)), rctx.attr.package],
        working_directory = str(module_dir),
        environment = env,
        timeout = 1800,
        quiet = True,
    )
    if res.return_code != 0:
        fail("rules_img: `go build {}` in {} failed (exit {}):\n{}{}".format(
            rctx.attr.package,
            module_dir,
            res.return_code,
            res.stdout,
            res.stderr,
        ))
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
