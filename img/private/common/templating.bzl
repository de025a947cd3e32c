"""Templating and stamping of env, labels and annotations.

Values may use Go template syntax, e.g. `"{{.REGISTRY}}/app"` or
`"{{.BUILD_TIMESTAMP}}"`. Keys come from `build_settings` (name -> a
string, bool or int flag) and, when stamping, from Bazel's workspace status
(`STABLE_*` and `BUILD_*` keys). Only values that contain `{{` cost an
action; an unstamped target never reads the workspace status, so it is not
rebuilt when the status changes."""

load("@bazel_skylib//rules:common_settings.bzl", "BuildSettingInfo")
load("//img/private/common:build.bzl", "img_tool")
load("//img/private/common:compression.bzl", "layer_name")
load("//img/private/settings:stamp.bzl", "StampSettingInfo")

TEMPLATING_ATTRS = {
    "build_settings": attr.string_keyed_label_dict(
        providers = [BuildSettingInfo],
        doc = "Template key -> a string, bool or int build setting whose value the key stands for.",
    ),
    "stamp": attr.string(
        default = "auto",
        values = ["auto", "enabled", "disabled"],
        doc = """Whether templates see the workspace status (`--workspace_status_command`).
`enabled`: always; `disabled`: never; `auto`: as `//img/settings:stamp` says
(whose `auto` follows Bazel's `--stamp`).""",
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
    if ctx.attr.stamp != "auto":
        return ctx.attr.stamp == "enabled"
    return ctx.attr._stamp_setting[StampSettingInfo].enabled

def expand_templates(ctx, name, values):
    """Declares the expansion of templated values, if any.

    Args:
        ctx: rule context with TEMPLATING_ATTRS and the img toolchain.
        name: prefix of the output file.
        values: a JSON-encodable value (e.g. dict of group -> dict of string);
            every string in it may be a template.

    Returns:
        File with the same structure, expanded, as JSON; or None when no
        string is a template (the plain values then apply as they are).
    """
    if "{{" not in json.encode(values):
        return None
    template = ctx.actions.declare_file(name + "_templates.json")
    ctx.actions.write(template, json.encode(values))
    out = ctx.actions.declare_file(name + "_expanded.json")
    args = ctx.actions.args()
    args.add("expand-template")
    args.add("--name", layer_name(ctx.label))
    inputs = [template]
    for key, setting in ctx.attr.build_settings.items():
        args.add("--build-setting", "{}={}".format(key, _setting_value(setting[BuildSettingInfo].value)))
    if stamping_enabled(ctx):
        for f in [ctx.info_file, ctx.version_file]:
            args.add("--stamp", f)
            inputs.append(f)
    args.add(template)
    args.add(out)
    ctx.actions.run(
        executable = img_tool(ctx),
        arguments = [args],
        inputs = inputs,
        outputs = [out],
        mnemonic = "ExpandTemplate",
        progress_message = "Expanding templates of %{label}",
    )
    return out

def _setting_value(v):
    if type(v) == "bool":
        return "true" if v else "false"
    return str(v)
