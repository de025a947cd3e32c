"""The `img_tool` module extension: where the img tool comes from."""

load("//img/private/repository_rules:go_tool.bzl", "go_source_repo", "hub_repo", "lockfile_repo", "prebuilt_repo")

_DEFAULT_URL = "https://github.com/rules-img/rules_img/releases/download/{version}/img_{os}_{cpu}{dot}{extension}"

_collection = tag_class(
    doc = "Declares a toolchain collection (a repository with one toolchain per platform).",
    attrs = {
        "name": attr.string(mandatory = True, doc = "Repository name of the collection."),
        "override": attr.bool(default = False, doc = "The root module replaces a collection that rules_img declares."),
    },
)

_TOOL = attr.string(
    default = "img",
    values = ["img", "pull_tool"],
    doc = "`img` (the rules' toolchain) or `pull_tool` (run by the pull repository rule on the host).",
)

_from_source = tag_class(
    doc = "Builds the tool from rules_img's own sources with the host's `go`.",
    attrs = {
        "collection": attr.string(default = "img_toolchain", doc = "Collection to provide."),
        "tool": _TOOL,
    },
)

_from_file = tag_class(
    doc = """Prebuilt binaries listed in a lockfile: a JSON list of
`{"version", "integrity", "os", "cpu", "url_templates"?}` objects.""",
    attrs = {
        "collection": attr.string(default = "img_toolchain", doc = "Collection to provide."),
        "file": attr.label(mandatory = True, doc = "The lockfile."),
        "tool": _TOOL,
    },
)

_download = tag_class(
    doc = "One prebuilt binary.",
    attrs = {
        "collection": attr.string(default = "img_toolchain", doc = "Collection to provide."),
        "version": attr.string(mandatory = True, doc = "Release version."),
        "integrity": attr.string(mandatory = True, doc = "Subresource integrity, e.g. `sha256-...`."),
        "os": attr.string(mandatory = True, values = ["linux", "darwin", "windows"], doc = "GOOS."),
        "cpu": attr.string(mandatory = True, values = ["amd64", "arm64"], doc = "GOARCH."),
        "url_templates": attr.string_list(default = [_DEFAULT_URL], doc = "URL templates."),
    },
)

def _sources_of(mctx, mod):
    """collection -> struct(kind, entries) declared by one module."""
    out = {}
    for t in mod.tags.from_source:
        out[t.collection] = struct(kind = "source", entries = [], tool = t.tool, file = None)
    for t in mod.tags.from_file:
        entries = json.decode(mctx.read(t.file))
        if type(entries) != "list":
            fail("rules_img: lockfile {} must hold a JSON list".format(t.file))
        for e in entries:
            for k in ["version", "integrity", "os", "cpu"]:
                if k not in e:
                    fail("rules_img: lockfile {}: entry {} lacks {}".format(t.file, e, repr(k)))
        prev = out.get(t.collection)
        out[t.collection] = struct(kind = "prebuilt", entries = (prev.entries if prev and prev.kind == "prebuilt" else []) + entries, tool = t.tool, file = t.file)
    for t in mod.tags.download:
        e = {"version": t.version, "integrity": t.integrity, "os": t.os, "cpu": t.cpu, "url_templates": t.url_templates}
        prev = out.get(t.collection)
        out[t.collection] = struct(kind = "prebuilt", entries = (prev.entries if prev and prev.kind == "prebuilt" else []) + [e], tool = "img", file = None)
    return out

def _img_tool_impl(mctx):
    chosen = {}
    root = None
    for mod in mctx.modules:
        if mod.is_root:
            root = mod
            continue
        for name, src in _sources_of(mctx, mod).items():
            if name not in chosen:
                chosen[name] = src
    if root:
        overrides = {c.name: c.override for c in root.tags.collection}
        for name, src in _sources_of(mctx, root).items():
            if name in chosen and not overrides.get(name, False) and root.name != "rules_img":
                fail("rules_img: the root module redefines the img tool collection {}; add img_tool.collection(name = {}, override = True)".format(repr(name), repr(name)))
            chosen[name] = src
    for name, src in chosen.items():
        if src.tool == "pull_tool":
            # Run on the host by repository rules: one binary, no toolchain.
            if src.kind == "source":
                go_source_repo(name = name, go_mod = "//pull_tool:go.mod", package = ".", binary = "pull_tool", toolchain = False, watch = ["//img_tool:go.mod"])
            elif src.file:
                lockfile_repo(name = name, binary = "pull_tool", lockfile = src.file, toolchain = False)
            else:
                fail("rules_img: the pull_tool collection {} takes a lockfile (from_file)".format(repr(name)))
            continue
        if src.kind == "source":
            go_source_repo(name = name, go_mod = "//img_tool:go.mod", package = "./cmd/img", binary = "img")
            continue
        tools = {}
        for e in src.entries:
            repo = "{}_{}_{}".format(name, e["os"], e["cpu"])
            prebuilt_repo(
                name = repo,
                binary = "img",
                version = e["version"],
                integrity = e["integrity"],
                os = e["os"],
                cpu = e["cpu"],
                url_templates = e.get("url_templates", [_DEFAULT_URL]),
            )
            tools["{}_{}".format(e["os"], e["cpu"])] = "@{}//:img.exe".format(repo)
        hub_repo(name = name, tools = tools)
    return mctx.extension_metadata(reproducible = True)

img_tool = module_extension(
    implementation = _img_tool_impl,
    tag_classes = {
        "collection": _collection,
        "from_source": _from_source,
        "from_file": _from_file,
        "download": _download,
    },
    doc = """Provides the `img` tool as a toolchain collection.

rules_img builds the tool from source with the host's Go by default. A root
module can use prebuilt binaries instead:

```starlark
img_tool = use_extension("@rules_img//img:extensions.bzl", "img_tool")
img_tool.collection(name = "img_toolchain", override = True)
img_tool.from_file(file = "//:img_lockfile.json")
```""",
)
