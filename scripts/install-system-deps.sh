#!/usr/bin/env bash
# System packages the test suite drives for real. Installed only when missing, so a prepared machine skips apt.
set -u
need=()
command -v sqlite3 >/dev/null 2>&1 || true
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "missing system packages (need root to install): ${need[*]}" >&2
    exit 1
  fi
fi
