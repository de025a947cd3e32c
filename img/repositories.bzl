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

img_register_toolchains()  # builds the img tool with the host's Go
# or: img_register_toolchains(lockfile = "//:img_lockfile.json")

# Optional, upstream's names: tools from a prebuilt lockfile, falling back
# to a source build for a host the lockfile does not list.
# img_register_prebuilt_toolchains()
# register_toolchains("@img_toolchain//:all")
# pull_tool_register_prebuilt_repositories()
```
"""

load("//img/private:dependencies.bzl", _rules_img_dependencies = "rules_img_dependencies")
load("//img/private/repository_rules:go_tool.bzl", "go_source_repo", "lockfile_repo")
load(
    "//img/private/repository_rules:workspace.bzl",
    _img_register_prebuilt_toolchains = "img_register_prebuilt_toolchains",
    _pull_tool_register_prebuilt_repositories = "pull_tool_register_prebuilt_repositories",
)

rules_img_dependencies = _rules_img_dependencies
img_register_prebuilt_toolchains = _img_register_prebuilt_toolchains
pull_tool_register_prebuilt_repositories = _pull_tool_register_prebuilt_repositories

def img_register_toolchains(name = "img_toolchain", lockfile = None, register = True):
    """Declares the img tool repository and registers its toolchain.

    Args:
        name: name of the repository holding the tool and its toolchain.
        lockfile: label of a prebuilt-binary lockfile (a JSON list of
            `{"version", "integrity", "os", "cpu", "url_templates"}`); the
            host's binary is downloaded and its integrity checked. When
            None, the tool is built from source with the host's `go`.
        register: also call `register_toolchains("@<name>//:all")`.
    """
    if lockfile:
        lockfile_repo(name = name, binary = "img", lockfile = lockfile)
    else:
        go_source_repo(
            name = name,
            go_mod = Label("//img_tool:go.mod"),
            package = "./cmd/img",
            binary = "img",
        )
    if register:
        native.register_toolchains("@{}//:all".format(name))
