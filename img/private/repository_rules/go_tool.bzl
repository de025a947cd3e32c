"""The repository rule that provides one of rules_img's Go tools for one
platform: a lockfile's prebuilt binary (integrity checked), a local binary,
or a build from rules_img's sources with the host's `go`, cross-compiled for
any platform (the tools are pure Go: no C toolchain is needed)."""

load(":platforms.bzl", "host_platform", "platform_key")
load(":tool_hub.bzl", "DEFS_BZL")

# Where release binaries of rules_img's tools are downloaded from, for
# lockfile entries without url_templates ({binary} is filled in first).
DEFAULT_URL_TEMPLATE = "https://github.com/rules-img/rules_img/releases/download/{version}/{binary}_{os}_{cpu}{dot}{extension}"

def read_lockfile(rctx, lockfile):
    """The entries of a prebuilt-binary lockfile, checked.

    Args:
        rctx: a repository_ctx or module_ctx.
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
            if type(e.get(k)) != "string":
                fail("rules_img: lockfile {}: entry {} lacks the string {}".format(lockfile, e, repr(k)))
        if "url_templates" in e and type(e["url_templates"]) != "list":
            fail("rules_img: lockfile {}: url_templates of the {}/{} entry must be a list".format(lockfile, e["os"], e["cpu"]))
    return entries

def _entry_for(entries, goos, goarch):
    for e in entries:
        if e["os"] == goos and e["cpu"] == goarch:
            return e
    return None

def _url(template, entry, binary):
    ext = "exe" if entry["os"] == "windows" else ""
    return template.replace("{binary}", binary).format(
        version = entry["version"],
        os = entry["os"],
        cpu = entry["cpu"],
        dot = "." if ext else "",
        extension = ext,
    )

def _download(rctx, where, entry, binary, exe):
    """Downloads an entry to exe; a mismatch fails naming `where` and both hashes."""
    urls = [_url(t, entry, binary) for t in entry.get("url_templates", [DEFAULT_URL_TEMPLATE])]
    if not urls:
        fail("rules_img: {}: the {}/{} entry has no url_templates".format(where, entry["os"], entry["cpu"]))
    res = rctx.download(urls, output = exe, executable = True, integrity = entry["integrity"], allow_fail = True)
    if res.success:
        return

    # Learn what the URLs serve, to say which hash the lockfile should have.
    probe = exe + ".unverified"
    got = rctx.download(urls, output = probe, allow_fail = True)
    if not got.success:
        fail("rules_img: {}: cannot download the {} binary for {}/{} from {}".format(where, binary, entry["os"], entry["cpu"], ", ".join(urls)))
    rctx.delete(probe)
    fail("""rules_img: {where}: the {binary} binary for {os}/{cpu} ({version}) does not match its integrity:
  expected: {want}
  actual:   {got}
downloaded from {urls}""".format(
        where = where,
        binary = binary,
        os = entry["os"],
        cpu = entry["cpu"],
        version = entry["version"],
        want = entry["integrity"],
        got = got.integrity,
        urls = ", ".join(urls),
    ))

def _version_tuple(v):
    """(major, minor, patch) of "1.26", "1.26.3", "go1.26rc1"; None if unreadable."""
    v = v.removeprefix("go")
    nums = []
    for part in v.split(".")[:3]:
        digits = ""
        for c in part.elems():
            if not c.isdigit():
                break
            digits += c
        if not digits:
            return None
        nums.append(int(digits))
    return tuple(nums + [0] * (3 - len(nums)))

def min_go_version(rctx, go_mod):
    """The `go` directive of a go.mod: the oldest Go that builds the module.

    Args:
        rctx: a repository_ctx.
        go_mod: label of the go.mod.

    Returns:
        The version string, e.g. "1.24.0".
    """
    for line in rctx.read(go_mod).splitlines():
        fields = line.strip().split(" ")
        if len(fields) == 2 and fields[0] == "go":
            return fields[1]
    fail("rules_img: {} has no go directive".format(go_mod))

def _find_go(rctx):
    go = rctx.which("go")
    if go:
        return go
    goroot = rctx.os.environ.get("GOROOT", "")
    if goroot and rctx.path(goroot + "/bin/go").exists:
        return rctx.path(goroot + "/bin/go")
    return None

# Tools that also come as a build-action variant, `<binary>_build.exe`: the
# same command built with these Go build tags, without the clients that only
# deploy targets and servers use, so that short build actions start fast.
# A downloaded or local binary serves as both.
BUILD_VARIANT_TAGS = {"img": "img_build_actions"}

def _go_build(rctx, binary, goos, goarch, why, tags = "", out = None):
    """Builds a tool from rules_img's sources with the host's `go` for goos/goarch.

    Args:
        rctx: the repository_ctx (attrs go_mod, package, watch).
        binary: tool name, for messages.
        goos: GOOS to build for.
        goarch: GOARCH to build for.
        why: what the source build stands in for (a lockfile without this
            platform), or "" when it is the configured way.
        tags: Go build tags, comma-separated.
        out: file to write; default `<binary>.exe`.

    Returns:
        The path written, relative to the repository root.
    """
    need = min_go_version(rctx, rctx.attr.go_mod)
    go = _find_go(rctx)
    lead = "rules_img: {}building the {} tool for {}/{} from source needs Go {} or later".format(
        why + ", and " if why else "",
        binary,
        goos,
        goarch,
        need,
    )
    prebuilt = """Use a release of rules_img (its prebuilt binaries need no Go), or point the
prebuilt_img_tool / pull_tool extension (WORKSPACE: img_register_prebuilt_toolchains,
pull_tool_register_prebuilt_repositories) at a lockfile that lists {}/{}.""".format(goos, goarch)
    if not go:
        fail("{},\nbut no `go` is on PATH ({}) or in $GOROOT/bin.\n{}".format(lead, rctx.os.environ.get("PATH", ""), prebuilt))
    res = rctx.execute([go, "env", "GOVERSION"], environment = {"GOTOOLCHAIN": "local"}, timeout = 60)
    have = res.stdout.strip()
    want_t = _version_tuple(need)
    have_t = _version_tuple(have)
    if res.return_code != 0 or (have_t and want_t and have_t < want_t):
        fail("{},\nbut {} is {}.\nInstall Go {} or later, or: {}".format(lead, go, have or res.stderr.strip(), need, prebuilt))
    module_dir = rctx.path(rctx.attr.go_mod).dirname
    rctx.watch_tree(module_dir)
    for other in rctx.attr.watch:
        rctx.watch_tree(rctx.path(other).dirname)
    out = out or "{}.exe".format(binary)
    res = rctx.execute(
        [go, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -buildid=", "-tags=" + tags, "-o", str(rctx.path(out)), rctx.attr.package],
        working_directory = str(module_dir),
        environment = {
            "CGO_ENABLED": "0",
            "GOOS": goos,
            "GOARCH": goarch,
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "-mod=mod",
            "GOWORK": "off",
        },
        timeout = 1800,
        quiet = True,
    )
    if res.return_code != 0:
        fail("rules_img: `go build {}{}` for {}/{} in {} failed (exit {}):\n{}{}".format(
            " -tags=" + tags if tags else "",
            rctx.attr.package,
            goos,
            goarch,
            module_dir,
            res.return_code,
            res.stdout,
            res.stderr,
        ))
    return out

def _tool_repo_impl(rctx):
    binary = rctx.attr.binary
    host = host_platform(rctx)
    goos = rctx.attr.os or host[0]
    goarch = rctx.attr.cpu or host[1]
    key = platform_key(goos, goarch)
    exe = binary + ".exe"
    where = "lockfile {}".format(rctx.attr.lockfile) if rctx.attr.lockfile else rctx.attr.where
    if rctx.attr.host_tool and rctx.attr.host_tool_platform in ("", key):
        rctx.symlink(rctx.attr.host_tool, exe)
        how = "the local binary {}".format(rctx.attr.host_tool)
    else:
        entry = json.decode(rctx.attr.entry) if rctx.attr.entry else None
        listed = []
        if not entry and rctx.attr.lockfile:
            entries = read_lockfile(rctx, rctx.attr.lockfile)
            entry = _entry_for(entries, goos, goarch)
            listed = sorted([platform_key(e["os"], e["cpu"]) for e in entries])
        if entry:
            _download(rctx, where, entry, binary, exe)
            how = "{} ({})".format(where, entry["version"])
        else:
            why = ""
            if listed:
                why = "{} has no {} binary for {} (it lists {})".format(where, binary, key, ", ".join(listed))
            _go_build(rctx, binary, goos, goarch, why)
            how = "built from source with the host's go" + (" (" + why + ")" if why else "")
            if binary in BUILD_VARIANT_TAGS:
                _go_build(rctx, binary, goos, goarch, why, tags = BUILD_VARIANT_TAGS[binary], out = binary + "_build.exe")
    files = [exe]
    if binary in BUILD_VARIANT_TAGS:
        if not rctx.path(binary + "_build.exe").exists:
            rctx.symlink(exe, binary + "_build.exe")
        files.append(binary + "_build.exe")
    if goos != "windows":
        rctx.symlink(exe, binary)  # the plain name, for scripts and repository rules
        files.append(binary)
    if rctx.attr.defs_bzl:
        # The name is canonical: defs.bzl is loaded from other repositories.
        rctx.file("defs.bzl", DEFS_BZL.format(
            what = binary,
            tools = json.encode_indent({key: "@@{}//:{}".format(rctx.name, exe)}, indent = "    "),
        ))
        files.append("defs.bzl")
    rctx.file("BUILD.bazel", "# {} for {}: {}.\nexports_files({}, visibility = [\"//visibility:public\"])\n".format(binary, key, how, repr(files)))

tool_repo = repository_rule(
    implementation = _tool_repo_impl,
    attrs = {
        "binary": attr.string(mandatory = True, doc = "Tool name, e.g. `img` or `pull_tool`; the repository exports `<binary>.exe` (and `<binary>` off Windows)."),
        "os": attr.string(doc = "GOOS of the binary; empty: the host's."),
        "cpu": attr.string(doc = "GOARCH of the binary; empty: the host's."),
        "entry": attr.string(doc = "JSON of the lockfile entry to download (version, integrity, os, cpu, url_templates?); empty: look in `lockfile`."),
        "where": attr.string(default = "the download tag", doc = "Where `entry` comes from, for messages."),
        "lockfile": attr.label(doc = "Lockfile: a JSON list of {version, integrity, os, cpu, url_templates?}. Without an entry for this platform the tool is built from source."),
        "host_tool": attr.label(allow_single_file = True, doc = "A local binary used as is."),
        "host_tool_platform": attr.string(doc = "`<os>_<cpu>` of `host_tool`; it is used only for that platform. Empty: any."),
        "defs_bzl": attr.bool(doc = "Also write `defs.bzl` with `TOOLS` and `tool_for_repository_os(rctx)`, for repository rules that run the tool."),
        "go_mod": attr.label(mandatory = True, doc = "go.mod of the tool's Go module, for the source build (its `go` directive is the oldest Go accepted)."),
        "package": attr.string(mandatory = True, doc = "Package to build from source, e.g. `./cmd/img`."),
        "watch": attr.label_list(doc = "go.mod files of other modules the source build uses (replace directives); their trees are watched too."),
    },
    environ = ["PATH", "GOROOT", "GOPROXY", "GOPATH", "GOMODCACHE", "GOCACHE", "GOFLAGS", "GONOSUMDB", "GOPRIVATE", "HOME"],
    doc = """One Go tool of rules_img for one platform: `host_tool` if given,
else the lockfile's binary (integrity checked), else a build from source
with the host's `go`, cross-compiled for `os`/`cpu`.""",
)
