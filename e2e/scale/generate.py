#!/usr/bin/env python3
"""Writes a bzlmod workspace of N services built with rules_img.

Usage: generate.py N OUTDIR [RULES_IMG_PATH]

The workspace (see README.md for what it models):
  MODULE.bazel, .bazelrc     rules_img through local_path_override
  platforms/                 linux_amd64, linux_arm64
  base/                      one base layer and the base image_manifest
  runtime/                   the runtime layer every service shares
  services/svc<i>/           three generated files and, in BUILD.bazel,
                             app (image_layer), image (image_manifest),
                             push (image_push), load (image_load) and, for
                             every 10th service, index (image_index)

Equal arguments give byte-identical files. OUTDIR is emptied of what a
previous run generated (services/, base/, runtime/, platforms/ and the
top-level files), nothing else.
"""

import json
import os
import shutil
import sys

# The flags of e2e/bazel8.bazelrc and e2e/basic/.bazelrc that matter here,
# spelt out as the workspace may live anywhere.
BAZELRC = """\
common --enable_bzlmod
common --lockfile_mode=off
common --incompatible_use_plus_in_repo_names
common --noenable_workspace
common --incompatible_disallow_empty_glob
common --incompatible_autoload_externally=
common --incompatible_disable_native_repo_rules
build --incompatible_strict_action_env
try-import %workspace%/user.bazelrc
"""

MODULE = """\
module(name = "rules_img_scale")

bazel_dep(name = "rules_img", version = "0.0.0")
local_path_override(
    module_name = "rules_img",
    path = {path},
)

bazel_dep(name = "platforms", version = "0.0.10")
"""

ROOT_BUILD = """\
# The smallest target that needs the img tool: building it fetches the
# toolchain (the img tool, built from source) before any measurement.
alias(
    name = "warmup",
    actual = "//base:base_layer",
)
"""

PLATFORMS_BUILD = """\
platform(
    name = "linux_amd64",
    constraint_values = [
        "@platforms//os:linux",
        "@platforms//cpu:x86_64",
    ],
    visibility = ["//visibility:public"],
)

platform(
    name = "linux_arm64",
    constraint_values = [
        "@platforms//os:linux",
        "@platforms//cpu:aarch64",
    ],
    visibility = ["//visibility:public"],
)
"""

BASE_BUILD = """\
load("@rules_img//img:image.bzl", "image_manifest")
load("@rules_img//img:layer.bzl", "image_layer")

package(default_visibility = ["//visibility:public"])

image_layer(
    name = "base_layer",
    srcs = {
        "/etc/os-release": "os-release",
        "/etc/passwd": "passwd",
    },
)

# The base of every service: one layer, no pull.
image_manifest(
    name = "base",
    layers = [":base_layer"],
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin"},
    user = "65532:65532",
    working_dir = "/",
)
"""

RUNTIME_BUILD = """\
load("@rules_img//img:layer.bzl", "image_layer")

package(default_visibility = ["//visibility:public"])

# The runtime every service adds on top of the base: one layer, defined once.
image_layer(
    name = "runtime",
    srcs = {
        "/opt/runtime/VERSION": "VERSION",
        "/opt/runtime/lib/runtime.json": "runtime.json",
        "/opt/runtime/bin/start": "start.sh",
    },
    symlinks = {"/usr/local/bin/start": "/opt/runtime/bin/start"},
)
"""

SERVICE_BUILD = """\
load("@rules_img//img:image.bzl", "image_index", "image_manifest")
load("@rules_img//img:layer.bzl", "file_metadata", "image_layer")
load("@rules_img//img:load.bzl", "image_load")
load("@rules_img//img:push.bzl", "image_push")

package(default_visibility = ["//visibility:public"])

image_layer(
    name = "app",
    srcs = {{
        "/srv/{name}/config.json": "config.json",
        "/srv/{name}/routes.json": "routes.json",
        "/srv/{name}/run.sh": "run.sh",
    }},
    file_metadata = {{
        "/srv/{name}/config.json": file_metadata(mode = "0644"),
    }},
    symlinks = {{"/srv/current": "/srv/{name}"}},
)

image_manifest(
    name = "image",
    base = "//base",
    layers = [
        "//runtime",
        ":app",
    ],
    entrypoint = ["/srv/{name}/run.sh"],
    env = {{"SERVICE": "{name}"}},
    labels = {{"org.example.service": "{name}"}},
)

image_push(
    name = "push",
    image = ":image",
    registry = "127.0.0.1:5099",
    repository = "svc/{i}",
    tag = "latest",
)

image_load(
    name = "load",
    image = ":image",
    tag = "svc{i}:latest",
)
"""

SERVICE_INDEX = """
# Every 10th service: the same image for two platforms.
image_index(
    name = "index",
    manifests = [":image"],
    platforms = [
        "//platforms:linux_amd64",
        "//platforms:linux_arm64",
    ],
)
"""


def service_files(i, name):
    """The three generated source files of service i."""
    config = {
        "name": name,
        "port": 8000 + i,
        "replicas": 1 + i % 3,
        "features": ["feature-%d" % ((i + k) % 7) for k in range(3)],
    }
    routes = [
        {"path": "/%s/%s" % (name, r), "handler": "%s_%d" % (r, i)}
        for r in ("health", "status", "items")
    ]
    run = "#!/bin/sh\n# Starts %s.\nexec /usr/local/bin/start --service %s --port %d \"$@\"\n" % (
        name, name, 8000 + i)
    return {
        "config.json": json.dumps(config, indent=2, sort_keys=True) + "\n",
        "routes.json": json.dumps(routes, indent=2, sort_keys=True) + "\n",
        "run.sh": run,
    }


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv):
    if len(argv) not in (3, 4):
        sys.stderr.write("usage: generate.sh N OUTDIR [RULES_IMG_PATH]\n")
        return 2
    try:
        n = int(argv[1])
    except ValueError:
        n = -1
    if n < 1:
        sys.stderr.write("generate.sh: N must be a positive integer, got %r\n" % argv[1])
        return 2
    out = os.path.abspath(argv[2])
    here = os.path.dirname(os.path.abspath(__file__))
    rules_img = os.path.abspath(argv[3] if len(argv) == 4 else os.path.join(here, "..", ".."))
    if not os.path.isfile(os.path.join(rules_img, "MODULE.bazel")):
        sys.stderr.write("generate.sh: %s: no MODULE.bazel (not a rules_img tree)\n" % rules_img)
        return 2

    for d in ("services", "base", "runtime", "platforms"):
        shutil.rmtree(os.path.join(out, d), ignore_errors=True)
    os.makedirs(out, exist_ok=True)

    write(os.path.join(out, ".bazelrc"), BAZELRC)
    write(os.path.join(out, "MODULE.bazel"), MODULE.format(path=json.dumps(rules_img)))
    write(os.path.join(out, "BUILD.bazel"), ROOT_BUILD)
    write(os.path.join(out, "README.txt"),
          "Generated by rules_img's e2e/scale/generate.sh: %d services.\n" % n)
    write(os.path.join(out, "platforms", "BUILD.bazel"), PLATFORMS_BUILD)

    write(os.path.join(out, "base", "BUILD.bazel"), BASE_BUILD)
    write(os.path.join(out, "base", "os-release"), 'ID=scale\nNAME="rules_img scale base"\n')
    write(os.path.join(out, "base", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532::/home/nonroot:/bin/sh\n")

    write(os.path.join(out, "runtime", "BUILD.bazel"), RUNTIME_BUILD)
    write(os.path.join(out, "runtime", "VERSION"), "1.0.0\n")
    write(os.path.join(out, "runtime", "runtime.json"),
          json.dumps({"runtime": "scale", "version": "1.0.0"}, indent=2, sort_keys=True) + "\n")
    write(os.path.join(out, "runtime", "start.sh"), '#!/bin/sh\necho "start $*"\n')

    for i in range(n):
        name = "svc%d" % i
        pkg = os.path.join(out, "services", name)
        build = SERVICE_BUILD.format(name=name, i=i)
        if i % 10 == 0:
            build += SERVICE_INDEX
        write(os.path.join(pkg, "BUILD.bazel"), build)
        for fname, text in service_files(i, name).items():
            write(os.path.join(pkg, fname), text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
