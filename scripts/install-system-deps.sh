#!/usr/bin/env bash
# System packages the test suite drives for real. Installed only when missing, so a prepared machine skips apt.
set -u
need=()
command -v sqlite3 >/dev/null 2>&1 || true
# LXD sources (issue 6): test/lxd drives the real lxc 5.0.2, pylxd 2.2.10 (system python) and the LXD daemon
command -v lxc >/dev/null 2>&1 || need+=(lxd-client)
command -v lxd >/dev/null 2>&1 || need+=(lxd)
/usr/bin/python3 -c 'import pylxd' >/dev/null 2>&1 || need+=(python3-pylxd)
# issue 8: real syslog senders for test/sources: logger (RFC 3164/5424), ovsdb-server and ovn-northd (OVS vlog lines)
has() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
# script (bsdutils too) gives test/cli/maas.test.ts a real terminal
{ has logger && has script; } || need+=(bsdutils)
{ has ovsdb-server && has ovsdb-tool && has ovs-appctl; } || need+=(openvswitch-common)
has ovn-northd || need+=(ovn-central)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "missing system packages (need root to install): ${need[*]}" >&2
    exit 1
  fi
fi
