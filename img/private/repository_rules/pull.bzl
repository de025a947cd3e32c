"""pull: a base image from a registry, fetched shallow by default."""

load(":pull_common.bzl", "DOCKER_CONFIG_PATH_DOC", "PULL_TOOL_ENVIRON", "apparent_name", "insecure", "limits_env", "registry_flags")
load(":registry_sources.bzl", "registry_sources")


_INDEX_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
]

_ATTRS = {
    "registry": attr.string(doc = """Primary registry host, e.g. `gcr.io` or `127.0.0.1:5000`. With
neither `registry` nor `registries`, Docker Hub (`index.docker.io`)."""),
    "registries": attr.string_list(doc = """Mirrors, tried in order before `registry`. With `registries` and no
`registry`, only the mirrors are tried."""),
    "repository": attr.string(mandatory = True, doc = "Repository, e.g. `library/debian`."),
    "tag": attr.string(doc = "Tag, for humans; the digest decides what is fetched."),
    "digest": attr.string(doc = "Digest of the index or manifest, `sha256:<hex>`. Required; without it the rule fails and prints the digest to pin."),
    "layer_handling": attr.string(
        default = "shallow",
        values = ["shallow", "eager", "lazy"],
        doc = """`shallow`: fetch manifests and configs only; layers stay in the registry
and move only when a push or load needs them. `eager`: fetch every layer
now. `lazy`: like shallow, plus a `layers` target whose build actions
download the layers when something needs their bytes.""",
    ),
    "downloader": attr.string(
        default = "img_tool",
        values = ["img_tool", "bazel"],
        doc = """`img_tool`: the pull tool, with docker config.json credentials
(`docker_config_path`, `IMG_DOCKER_CONFIG`, `DOCKER_CONFIG`,
`~/.docker/config.json`) and credential helpers. `bazel`: Bazel's downloader
(its `--credential_helper` and netrc apply; anonymous otherwise).""",
    ),
    "docker_config_path": attr.string(doc = DOCKER_CONFIG_PATH_DOC),
    "_pull_tool": attr.label(default = "@rules_img_pull_tool//:pull_tool", allow_single_file = True),
}


def _registries(rctx):
    err = registry_sources.check(rctx.attr.registry, rctx.attr.registries)
    if err:
        fail("pull {}: {}".format(apparent_name(rctx), err))
    return registry_sources.order(rctx.attr.registry, rctx.attr.registries)

def _pull_with_tool(rctx, regs, out):
    tool = rctx.path(rctx.attr._pull_tool)
    args = [tool, "pull", "--repository", rctx.attr.repository, "--output", out, "--layer-handling", rctx.attr.layer_handling]
    for r in regs:
        args.extend(["--registry", r])
    if rctx.attr.tag:
        args.extend(["--tag", rctx.attr.tag])
    if rctx.attr.digest:
        args.extend(["--digest", rctx.attr.digest])
    env = rctx.os.environ
    args.extend(registry_flags(rctx, rctx.attr.docker_config_path))
    res = rctx.execute(args, timeout = 3600, quiet = True, environment = limits_env(env))
    if res.return_code != 0:
        fail("pull {} ({}{} from {}): {}".format(
            apparent_name(rctx),
            rctx.attr.repository,
            "@" + rctx.attr.digest if rctx.attr.digest else ":" + rctx.attr.tag,
            ", ".join(regs),
            (res.stderr or res.stdout).strip(),
        ))
    if res.stderr:
        print(res.stderr.strip())  # buildifier: disable=print

def _url(registry, repository, kind, ref, plain_http):
    host = registry.split("/")[0]
    loopback = host.startswith("127.") or host.startswith("localhost") or host.startswith("[::1]")
    scheme = "http" if loopback or plain_http else "https"
    return "{}://{}/v2/{}/{}/{}".format(scheme, registry, repository, kind, ref)

def _fetch(rctx, regs, kind, digest, path, accept = None):
    """Downloads one manifest or blob by digest (checked) to path."""
    plain_http = insecure(rctx)
    rctx.download(
        url = [_url(r, rctx.attr.repository, kind, digest, plain_http) for r in regs],
        output = path,
        sha256 = digest.removeprefix("sha256:"),
        headers = {"Accept": [accept]} if accept else {},
    )
    return path

def _fetch_json(rctx, regs, kind, digest, path, accept = None):
    return json.decode(rctx.read(_fetch(rctx, regs, kind, digest, path, accept)))

def _pull_with_bazel(rctx, regs, out):
    """Fetches with Bazel's downloader; needs the digest."""
    accept = ",".join(_INDEX_TYPES + [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ])
    blobs = out + "/blobs/sha256/"
    root = _fetch_json(rctx, regs, "manifests", rctx.attr.digest, blobs + rctx.attr.digest[7:], accept)
    root_type = root.get("mediaType", "")
    summary = {"registry": regs[0], "repository": rctx.attr.repository, "tag": rctx.attr.tag}
    size = len(rctx.read(blobs + rctx.attr.digest[7:]))
    summary["root"] = {"mediaType": root_type, "digest": rctx.attr.digest, "size": size}
    entries = root["manifests"] if root_type in _INDEX_TYPES else [dict(summary["root"])]
    manifests = []
    for e in entries:
        if e.get("mediaType") in _INDEX_TYPES:
            fail("pull {}: {} is a nested index, which is not supported".format(apparent_name(rctx), e["digest"]))
        m = root if e["digest"] == rctx.attr.digest else _fetch_json(rctx, regs, "manifests", e["digest"], blobs + e["digest"][7:], accept)
        config = _fetch_json(rctx, regs, "blobs", m["config"]["digest"], blobs + m["config"]["digest"][7:])
        diff_ids = config.get("rootfs", {}).get("diff_ids", [])
        if len(diff_ids) != len(m["layers"]):
            fail("pull {}: manifest {} has {} layers but its config {} diff_ids".format(apparent_name(rctx), e["digest"], len(m["layers"]), len(diff_ids)))
        platform = {"os": config.get("os", ""), "architecture": config.get("architecture", "")}
        if config.get("variant"):
            platform["variant"] = config["variant"]
        layers = []
        for l, diff_id in zip(m["layers"], diff_ids):
            layers.append({"mediaType": l["mediaType"], "digest": l["digest"], "size": l["size"], "diff_id": diff_id, "annotations": l.get("annotations", {})})
            if rctx.attr.layer_handling == "eager":
                _fetch(rctx, regs, "blobs", l["digest"], blobs + l["digest"][7:])
        manifests.append({
            "mediaType": m.get("mediaType", e.get("mediaType")),
            "digest": e["digest"],
            "size": e.get("size", size),
            "platform": platform,
            "config": m["config"],
            "layers": layers,
        })
    summary["manifests"] = manifests
    rctx.file(out + "/pull.json", json.encode(summary))

def _pull_impl(rctx):
    regs = _registries(rctx)
    if rctx.attr.digest and not (rctx.attr.digest.startswith("sha256:") and len(rctx.attr.digest) == 71):
        fail("pull {}: digest {} is not sha256:<64 hex digits>".format(apparent_name(rctx), repr(rctx.attr.digest)))
    if rctx.attr.downloader == "bazel":
        if not rctx.attr.digest:
            fail("pull {}: the bazel downloader needs a pinned digest".format(apparent_name(rctx)))
        _pull_with_bazel(rctx, regs, "image")
    else:
        _pull_with_tool(rctx, regs, "image")
    summary = json.decode(rctx.read("image/pull.json"))
    if not rctx.attr.digest:
        fail("""pull {name}: no digest is pinned for {reg}/{repo}:{tag}. It resolves to
    digest = "{digest}",
add that to the pull() call (a tag can move; a digest cannot).""".format(
            name = apparent_name(rctx),
            reg = summary["registry"],
            repo = rctx.attr.repository,
            tag = rctx.attr.tag,
            digest = summary["root"]["digest"],
        ))
    # PullInfo lists the registries in the order they are tried here (not
    # the one that happened to serve first), so that the repository's
    # content does not depend on which mirror was up at fetch time.
    layer_sizes = {l["digest"]: str(l["size"]) for m in summary["manifests"] for l in m["layers"]}
    layer_digests = sorted(layer_sizes.keys())
    name = apparent_name(rctx)
    build = [
        'load("@rules_img//img/private:import.bzl", "image_import")',
        'load("@rules_img//img/private:download_blobs.bzl", "download_blobs")',
        "",
        'package(default_visibility = ["//visibility:public"])',
        "",
        "image_import(",
        '    name = "image",',
        '    blobs = glob(["image/blobs/sha256/*"]),',
        "    layer_blobs = {},".format('[":layers"]' if rctx.attr.layer_handling == "lazy" else "[]"),
        "    pull_json = {},".format(repr(json.encode(summary))),
        "    registries = {},".format(repr(regs)),
        "    repository = {},".format(repr(rctx.attr.repository)),
        "    tag = {},".format(repr(rctx.attr.tag)),
        ")",
        "",
        "download_blobs(",
        '    name = "layers",',
        "    digests = {},".format(repr(layer_digests)),
        "    registries = {},".format(repr(regs)),
        "    repository = {},".format(repr(rctx.attr.repository)),
        "    sizes = {},".format(repr({d: layer_sizes[d] for d in layer_digests})),
        ")",
        "",
        'exports_files(["image/pull.json"])',
    ]
    if name != "image":
        build.extend(["", 'alias(name = "{}", actual = ":image")'.format(name)])
    rctx.file("BUILD.bazel", "\n".join(build) + "\n")

pull = repository_rule(
    implementation = _pull_impl,
    attrs = _ATTRS,
    environ = PULL_TOOL_ENVIRON,
    doc = """A base image from a registry.

By default only the index, the manifests and the configs are fetched
(kilobytes, even for a base of many gigabytes); layers stay in the registry
until a push or load needs them. `@name` is an image_import target:
ImageIndexInfo for a multi-platform image (image_manifest picks the target
platform's manifest at analysis time) or ImageManifestInfo.

```starlark
pull = use_repo_rule("@rules_img//img:pull.bzl", "pull")

pull(
    name = "debian",
    registries = ["mirror.example.com"],  # tried first
    registry = "index.docker.io",  # then the primary registry
    repository = "library/debian",
    tag = "bookworm",
    digest = "sha256:...",
)
```

**Pinning.** The digest is required: without it the rule fails and prints
the digest the tag resolves to. Every fetched blob is checked against its
digest; a mismatch fails the fetch and nothing is cached.

**Layer handling.**

| mode | at fetch time | layers |
| --- | --- | --- |
| `shallow` (default) | index, manifests, configs | never downloaded; `oci_layout` of images on top fails unless `//img/settings:shallow_oci_layout=i_know_what_i_am_doing`; `tarball` outputs always need every layer |
| `eager` | everything | in the repository; layouts and tarballs are complete |
| `lazy` | as shallow | `@name//:layers` downloads them in build actions, only when something needs the bytes |

**Registries.** The mirrors in `registries` are tried in order, then
`registry`; with neither, Docker Hub (`index.docker.io`). A registry that
is down, answers 5xx, 429 or 404 passes on to the next; an authentication
or digest error stops the pull. The whole image comes from one registry.
PullInfo lists the registries in the same order, and a push or load that
needs base layers fetches or mounts them from the first that has them.

**Auth and transport** (downloader `img_tool`). Credentials come from a
docker `config.json` (`auths`, `credHelpers`, `credsStore`): the file or
directory in `docker_config_path`, else in `IMG_DOCKER_CONFIG`, else the
directory `DOCKER_CONFIG`, else `~/.docker`. A credential helper of Bazel's
protocol in `IMG_CREDENTIAL_HELPER_OCI_REGISTRY` (else
`IMG_CREDENTIAL_HELPER`) is asked first. Repository rules see only the
environment Bazel passes and no build settings, so set these with
`--repo_env`, e.g. `common --repo_env=IMG_DOCKER_CONFIG=/home/me/.docker`.
A missing or wrong credential fails with the registry, the repository and
the config file in the message, never a secret. Plain HTTP is used only for
loopback registries and those listed in `IMG_INSECURE_REGISTRIES`
(comma-separated); `IMG_INSECURE=1` makes every registry insecure (plain
HTTP allowed, TLS certificates not verified). A private CA bundle can be
given in `IMG_REGISTRY_CA_FILE`. With downloader `bazel`, Bazel's downloader
fetches (its `--credential_helper`, netrc and
`--experimental_downloader_config` apply).

**Timeouts and bounds** (downloader `img_tool`). A registry that does not
connect within 30s, finish the TLS handshake within 30s, answer within 60s,
or sends nothing of a body for 60s fails the attempt (a mirror may then
serve); the whole pull, with retries and mirrors, has 10 minutes. Set them
with `--repo_env`: `IMG_REGISTRY_CONNECT_TIMEOUT`, `IMG_REGISTRY_TLS_TIMEOUT`,
`IMG_REGISTRY_HEADER_TIMEOUT`, `IMG_REGISTRY_IDLE_TIMEOUT`,
`IMG_REGISTRY_TOTAL_TIMEOUT` (e.g. `90s`, `20m`). Every blob must have
exactly the size its descriptor gives; error answers are read only to a few
KiB and reported by HTTP status and error code, never by their text.""",
)
