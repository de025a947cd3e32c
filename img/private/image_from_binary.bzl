"""image_from_binary: a *_binary target as a runnable image or index."""

load("//img/private:index.bzl", "image_index")
load("//img/private:layer_from_binary.bzl", "layer_from_binary")
load("//img/private:manifest.bzl", "image_manifest")
load("//img/private:platform_image.bzl", "platform_image")

def image_from_binary(
        *,
        name,
        binary,
        path = "",
        include_runfiles = True,
        infer_working_dir = True,
        layer_budget = 0,
        layers = [],
        kind = "auto",
        platforms = [],
        visibility = None,
        tags = None,
        **kwargs):
    """A `*_binary` target as an image: layer_from_binary plus image_manifest or image_index.

    The binary and its runfiles become the top layer(s) (`<name>.layer`, a
    `layer_from_binary`), over `base` and `layers`. The image runs the
    binary as `bazel run` would: entrypoint = its path in the image, cmd =
    its `args`, env = its `env`, working directory = its runfiles' main
    repository. Every other keyword argument is an `image_manifest`
    attribute (base, env, labels, user, entrypoint, cmd, ...); set ones win
    over what the binary brings.

    ```starlark
    load("@rules_img//img:image.bzl", "image_from_binary")

    image_from_binary(
        name = "server_image",
        binary = "//cmd/server",
        base = "@debian",
        env = {"LOG_LEVEL": "info"},
    )

    # A multi-platform index: the binary is built for each platform.
    image_from_binary(
        name = "server_multiarch",
        binary = "//cmd/server",
        base = "@debian",
        platforms = ["//platforms:linux_amd64", "//platforms:linux_arm64"],
    )
    ```

    Targets: `<name>.layer`; `<name>` the image. For several platforms (or
    `kind = "index"`) `<name>` is an image_index over `<name>.manifest`; for
    exactly one platform `<name>` is that platform's image, built from
    `<name>.manifest`.

    Args:
        name: name of the image target.
        binary: the `*_binary` target to run.
        path: path of the executable in the image; see `layer_from_binary`.
        include_runfiles: False for a binary that needs no runfiles (a
            static executable): only the executable is added.
        infer_working_dir: True: the working directory is the runfiles'
            main repository; False: the base's or `working_dir` applies.
        layer_budget: most layers for the binary; see `layer_from_binary`.
        layers: further layers, below the binary's.
        kind: `auto` (an index for two or more platforms, else a single
            image), `manifest` (always a single image; at most one
            platform) or `index` (always an index).
        platforms: platforms to build for. Empty: the target platform.
        visibility: visibility of the image target (the others follow it).
        tags: tags of the image target; the intermediate targets also get
            `manual`.
        **kwargs: image_manifest attributes, plus common attributes such
            as `testonly`.
    """
    if kind not in ["auto", "manifest", "index"]:
        fail("image_from_binary {}: kind must be auto, manifest or index, not {}".format(name, repr(kind)))
    if kind == "manifest" and len(platforms) > 1:
        fail("image_from_binary {}: kind = \"manifest\" builds one platform, but {} are given".format(name, len(platforms)))
    make_index = kind == "index" or (kind == "auto" and len(platforms) > 1)
    tags = list(tags or [])
    hidden = tags + ([] if "manual" in tags else ["manual"])
    common = {k: kwargs[k] for k in ["testonly", "compatible_with", "target_compatible_with"] if k in kwargs}

    layer_from_binary(
        name = name + ".layer",
        binary = binary,
        path = path,
        include_runfiles = include_runfiles,
        infer_working_dir = infer_working_dir,
        layer_budget = layer_budget,
        visibility = visibility,
        tags = hidden,
        **common
    )
    if not make_index and not platforms:
        image_manifest(
            name = name,
            layers = layers + [name + ".layer"],
            visibility = visibility,
            tags = tags,
            **kwargs
        )
        return
    image_manifest(
        name = name + ".manifest",
        layers = layers + [name + ".layer"],
        visibility = visibility,
        tags = hidden,
        **kwargs
    )
    if not make_index:
        platform_image(
            name = name,
            image = name + ".manifest",
            platform = platforms[0],
            visibility = visibility,
            tags = tags,
            **common
        )
        return
    image_index(
        name = name,
        manifests = [name + ".manifest"],
        platforms = platforms,
        visibility = visibility,
        tags = tags,
        **common
    )
