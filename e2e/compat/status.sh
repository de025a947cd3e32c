#!/bin/sh
# Workspace status for --stamp: a fixed commit, so the pushed tag is known.
echo "STABLE_GIT_COMMIT c0ffee1"
echo "BUILD_TIMESTAMP 1700000000"
