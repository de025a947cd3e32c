"""Module extensions of rules_img.

```starlark
img_tool = use_extension("@rules_img//img:extensions.bzl", "img_tool")
```
"""

load("//img/private/extensions:img_tool.bzl", _img_tool = "img_tool")

img_tool = _img_tool
