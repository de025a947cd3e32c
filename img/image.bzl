"""Images: `image_manifest` and `image_index`.

```starlark
load("@rules_img//img:image.bzl", "image_index", "image_manifest")
```
"""

load("//img/private:index.bzl", _image_index = "image_index")
load("//img/private:manifest.bzl", _image_manifest = "image_manifest")

image_manifest = _image_manifest
image_index = _image_index
