"""Loading images into local runtimes: `image_load`.

```starlark
load("@rules_img//img:load.bzl", "image_load")
```
"""

load("//img/private:load.bzl", _image_load = "image_load")

image_load = _image_load
