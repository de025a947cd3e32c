"""Unit tests of file_metadata()."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load("//img:layer.bzl", "file_metadata")

def _encodes_set_fields_impl(ctx):
    env = unittest.begin(ctx)
    asserts.equals(env, "{}", file_metadata())
    asserts.equals(
        env,
        {"mode": "0755", "uid": 1, "gid": 2, "uname": "u", "gname": "g", "mtime": "2024-01-01T00:00:00Z", "pax_records": {"k": "v"}},
        json.decode(file_metadata(mode = "0755", uid = 1, gid = 2, uname = "u", gname = "g", mtime = "2024-01-01T00:00:00Z", pax_records = {"k": "v"})),
    )
    asserts.equals(env, {"uid": 0}, json.decode(file_metadata(uid = 0)))
    return unittest.end(env)

encodes_set_fields_test = unittest.make(_encodes_set_fields_impl)

def file_metadata_test_suite(name):
    unittest.suite(name, encodes_set_fields_test)
