#!/bin/sh
# Starts a background grandchild, records "SHELL_PID GRANDCHILD_PID" in the file $1, then sleeps:
# for the tests that a timeout or a cancellation kills the whole process group.
sleep 60 &
echo "$$ $!" > "$1.tmp"
mv "$1.tmp" "$1"
sleep 60
