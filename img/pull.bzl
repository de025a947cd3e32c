"""Pulling base images: the `pull` repository rule.

```starlark
pull = use_repo_rule("@rules_img//img:pull.bzl", "pull")
```
"""

load("//img/private/repository_rules:pull.bzl", _pull = "pull")

pull = _pull
