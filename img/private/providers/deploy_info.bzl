"""DeployInfo: one push or load operation, ready to run."""

DeployInfo = provider(
    doc = "A deploy operation (push or load) as `bazel run` executes it; multi_deploy merges several.",
    fields = {
        "command": "string: `push` or `load`.",
        "dispatch": "File: the deploy manifest of this one operation (dispatch.json format): a deploy plan that the launcher resolves from the runfiles, or, for the bes strategy, the resolved manifest.",
        "files": "dict of string -> File: the operation's runfiles, keyed by path below the operation's directory (e.g. `manifests/0/layer/1`).",
        "plan": "string or None: the JSON text of `dispatch` when it is a deploy plan (one entry in `planned_operations`, reading its files below the operation's directory); None when `dispatch` is a resolved deploy manifest (bes).",
        "strategy": "string: the resolved push or load strategy.",
    },
)
