"""image_structure_test: container-structure-test configs checked on an image's metadata and file listings."""

load("@platforms//host:constraints.bzl", "HOST_CONSTRAINTS")
load("//img/private/common:build.bzl", "TOOLCHAIN", "TOOLCHAINS", "img_full_tool", "img_tool")
load("//img/private/common:deploy.bzl", "target_label")
load("//img/private/providers:index_info.bzl", "ImageIndexInfo")
load("//img/private/providers:manifest_info.bzl", "ImageManifestInfo")

_ATTRS = {
    "image": attr.label(
        mandatory = True,
        doc = """The image to check: an `image_manifest`, or an `image_index` (every
manifest of it is checked against every config); only its config JSON, the
file listings (`LayerInfo.mtree`) and the metadata of its layers reach the
test, and no layer blob is built for it or read by it; only base layers
that arrive as blobs without a listing (an eager `pull`, an imported OCI
layout) are listed by one build action each. Or a target with
the output groups `mtree` and `oci_image_config` (another ruleset's image
that lists its file system): their files, sorted by path, pair up as the
listing and the config of one image each. Or a target whose
only file is an OCI image layout directory (e.g. the `oci_layout` output
group of an image, or another ruleset's image): an action reads the layout
once at build time (every layer blob, size and digest checked) and writes
its image configs and layer listings, which alone reach the test; a layer
blob the layout lacks (a shallow layout) has no listing.""",
    ),
    "configs": attr.label_list(
        mandatory = True,
        allow_empty = False,
        allow_files = [".yaml", ".yml", ".json"],
        doc = "container-structure-test config files (schemaVersion 2.0.0), YAML or JSON.",
    ),
}

# The request and every file it names sit below this runfiles directory.
_ROOT = "image_structure_test/"

def _platform(m):
    p = "{}/{}".format(m.os, m.architecture)
    variant = (getattr(m, "platform", None) or {}).get("variant", "")
    return p + ("/" + variant if variant else "")

def _layout_metadata(ctx, layout):
    """The action that describes an OCI layout directory; returns its output directory."""
    out = ctx.actions.declare_directory(ctx.label.name + "_oci_layout_metadata")
    ctx.actions.run(
        executable = img_full_tool(ctx),
        arguments = ["oci-layout-metadata", "--src", layout.path, "--output", out.path],
        inputs = [layout],
        outputs = [out],
        mnemonic = "OCILayoutStructureMeta",
        progress_message = "Listing the layers of the OCI layout of %{label}",
    )
    return out

def _list_blob(ctx, layer, key):
    """A listing for a tar layer whose blob is here but was never listed.

    Pulled (eager) and imported base layers arrive as blobs without a
    listing; one action per such layer reads it at build time, as the layer
    rules would have. The test itself still sees no blob. Returns None for a
    layer without a blob (shallow) or one that is not a tar (an artifact).
    """
    if layer.blob == None or "tar" not in layer.media_type:
        return None
    listing = ctx.actions.declare_file("{}_listings/{}.mtree".format(ctx.label.name, key))
    scratch = ctx.actions.declare_file("{}_listings/{}.json".format(ctx.label.name, key))
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = ["layer-metadata", "--mtree", listing.path, layer.blob.path, scratch.path],
        inputs = [layer.blob],
        outputs = [listing, scratch],
        mnemonic = "LayerListing",
        progress_message = "Listing the files of base layer %s of %%{label}" % key,
    )
    return listing

def _has_listing_groups(target):
    groups = target[OutputGroupInfo] if OutputGroupInfo in target else None
    return groups != None and hasattr(groups, "mtree") and hasattr(groups, "oci_image_config")

def _output_group_images(target, files):
    """Images of a target with `mtree` and `oci_image_config` output groups.

    The files of the two groups, each sorted by path, pair up: the n-th
    listing (of the whole file system) with the n-th config. Adds the
    runfiles to `files`; returns the request's image entries.
    """
    groups = target[OutputGroupInfo]
    mtrees = sorted(groups.mtree.to_list(), key = lambda f: f.short_path)
    configs = sorted(groups.oci_image_config.to_list(), key = lambda f: f.short_path)
    if len(mtrees) != len(configs) or not mtrees:
        fail("image {}: output groups mtree ({} files) and oci_image_config ({} files) must pair up".format(target.label, len(mtrees), len(configs)))
    images = []
    for i, (mtree, config) in enumerate(zip(mtrees, configs)):
        prefix = "{}groups/{}/".format(_ROOT, i)
        files[prefix + "config.json"] = config
        files[prefix + "fs.mtree"] = mtree
        images.append({
            "name": "{} {}".format(target_label(target.label), config.short_path),
            "config": prefix + "config.json",
            "layers": [{"metadata": "", "mtree": prefix + "fs.mtree"}],
        })
    return images

def _image_structure_test_impl(ctx):
    image = ctx.attr.image
    files = {}
    layouts = []
    manifests = []
    images = []
    if ImageIndexInfo in image:
        manifests = image[ImageIndexInfo].manifests
    elif ImageManifestInfo in image:
        manifests = [image[ImageManifestInfo]]
    elif _has_listing_groups(image):
        images = _output_group_images(image, files)
    else:
        outputs = image[DefaultInfo].files.to_list()
        if len(outputs) != 1 or not outputs[0].is_directory:
            fail("{}: image {} is not an image_manifest or image_index, has not the output groups mtree and oci_image_config, and is not a single OCI image layout directory (it has {} files{})".format(
                ctx.label,
                image.label,
                len(outputs),
                "" if len(outputs) != 1 else ", not a directory",
            ))
        files[_ROOT + "layout"] = _layout_metadata(ctx, outputs[0])
        layouts.append({"name": target_label(image.label), "path": _ROOT + "layout"})
    if not manifests and not layouts and not images:
        fail("{}: image {} has no manifests to check".format(ctx.label, image.label))

    configs = []
    for i, f in enumerate(ctx.files.configs):
        path = "{}configs/{}/{}".format(_ROOT, i, f.basename)
        files[path] = f
        configs.append({"name": f.short_path, "path": path})
    for i, m in enumerate(manifests):
        prefix = "{}images/{}/".format(_ROOT, i)
        files[prefix + "config.json"] = m.config
        layers = []
        for j, layer in enumerate(m.layers):
            entry = {"metadata": prefix + "layers/{}.json".format(j), "mtree": ""}
            files[entry["metadata"]] = layer.metadata

            # Rules that build LayerInfo without a listing (and base layers
            # that were never downloaded) leave the field unset or None.
            mtree = getattr(layer, "mtree", None) or _list_blob(ctx, layer, "{}_{}".format(i, j))
            if mtree:
                entry["mtree"] = prefix + "layers/{}.mtree".format(j)
                files[entry["mtree"]] = mtree
            layers.append(entry)
        images.append({
            "name": "{} {}".format(target_label(image.label), _platform(m)),
            "config": prefix + "config.json",
            "layers": layers,
        })

    request = ctx.actions.declare_file(ctx.label.name + "_structure_test.json")
    ctx.actions.write(request, json.encode({"configs": configs, "images": images, "layouts": layouts}))
    files[_ROOT + "request.json"] = request

    # img runs as the test itself: under the name image-structure-test it
    # is that command and finds the request in its runfiles.
    exe = ctx.actions.declare_file(ctx.label.name + "/image-structure-test")
    tool = ctx.exec_groups["test"].toolchains[TOOLCHAIN].imgtoolchaininfo.tool_exe
    ctx.actions.symlink(output = exe, target_file = tool, is_executable = True)
    return [DefaultInfo(executable = exe, runfiles = ctx.runfiles(root_symlinks = files))]

image_structure_test = rule(
    implementation = _image_structure_test_impl,
    attrs = _ATTRS,
    test = True,
    toolchains = TOOLCHAINS,
    # The test runs the img tool of the host, on a platform like the host.
    exec_groups = {
        "test": exec_group(
            exec_compatible_with = HOST_CONSTRAINTS,
            toolchains = TOOLCHAINS,
        ),
    },
    doc = """Checks an image against container-structure-test configs without its layer blobs.

The configs are those of container-structure-test (schemaVersion 2.0.0,
YAML or JSON). The test reads only the image config JSON and the file
listing of each layer, which the action that wrote (or read) the layer blob
made in the same pass (`LayerInfo.mtree`, BSD mtree text). So the test
builds no blob, downloads none from a remote cache, and runs in
milliseconds; in exchange it can answer only what the metadata and the
listings answer:

- `metadataTest`: `env` / `envVars` (with `isRegex`), `unboundEnv`,
  `labels` (with `isRegex`), `entrypoint`, `cmd`, `workdir`, `user`,
  `exposedPorts` ("8080" or "8080/tcp"), `unexposedPorts`, `volumes`,
  `unmountedVolumes`, against the image config.
- `fileExistenceTests`: `path` (with `$VAR` from the image env),
  `shouldExist`, `permissions` (as Go's `fs.FileMode` prints them, e.g.
  `-rwxr-xr-x`; a symlink is `Lrwxrwxrwx` as on Linux, a hardlink has the
  mode and owners of its target), `uid`, `gid`, `isExecutableBy`, against
  the layers merged in order: whiteouts (`.wh.<name>`) and opaque
  directories (`.wh..wh..opq`) applied, symlinks in parent directories
  followed, the last element not.
- `licenseTests` with `debian: true`: every package directory in
  `/usr/share/doc` holds a `copyright` file. The texts are not scanned for
  forbidden licenses (that needs the bytes); the PASS line says so.
- `commandTests`, `fileContentTests` and `licenseTests` `files` need a
  running container or file bytes: each is reported as unsupported and
  FAILS the test, so a migrated config shows what does not carry over.

A layer without a listing (a base layer of a shallow pull, whose bytes
were never seen, or a layer from a rule that writes no listing) makes every
answer it could change unknown: such a test fails and names the layer,
while what upper layers decide (a file they add, a whiteout) is still
answered.

The output is one PASS/FAIL line per test and image, the problems of a
failure each naming the config file, the test and the path or field, and
`Summary: N passed, N failed`.

`image` is a rules_img image (`image_manifest` or `image_index`), a
target with `mtree` and `oci_image_config` output groups, or a target whose
one file is an OCI image layout directory, which an action reads at build
time (not the test) to list its layers.

```starlark
load("@rules_img//img:test.bzl", "image_structure_test")

image_structure_test(
    name = "hello_structure_test",
    image = ":hello",
    configs = ["hello.yaml"],
)
```""",
)
