"""file_metadata(): tar header overrides for image_layer."""

def file_metadata(*, mode = None, uid = None, gid = None, uname = None, gname = None, mtime = None, pax_records = None):
    """Encodes tar header overrides for `image_layer`'s `default_metadata` and `file_metadata`.

    Only the arguments given are set; the others keep the layer's
    reproducible defaults (mode 0755 for files and directories, as upstream
    rules_img writes them, so a plain file can run as a script; symlinks
    mode 0; uid and gid 0; no user or group names; mtime 1970-01-01).
    Use `file_metadata(mode = "0644")` as `default_metadata` for
    non-executable files.

    Args:
        mode: octal permission bits as a string, e.g. `"0755"`.
        uid: numeric user id.
        gid: numeric group id.
        uname: user name.
        gname: group name.
        mtime: modification time, RFC 3339, e.g. `"2024-01-01T00:00:00Z"`.
        pax_records: dict of extra PAX records, e.g. extended attributes
            (`{"SCHILY.xattr.security.capability": "..."}`).

    Returns:
        A JSON string for the rule attributes.
    """
    md = {}
    if mode != None:
        if type(mode) != "string" or not mode or len(mode) > 5 or [c for c in mode.elems() if c not in "01234567"]:
            fail("file_metadata: mode must be an octal string like \"0755\", got {}".format(repr(mode)))
        md["mode"] = mode
    if uid != None:
        md["uid"] = uid
    if gid != None:
        md["gid"] = gid
    if uname != None:
        md["uname"] = uname
    if gname != None:
        md["gname"] = gname
    if mtime != None:
        md["mtime"] = mtime
    if pax_records != None:
        md["pax_records"] = pax_records
    return json.encode(md)
