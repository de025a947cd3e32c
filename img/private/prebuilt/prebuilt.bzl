"""The `prebuilt_img_tool` and `pull_tool` module extensions: where the img
tool and the pull tool come from, under upstream's load path and names.

```starlark
prebuilt_img_tool = use_extension("@rules_img//img/private/prebuilt:prebuilt.bzl", "prebuilt_img_tool")
pull_tool = use_extension("@rules_img//img/private/prebuilt:prebuilt.bzl", "pull_tool")
```
"""

load("//img/private/repository_rules:go_tool.bzl", "read_lockfile", "tool_repo")
load("//img/private/repository_rules:platforms.bzl", "TOOL_PLATFORMS", "check_platform", "host_platform", "platform_key")
load("//img/private/repository_rules:tool_hub.bzl", "servers_repo", "toolchain_hub_repo")

_IMG = struct(
    binary = "img",
    go_mod = Label("//img_tool:go.mod"),
    package = "./cmd/img",
    watch = [],
)

_PULL_TOOL = struct(
    binary = "pull_tool",
    go_mod = Label("//pull_tool:go.mod"),
    package = ".",
    watch = [Label("//img_tool:go.mod")],
)

_collection = tag_class(
    doc = "Declares a collection: a hub repository of that name with the tool for every platform.",
    attrs = {
        "name": attr.string(mandatory = True, doc = "Name of the hub repository."),
        "override": attr.bool(default = False, doc = "The root module replaces a collection of the same name that a dependency (rules_img itself) declares."),
    },
)

_from_file = tag_class(
    doc = """Prebuilt binaries listed in a lockfile: a JSON list of
`{"version", "integrity", "os", "cpu", "url_templates"?}` objects, the format
of a release's `prebuilt_lockfile.json` and `pull_tool_lockfile.json`. A
platform the lockfile does not list is built from source with the host's
`go`; an empty list builds every platform from source.""",
    attrs = {
        "collection": attr.string(mandatory = True, doc = "Collection to fill."),
        "file": attr.label(mandatory = True, doc = "The lockfile."),
    },
)

_download = tag_class(
    doc = "One prebuilt binary, like one lockfile entry.",
    attrs = {
        "collection": attr.string(mandatory = True, doc = "Collection to fill."),
        "version": attr.string(mandatory = True, doc = "Release version, for `{version}` in the URL templates."),
        "integrity": attr.string(mandatory = True, doc = "Subresource integrity of the binary, e.g. `sha256-...`."),
        "os": attr.string(mandatory = True, values = ["linux", "darwin", "windows"], doc = "GOOS of the binary."),
        "cpu": attr.string(mandatory = True, values = ["amd64", "arm64", "s390x", "ppc64le", "riscv64"], doc = "GOARCH of the binary."),
        "url_templates": attr.string_list(doc = "URL templates with `{version}`, `{os}`, `{cpu}`, `{dot}`, `{extension}`; empty: rules_img's release URL."),
    },
)

_host_tool = tag_class(
    doc = "A locally built binary for the host platform, used instead of the lockfile's or a source build (root module only).",
    attrs = {"binary": attr.label(mandatory = True, allow_single_file = True, doc = "The binary.")},
)

def _declared(collections, mod, name, tag):
    if name not in collections:
        fail("rules_img: module {}: {} names collection {}, which no collection tag of the module declares".format(mod.name, tag, repr(name)))
    return collections[name]

def _module_collections(mctx, mod):
    """name -> struct(override, entries {key: (entry, where)}, lockfile) declared by one module."""
    out = {}
    for c in mod.tags.collection:
        out[c.name] = struct(override = c.override, entries = {}, lockfiles = [])

    for t in mod.tags.from_file:
        c = _declared(out, mod, t.collection, "from_file")
        c.lockfiles.append(t.file)
        for e in read_lockfile(mctx, t.file):
            where = "lockfile {}".format(t.file)
            check_platform(e["os"], e["cpu"], where)
            c.entries[platform_key(e["os"], e["cpu"])] = (e, where)
    for t in mod.tags.download:
        c = _declared(out, mod, t.collection, "download")
        e = {"version": t.version, "integrity": t.integrity, "os": t.os, "cpu": t.cpu}
        if t.url_templates:
            e["url_templates"] = t.url_templates
        c.entries[platform_key(t.os, t.cpu)] = (e, "the download tag of module {} ({}/{})".format(mod.name, t.os, t.cpu))
    return out

def _tool_extension(mctx, tool):
    chosen = {}
    root = None
    for mod in mctx.modules:
        if mod.is_root:
            root = mod
            continue
        for name, c in _module_collections(mctx, mod).items():
            if name in chosen:
                fail("rules_img: two modules declare the {} collection {}; only the root module may replace one (collection(name = {}, override = True))".format(tool.binary, repr(name), repr(name)))
            chosen[name] = c
    host_tool = None
    if root:
        for name, c in _module_collections(mctx, root).items():
            if name in chosen and not c.override:
                fail("rules_img: the root module declares the {} collection {} again; add override = True to its collection tag to replace rules_img's".format(tool.binary, repr(name)))
            chosen[name] = c
        if len(root.tags.host_tool) > 1:
            fail("rules_img: the root module has more than one host_tool tag for the {} tool".format(tool.binary))
        if root.tags.host_tool:
            host_tool = root.tags.host_tool[0].binary

    host = platform_key(*host_platform(mctx))
    for name, c in chosen.items():
        if tool.binary == "pull_tool":
            _pull_tool_hub(name, c, host, host_tool)
        else:
            _img_toolchain_hub(name, c, host, host_tool)

def _tool_repo(name, tool, key, c, **kwargs):
    goos, _, goarch = key.partition("_")
    entry, where = c.entries.get(key, (None, ""))
    tool_repo(
        name = name,
        binary = tool.binary,
        os = goos,
        cpu = goarch,
        entry = json.encode(entry) if entry else "",
        where = where or "the tool collection",
        lockfile = c.lockfiles[0] if c.lockfiles and not entry else None,
        go_mod = tool.go_mod,
        package = tool.package,
        watch = tool.watch,
        **kwargs
    )

def _img_toolchain_hub(name, c, host, host_tool):
    """`<name>_<os>_<cpu>` per platform, and the hub `<name>` with their toolchains."""
    keys = {platform_key(goos, goarch): None for goos, goarch in TOOL_PLATFORMS}
    keys.update({k: None for k in c.entries})
    tools = {}
    for key in keys:
        repo = "{}_{}".format(name, key)
        _tool_repo(repo, _IMG, key, c)
        tools[key] = "@{}//:img.exe".format(repo)
    if host_tool:
        repo = name + "_host_tool"
        _tool_repo(repo, _IMG, host, c, host_tool = host_tool)
        tools[host] = "@{}//:img.exe".format(repo)
    toolchain_hub_repo(name = name, tools = tools)

def _pull_tool_hub(name, c, host, host_tool):
    """`<name>`: the host's pull tool (repository rules run only on the host)."""
    _tool_repo(name, _PULL_TOOL, host, c, host_tool = host_tool, defs_bzl = True)

def _prebuilt_img_tool_impl(mctx):
    _tool_extension(mctx, _IMG)
    servers_repo(name = "rules_img_tool")
    return mctx.extension_metadata(reproducible = True)

_TAG_CLASSES = {
    "collection": _collection,
    "from_file": _from_file,
    "download": _download,
    "host_tool": _host_tool,
}

prebuilt_img_tool = module_extension(
    implementation = _prebuilt_img_tool_impl,
    tag_classes = _TAG_CLASSES,
    doc = """The img tool, as a collection of toolchains: one per platform.

rules_img declares the collection `img_toolchain` from its
`prebuilt_lockfile.json` and registers its toolchains. In a release the
lockfile lists the prebuilt binaries (downloaded, integrity checked: no Go
needed); in a source checkout it is empty and each platform's tool is built
from source with the host's `go`, cross-compiled for the execution platform
that toolchain resolution selects. Only the selected platform's binary is
fetched.

A root module replaces the collection with its own lockfile:

```starlark
prebuilt_img_tool = use_extension("@rules_img//img/private/prebuilt:prebuilt.bzl", "prebuilt_img_tool")
prebuilt_img_tool.collection(name = "img_toolchain", override = True)
prebuilt_img_tool.from_file(collection = "img_toolchain", file = "//:img_lockfile.json")
```

The extension also provides `rules_img_tool`, whose `//cmd/registry`,
`//cmd/bes` and `//cmd/img` are the servers and the tool under upstream's
labels (`use_repo(prebuilt_img_tool, "rules_img_tool")`).""",
)

def _pull_tool_impl(mctx):
    _tool_extension(mctx, _PULL_TOOL)
    return mctx.extension_metadata(reproducible = True)

pull_tool = module_extension(
    implementation = _pull_tool_impl,
    tag_classes = _TAG_CLASSES,
    doc = """The pull tool that the `pull` and `pull_blob_*` repository rules run on
the host. rules_img declares the collection `pull_hub_repo` from its
`pull_tool_lockfile.json`: a repository with the host's binary as
`:pull_tool`, from the lockfile, else built from source with the host's `go`,
and a `defs.bzl` whose `tool_for_repository_os(rctx)` gives its label.
Replace it like `prebuilt_img_tool`'s collection.""",
)
