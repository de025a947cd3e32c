"""Unit tests of the choice of tool for template expansion."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load(":templating.bzl", "templates_are_simple")

# The cases of TestIsSimple in img_tool/pkg/template/simple_test.go: the
# Starlark test and the tool's must agree.
_CASES = [
    ("", True),
    ("plain text } }} {", True),
    ("{{.KEY}}", True),
    ("a{{ .K_1 }}b{{\t.x\t}}c", True),
    ("{{._}}", True),
    ("}}{{.A}}}}", True),
    ("{{.}}", False),
    ("{{.1A}}", False),
    ("{{.A.B}}", False),
    ("{{.A-B}}", False),
    ("{{- .A}}", False),
    ("{{.A -}}", False),
    ("{{ .A\n}}", False),
    ("{{.A}}{{", False),
    ("{{{.A}}", False),
    ("{{ {{.A}}", False),
    ("{{if .A}}x{{end}}", False),
    ("{{.A | printf \"%s\"}}", False),
    ("{{/* c */}}", False),
    ("{{$.A}}", False),
    ("{{.Ä}}", False),
    ("{{\"s\"}}", False),
]

def _simple_impl(ctx):
    env = unittest.begin(ctx)
    for text, want in _CASES:
        asserts.equals(env, want, templates_are_simple(text), repr(text))

    # Over the JSON encoding of a target's values, as the rules use it.
    asserts.true(env, templates_are_simple(json.encode({"labels": {"a": "{{.A}}", "b": "x"}, "tags": ["{{ .T }}"]})))
    asserts.false(env, templates_are_simple(json.encode({"labels": {"a": "{{\t.A}}"}})), "a tab is escaped in JSON")
    asserts.false(env, templates_are_simple(json.encode({"a": "{{", "b": ".A}}"})), "an action across two strings")
    asserts.false(env, templates_are_simple(json.encode({"a": "{{if .A}}{{end}}"})))
    return unittest.end(env)

simple_test = unittest.make(_simple_impl)

def templating_test_suite(name):
    unittest.suite(name, simple_test)
