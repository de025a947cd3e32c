"""The `image_toolchain` rule, for registering an own build of the img tool."""

load("//img/private:image_toolchain.bzl", _image_toolchain = "image_toolchain")

image_toolchain = _image_toolchain
