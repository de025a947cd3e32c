"""Declares the repositories rules_img needs in WORKSPACE mode.

```starlark
load("@rules_img//img:dependencies.bzl", "rules_img_dependencies")

rules_img_dependencies()
```
"""

load("//img/private:dependencies.bzl", _rules_img_dependencies = "rules_img_dependencies")

rules_img_dependencies = _rules_img_dependencies
