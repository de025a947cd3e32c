"""Unit tests of the push destination checks."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load(":names.bzl", "push_destination_problem")

def _valid_impl(ctx):
    env = unittest.begin(ctx)
    for registry, repository, tags in [
        ("", "", []),
        ("ghcr.io", "my-org/app", ["latest", "v1.2.3", "_x-1"]),
        ("127.0.0.1:5000", "a/b.c/d_e/f__g/h---i", []),
        ("[::1]:5000", "app", []),
        ("localhost", "app", ["A" * 128]),
        ("{{.REGISTRY}}", "{{.REPO}}/Upper", ["{{.TAG}}"]),
    ]:
        asserts.equals(env, None, push_destination_problem(registry, repository, tags), "{} {} {}".format(registry, repository, tags))
    return unittest.end(env)

valid_test = unittest.make(_valid_impl)

def _invalid_impl(ctx):
    env = unittest.begin(ctx)
    for registry, repository, tags, want in [
        ("ghcr.io", "Bad/Repo", [], "repository \"Bad/Repo\": path component \"Bad\" has uppercase letters"),
        ("", "a//b", [], "empty path component"),
        ("", "a___b", [], "path component \"a___b\" is invalid"),
        ("", "a-", [], "path component \"a-\" is invalid"),
        ("", "-a", [], "is invalid"),
        ("", "a._b", [], "is invalid"),
        ("http://x", "", [], "registry \"http://x\""),
        ("host:", "", [], "empty port"),
        ("host:70000", "", [], "port \"70000\""),
        ("-host", "", [], "not a valid host name label"),
        ("[::1", "", [], "unclosed ["),
        ("", "app", ["no spaces"], "tag \"no spaces\""),
        ("", "app", [".dot"], "tag \".dot\""),
        ("", "app", ["a" * 129], "tag"),
        ("r.example", "a" * 250, [], "more than 255 characters"),
    ]:
        got = push_destination_problem(registry, repository, tags)
        asserts.true(env, got != None and want in got, "{} {} {}: got {}, want it to contain {}".format(registry, repository, tags, got, want))
    return unittest.end(env)

invalid_test = unittest.make(_invalid_impl)

def names_test_suite(name):
    unittest.suite(name, valid_test, invalid_test)
