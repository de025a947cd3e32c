#!/bin/sh
# Prints its arguments, an environment variable and a data file found
# relative to the working directory (the runfiles' main repository).
echo "args: $*"
echo "GREETING=$GREETING"
echo "data: $(cat binary/message.txt)"
