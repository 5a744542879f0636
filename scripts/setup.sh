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
  qemu-system-x86 qemu-utils    # QEMU 7.2 and qemu-img
  busybox-static cpio            # the test guest's userland and initramfs
  gcc libc6-dev                  # the guest's static workload programs
  kmod xz-utils                  # kernel modules for the guest (modinfo, .ko.xz)
  iproute2 util-linux procps     # namespaces, veth, bridges, tc, nsenter, mountpoint
  openssl                        # the cluster CA and host certificates
  libvirt-clients libxml2-utils  # virt-xml-validate and virsh test:///, to check exported domain XML
  chromium                       # the web UI tests (Playwright drives Debian's browser)
)

log() { printf 'setup: %s\n' "$*" >&2; }

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    log "missing Debian packages: ${missing[*]}"
    log "install them as root, then run this again:"
    log "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

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
log "ready"
