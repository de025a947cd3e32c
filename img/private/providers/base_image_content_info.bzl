"""BaseImageContentInfo: base image content described, not yet a layer."""

BaseImageContentInfo = provider(
    doc = """Content of a base image (a directory skeleton, users, CA certificates,
shared libraries, files under /etc) that no layer holds yet.

The content rules of `@rules_img//img:base_images.bzl` return it instead of
a layer; `base_image_layer` merges any number of them into one layer. A
rule outside its platform scope returns empty depsets.""",
    fields = {
        "metadata": """depset of File, never None (empty outside the rule's platform
scope): the fragments, one per content rule, in
preorder (a `base_image_layer` merges them in this order, the last
description of a path winning). A fragment is JSON in a format internal to
rules_img, read only by the `img` tool of the same version.""",
        "files": """depset of File, never None: files the fragments name as the content of
entries (e.g. the libraries of `system_libraries`), read only when the layer
is written. Empty when every entry's content is in its fragment.""",
    },
)
