"""The `image_toolchain` rule, for registering an own build of the img tool,
and `TOOLCHAIN_TYPE`, the label of its toolchain type."""

load("//img/private:image_toolchain.bzl", _TOOLCHAIN_TYPE = "TOOLCHAIN_TYPE", _image_toolchain = "image_toolchain")

image_toolchain = _image_toolchain
TOOLCHAIN_TYPE = _TOOLCHAIN_TYPE
