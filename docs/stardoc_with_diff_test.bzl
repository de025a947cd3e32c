"""Generated reference pages with a drift test and an update target."""

load("@bazel_skylib//rules:diff_test.bzl", "diff_test")
load("@stardoc//stardoc:stardoc.bzl", "stardoc")

def stardoc_pages(name, pages, deps = []):
    """One stardoc target, one diff_test per page, and `<name>:update`.

    Args:
        name: prefix of the `update` target (`update` when name is "docs").
        pages: dict of page name (docs/<page>.md) -> bzl_library label whose
            single .bzl source is documented.
        deps: further .bzl files that every page's sources load.
    """
    updates = []
    for page, lib in pages.items():
        src = lib + ".bzl"
        stardoc(
            name = page + "_gen",
            out = page + ".gen.md",
            input = src,
            deps = [lib] + deps,
            tags = ["manual"],
        )
        diff_test(
            name = page + "_drift_test",
            file1 = page + ".gen.md",
            file2 = page + ".md",
            failure_message = "docs/{}.md is out of date: run `bazel run //docs:update`".format(page),
        )
        updates.append((page + ".gen.md", page + ".md"))
    native.sh_binary(
        name = "update" if name == "docs" else name + "_update",
        srcs = ["update.sh"],
        args = ["$(rootpath {}) {}".format(gen, dst) for gen, dst in updates],
        data = [gen for gen, _ in updates],
    )
