#!/usr/bin/env bash
# `npm run package`: the release artifacts, built from the committed tree (HEAD, never a stale
# dist/ or an uncommitted edit) into release/ (git-ignored; VMHOP_RELEASE_DIR elsewhere):
#   vmhop-VERSION.tgz         npm package: dist/ runtime code, the web UI, README, the unit; its runtime
#                             dependencies come from the registry when it is installed
#   vmhop_VERSION_ARCH.deb    that package installed under /usr/lib/vmhop with its node_modules
#                             (better-sqlite3 compiled for this Node's ABI), /usr/bin links, the
#                             systemd unit, /etc/vmhop/agent.json as a conffile, vmhop(1)
# Needs this repository's node_modules (for tsc and vite) and dpkg-deb; the registry or npm's
# cache for the runtime dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${VMHOP_RELEASE_DIR:-$root/release}
log() { printf 'package: %s\n' "$*" >&2; }

version=$(git show HEAD:package.json | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).version')
arch=$(dpkg --print-architecture)
work=$(mktemp -d /tmp/vmhop-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
tree=$work/tree
mkdir -p "$out" "$tree"

# 1. The tree as committed; everything below reads it, not the working tree. tsc and vite
# take this repository's node_modules through a link.
git archive --format=tar HEAD | tar -x -C "$tree"
if [[ -n $(git status --porcelain --untracked-files=no) ]]; then
  log "uncommitted changes are not packaged: building $(git rev-parse --short HEAD)"
fi
ln -s "$root/node_modules" "$tree/node_modules"
log "building $version ($(git rev-parse --short HEAD))"
(
  cd "$tree"
  npx tsc -p tsconfig.build.json
  npx vite build --config src/web/vite.config.ts --logLevel warn
  VMHOP_MAN_DATE=$(git -C "$root" log -1 --format=%cs HEAD) node scripts/man-page.mjs >"$work/vmhop.1"
)

# 2. The npm package: package.json's `files` decide what goes in (no tests, bench, guest, maps).
rm -f "$out/vmhop-$version.tgz"
(cd "$tree" && npm pack --silent --pack-destination "$out" >/dev/null)
tarball="$out/vmhop-$version.tgz"
log "$(basename "$tarball"): $(du -h "$tarball" | cut -f1)"

# 3. The Debian package: the tarball installed as npm would (runtime dependencies only), moved
# under /usr/lib/vmhop. --prefer-offline: npm's cache from `npm ci` serves most of it.
npm install --global --prefix "$work/prefix" --prefer-offline --no-audit --no-fund --loglevel=error "$tarball" >&2
deb=$work/deb
install -d -m 0755 "$deb/usr/lib" "$deb/usr/bin" "$deb/lib/systemd/system" "$deb/usr/lib/tmpfiles.d" \
  "$deb/etc/vmhop" "$deb/usr/share/man/man1" "$deb/usr/share/doc/vmhop" "$deb/DEBIAN"
cp -a "$work/prefix/lib/node_modules/vmhop" "$deb/usr/lib/vmhop"
# better-sqlite3 needs only its binary at run time: its SQLite sources and the compiler's
# objects are 27 of the package's 61 MB.
sq=$deb/usr/lib/vmhop/node_modules/better-sqlite3
mv "$sq/build/Release/better_sqlite3.node" "$work/"
rm -rf "$sq/build" "$sq/deps" "$sq/src"
install -D -m 0755 "$work/better_sqlite3.node" "$sq/build/Release/better_sqlite3.node"
ln -s ../lib/vmhop/dist/src/cli/main.js "$deb/usr/bin/vmhop"
ln -s ../lib/vmhop/dist/src/agent/main.js "$deb/usr/bin/vmhop-agent"
# The repository's unit runs the /usr/local/bin link that setup.sh (or an npm install with
# --prefix /usr/local) makes; the package's runs its own.
sed 's|^ExecStart=/usr/local/bin/vmhop-agent |ExecStart=/usr/bin/vmhop-agent |' "$tree/packaging/vmhop-agent.service" \
  >"$deb/lib/systemd/system/vmhop-agent.service"
grep -q '^ExecStart=/usr/bin/vmhop-agent ' "$deb/lib/systemd/system/vmhop-agent.service" ||
  { log "packaging/vmhop-agent.service: no ExecStart=/usr/local/bin/vmhop-agent line to point at /usr/bin"; exit 1; }
install -m 0644 "$tree/packaging/tmpfiles.conf" "$deb/usr/lib/tmpfiles.d/vmhop.conf"
install -m 0644 "$tree/packaging/agent.json" "$deb/etc/vmhop/agent.json"
# The state directory holds the registry (token hashes), pools and saved RAM: root only.
install -d -m 0700 "$deb/var/lib/vmhop"
gzip -9n <"$work/vmhop.1" >"$deb/usr/share/man/man1/vmhop.1.gz"
install -m 0644 "$work/vmhop.1" "$out/vmhop.1"
install -m 0644 "$tree/README.md" "$deb/usr/share/doc/vmhop/README.md"
# Debian policy: every package carries its licence as /usr/share/doc/PACKAGE/copyright.
install -m 0644 "$tree/LICENSE" "$deb/usr/share/doc/vmhop/copyright"
install -m 0755 "$tree/packaging/debian/postinst" "$tree/packaging/debian/prerm" "$deb/DEBIAN/"
echo /etc/vmhop/agent.json >"$deb/DEBIAN/conffiles"

# better-sqlite3's binary is built for this Node's ABI (process.versions.modules): the package
# works with this Node major only. 20.19 and 22.12 are the lowest the dependencies accept.
major=$(node -p 'process.versions.node.split(".")[0]')
case $major in
  20) low=20.19 ;;
  22) low=22.12 ;;
  *) low=$major ;;
esac
cat >"$deb/DEBIAN/control" <<EOF
Package: vmhop
Version: $version
Architecture: $arch
Maintainer: $(git log -1 --format='%an <%ae>' HEAD)
Section: admin
Priority: optional
Installed-Size: $(du -sk --exclude=DEBIAN "$deb" | cut -f1)
Depends: nodejs (>= $low), nodejs (<< $((major + 1))), qemu-system-x86, qemu-utils, iproute2
Recommends: qemu-block-extra
Description: move QEMU/KVM virtual machines between hosts
 vmhop-agent runs on each host and moves VMs offline, live over shared storage
 or live with a storage copy, checking before it moves; vmhop is its virsh-like
 command line, with a web UI (vmhop ui).
EOF
debfile="$out/vmhop_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz -z6 --build "$deb" "$debfile" >/dev/null
log "$(basename "$debfile"): $(du -h "$debfile" | cut -f1), installed $(du -sh --exclude=DEBIAN "$deb" | cut -f1)"
