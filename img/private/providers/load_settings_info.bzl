"""LoadSettingsInfo: the load settings of a build."""

LoadSettingsInfo = provider(
    doc = "The `//img/settings` values that loads use, from `@rules_img//img/private/settings:load`.",
    fields = {
        "strategy": "string: `load_strategy` (eager or lazy).",
        "daemon": "string: `load_daemon` (docker, containerd, podman, containerization, tar or generic).",
        "remote_cache": "string: `remote_cache`; empty when unset.",
        "remote_instance_name": "string: `remote_instance_name`; empty when unset.",
        "credential_helper": "string: `credential_helper`; empty when unset.",
    },
)
