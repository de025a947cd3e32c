"""PushSettingsInfo: the push settings of a build."""

PushSettingsInfo = provider(
    doc = "The `//img/settings` values that pushes use, from `@rules_img//img/private/settings:push`.",
    fields = {
        "strategy": "string: `push_strategy` (eager, lazy, cas_registry or bes).",
        "destination_registry": "string: `destination_registry`; empty when unset.",
        "remote_cache": "string: `remote_cache`; empty when unset.",
        "remote_instance_name": "string: `remote_instance_name`; empty when unset.",
        "credential_helper": "string: `credential_helper`; empty when unset.",
    },
)
