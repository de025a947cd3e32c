"""WORKSPACE macros of rules_img (for repositories not yet on bzlmod).

```starlark
# WORKSPACE
load(
    "@rules_img//img:repositories.bzl",
    "img_register_toolchains",
    "pull_tool_register_prebuilt_repositories",
    "rules_img_dependencies",
)

rules_img_dependencies()  # also the pull tool that `pull` runs

img_register_toolchains()  # rules_img's lockfile, else built with the host's Go
# or: img_register_toolchains(lockfile = "//:img_lockfile.json")

# Or upstream's names (the same, without registering):
# img_register_prebuilt_toolchains()
# register_toolchains("@img_toolchain//:all")
# pull_tool_register_prebuilt_repositories()
```
"""

load("//img/private:dependencies.bzl", _rules_img_dependencies = "rules_img_dependencies")
load(
    "//img/private/repository_rules:workspace.bzl",
    _img_register_prebuilt_toolchains = "img_register_prebuilt_toolchains",
    _pull_tool_register_prebuilt_repositories = "pull_tool_register_prebuilt_repositories",
)

rules_img_dependencies = _rules_img_dependencies
img_register_prebuilt_toolchains = _img_register_prebuilt_toolchains
pull_tool_register_prebuilt_repositories = _pull_tool_register_prebuilt_repositories

def img_register_toolchains(name = "img_toolchain", lockfile = None, register = True):
    """Declares img toolchains for every platform and registers them.

    Args:
        name: name of the hub repository with the toolchains.
        lockfile: label of a prebuilt-binary lockfile (a JSON list of
            `{"version", "integrity", "os", "cpu", "url_templates"}`); its
            binaries are downloaded and their integrity checked. Platforms
            it does not list, and all of them when None, are built from
            source with the host's `go`.
        register: also call `register_toolchains("@<name>//:all")`.
    """
    _img_register_prebuilt_toolchains(name = name, lockfile = lockfile)
    if register:
        native.register_toolchains("@{}//:all".format(name))
