"""ORAS artifacts: `oras_layer` and `oras_file_layer`.

Blobs that ORAS clients (`oras pull`) write as files or unpack as
directories, named by their `org.opencontainers.image.title` annotation.
Put them into an `image_manifest` with `artifact_type` for an OCI 1.1
artifact manifest, and push it with `image_push`.

```starlark
load("@rules_img//img:oras.bzl", "oras_file_layer", "oras_layer")
```
"""

load("//img/private:oras_file_layer.bzl", _oras_file_layer = "oras_file_layer")
load("//img/private:oras_layer.bzl", _oras_layer = "oras_layer")

oras_file_layer = _oras_file_layer
oras_layer = _oras_layer
