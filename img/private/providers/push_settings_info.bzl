"""PushSettingsInfo: the push settings of a build."""

PushSettingsInfo = provider(
    doc = "The `//img/settings` values that pushes use, from `@rules_img//img/private/settings:push`.",
    fields = {
        "strategy": "string: `push_strategy` (eager, lazy, cas_registry or bes).",
        "destination_registry": "string: `destination_registry`; empty when unset.",
        "remote_cache": "string: `remote_cache`; empty when unset.",
        "remote_instance_name": "string: `remote_instance_name`; empty when unset.",
        "credential_helper": "string: `credential_helper`; empty when unset.",
        "credential_helper_oci_registry": "string: `credential_helper_oci_registry`, the helper of registry calls (before `credential_helper`); empty when unset.",
        "credential_helper_remote_cache": "string: `credential_helper_remote_cache`, the helper of remote cache calls (before `credential_helper`); empty when unset.",
        "docker_config_path": "string: `docker_config_path`, a config.json or its directory; empty when unset.",
        "insecure": "bool: `insecure` is enabled (plain HTTP and unverified TLS for every registry).",
    },
)
