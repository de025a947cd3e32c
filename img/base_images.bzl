"""Base images built from nothing: a directory skeleton, users and groups, a CA
trust store, shared libraries and the small files under `/etc`, without
pulling a base.

The content rules only describe content (`BaseImageContentInfo`, cheap to
pass around); `base_image_layer` merges any number of descriptions into
one layer, written by the same action as `image_layer`'s.

Platform scope: `linux_skeleton`, `system_libraries`, `etc_hosts`,
`etc_release` and `etc_environment` apply when the target OS is Linux,
`etc_passwd` on any Unix, `trust_store` everywhere. Outside its scope a
rule contributes nothing (it is not an error), so one BUILD file serves
several platforms without `select()`.

```starlark
load(
    "@rules_img//img:base_images.bzl",
    "base_image_layer",
    "etc_passwd",
    "linux_skeleton",
    "passwd_entry",
    "trust_store",
)

linux_skeleton(name = "skeleton")

etc_passwd(
    name = "users",
    users = [passwd_entry(username = "app", uid = 1000, gid = 1000, home = "/home/app")],
)

trust_store(
    name = "trust",
    certs = ["//pki:corporate-root.pem"],
)

base_image_layer(
    name = "base_layer",
    srcs = [":skeleton", ":users", ":trust"],
)
```

See [base-images.md](base-images.md) for a guide."""

load("//img/private/base_images:base_image_layer.bzl", _base_image_layer = "base_image_layer")
load("//img/private/base_images:etc_environment.bzl", _etc_environment = "etc_environment")
load("//img/private/base_images:etc_hosts.bzl", _etc_hosts = "etc_hosts")
load("//img/private/base_images:etc_passwd.bzl", _etc_passwd = "etc_passwd", _group_entry = "group_entry", _passwd_entry = "passwd_entry")
load("//img/private/base_images:etc_release.bzl", _etc_release = "etc_release")
load("//img/private/base_images:linux_skeleton.bzl", _linux_skeleton = "linux_skeleton")
load("//img/private/base_images:system_libraries.bzl", _system_libraries = "system_libraries")
load("//img/private/base_images:trust_store.bzl", _trust_store = "trust_store")

base_image_layer = _base_image_layer
etc_environment = _etc_environment
etc_hosts = _etc_hosts
etc_passwd = _etc_passwd
etc_release = _etc_release
group_entry = _group_entry
linux_skeleton = _linux_skeleton
passwd_entry = _passwd_entry
system_libraries = _system_libraries
trust_store = _trust_store
