"""Where the repository rules fetch from: registries in the order they are tried.

Pure functions, shared by `pull`, `pull_blob_file` and `pull_blob_archive`,
and tested by registry_sources_tests.bzl.
"""

DOCKER_HUB = "index.docker.io"

def _order(registry, registries):
    """The registries to try, in order.

    Mirrors (`registries`) come first, in the order given, then the primary
    `registry`. With neither, Docker Hub. A host named twice is tried once,
    at its first place.

    Args:
        registry: string, the primary registry; "" when unset.
        registries: list of string, the mirrors.

    Returns:
        A non-empty list of registry hosts.
    """
    out = []
    for r in list(registries) + ([registry] if registry else []):
        if r not in out:
            out.append(r)
    return out or [DOCKER_HUB]

def _check_host(where, host):
    """None, or an error message for a registry that cannot be a host."""
    if not host:
        return "{} has an empty registry".format(where)
    if "://" in host:
        return "{}: registry {} must be a host[:port] without a scheme".format(where, repr(host))
    if host != host.strip():
        return "{}: registry {} has surrounding whitespace".format(where, repr(host))
    return None

def _check(registry, registries):
    """None, or an error message for `registry` and `registries`.

    Args:
        registry: string, the primary registry; "" when unset.
        registries: list of string, the mirrors.

    Returns:
        None when both are usable, else a sentence naming the bad value.
    """
    if registry:
        err = _check_host("registry", registry)
        if err:
            return err
    for r in registries:
        err = _check_host("registries", r)
        if err:
            return err
    return None

def _resolve(repository, registry, registries, sources):
    """The (repository, registries) pairs to try, in order, or an error.

    Either `sources` (image repository -> registries; an empty list means
    Docker Hub) or `repository` with `registry` and `registries` (ordered by
    `order`) name where a blob lives, never both.

    Args:
        repository: string, the image repository; "" when unset.
        registry: string, the primary registry; "" when unset.
        registries: list of string, the mirrors.
        sources: dict of string -> list of string; {} when unset.

    Returns:
        struct(sources, error): `sources` is a list of
        struct(repository, registries), None on error; `error` is None or a
        sentence naming the bad value.
    """
    if sources:
        if repository or registry or registries:
            return struct(sources = None, error = "set either sources or repository (with registry, registries), not both")
        out = []
        for repo, regs in sources.items():
            if not repo:
                return struct(sources = None, error = "sources has an empty repository")
            err = _check(None, regs)
            if err:
                return struct(sources = None, error = "sources[{}]: {}".format(repr(repo), err))
            out.append(struct(repository = repo, registries = _order(None, regs)))
        return struct(sources = out, error = None)
    if not repository:
        return struct(sources = None, error = "set repository (or sources)")
    err = _check(registry, registries)
    if err:
        return struct(sources = None, error = err)
    return struct(sources = [struct(repository = repository, registries = _order(registry, registries))], error = None)

registry_sources = struct(
    order = _order,
    check = _check,
    resolve = _resolve,
)
