"""etc_passwd: /etc/passwd, /etc/group, /etc/shadow and home directories; passwd_entry and group_entry."""

load("//img/private/base_images:common.bzl", "BASE_CONTENT_ATTRS", "SCOPE_UNIX", "base_content")
load("//img/private/common:build.bzl", "TOOLCHAINS")
load("//img/private/providers:base_image_content_info.bzl", "BaseImageContentInfo")

_ATTRS = BASE_CONTENT_ATTRS | {
    "users": attr.string_list(
        doc = "Users, as `passwd_entry()` strings, after those of `passwd_srcs`. Values may be templates.",
    ),
    "groups": attr.string_list(
        doc = "Groups, as `group_entry()` strings, after those of `group_srcs`. Values may be templates.",
    ),
    "passwd_srcs": attr.label_list(
        allow_files = True,
        doc = "Existing passwd files whose records come first, in order.",
    ),
    "group_srcs": attr.label_list(
        allow_files = True,
        doc = "Existing group files whose records come first, in order.",
    ),
    "shadow_srcs": attr.label_list(
        allow_files = True,
        doc = """Existing shadow files. Their records are kept verbatim for users that
passwd defines (a record of another user is an error); every other user
gets a locked record.""",
    ),
    "create_home_directories": attr.bool(
        default = True,
        doc = """Whether to create the home directory of each user of `users`, owned by
the user, with `home_directory_mode` (root's: 0700). A home of `/` means
none. Users of `passwd_srcs` get none: such files name homes like
`/usr/sbin` or `/nonexistent`.""",
    ),
    "write_shadow": attr.bool(
        default = True,
        doc = "Whether to write the shadow file, with a locked record (`!*`) per user.",
    ),
    "home_directory_mode": attr.string(
        default = "0750",
        doc = "Octal mode of created home directories.",
    ),
    "passwd_path": attr.string(default = "/etc/passwd", doc = "Path of the passwd file in the image."),
    "group_path": attr.string(default = "/etc/group", doc = "Path of the group file in the image."),
    "shadow_path": attr.string(default = "/etc/shadow", doc = "Path of the shadow file in the image."),
    "mode": attr.string(doc = "Octal mode of passwd and group; empty: 0644."),
    "shadow_mode": attr.string(doc = "Octal mode of the shadow file; empty: 0640."),
}

def _etc_passwd_impl(ctx):
    if not base_content.in_scope(ctx, SCOPE_UNIX):
        return base_content.empty()
    for name in ["home_directory_mode", "mode", "shadow_mode"]:
        base_content.check_mode(ctx, name, getattr(ctx.attr, name))
    for name in ["passwd_path", "group_path", "shadow_path"]:
        base_content.check_path(ctx, name, getattr(ctx.attr, name))
    passwd_srcs = ctx.files.passwd_srcs
    group_srcs = ctx.files.group_srcs
    shadow_srcs = ctx.files.shadow_srcs
    templated = {"groups": ctx.attr.groups, "users": ctx.attr.users}
    config = templated | {
        "create_home_directories": ctx.attr.create_home_directories,
        "group_path": ctx.attr.group_path,
        "group_srcs": [f.path for f in group_srcs],
        "home_directory_mode": ctx.attr.home_directory_mode,
        "mode": ctx.attr.mode,
        "passwd_path": ctx.attr.passwd_path,
        "passwd_srcs": [f.path for f in passwd_srcs],
        "shadow_mode": ctx.attr.shadow_mode,
        "shadow_path": ctx.attr.shadow_path,
        "shadow_srcs": [f.path for f in shadow_srcs],
        "write_shadow": ctx.attr.write_shadow,
    }
    return base_content.run(ctx, "etc-passwd", config, templated, inputs = passwd_srcs + group_srcs + shadow_srcs)

etc_passwd = rule(
    implementation = _etc_passwd_impl,
    attrs = _ATTRS,
    toolchains = TOOLCHAINS,
    provides = [BaseImageContentInfo],
    doc = """`/etc/passwd`, `/etc/group`, `/etc/shadow` and the users' home directories.

Users and groups come from `passwd_entry()` and `group_entry()` and from
existing files. A user name, uid, group name or gid defined twice is an
error, not a last-one-wins merge, and so is a group member that no passwd
record defines; the action's error names the target. The shadow file never
holds a password hash: anyone who can pull the image or read the Bazel
cache could read it; new records are locked (`!*`).

A container runtime resolves an image's `user = "app"` through this
`/etc/passwd`.

Any Unix target (Linux, macOS, the BSDs); elsewhere the rule contributes
nothing.

```starlark
load("@rules_img//img:base_images.bzl", "etc_passwd", "group_entry", "passwd_entry")

etc_passwd(
    name = "users",
    users = [
        passwd_entry(username = "root", uid = 0, gid = 0, home = "/root", shell = "/bin/sh"),
        passwd_entry(username = "app", uid = 1000, gid = 1000, home = "/home/app"),
    ],
    groups = [
        group_entry(name = "root", gid = 0),
        group_entry(name = "app", gid = 1000, users = ["app"]),
    ],
)
```""",
)

def passwd_entry(*, username, uid, gid, gecos = None, home = None, shell = None):
    """One user for the `users` of `etc_passwd`.

    Args:
        username: login name (no `:`, `,`, `/` or whitespace).
        uid: numeric user id.
        gid: numeric id of the user's primary group.
        gecos: the comment field, e.g. the full name. Default empty.
        home: home directory. Default `/`: none.
        shell: login shell. Default `/sbin/nologin`.

    Returns:
        The user as a JSON string.
    """
    if type(uid) != "int" or type(gid) != "int":
        fail("passwd_entry({}): uid and gid must be integers".format(repr(username)))
    entry = {"gid": gid, "uid": uid, "username": username}
    if gecos != None:
        entry["gecos"] = gecos
    if home != None:
        entry["home"] = home
    if shell != None:
        entry["shell"] = shell
    return json.encode(entry)

def group_entry(*, name, gid, users = None):
    """One group for the `groups` of `etc_passwd`.

    Args:
        name: group name.
        gid: numeric group id.
        users: names of members besides those whose primary group it is.

    Returns:
        The group as a JSON string.
    """
    if type(gid) != "int":
        fail("group_entry({}): gid must be an integer".format(repr(name)))
    entry = {"gid": gid, "name": name}
    if users != None:
        entry["users"] = users
    return json.encode(entry)
