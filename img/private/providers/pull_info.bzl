"""PullInfo: where a pulled base image came from."""

PullInfo = provider(
    doc = """The registry coordinates of a base image pulled with `pull`. Deploy rules use
them to fetch (or mount) base layers that were never downloaded.""",
    fields = {
        "registries": "list of string: registry hosts in the order they are tried: the mirrors of `registries`, then `registry` (`index.docker.io` when neither is set).",
        "repository": "string: repository in the registry, e.g. `library/debian`.",
        "tag": "string: the tag that was asked for; empty when none.",
        "digest": "string: the pinned digest of the index or manifest, `sha256:<hex>`.",
    },
)

PullOriginsInfo = provider(
    doc = """Where the base layers of each manifest of an image_index live, for an
index whose manifests sit on different pulled bases. Deploy rules pass it
to the launcher; the index's own PullInfo is the first manifest's.""",
    fields = {
        "manifests": "list of PullInfo or None: entry i for manifest i of the index; None for a manifest without a pulled base.",
    },
)
