"""Repositories rules_img needs in WORKSPACE mode; bzlmod gets them from MODULE.bazel."""

load("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")
load("@bazel_tools//tools/build_defs/repo:utils.bzl", "maybe")
load("//img/private/repository_rules:workspace.bzl", "PULL_TOOL_REPO", "pull_tool_register_prebuilt_repositories")

def rules_img_dependencies():
    """Declares what rules_img needs unless the WORKSPACE already has it.

    bazel_skylib and platforms, and `rules_img_pull_tool`, the tool the
    `pull` and `pull_blob_*` repository rules run: the host's entry of
    rules_img's `pull_tool_lockfile.json`, else built from source with the
    host's `go` (see `pull_tool_register_prebuilt_repositories` to choose
    another lockfile or a local binary).
    """
    maybe(
        http_archive,
        name = "bazel_skylib",
        sha256 = "bc283cdfcd526a52c3201279cda4bc298652efa898b10b4db0837dc51652756f",
        urls = ["https://github.com/bazelbuild/bazel-skylib/releases/download/1.7.1/bazel-skylib-1.7.1.tar.gz"],
    )
    maybe(
        http_archive,
        name = "platforms",
        sha256 = "218efe8ee736d26a3572663b374a253c012b716d8af0c07e842e82f238a0a7ee",
        urls = ["https://github.com/bazelbuild/platforms/releases/download/0.0.10/platforms-0.0.10.tar.gz"],
    )
    if not native.existing_rule(PULL_TOOL_REPO):
        pull_tool_register_prebuilt_repositories(name = PULL_TOOL_REPO)
