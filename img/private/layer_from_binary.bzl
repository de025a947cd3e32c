"""layer_from_binary: a *_binary target, its runfiles and its run config as layers."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//img/private/common:build.bzl", "TOOLCHAINS")
load("//img/private/common:compression.bzl", "COMPRESSION_ATTRS", "compression", "layer_name")
load("//img/private/common:layer_action.bzl", "LAYER_DIRECTORY_ATTRS", "add_runfiles", "directory_options", "runfiles_inputs", "runfiles_path", "typed_source", "write_layer")
load("//img/private/providers:layer_config_info.bzl", "ImageLayerConfigInfo")
load("//img/private/providers:layers_info.bzl", "LayersInfo")

_BinaryRunInfo = provider(
    doc = "The `args` and `env` of a *_binary target, as `bazel run` would use them. Private to layer_from_binary.",
    fields = {
        "args": "list of string: the binary's `args`, locations expanded.",
        "env": "dict of string: RunEnvironmentInfo's environment, else the binary's `env` attribute, locations expanded.",
    },
)

def _run_info_aspect_impl(target, ctx):
    rule_attr = ctx.rule.attr
    targets = [target] + [t for t in getattr(rule_attr, "data", None) or [] if type(t) == "Target"]

    def expand(value):
        return ctx.expand_location(value, targets = targets)

    args = [expand(a) for a in getattr(rule_attr, "args", None) or []]
    if RunEnvironmentInfo in target:
        env = dict(target[RunEnvironmentInfo].environment)
    else:
        env = {k: expand(v) for k, v in (getattr(rule_attr, "env", None) or {}).items()}
    return [_BinaryRunInfo(args = args, env = env)]

_run_info_aspect = aspect(
    implementation = _run_info_aspect_impl,
    doc = "Reads `args` and `env` of the binary itself (not of its deps).",
)

def _clean(ctx, attr_name, path):
    clean = path.strip("/")
    if clean == "" or ".." in clean.split("/"):
        fail("{}: {} {} is not a path inside the image".format(ctx.label, attr_name, repr(path)))
    return clean

def _placement(ctx, exe):
    """Where the binary and its runfiles go, and how runfiles are shared."""
    path = ctx.attr.path
    if not path:
        path = runfiles_path(ctx.workspace_name, exe)
    elif path.endswith("/"):
        path = path + exe.basename
    path = _clean(ctx, "path", path)
    runfiles = _clean(ctx, "runfiles_path", ctx.attr.runfiles_path) if ctx.attr.runfiles_path else path + ".runfiles"
    mode = ctx.attr.runfiles_sharing_mode
    if mode == "auto":
        mode = ctx.attr._default_runfiles_sharing_mode[BuildSettingInfo].value
    if mode == "auto":
        # `auto` shares runfiles when the binary describes groups of them
        # (RunfilesGroupInfo); rules_img does not read that provider, so
        # `auto` keeps every binary's runfiles private.
        mode = "private"
    if mode not in ["shared", "private"]:
        fail("{}: //img/settings:runfiles_sharing_mode must be auto, shared or private, not {}".format(ctx.label, repr(mode)))
    shared = ctx.attr.runfiles_shared_path or ctx.attr._default_runfiles_shared_path[BuildSettingInfo].value
    return struct(
        path = path,
        runfiles = runfiles,
        shared = mode == "shared",
        content = _clean(ctx, "runfiles_shared_path", shared) if mode == "shared" else runfiles,
    )

def _runfiles_args(ctx, runfiles, content, **kwargs):
    """An `--add-from-file` param file of runfiles below `content` (see add_runfiles)."""
    args = ctx.actions.args()
    args.set_param_file_format("multiline")
    args.use_param_file("--add-from-file=%s", use_always = True)
    add_runfiles(args, ctx.workspace_name, runfiles, prefix = content + "/", **kwargs)
    return args

def _repo_of(ws, f):
    return runfiles_path(ws, f).split("/", 1)[0]

def _layer_from_binary_impl(ctx):
    exe = ctx.executable.binary
    info = ctx.attr.binary[DefaultInfo]
    run = ctx.attr.binary[_BinaryRunInfo]
    where = _placement(ctx, exe)
    fmt = compression.resolve(ctx, ctx.attr.compress, ctx.attr.estargz)
    dirs = directory_options(ctx)
    ws = ctx.workspace_name
    runfiles = info.default_runfiles if ctx.attr.include_runfiles else None

    main_args = ctx.actions.args()
    main_args.set_param_file_format("multiline")
    main_args.use_param_file("--add-from-file=%s", use_always = True)
    main_args.add(where.path + "\0" + typed_source(exe))
    main_inputs = [depset([exe])]

    # Repositories whose runfiles get a layer of their own: with shared
    # runfiles, every repository but the main one, so that binaries using
    # the same repository at the same version share that layer's blob.
    # Declaring one layer per repository needs the repository names at
    # analysis: shared mode is the one place that walks the runfiles there
    # (once per target); the default mode passes them to the action as a
    # depset.
    split = []
    if runfiles and where.shared:
        repos = sorted({_repo_of(ws, f): True for f in runfiles.files.to_list()}.keys())
        split = [r for r in repos if r != ws and r != "_repo_mapping"]
        budget = ctx.attr.layer_budget
        if budget < 0:
            fail("{}: layer_budget must be 0 (no limit) or positive, not {}".format(ctx.label, budget))
        if budget > 0:
            split = split[:budget - 1]

    entry_args = []
    if runfiles:
        main_repos = None
        if split:
            split_set = {r: True for r in split}
            main_repos = {r: True for r in repos if r not in split_set}
        empty = None
        if runfiles.empty_filenames:
            empty = ctx.actions.declare_file(ctx.label.name + "_empty_file")
            ctx.actions.write(empty, "")
            main_inputs.append(depset([empty]))
        entry_args.append(_runfiles_args(ctx, runfiles, where.content, repos = main_repos, empty = empty))
        main_inputs.append(runfiles_inputs(runfiles))
        if where.shared:
            # <path>.runfiles/<repo> -> the repository's directory in the
            # shared tree, as a relative link that works in any mount.
            rel = "../" * (where.runfiles.count("/") + 1) + where.content
            links = {r: True for r in repos if r != "_repo_mapping"}.keys()
            for r in links:
                main_args.add(where.runfiles + "/" + r + "\0l" + rel + "/" + r)
        repo_mapping = getattr(info.files_to_run, "repo_mapping_manifest", None)
        if repo_mapping:
            # Runfiles libraries resolve apparent repository names with it;
            # each binary has its own, so it never goes to the shared tree.
            main_args.add(where.runfiles + "/_repo_mapping\0" + typed_source(repo_mapping))
            main_args.add(where.path + ".repo_mapping\0" + typed_source(repo_mapping))
            main_inputs.append(depset([repo_mapping]))

    layers = []
    for i, repo in enumerate(split):
        layers.append(write_layer(
            ctx,
            basename = "{}_{}".format(ctx.label.name, i),
            fmt = fmt,
            dirs = dirs,
            entry_args = [_runfiles_args(ctx, runfiles, where.content, repos = {repo: True}, links = False)],
            inputs = [runfiles.files],
            name = "{} ({})".format(layer_name(ctx.label), repo),
        ))
    layers.append(write_layer(
        ctx,
        basename = ctx.label.name if not split else "{}_{}".format(ctx.label.name, len(split)),
        fmt = fmt,
        dirs = dirs,
        entry_args = [main_args] + entry_args,
        inputs = main_inputs,
    ))

    working_dir = None
    if runfiles and ctx.attr.infer_working_dir:
        working_dir = "/" + where.runfiles + "/" + ws
    blobs = [layer.blob for layer in layers]
    return [
        DefaultInfo(files = depset(blobs)),
        OutputGroupInfo(layer = depset(blobs), metadata = depset([layer.metadata for layer in layers]), mtree = depset([layer.mtree for layer in layers])),
        LayersInfo(layers = layers),
        ImageLayerConfigInfo(
            entrypoint = ["/" + where.path],
            cmd = run.args,
            env = run.env,
            working_dir = working_dir,
        ),
    ]

layer_from_binary = rule(
    implementation = _layer_from_binary_impl,
    doc = """A `*_binary` target as image layers, with what it needs to run.

The executable lands at `path`, its runfiles (files, symlinks, root
symlinks, empty files such as Python's `__init__.py`, and the repository
mapping that runfiles libraries read) below `<path>.runfiles/`, so the
binary finds them as it does under `bazel run`. The layer also tells the
image how to run it (ImageLayerConfigInfo): entrypoint = the binary's path,
cmd = its `args`, env = its `env` (or RunEnvironmentInfo), and the working
directory = the main repository's directory in the runfiles tree.
`image_manifest` applies these like Dockerfile instructions; its own
attributes override them.

With `runfiles_sharing_mode = "shared"` the runfiles go to one tree at
`runfiles_shared_path`, `<path>.runfiles/<repo>` become relative symlinks
into it, and every repository other than the main one gets a layer of its
own: binaries that use the same repository (an interpreter, a library)
produce byte-identical layers for it, stored once by registries and
runtimes. `layer_budget` caps the number of layers.

```starlark
load("@rules_img//img:layer.bzl", "layer_from_binary")
load("@rules_img//img:image.bzl", "image_manifest")

layer_from_binary(
    name = "server_layer",
    binary = "//cmd/server",
    path = "/app/bin/",          # /app/bin/server, /app/bin/server.runfiles/
)

image_manifest(
    name = "server_image",
    base = "@debian",
    layers = [":server_layer"],  # entrypoint, cmd, env, working_dir set
)
```

Output groups: `layer` (the blobs) and `metadata`.""",
    attrs = {
        "binary": attr.label(
            mandatory = True,
            executable = True,
            cfg = "target",
            aspects = [_run_info_aspect],
            doc = """The `*_binary` target. Its `args` become the image's cmd and its `env` (or
RunEnvironmentInfo) the image's env; `$(location)`-style references in them
are expanded against the binary and its `data`. Use `$(rootpath ...)`: it
is relative to the working directory the image gets.""",
        ),
        "path": attr.string(
            doc = """Path of the executable in the image. Ending in `/`: that directory, with
the executable's basename. Empty: its runfiles path, e.g.
`_main/cmd/server/server`, as `/_main/cmd/server/server`.""",
        ),
        "runfiles_path": attr.string(
            doc = "Path of the runfiles directory in the image. Empty: `<path>.runfiles`.",
        ),
        "runfiles_shared_path": attr.string(
            doc = """Path of the shared runfiles tree when runfiles are shared. Empty:
`//img/settings:runfiles_shared_path` (default `.shared_runfiles`, i.e.
`/.shared_runfiles`).""",
        ),
        "runfiles_sharing_mode": attr.string(
            default = "auto",
            values = ["auto", "shared", "private"],
            doc = """`private`: the runfiles live in `<path>.runfiles/`, in one layer with the
executable. `shared`: they live in `runfiles_shared_path`, one layer per
repository plus one for the main repository and the executable, and
`<path>.runfiles/<repo>` are symlinks into it. `auto`:
`//img/settings:runfiles_sharing_mode`, whose `auto` means `private` here
(rules_img does not read rules_runfiles_group's RunfilesGroupInfo).""",
        ),
        "include_runfiles": attr.bool(
            default = True,
            doc = "False: only the executable (e.g. a static binary); no runfiles and no working directory.",
        ),
        "infer_working_dir": attr.bool(
            default = True,
            doc = """True: the image's working directory becomes the main repository's
directory in the runfiles tree, where `bazel run` starts the binary (data
files are found by their `rootpath`). False: no opinion; the base's or the
manifest's `working_dir` applies.""",
        ),
        "layer_budget": attr.int(
            default = 0,
            doc = """Most layers to write with shared runfiles (0: no limit). The repositories
that do not fit (alphabetically last) go into the main layer. 1: one
layer.""",
        ),
        "compress": attr.string(
            default = "auto",
            values = ["auto", "gzip", "zstd", "none"],
            doc = "Compression of the blobs. `auto`: `//img/settings:compress`.",
        ),
        "_default_runfiles_sharing_mode": attr.label(
            default = "//img/settings:runfiles_sharing_mode",
            providers = [BuildSettingInfo],
            doc = "The setting behind `runfiles_sharing_mode = \"auto\"`.",
        ),
        "_default_runfiles_shared_path": attr.label(
            default = "//img/settings:runfiles_shared_path",
            providers = [BuildSettingInfo],
            doc = "The setting behind an empty `runfiles_shared_path`.",
        ),
    } | COMPRESSION_ATTRS | LAYER_DIRECTORY_ATTRS,
    toolchains = TOOLCHAINS,
    provides = [LayersInfo, ImageLayerConfigInfo],
)
