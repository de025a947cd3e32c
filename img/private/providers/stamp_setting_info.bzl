"""StampSettingInfo: whether templates see the workspace status."""

StampSettingInfo = provider(
    doc = """The stamping settings of a build, from `@rules_img//img/private/settings:stamp`.
Rules that template values (env, labels, tags) read it to decide whether
their templating action reads Bazel's workspace status files.""",
    fields = {
        "bazel_setting": "bool: Bazel's `--stamp`.",
        "user_preference": "string: `//img/settings:stamp`, as `auto`, `force` or `disabled` (`enabled` reads as `auto`).",
        "enabled": "bool: whether a target with `stamp = \"auto\"` stamps: `force`, or `auto` with `--stamp`.",
    },
)
