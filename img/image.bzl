"""Images: `image_manifest`, `image_index`, `image_from_binary` and `image_optimize`.

```starlark
load("@rules_img//img:image.bzl", "image_from_binary", "image_index", "image_manifest", "image_optimize")
```
"""

load("//img/private:image_from_binary.bzl", _image_from_binary = "image_from_binary")
load("//img/private:index.bzl", _image_index = "image_index")
load("//img/private:manifest.bzl", _image_manifest = "image_manifest")
load("//img/private:optimize.bzl", _image_optimize = "image_optimize")
load("//img/private/common:inherit.bzl", _INHERIT_FROM_BASE = "INHERIT_FROM_BASE")

image_manifest = _image_manifest
image_index = _image_index
image_from_binary = _image_from_binary
image_optimize = _image_optimize

# Default of image_manifest's user, working_dir, stop_signal (and, as the
# only item, entrypoint and cmd): inherit the base's value.
INHERIT_FROM_BASE = _INHERIT_FROM_BASE
