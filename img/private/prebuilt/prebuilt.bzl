"""The img tool extension under the name and path that upstream MODULE files use."""

load("//img/private/extensions:img_tool.bzl", "img_tool")

prebuilt_img_tool = img_tool
