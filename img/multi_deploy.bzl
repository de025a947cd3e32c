"""Several deploys at once: `multi_deploy`.

```starlark
load("@rules_img//img:multi_deploy.bzl", "multi_deploy")
```
"""

load("//img/private:multi_deploy.bzl", _multi_deploy = "multi_deploy")

multi_deploy = _multi_deploy
