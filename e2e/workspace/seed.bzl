"""e2e_seed: what the test registry holds, from --repo_env (see run.sh)."""

_VARS = ["E2E_REGISTRY", "E2E_BASE_DIGEST", "E2E_CONFIG_DIGEST", "E2E_LAYER_DIGEST"]

_ZERO = "sha256:" + "0" * 64

def _e2e_seed_impl(rctx):
    env = rctx.os.environ
    values = {
        "REGISTRY": env.get("E2E_REGISTRY", "127.0.0.1:5000"),
        "BASE_DIGEST": env.get("E2E_BASE_DIGEST", _ZERO),
        "CONFIG_DIGEST": env.get("E2E_CONFIG_DIGEST", _ZERO),
        "LAYER_DIGEST": env.get("E2E_LAYER_DIGEST", _ZERO),
    }
    rctx.file("BUILD.bazel", "")
    rctx.file("seed.bzl", "".join(["{} = {}\n".format(k, repr(v)) for k, v in values.items()]))

e2e_seed = repository_rule(
    implementation = _e2e_seed_impl,
    environ = _VARS,
    doc = "Writes seed.bzl with the registry and digests of the seeded base image (zero digests when unset).",
)
