"""Prints what it read from its runfiles (through rules_python's runfiles
library), its arguments and E2E_GREETING."""

import os
import platform
import sys

from python.runfiles import runfiles


def main():
    r = runfiles.Create()
    path = r.Rlocation("_main/py/greeting.txt")
    if path is None or not os.path.isfile(path):
        sys.exit("hello.py: no runfile _main/py/greeting.txt (got {!r})".format(path))
    with open(path) as f:
        data = f.read().strip()
    print("python: runfiles={} args={} E2E_GREETING={} machine={}".format(
        data,
        ",".join(sys.argv[1:]),
        os.environ.get("E2E_GREETING", "(unset)"),
        platform.machine(),
    ))


if __name__ == "__main__":
    main()
