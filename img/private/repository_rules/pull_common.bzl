"""What the pull and pull_blob_* repository rules share: the environment
they hand to the pull tool, and the name they report."""

# Credentials and TLS settings the pull tool reads: a change re-fetches.
PULL_TOOL_ENVIRON = ["DOCKER_CONFIG", "IMG_DOCKER_CONFIG", "IMG_INSECURE_REGISTRIES", "IMG_REGISTRY_CA_FILE", "SSL_CERT_FILE"]

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
