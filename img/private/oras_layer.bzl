"""oras_layer: files and directories as one tar blob of an ORAS artifact."""

load("//img/private:layer.bzl", "image_layer")
load("//img/private:oras_file_layer.bzl", "oras_file_layer")

def oras_layer(
        name,
        title = "",
        annotations = {},
        compress = "gzip",
        create_parent_directories = "enabled",
        visibility = None,
        tags = None,
        **kwargs):
    """Files and directories as one tar blob that ORAS clients unpack into a directory.

    An `image_layer` writes the tar (gzip by default), and an
    `oras_file_layer` with `kind = "directory"` describes it with the ORAS
    annotations:

    - `org.opencontainers.image.title`: `title`, or the target name; the
      directory `oras pull` unpacks the blob into. The keys of `srcs`,
      `symlinks` and `file_metadata` are paths inside that directory, and
      the tar stores every entry below `<title>/`: ORAS clients refuse to
      unpack an entry outside it (`"x" is outside of "<title>"`), so
      `srcs = {"/bin/server": ...}` with title `app` is stored as
      `app/bin/server` and pulled as `./app/bin/server`.
    - `io.deis.oras.content.unpack`: `"true"`, so that ORAS clients unpack it.
    - `io.deis.oras.content.digest`: the diff_id (digest of the uncompressed
      tar), computed by the action that describes the blob.

    The blob is a tar layer, so it may go into an artifact manifest
    (`image_manifest` with `artifact_type`) or into an image. Besides the
    target `name` (LayerInfo), the macro declares `<name>_tar`, the
    `image_layer` that writes the blob.

    ```starlark
    load("@rules_img//img:oras.bzl", "oras_layer")

    oras_layer(
        name = "app_files",
        srcs = {
            "/bin/server": "//cmd/server",
            "/config.json": ":config",
        },
        title = "app",
    )
    ```

    Args:
        name: name of the target (LayerInfo of the annotated blob).
        title: value of `org.opencontainers.image.title`, the directory the
            blob is unpacked into; a name without `/`. Empty: `name`.
        annotations: further annotations of the blob's descriptor. They win
            over the title and `io.deis.oras.content.unpack`;
            `io.deis.oras.content.digest` may not be set.
        compress: compression of the tar: `gzip` (the default, as ORAS
            writes directories), `zstd`, `none`, or `auto` for
            `//img/settings:compress`.
        create_parent_directories: as `image_layer`'s; `enabled` by default,
            so that the unpacked tree has its directories.
        visibility: visibility of the target `name`.
        tags: tags of both targets.
        **kwargs: further attributes of `image_layer`: `srcs`, `symlinks`
            and `file_metadata` (dicts whose paths are placed below
            `<title>/`), `default_metadata`, `estargz`,
            `tree_artifact_handling`, and the common attributes.
    """
    title = title or name
    if "/" in title or title in ["", ".", ".."]:
        fail("oras_layer {}: title {} must be a directory name without /".format(name, repr(title)))
    for key in ["srcs", "symlinks", "file_metadata"]:
        paths = kwargs.get(key)
        if paths == None:
            continue
        if type(paths) != "dict":
            fail("oras_layer {}: {} must be a dict, not a select(): its paths are placed below {}/".format(name, key, title))
        kwargs[key] = {"/{}/{}".format(title, path.lstrip("/")): v for path, v in paths.items()}
    image_layer(
        name = name + "_tar",
        compress = compress,
        create_parent_directories = create_parent_directories,
        visibility = ["//visibility:private"],
        tags = tags,
        **kwargs
    )
    oras_file_layer(
        name = name,
        src = ":" + name + "_tar",
        kind = "directory",
        title = title,
        annotations = annotations,
        visibility = visibility,
        tags = tags,
        testonly = kwargs.get("testonly"),
        target_compatible_with = kwargs.get("target_compatible_with"),
    )
