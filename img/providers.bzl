"""Providers of rules_img.

```starlark
load("@rules_img//img:providers.bzl", "LayerInfo")
```
"""

load("//img/private/providers:image_toolchain_info.bzl", _ImageToolchainInfo = "ImageToolchainInfo")
load("//img/private/providers:layer_info.bzl", _LayerInfo = "LayerInfo")

LayerInfo = _LayerInfo
ImageToolchainInfo = _ImageToolchainInfo
