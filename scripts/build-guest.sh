#!/usr/bin/env bash
# Build the vmhop test guest: a Debian kernel plus a small busybox initramfs
# running vmhop-guestd (guest/src). Output, cached and reused while the inputs
# are unchanged:
#   .cache/guest/<key>/{vmlinuz,vmlinux,initrd.img,manifest.json}
#   .cache/guest/current -> <key>
# <key> = <kernel ABI>_<kernel package version>_<hash of guest sources + tools>.
#
# Needs (Debian 12): busybox-static cpio gcc libc6-dev kmod xz-utils, plus apt,
# dpkg, gzip, coreutils, util-linux (flock) which every Debian system has.
# Runs as root (apt-get download into a private dir, device nodes in the cpio).
#
# Usage: scripts/build-guest.sh [--force] [--quiet]
#   --force   rebuild even if the cache entry exists
#   --quiet   only print the output directory
# Env: VMHOP_GUEST_CACHE (default <repo>/.cache/guest)
#      VMHOP_KERNEL_PKG  (e.g. linux-image-6.1.0-56-amd64; default: resolved
#                         from the linux-image-amd64 metapackage)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GUEST="$ROOT/guest"
CACHE=${VMHOP_GUEST_CACHE:-$ROOT/.cache/guest}
FORCE=0
QUIET=0
for a in "$@"; do
	case "$a" in
	--force) FORCE=1 ;;
	--quiet) QUIET=1 ;;
	-h | --help)
		sed -n '2,20p' "$0"
		exit 0
		;;
	*)
		echo "build-guest: unknown argument $a" >&2
		exit 2
		;;
	esac
done

say() { [ "$QUIET" = 1 ] || echo "build-guest: $*" >&2; }
die() {
	echo "build-guest: error: $*" >&2
	exit 1
}

# Modules needed for virtio-net-pci and virtio-blk-pci (dependencies are added
# from modules.dep; anything built into the kernel is skipped).
# button + evdev: the ACPI power button (QMP system_powerdown) reaches vmhop-guestd.
WANT_MODULES=(virtio_pci virtio_net virtio_blk button evdev)

for t in gcc cpio depmod xz gzip dpkg-deb apt-get apt-cache sha256sum flock; do
	command -v "$t" >/dev/null || die "missing tool '$t' (apt-get install busybox-static cpio gcc libc6-dev kmod xz-utils)"
done
BUSYBOX=/bin/busybox
if ! { [ -x "$BUSYBOX" ] && "$BUSYBOX" --list >/dev/null 2>&1; }; then die "missing /bin/busybox (apt-get install busybox-static)"; fi
if command -v readelf >/dev/null && readelf -l "$BUSYBOX" 2>/dev/null | grep -q 'program interpreter'; then
	die "$BUSYBOX is dynamically linked (apt-get install busybox-static)"
fi
[ -f /usr/include/stdio.h ] || die "missing libc headers (apt-get install libc6-dev)"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 # one build at a time (parallel test workers)

# --- resolve the kernel package -------------------------------------------
resolve_kernel() {
	local pkg ver="" dep
	pkg=${VMHOP_KERNEL_PKG:-}
	if [ -z "$pkg" ]; then
		# candidate's "Depends: linux-image-6.1.0-N-amd64 (= 6.1.X-Y)"
		dep=$(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
			sed -n 's/^Depends:.*\(linux-image-[0-9][^ ,]*-amd64\)\( (= \([^)]*\))\)\{0,1\}.*/\1 \3/p' | head -1)
		pkg=${dep%% *}
		ver=${dep#* }
		[ "$ver" != "$dep" ] || ver=
	fi
	[ -n "$pkg" ] || return 1
	[ -n "$ver" ] || ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | awk '$1 == "Version:" { print $2; exit }')
	[ -n "$ver" ] || return 1
	KPKG=$pkg
	KVER=$ver
}

KPKG=
KVER=
if ! resolve_kernel; then
	if [ -e "$CACHE/current/manifest.json" ] && [ "$FORCE" = 0 ]; then
		say "warning: cannot resolve linux-image-amd64 with apt-cache; using the cached guest"
		echo "$CACHE/current"
		exit 0
	fi
	say "apt-cache knows no kernel package; running apt-get update"
	apt-get update -qq >&2 || true
	resolve_kernel || die "cannot resolve the kernel package behind linux-image-amd64"
fi
KABI=${KPKG#linux-image-} # e.g. 6.1.0-56-amd64

# --- cache key --------------------------------------------------------------
src_hash() {
	{
		(cd "$ROOT" && find guest/src guest/init -type f | LC_ALL=C sort | xargs sha256sum)
		sha256sum "$ROOT/scripts/build-guest.sh" | cut -d' ' -f1
		dpkg-query -W -f='${Package} ${Version}\n' busybox-static libc6-dev gcc 2>/dev/null || true
		echo "${WANT_MODULES[*]}"
	} | sha256sum | cut -c1-12
}
HASH=$(src_hash)
KEY="${KABI}_${KVER}_${HASH}"
OUT="$CACHE/$KEY"

print_result() {
	if [ "$QUIET" = 1 ]; then
		echo "$CACHE/current"
	else
		echo "build-guest: guest ready in $CACHE/current -> $KEY" >&2
		echo "  kernel: $CACHE/current/vmlinuz" >&2
		[ ! -f "$OUT/vmlinux" ] || echo "  kernel (PVH ELF, boots faster under TCG): $CACHE/current/vmlinux" >&2
		echo "  initrd: $CACHE/current/initrd.img ($(stat -c %s "$OUT/initrd.img") bytes)" >&2
		echo "$CACHE/current"
	fi
}

set_current() {
	ln -sfn "$KEY" "$CACHE/.current.tmp"
	mv -T "$CACHE/.current.tmp" "$CACHE/current"
}

if [ "$FORCE" = 0 ] && [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ] && [ -s "$OUT/manifest.json" ]; then
	[ "$(readlink "$CACHE/current" 2>/dev/null || true)" = "$KEY" ] || set_current
	say "up to date ($KEY)"
	print_result
	exit 0
fi

# --- build -------------------------------------------------------------------
T0=$(date +%s)
rm -rf "$CACHE"/.work.* # left by a killed build (we hold the lock)
WORK=$(mktemp -d "$CACHE/.work.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

say "building $KEY"

# 1. kernel package
mkdir -p "$WORK/deb"
chmod 777 "$WORK/deb" # apt's _apt sandbox user must be able to write here
APT_OPTS=()
[ "$(id -u)" = 0 ] && APT_OPTS=(-o APT::Sandbox::User=root)
say "downloading $KPKG=$KVER"
(cd "$WORK/deb" && apt-get download -qq "${APT_OPTS[@]}" "$KPKG=$KVER" >&2) || die "apt-get download $KPKG=$KVER failed"
DEB=$(ls "$WORK"/deb/*.deb)
say "extracting $(basename "$DEB")"
mkdir -p "$WORK/kx"
dpkg-deb -x "$DEB" "$WORK/kx"
rm -f "$DEB"
MODDIR="$WORK/kx/lib/modules/$KABI"
[ -d "$MODDIR" ] || die "no lib/modules/$KABI in $KPKG"
VMLINUZ="$WORK/kx/boot/vmlinuz-$KABI"
[ -f "$VMLINUZ" ] || die "no boot/vmlinuz-$KABI in $KPKG"
[ -f "$MODDIR/modules.dep" ] || depmod -b "$WORK/kx" "$KABI"

# 2. module closure, in load order (dependencies first)
declare -A DEPS=() SEEN=()
while IFS= read -r line; do
	mod=${line%%:*}
	DEPS[$mod]=${line#*:}
done <"$MODDIR/modules.dep"
declare -A BYNAME=()
for mod in "${!DEPS[@]}"; do
	base=${mod##*/}
	base=${base%%.ko*}
	BYNAME[${base//-/_}]=$mod
done
ORDER=()
visit() {
	local m=$1 d
	[ -n "${SEEN[$m]:-}" ] && return 0
	SEEN[$m]=1
	for d in ${DEPS[$m]}; do visit "$d"; done
	ORDER+=("$m")
}
BUILTIN="$MODDIR/modules.builtin"
for name in "${WANT_MODULES[@]}"; do
	if [ -n "${BYNAME[$name]:-}" ]; then
		visit "${BYNAME[$name]}"
	elif grep -Eq "/${name//_/[-_]}\.ko$" "$BUILTIN" 2>/dev/null; then
		say "$name is built into the kernel"
	else
		die "module $name not found in $KPKG"
	fi
done

ROOTFS="$WORK/rootfs"
mkdir -p "$ROOTFS"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc,lib/modules}
MODNAMES=()
for m in "${ORDER[@]}"; do
	base=${m##*/}
	case "$base" in
	*.ko) cp "$MODDIR/$m" "$ROOTFS/lib/modules/$base" ;;
	*.ko.xz) xz -dc "$MODDIR/$m" >"$ROOTFS/lib/modules/${base%.xz}" ;;
	*.ko.gz) gzip -dc "$MODDIR/$m" >"$ROOTFS/lib/modules/${base%.gz}" ;;
	*.ko.zst)
		command -v zstd >/dev/null || die "$base is zstd-compressed: apt-get install zstd"
		zstd -qdc "$MODDIR/$m" >"$ROOTFS/lib/modules/${base%.zst}"
		;;
	*) die "unexpected module file $m" ;;
	esac
	base=${base%.ko*}
	MODNAMES+=("$base")
	echo "$base.ko" >>"$ROOTFS/lib/modules/load.order"
done
say "modules: ${MODNAMES[*]}"
cp "$VMLINUZ" "$WORK/vmlinuz"
rm -rf "$WORK/kx" # the extracted package is ~400 MB

# Uncompressed ELF kernel with its PVH entry note: QEMU boots it directly
# (-kernel vmlinux), skipping the bzImage decompressor, which under TCG takes
# ~3 s (xz). Optional: when it cannot be extracted only vmlinuz is shipped.
extract_vmlinux() {
	local off
	for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$WORK/vmlinuz" | cut -d: -f1 | head -4); do
		if xz -dc --single-stream <(tail -c "+$((off + 1))" "$WORK/vmlinuz") >"$WORK/vmlinux" 2>/dev/null &&
			[ "$(head -c 4 "$WORK/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
			# XEN_ELFNOTE_PHYS32_ENTRY (18) marks a PVH-bootable kernel
			if ! command -v readelf >/dev/null || readelf -n "$WORK/vmlinux" 2>/dev/null | grep -q 'type: (0x00000012)'; then
				return 0
			fi
		fi
	done
	rm -f "$WORK/vmlinux"
	return 1
}
HAVE_VMLINUX=false
if extract_vmlinux; then HAVE_VMLINUX=true; else say "note: no PVH vmlinux extracted (not xz or no PVH note); use vmlinuz"; fi

# 3. userland: busybox + applet links, /init, vmhop-guestd
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for applet in $("$BUSYBOX" --list-full); do
	[ -e "$ROOTFS/$applet" ] || ln -s /bin/busybox "$ROOTFS/$applet"
done
install -m 0755 "$GUEST/init" "$ROOTFS/init"
say "compiling vmhop-guestd"
gcc -static -O2 -s -Wall -Wextra -pthread -o "$ROOTFS/bin/vmhop-guestd" "$GUEST"/src/*.c
echo "root:x:0:0:root:/:/bin/sh" >"$ROOTFS/etc/passwd"
echo "root:x:0:" >"$ROOTFS/etc/group"
if [ "$(id -u)" = 0 ]; then
	mknod -m 600 "$ROOTFS/dev/console" c 5 1
	mknod -m 666 "$ROOTFS/dev/null" c 1 3
fi
(cd "$ROOTFS" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9 -n >"$WORK/initrd.img"

# 4. manifest, publish
WORKLOAD_VERSION=$(sed -n 's/^#define GUESTD_VERSION "\(.*\)"/\1/p' "$GUEST/src/guestd.h")
mods_json=$(printf '"%s",' "${MODNAMES[@]}")
cat >"$WORK/manifest.json" <<EOF
{
  "key": "$KEY",
  "kernel": { "package": "$KPKG", "version": "$KVER", "release": "$KABI" },
  "modules": [${mods_json%,}],
  "busybox": "$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)",
  "workload": { "name": "vmhop-guestd", "version": "$WORKLOAD_VERSION" },
  "sourceHash": "$HASH",
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "initrdBytes": $(stat -c %s "$WORK/initrd.img"),
  "vmlinuzBytes": $(stat -c %s "$WORK/vmlinuz"),
  "vmlinux": $HAVE_VMLINUX
}
EOF
mkdir -p "$WORK/out"
mv "$WORK/vmlinuz" "$WORK/initrd.img" "$WORK/manifest.json" "$WORK/out/"
[ "$HAVE_VMLINUX" = false ] || mv "$WORK/vmlinux" "$WORK/out/"
rm -rf "$OUT"
mv -T "$WORK/out" "$OUT"
set_current
# drop older builds (other kernel or sources); files of a running QEMU stay
# readable until it exits
for d in "$CACHE"/*/; do
	d=${d%/}
	[ -L "$d" ] || [ "${d##*/}" = "$KEY" ] || rm -rf "$d"
done
say "built in $(($(date +%s) - T0)) s"
print_result
