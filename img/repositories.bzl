"""WORKSPACE macros of rules_img (for repositories not yet on bzlmod).

```starlark
# WORKSPACE
load("@rules_img//img:repositories.bzl", "img_register_toolchains", "rules_img_dependencies")

rules_img_dependencies()

img_register_toolchains()  # builds the img tool with the host's Go
# or: img_register_toolchains(lockfile = "//:img_lockfile.json")
```
"""

load("//img/private:dependencies.bzl", _rules_img_dependencies = "rules_img_dependencies")
load("//img/private/repository_rules:go_tool.bzl", "go_source_repo", "lockfile_repo")

rules_img_dependencies = _rules_img_dependencies

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
