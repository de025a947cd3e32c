"""What the pull and pull_blob_* repository rules share: the environment
they hand to the pull tool, its registry flags, and the name they report."""

# Credentials and TLS settings the pull tool reads: a change re-fetches.
PULL_TOOL_ENVIRON = [
    "DOCKER_CONFIG",
    "IMG_CREDENTIAL_HELPER",
    "IMG_CREDENTIAL_HELPER_OCI_REGISTRY",
    "IMG_DOCKER_CONFIG",
    "IMG_INSECURE",
    "IMG_INSECURE_REGISTRIES",
    "IMG_REGISTRY_CA_FILE",
    "SSL_CERT_FILE",
]

DOCKER_CONFIG_PATH_DOC = """Docker config with the registry credentials, read instead
of `~/.docker/config.json`: a `config.json` file (any name) or the directory
holding one, as an absolute path or relative to the main workspace's root.
Empty: `IMG_DOCKER_CONFIG` (`--repo_env`), else `DOCKER_CONFIG`, else
`~/.docker`. Only for downloader `img_tool`."""

def insecure(rctx):
    """Whether IMG_INSECURE (set with --repo_env) asks for insecure registries.

    Args:
        rctx: a repository_ctx.

    Returns:
        bool
    """
    return rctx.os.environ.get("IMG_INSECURE", "").strip().lower() not in ["", "0", "false"]

def registry_flags(rctx, docker_config_path):
    """The pull tool's credential and transport flags.

    Args:
        rctx: a repository_ctx.
        docker_config_path: string, the rule's `docker_config_path` attribute.

    Returns:
        list of strings: --docker-config, --insecure, --insecure-registry,
        --ca-file and --credential-helper as the attribute and the
        environment ask.
    """
    env = rctx.os.environ
    args = []
    config = docker_config_path or env.get("IMG_DOCKER_CONFIG", "")
    if config:
        if not config.startswith("/"):
            config = str(rctx.workspace_root) + "/" + config
        args.extend(["--docker-config", config])
    if insecure(rctx):
        args.append("--insecure")
    for host in [h for h in env.get("IMG_INSECURE_REGISTRIES", "").split(",") if h]:
        args.extend(["--insecure-registry", host])
    if env.get("IMG_REGISTRY_CA_FILE"):
        args.extend(["--ca-file", env["IMG_REGISTRY_CA_FILE"]])
    helper = env.get("IMG_CREDENTIAL_HELPER_OCI_REGISTRY") or env.get("IMG_CREDENTIAL_HELPER")
    if helper:
        args.extend(["--credential-helper", helper])
    return args

# The tool's timeouts and blob size bound (see `pull_tool pull --help`);
# they do not change what is fetched, so they are not in `environ`.
_LIMITS_ENV = [
    "IMG_REGISTRY_CONNECT_TIMEOUT",
    "IMG_REGISTRY_TLS_TIMEOUT",
    "IMG_REGISTRY_HEADER_TIMEOUT",
    "IMG_REGISTRY_IDLE_TIMEOUT",
    "IMG_REGISTRY_TOTAL_TIMEOUT",
    "IMG_REGISTRY_MAX_BLOB_SIZE",
]

def limits_env(env):
    """The limit variables set in env, for the pull tool's environment.

    Args:
        env: dict, the repository rule's environment (rctx.os.environ).

    Returns:
        dict of the set IMG_REGISTRY_* limit variables.
    """
    return {k: env[k] for k in _LIMITS_ENV if env.get(k)}

def apparent_name(rctx):
    """The repository's name as the user wrote it (bzlmod or WORKSPACE).

    Args:
        rctx: a repository_ctx.

    Returns:
        string
    """
    return rctx.name.replace("+", "~").split("~")[-1]
