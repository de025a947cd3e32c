#!/bin/sh
echo "Hello from a script in $(uname -m) with ${GREETING:-no greeting}"
