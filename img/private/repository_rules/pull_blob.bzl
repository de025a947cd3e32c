"""pull_blob_file, pull_blob_archive: one blob from a registry, by digest."""

load(":pull_common.bzl", "DOCKER_CONFIG_PATH_DOC", "PULL_TOOL_ENVIRON", "apparent_name", "insecure", "limits_env", "registry_flags")
load(":registry_sources.bzl", "registry_sources")

_SOURCE_ATTRS = {
    "registry": attr.string(doc = """Primary registry host, e.g. `gcr.io` or `127.0.0.1:5000`. With
neither `registry`, `registries` nor `sources`, Docker Hub (`index.docker.io`)."""),
    "registries": attr.string_list(doc = "Mirrors, tried in order before `registry`."),
    "repository": attr.string(doc = "Image repository on the registries, e.g. `library/ubuntu`. Required unless `sources` is set."),
    "sources": attr.string_list_dict(doc = """Instead of `repository`, `registry` and `registries`: image
repository -> registries that serve it, e.g.
`{"library/ubuntu": ["mirror.example.com", "index.docker.io"]}`. The pairs
are tried in order; an empty list means Docker Hub."""),
    "digest": attr.string(mandatory = True, doc = "Digest of the blob, `sha256:<64 hex digits>`; the download must hash to it."),
    "downloader": attr.string(
        default = "img_tool",
        values = ["img_tool", "bazel"],
        doc = """`img_tool`: the pull tool, with docker config.json credentials
(`docker_config_path`, `IMG_DOCKER_CONFIG`, `DOCKER_CONFIG`, `~/.docker`),
`IMG_INSECURE`, `IMG_INSECURE_REGISTRIES` and `IMG_REGISTRY_CA_FILE`, as for
`pull`. `bazel`: Bazel's downloader (its `--credential_helper`, netrc and
repository cache apply; anonymous otherwise).""",
    ),
    "docker_config_path": attr.string(doc = DOCKER_CONFIG_PATH_DOC),
    "_pull_tool": attr.label(default = "@rules_img_pull_tool//:pull_tool", allow_single_file = True),
}


def _where(sources, digest):
    """`repo@digest from reg1, reg2; repo2@digest from ...` for error messages."""
    return "; ".join(["{}@{} from {}".format(s.repository, digest, ", ".join(s.registries)) for s in sources])

def _sources(rctx, kind):
    """Validated attributes: the (repository, registries) pairs to try."""
    prefix = "{} {}".format(kind, apparent_name(rctx))
    d = rctx.attr.digest
    if not (d.startswith("sha256:") and len(d) == 71 and not d[7:].strip("0123456789abcdef")):
        fail("{}: digest {} is not sha256:<64 lowercase hex digits>".format(prefix, repr(d)))
    res = registry_sources.resolve(rctx.attr.repository, rctx.attr.registry, rctx.attr.registries, rctx.attr.sources)
    if res.error:
        fail("{}: {}".format(prefix, res.error))
    return res.sources

def _insecure(rctx):
    return [h for h in rctx.os.environ.get("IMG_INSECURE_REGISTRIES", "").split(",") if h]

def _url(registry, repository, digest, insecure_hosts, plain_http):
    """Plain HTTP only for loopback hosts, those in IMG_INSECURE_REGISTRIES
    and, with IMG_INSECURE, every host."""
    host = registry.split("/")[0]
    loopback = host.startswith("127.") or host.startswith("localhost") or host.startswith("[::1]")
    scheme = "http" if loopback or plain_http or host in insecure_hosts else "https"
    return "{}://{}/v2/{}/blobs/{}".format(scheme, registry, repository, digest)

def _download_with_tool(rctx, kind, sources, output, executable):
    tool = rctx.path(rctx.attr._pull_tool)
    env = rctx.os.environ
    common = ["--digest", rctx.attr.digest, "--output", output]
    if executable:
        common.append("--executable")
    common.extend(registry_flags(rctx, rctx.attr.docker_config_path))
    errors = []
    for s in sources:
        args = [tool, "download-blob", "--repository", s.repository]
        for r in s.registries:
            args.extend(["--registry", r])
        res = rctx.execute(args + common, timeout = 3600, quiet = True, environment = limits_env(env))
        if res.return_code == 0:
            return
        errors.append((res.stderr or res.stdout).strip())
    fail("{} {}: cannot fetch blob {}:\n{}".format(kind, apparent_name(rctx), _where(sources, rctx.attr.digest), "\n".join(errors)))

def _download_with_bazel(rctx, kind, sources, output, executable):
    hosts, plain_http = _insecure(rctx), insecure(rctx)
    urls = [_url(r, s.repository, rctx.attr.digest, hosts, plain_http) for s in sources for r in s.registries]
    res = rctx.download(
        url = urls,
        output = output,
        sha256 = rctx.attr.digest.removeprefix("sha256:"),
        executable = executable,
        allow_fail = True,
    )
    if not res.success:
        # Bazel's downloader has printed each URL's failure as a warning.
        fail("{} {}: cannot fetch blob {} with Bazel's downloader (see the warnings above)".format(kind, apparent_name(rctx), _where(sources, rctx.attr.digest)))

def _download(rctx, kind, sources, output, executable = False):
    """Fetches the blob to output, verified against the digest."""
    if rctx.attr.downloader == "bazel":
        _download_with_bazel(rctx, kind, sources, output, executable)
    else:
        _download_with_tool(rctx, kind, sources, output, executable)

_FILE_ATTRS = dict(_SOURCE_ATTRS)
_FILE_ATTRS.update({
    "downloaded_file_path": attr.string(default = "blob", doc = "Path of the blob in the repository."),
    "executable": attr.bool(default = False, doc = "Make the downloaded file executable."),
    "handling": attr.string(
        default = "eager",
        values = ["eager", "lazy"],
        doc = """`eager`: the repository rule downloads the blob. `lazy`: a build
action downloads it when something needs it (the img toolchain's
`download-blob`; needs network in the build; one repository only, and
`downloaded_file_path` and `executable` do not apply).""",
    ),
})

def _pull_blob_file_impl(rctx):
    sources = _sources(rctx, "pull_blob_file")
    path = rctx.attr.downloaded_file_path
    if not path or path.startswith("/") or ".." in path.split("/"):
        fail("pull_blob_file {}: downloaded_file_path {} must be a relative path inside the repository".format(apparent_name(rctx), repr(path)))
    if rctx.attr.handling == "lazy":
        if len(sources) != 1:
            fail("pull_blob_file {}: handling = \"lazy\" takes one repository, not {}".format(apparent_name(rctx), len(sources)))
        rctx.file("BUILD.bazel", """load("@rules_img//img/private:download_blobs.bzl", "download_blobs")

download_blobs(
    name = "blob",
    digests = [{digest}],
    registries = {registries},
    repository = {repository},
    tags = ["requires-network"],
    visibility = ["//visibility:public"],
)

alias(
    name = "output",
    actual = ":blob",
    visibility = ["//visibility:public"],
)
""".format(
            digest = repr(rctx.attr.digest),
            registries = repr(sources[0].registries),
            repository = repr(sources[0].repository),
        ))
    else:
        _download(rctx, "pull_blob_file", sources, path, rctx.attr.executable)
        rctx.file("BUILD.bazel", """exports_files([{path}], visibility = ["//visibility:public"])

filegroup(
    name = "output",
    srcs = [{path}],
    visibility = ["//visibility:public"],
)
""".format(path = repr(path)))
    rctx.file("file/BUILD.bazel", """alias(
    name = "file",
    actual = "//:output",
    visibility = ["//visibility:public"],
)
""")

pull_blob_file = repository_rule(
    implementation = _pull_blob_file_impl,
    attrs = _FILE_ATTRS,
    environ = PULL_TOOL_ENVIRON,
    doc = """One blob from a registry, as a file (like `http_file`).

The blob is addressed by its digest and checked against it. `@name//file`
(and `@name//:output`) is the file, at `downloaded_file_path` (`blob`).

```starlark
pull_blob_file = use_repo_rule("@rules_img//img/private/repository_rules:pull_blob.bzl", "pull_blob_file")

pull_blob_file(
    name = "tool",
    digest = "sha256:...",
    executable = True,
    registry = "ghcr.io",
    repository = "example/tools",
)
```

Mirrors in `registries` are tried before `registry`, as for `pull`; a
registry that is down, answers 5xx, 429 or 404 passes on to the next. A
failed fetch names the repository rule, the image repository, the
registries and the digest.""",
)

_ARCHIVE_ATTRS = dict(_SOURCE_ATTRS)
_ARCHIVE_ATTRS.update({
    "build_file_content": attr.string(mandatory = True, doc = "Content of the BUILD file at the root of the extracted archive."),
    "type": attr.string(doc = """Archive type, as a file extension: `tar`, `tar.gz`, `tgz`, `tar.zst`,
`tar.xz`, `zip`, ... Empty: `tgz` (an OCI layer is usually a gzipped tar)."""),
    "strip_prefix": attr.string(doc = "Directory prefix to strip from the extracted files."),
})

def _pull_blob_archive_impl(rctx):
    sources = _sources(rctx, "pull_blob_archive")
    archive = "archive." + (rctx.attr.type or "tgz")
    _download(rctx, "pull_blob_archive", sources, archive)
    rctx.extract(archive = archive, stripPrefix = rctx.attr.strip_prefix)  # strip_prefix from Bazel 8 on
    rctx.delete(archive)
    rctx.file("BUILD.bazel", rctx.attr.build_file_content)

pull_blob_archive = repository_rule(
    implementation = _pull_blob_archive_impl,
    attrs = _ARCHIVE_ATTRS,
    environ = PULL_TOOL_ENVIRON,
    doc = """One blob from a registry, extracted (like `http_archive`).

The blob is addressed by its digest and checked against it before it is
extracted; `build_file_content` becomes the repository's BUILD file. A layer
of an image is such a blob: a (usually gzipped) tar.

```starlark
pull_blob_archive = use_repo_rule("@rules_img//img/private/repository_rules:pull_blob.bzl", "pull_blob_archive")

pull_blob_archive(
    name = "busybox_rootfs",
    build_file_content = 'exports_files(["bin/busybox"])',
    digest = "sha256:...",
    repository = "library/busybox",  # Docker Hub: no registry given
)
```

Registries are tried as for `pull_blob_file`.""",
)
