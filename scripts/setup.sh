#!/usr/bin/env bash
# vmhop set-up, shared by `npm run demo` and `npm test`: installs missing Debian
# packages, runs `npm ci` when node_modules is missing or stale, builds the
# TypeScript, links `vmhop` onto the PATH and builds the test guest. Idempotent:
# a second run only checks, in seconds. Plain bash: it runs before node_modules exists.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Debian packages vmhop and its test bed use (kept in one place: README lists them too).
packages=(
  qemu-system-x86 qemu-utils    # QEMU (10.0 from bookworm-backports on Debian 12, see below) and qemu-img
  qemu-block-extra               # QEMU's extra block drivers, from the same source as QEMU
  busybox-static cpio            # the test guest's userland and initramfs
  gcc libc6-dev                  # the guest's static workload programs
  kmod xz-utils                  # kernel modules for the guest (modinfo, .ko.xz)
  iproute2 util-linux procps     # namespaces, veth, bridges, tc, nsenter, mountpoint
  openssl                        # test helpers' certificates (vmhop itself uses node:crypto)
  libvirt-clients libxml2-utils  # virt-xml-validate and virsh test:///, to check exported domain XML
  chromium                       # the web UI tests (Playwright drives Debian's browser)
  systemd                        # systemd-analyze, which checks the packaged unit (scripts/package-test.sh)
)

log() { printf 'setup: %s\n' "$*" >&2; }

# QEMU 7.2, Debian 12's own, loses guest memory written during a live migration under
# TCG (the guest kernel panics on the target seconds after a move that said `completed`;
# README, "QEMU versions"). On Debian 12 vmhop takes QEMU from bookworm-backports: the suite
# is added, and pinned so that only QEMU (and the SeaBIOS it needs) come from it.
# A distribution whose own QEMU is 8.2 or newer is used as it is.
backports_sources=/etc/apt/sources.list.d/vmhop-backports.sources
backports_pin=/etc/apt/preferences.d/vmhop-qemu-backports
want_backports=0
if [[ -r /etc/os-release ]] && grep -q '^VERSION_CODENAME=bookworm$' /etc/os-release; then
  want_backports=1
fi
qemu_from_backports() {
  dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null | grep -q 'bpo12'
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Debian 12's QEMU 7.2 installed already: upgrade it to the backports one.
if ((want_backports)) && ! qemu_from_backports; then
  for p in qemu-system-x86 qemu-utils qemu-block-extra; do
    [[ " ${missing[*]} " == *" $p "* ]] || missing+=("$p")
  done
fi
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    log "missing Debian packages: ${missing[*]}"
    log "install them as root, then run this again:"
    ((want_backports)) && log "  (QEMU from bookworm-backports: add the suite and pin src:qemu src:seabios to it, as scripts/setup.sh does)"
    log "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  if ((want_backports)); then
    [[ -f $backports_sources ]] || printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' \
      'Suites: bookworm-backports' 'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' >"$backports_sources"
    printf '%s\n' '# vmhop: QEMU 10 (and the SeaBIOS it needs) from bookworm-backports; nothing else.' \
      'Package: src:qemu src:seabios' 'Pin: release n=bookworm-backports' 'Pin-Priority: 990' >"$backports_pin"
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  if ((want_backports)) && ! qemu_from_backports; then
    log "QEMU did not come from bookworm-backports: $(dpkg-query -W -f='${Version}' qemu-system-x86)"
    log "check $backports_sources and $backports_pin, then run this again"
    exit 1
  fi
fi

# etcd for the test bed's cluster mode (`vmhop testbed up --etcd`, issue 17): Debian's etcd-server
# (/usr/bin/etcd) and etcd-client (etcdctl). The package would start its own etcd service on
# install; the test bed runs its own in a namespace, so a policy-rc.d that answers 101 ("action
# forbidden") keeps invoke-rc.d from starting it. One already there is left as it is.
install_etcd() {
  local policy=/usr/sbin/policy-rc.d ours=0
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    log "etcd is missing (/usr/bin/etcd), which \`vmhop testbed up --etcd\` needs; as root:"
    log "  apt-get update && apt-get install -y --no-install-recommends etcd-server etcd-client"
    exit 1
  fi
  if [[ ! -e $policy ]]; then
    printf '%s\n' '#!/bin/sh' '# vmhop setup.sh: no service starts while etcd installs' 'exit 101' >"$policy"
    chmod 755 "$policy"
    ours=1
    # Removed also when apt-get fails, so it never outlives this install.
    trap "rm -f '$policy'" EXIT
  fi
  log "installing etcd-server etcd-client"
  local apt=(apt-get install -y -q --no-install-recommends etcd-server etcd-client)
  if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" >/dev/null; then
    apt-get update -q >/dev/null # a stale package list is the usual cause
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" >/dev/null
  fi
  if ((ours)); then
    rm -f "$policy"
    trap - EXIT
  fi
  # Only a look: a running etcd was not started by this script, so it is not ours to end.
  local pids
  if pids=$(pgrep -x etcd); then
    log "an etcd runs after the install (pid ${pids//$'\n'/ }); the test bed does not need it:"
    log "  stop it with \`systemctl disable --now etcd\` (or however it was started)"
  fi
}
# Called as a plain command: inside `[[ ]] || f`, bash would ignore set -e in f.
if [[ ! -x /usr/bin/etcd ]]; then install_etcd; fi

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ ! -d node_modules || "$(cat node_modules/.vmhop-lock-sum 2>/dev/null)" != "$lock_sum" ]]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_sum" > node_modules/.vmhop-lock-sum
fi

log "building TypeScript"
npx tsc -p tsconfig.build.json --incremental --tsBuildInfoFile dist/.tsbuildinfo
chmod +x dist/src/cli/main.js dist/src/agent/main.js
npm run --silent build:web >&2

if [[ $(id -u) -eq 0 ]]; then
  ln -sfn "$root/dist/src/cli/main.js" /usr/local/bin/vmhop
  ln -sfn "$root/dist/src/agent/main.js" /usr/local/bin/vmhop-agent
else
  log "not root: add $root/node_modules/.bin to PATH or run 'npm link' for the vmhop command"
fi

bash scripts/build-guest.sh >&2

# Debian 12's QEMU 7.2 unpacked beside QEMU 10 (.cache/qemu-7.2, nothing installed): the tests of
# the 7.2 refusal and the cross-version pre-flight run it, and `npm run soak -- N --qemu 7.2` compares.
if ((want_backports)) && [[ $(id -u) -eq 0 ]]; then
  bash scripts/qemu-7.2.sh >/dev/null
fi
log "ready"
