#!/usr/bin/env bash
# Bench-only set-up (`npm run bench -- suite` calls it; never part of `npm test`): libvirt
# 11.3 from bookworm-backports for the suite's `virsh migrate` peer, on the same QEMU the
# tests use. Only the daemon and its QEMU driver, without recommends: no libvirt network
# (no virbr0), no system daemon started (the suite starts its own, one per test-bed host,
# with their own config/run/state dirs). Idempotent: a second run only checks.
set -euo pipefail

log() { printf 'bench-setup: %s\n' "$*" >&2; }

packages=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients)
pin=/etc/apt/preferences.d/vmhop-bench-libvirt-backports

libvirt_from_backports() {
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status} ${Version}\n' "$p" 2>/dev/null | grep -q 'install ok installed .*bpo12' || return 1
  done
}

if libvirt_from_backports; then exit 0; fi
if ! grep -q '^VERSION_CODENAME=bookworm$' /etc/os-release 2>/dev/null; then
  log "not Debian 12: install libvirtd (with its QEMU driver) and virsh from your distribution, then run this again"
  command -v libvirtd >/dev/null && command -v virsh >/dev/null && exit 0
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  log "run as root: it installs ${packages[*]} from bookworm-backports"
  exit 1
fi
# scripts/setup.sh adds the bookworm-backports suite (for QEMU); this file pins libvirt to it.
[[ -f /etc/apt/sources.list.d/vmhop-backports.sources ]] || {
  log "bookworm-backports is not configured: run scripts/setup.sh first"
  exit 1
}
printf '%s\n' '# vmhop bench (scripts/bench-setup.sh): libvirt 11.3 for the virsh peer, from bookworm-backports.' \
  'Package: src:libvirt' 'Pin: release n=bookworm-backports' 'Pin-Priority: 990' >"$pin"

# No service starts during the install (the bench runs its own daemons in the test bed).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
trap '((made_policy)) && rm -f "$policy"' EXIT

log "installing ${packages[*]} from bookworm-backports"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null
if ! libvirt_from_backports; then
  log "libvirt did not come from bookworm-backports: $(dpkg-query -W -f='${Version}' libvirt-daemon)"
  exit 1
fi
# Under systemd the packages enable libvirtd's units (and their sockets) for the next boot: the
# bench runs its own daemons in the test bed, so none of the system's is enabled or left running.
if [[ -d /run/systemd/system ]]; then
  systemctl disable --now libvirtd.service libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket \
    libvirtd-tcp.socket libvirtd-tls.socket virtlogd.service virtlogd.socket virtlogd-admin.socket \
    libvirt-guests.service >/dev/null 2>&1 || true
fi
# A daemon a package started anyway (no policy-rc.d on this machine before): end it, by its pidfile.
for pidfile in /run/libvirtd.pid /run/virtqemud.pid /run/virtlogd.pid; do
  [[ -s $pidfile ]] && kill "$(cat "$pidfile")" 2>/dev/null && log "stopped the daemon of $pidfile"
done
if ! dpkg-query -W -f='${Version}' qemu-system-x86 | grep -q bpo12; then
  log "QEMU is no longer the bookworm-backports one: $(dpkg-query -W -f='${Version}' qemu-system-x86)"
  exit 1
fi
log "libvirt $(dpkg-query -W -f='${Version}' libvirt-daemon) installed"
