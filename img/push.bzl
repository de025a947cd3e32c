"""Pushing images: `image_push`.

```starlark
load("@rules_img//img:push.bzl", "image_push")
```
"""

load("//img/private:push.bzl", _image_push = "image_push")

image_push = _image_push
