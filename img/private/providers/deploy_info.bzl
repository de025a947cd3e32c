"""DeployInfo: one push or load operation, ready to run."""

DeployInfo = provider(
    doc = "A deploy operation (push or load) as `bazel run` executes it; multi_deploy merges several.",
    fields = {
        "command": "string: `push` or `load`.",
        "dispatch": "File: the deploy manifest of this one operation (dispatch.json format).",
        "files": "dict of string -> File: the operation's runfiles, keyed by path below the operation's directory (e.g. `manifests/0/layer/1`).",
        "strategy": "string: the resolved push or load strategy.",
    },
)
