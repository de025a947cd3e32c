"""Checks of push destinations at analysis time.

The same grammar as the launcher's checks (distribution's reference
grammar), so that `bazel build` refuses a name that `bazel run` would. Empty
values (given at run time) and values with template text (expanded by the
build or refused by the launcher) are not checked here.
"""

_ALNUM_LOWER = "abcdefghijklmnopqrstuvwxyz0123456789"
_ALNUM = _ALNUM_LOWER + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_WORD = _ALNUM + "_"
_MAX_NAME = 255

def _has_template(s):
    return "{{" in s

def _only(s, chars):
    for c in s.elems():
        if c not in chars:
            return False
    return True

def _registry_problem(host):
    name, port = host, ""
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return "unclosed ["
        name, rest = host[1:end], host[end + 1:]
        if not name or not _only(name, "0123456789abcdefABCDEF:."):
            return "not an IPv6 address in brackets"
        if rest:
            if not rest.startswith(":"):
                return "text after ]"
            port = rest[1:]
            if not port:
                return "empty port"
    else:
        i = host.rfind(":")
        if i >= 0:
            name, port = host[:i], host[i + 1:]
            if not port:
                return "empty port"
        if not name:
            return "empty host name"
        for label in name.split("."):
            if not label or not _only(label, _ALNUM + "-") or label.startswith("-") or label.endswith("-"):
                return "{} is not a valid host name label".format(repr(label))
    if port and (not _only(port, "0123456789") or int(port) < 1 or int(port) > 65535):
        return "port {} is not a number from 1 to 65535".format(repr(port))
    return None

def _path_component_ok(c):
    # Runs of [a-z0-9] joined by ".", "_", "__" or one or more dashes.
    if not c or not _only(c, _ALNUM_LOWER + "._-"):
        return False
    if c[0] not in _ALNUM_LOWER.elems() or c[-1] not in _ALNUM_LOWER.elems():
        return False
    for sep in ["..", "._", "_.", "___", ".-", "-.", "_-", "-_"]:
        if sep in c:
            return False
    return True

def _repository_problem(repository):
    if len(repository) > _MAX_NAME:
        return "longer than {} characters".format(_MAX_NAME)
    for c in repository.split("/"):
        if not c:
            return "empty path component"
        if not _path_component_ok(c):
            if c.lower() != c:
                return "path component {} has uppercase letters".format(repr(c))
            return "path component {} is invalid".format(repr(c))
    return None

def push_destination_problem(registry, repository, tags):
    """What is wrong with a push destination, or None.

    Args:
        registry: registry host, may be empty or a template.
        repository: repository, may be empty or a template.
        tags: list of tags, each may be a template.

    Returns:
        string naming the bad value and the grammar, or None.
    """
    if registry and not _has_template(registry):
        problem = _registry_problem(registry)
        if problem:
            return "registry {}: {}; want a host or host:port such as ghcr.io or 127.0.0.1:5000".format(repr(registry), problem)
    if repository and not _has_template(repository):
        problem = _repository_problem(repository)
        if problem:
            return "repository {}: {}; want lowercase path components of [a-z0-9._-] separated by /, e.g. my-org/app".format(repr(repository), problem)
    if registry and repository and not _has_template(registry + repository) and len(registry) + 1 + len(repository) > _MAX_NAME:
        return "name {}/{}: more than {} characters".format(registry, repository, _MAX_NAME)
    for tag in tags:
        if tag and not _has_template(tag) and (len(tag) > 128 or not _only(tag, _WORD + ".-") or tag[0] not in _WORD.elems()):
            return "tag {}: want [A-Za-z0-9_] then up to 127 of [A-Za-z0-9_.-]".format(repr(tag))
    return None

def check_push_destination(label, registry, repository, tags):
    """Fails the analysis of label when a push destination is malformed.

    Args:
        label: the push target, named in the error.
        registry: registry host, may be empty or a template.
        repository: repository, may be empty or a template.
        tags: list of tags, each may be a template.
    """
    problem = push_destination_problem(registry, repository, tags)
    if problem:
        fail("{}: {}".format(label, problem))
