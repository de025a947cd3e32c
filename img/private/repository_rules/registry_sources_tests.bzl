"""Unit tests of registry_sources: the order registries are tried in."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load(":registry_sources.bzl", "DOCKER_HUB", "registry_sources")

def _order_test_impl(ctx):
    env = unittest.begin(ctx)
    order = registry_sources.order
    asserts.equals(env, [DOCKER_HUB], order("", []), "neither: Docker Hub")
    asserts.equals(env, ["r.example"], order("r.example", []), "registry only")
    asserts.equals(env, ["m1", "m2"], order("", ["m1", "m2"]), "mirrors only: no Docker Hub added")
    asserts.equals(env, ["m1", "m2", "r.example"], order("r.example", ["m1", "m2"]), "mirrors before registry")
    asserts.equals(env, ["m1", "r.example"], order("r.example", ["m1", "r.example"]), "a host named twice keeps its first place")
    asserts.equals(env, ["m1"], order(None, ["m1", "m1"]), "duplicate mirrors")
    return unittest.end(env)

order_test = unittest.make(_order_test_impl)

def _check_test_impl(ctx):
    env = unittest.begin(ctx)
    check = registry_sources.check
    asserts.equals(env, None, check("", []))
    asserts.equals(env, None, check("127.0.0.1:5000", ["mirror.example/v2-proxy"]))
    asserts.equals(env, "registries has an empty registry", check("r", ["m", ""]))
    asserts.equals(env, 'registry: registry "https://r.example" must be a host[:port] without a scheme', check("https://r.example", []))
    asserts.equals(env, 'registries: registry " m " has surrounding whitespace', check("", [" m "]))
    return unittest.end(env)

check_test = unittest.make(_check_test_impl)

def _pairs(res):
    return [(s.repository, s.registries) for s in res.sources] if res.sources != None else None

def _resolve_test_impl(ctx):
    env = unittest.begin(ctx)
    resolve = registry_sources.resolve

    res = resolve("library/busybox", "", [], {})
    asserts.equals(env, None, res.error)
    asserts.equals(env, [("library/busybox", [DOCKER_HUB])], _pairs(res), "Docker Hub by default")

    res = resolve("base/app", "r", ["m"], {})
    asserts.equals(env, [("base/app", ["m", "r"])], _pairs(res), "mirrors first")

    res = resolve("", "", [], {"a/b": ["r1", "r2"], "c/d": []})
    asserts.equals(env, None, res.error)
    asserts.equals(env, [("a/b", ["r1", "r2"]), ("c/d", [DOCKER_HUB])], _pairs(res), "sources in order; empty list: Docker Hub")

    asserts.equals(env, "set repository (or sources)", resolve("", "r", [], {}).error)
    asserts.equals(env, "set either sources or repository (with registry, registries), not both", resolve("a/b", "", [], {"a/b": []}).error)
    asserts.equals(env, 'sources["a/b"]: registries: registry "http://x" must be a host[:port] without a scheme', resolve("", "", [], {"a/b": ["http://x"]}).error)
    asserts.equals(env, 'registry: registry "oci://x" must be a host[:port] without a scheme', resolve("a/b", "oci://x", [], {}).error)
    return unittest.end(env)

resolve_test = unittest.make(_resolve_test_impl)

def registry_sources_test_suite(name):
    unittest.suite(
        name,
        order_test,
        check_test,
        resolve_test,
    )
