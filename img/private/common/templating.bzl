"""Templating and stamping of env, labels and annotations.

Values may use Go template syntax, e.g. `"{{.REGISTRY}}/app"` or
`"{{.BUILD_TIMESTAMP}}"`. Keys come from `build_settings` (name -> a
string, bool or int flag) and, when stamping, from Bazel's workspace status
(`STABLE_*` and `BUILD_*` keys). Build settings keep their type (bool, int,
string, list), so `{{if .FLAG}}` and `{{range .LIST}}` work. Only values
that contain `{{` cost an action; an unstamped target never reads the
workspace status, so it is not rebuilt when the status changes.

Templates that only name keys (`{{.KEY}}`, the common case) are expanded
by the build-action tool; a target with any other template (conditions,
ranges, pipelines, functions) is expanded by the full tool, which has the
whole Go template language and starts slower.

A build without stamping never fails for a key that only the workspace
status would give: in image configs (env, labels, annotations) such a key
expands to the empty string; in push and load destinations (tags,
registry, repository) the template is kept as written and the `bazel run`
refuses to push or load it, naming the key."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//img/private/common:build.bzl", "img_full_tool", "img_tool")
load("//img/private/common:compression.bzl", "layer_name")
load("//img/private/providers:stamp_setting_info.bzl", "StampSettingInfo")

TEMPLATING_ATTRS = {
    "build_settings": attr.string_keyed_label_dict(
        providers = [BuildSettingInfo],
        doc = "Template key -> a build setting (string, bool, int or string list) whose value the key stands for, with its type.",
    ),
    "stamp": attr.string(
        default = "auto",
        values = ["auto", "enabled", "disabled"],
        doc = """Whether templates see the workspace status (`--workspace_status_command`).
`enabled`: when Bazel's `--stamp` is given (or `//img/settings:stamp` is
`force`); `disabled`: never; `auto`: as `//img/settings:stamp` says (its
`auto` follows `--stamp`).""",
    ),
    "_stamp_setting": attr.label(
        default = "//img/private/settings:stamp",
        providers = [StampSettingInfo],
    ),
}

def stamping_enabled(ctx):
    """Whether ctx's target stamps.

    Args:
        ctx: rule context with TEMPLATING_ATTRS.

    Returns:
        bool
    """
    info = ctx.attr._stamp_setting[StampSettingInfo]
    if ctx.attr.stamp == "enabled":
        return build_stamps(ctx)
    if ctx.attr.stamp == "disabled":
        return False
    return info.enabled

def build_stamps(ctx):
    """Whether the build stamps: Bazel's `--stamp`, or `//img/settings:stamp=force`.

    Args:
        ctx: rule context with TEMPLATING_ATTRS.

    Returns:
        bool
    """
    info = ctx.attr._stamp_setting[StampSettingInfo]
    return info.bazel_setting or info.user_preference == "force"

_KEY_START = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
_KEY_CHARS = _KEY_START + "0123456789"

def _is_key_action(inner):
    field = inner.lstrip(" \t").rstrip(" \t")
    if len(field) < 2 or field[0] != "." or field[1] not in _KEY_START:
        return False
    for c in field[2:].elems():
        if c not in _KEY_CHARS:
            return False
    return True

def templates_are_simple(text):
    """Whether every template action in text only names a key.

    The same test as the tool's `template.IsSimple` (keep them equal): each
    `{{` starts an action that ends at the next `}}` and holds nothing but
    `.KEY`, with spaces or tabs around it, KEY of ASCII letters, digits and
    `_`, not starting with a digit. Run over the JSON encoding of a value,
    an action that spans two strings, or holds an escaped character, is not
    simple, which only sends it to the full tool.

    Args:
        text: a string.

    Returns:
        bool
    """
    parts = text.split("{{")
    for part in parts[1:]:
        end = part.find("}}")
        if end < 0 or not _is_key_action(part[:end]):
            return False
    return True

def expand_templates(ctx, name, values, unstamped_missing = "empty"):
    """Declares the expansion of templated values, if any.

    Args:
        ctx: rule context with TEMPLATING_ATTRS and the img toolchain.
        name: prefix of the output file.
        values: a JSON-encodable value (e.g. dict of group -> dict of string);
            every string in it may be a template.
        unstamped_missing: what a key that no source gives becomes when the
            target does not stamp: "empty" (an empty string) or "keep" (the
            whole string stays as written, for the launcher to report).
            With stamping such a key fails the action.

    Returns:
        File with the same structure, expanded, as JSON; or None when no
        string is a template (the plain values then apply as they are).
    """
    encoded = json.encode(values)
    if "{{" not in encoded:
        return None
    template = ctx.actions.declare_file(name + "_templates.json")
    ctx.actions.write(template, encoded)
    out = ctx.actions.declare_file(name + "_expanded.json")
    args = ctx.actions.args()
    args.add("expand-template")
    args.add("--name", layer_name(ctx.label))
    inputs = [template]
    for key, setting in ctx.attr.build_settings.items():
        args.add("--build-setting-json", "{}={}".format(key, json.encode(setting[BuildSettingInfo].value)))
    if stamping_enabled(ctx):
        args.add("--missing-key", "error")
        for f in [ctx.info_file, ctx.version_file]:
            args.add("--stamp", f)
            inputs.append(f)
    else:
        args.add("--missing-key", unstamped_missing)
    args.add(template)
    args.add(out)
    ctx.actions.run(
        executable = img_tool(ctx) if templates_are_simple(encoded) else img_full_tool(ctx),
        arguments = [args],
        inputs = inputs,
        outputs = [out],
        mnemonic = "ExpandTemplate",
        progress_message = "Expanding templates of %{label}",
    )
    return out
