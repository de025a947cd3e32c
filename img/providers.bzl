"""Providers of rules_img.

```starlark
load("@rules_img//img:providers.bzl", "ImageIndexInfo", "ImageManifestInfo", "LayerInfo", "LayersInfo")
```
"""

load("//img/private/providers:base_image_content_info.bzl", _BaseImageContentInfo = "BaseImageContentInfo")
load("//img/private/providers:deploy_info.bzl", _DeployInfo = "DeployInfo")
load("//img/private/providers:image_toolchain_info.bzl", _ImageToolchainInfo = "ImageToolchainInfo")
load("//img/private/providers:index_info.bzl", _ImageIndexInfo = "ImageIndexInfo")
load("//img/private/providers:layer_config_info.bzl", _ImageLayerConfigInfo = "ImageLayerConfigInfo")
load("//img/private/providers:layer_info.bzl", _LayerInfo = "LayerInfo")
load("//img/private/providers:layers_info.bzl", _LayersInfo = "LayersInfo")
load("//img/private/providers:manifest_info.bzl", _ImageManifestInfo = "ImageManifestInfo")
load("//img/private/providers:pull_info.bzl", _PullInfo = "PullInfo")

LayerInfo = _LayerInfo
LayersInfo = _LayersInfo
ImageLayerConfigInfo = _ImageLayerConfigInfo
ImageManifestInfo = _ImageManifestInfo
ImageIndexInfo = _ImageIndexInfo
ImageToolchainInfo = _ImageToolchainInfo
PullInfo = _PullInfo
DeployInfo = _DeployInfo
BaseImageContentInfo = _BaseImageContentInfo
