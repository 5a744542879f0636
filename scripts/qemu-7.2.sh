#!/usr/bin/env bash
# Debian 12's own QEMU 7.2, unpacked beside the installed QEMU 10 into .cache/qemu-7.2/ (no
# dpkg install, nothing in /usr changes), for the comparisons that need it: the soak on 7.2
# (`npm run soak -- N --qemu 7.2`) and the tests of the pre-flight's 7.2 refusal.
# Prints the path of a qemu-system-x86_64 wrapper that runs 7.2 with its own firmware and
# modules. Idempotent; needs apt-get (Debian 12 sources) and root.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/.cache/qemu-7.2
wrapper=$dest/qemu-system-x86_64
if [[ -x $wrapper ]] && "$wrapper" --version 2>/dev/null | grep -q 'version 7\.2'; then
  echo "$wrapper"
  exit 0
fi
version() { # the newest 7.2 version of package $1 that apt knows
  apt-cache madison "$1" | awk -v p="$2" '$3 ~ p {print $3; exit}'
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
# Package lists may be missing (a machine that had everything installed): fetch them once.
[[ -n $(version qemu-system-x86 '^1:7\.2') ]] || apt-get update -q >/dev/null
pkgs=()
for p in qemu-system-x86 qemu-system-common qemu-system-data; do
  v=$(version "$p" '^1:7\.2')
  [[ -n $v ]] || { echo "qemu-7.2: apt knows no 7.2 version of $p (run apt-get update)" >&2; exit 1; }
  pkgs+=("$p=$v")
done
v=$(version seabios '^1\.16\.2')
[[ -n $v ]] && pkgs+=("seabios=$v")
(cd "$work" && apt-get download -q "${pkgs[@]}" >/dev/null 2>&1) || {
  echo "qemu-7.2: apt-get download ${pkgs[*]} failed" >&2
  exit 1
}
rm -rf "$dest.new"
mkdir -p "$dest.new"
for d in "$work"/*.deb; do dpkg-deb -x "$d" "$dest.new"; done
cat >"$dest.new/qemu-system-x86_64" <<WRAP
#!/bin/sh
# QEMU 7.2 from Debian 12, unpacked by scripts/qemu-7.2.sh: its own modules and firmware first.
export QEMU_MODULE_DIR=$dest/usr/lib/x86_64-linux-gnu/qemu
exec $dest/usr/bin/qemu-system-x86_64 -L $dest/usr/share/qemu -L $dest/usr/share/seabios -L /usr/lib/ipxe/qemu "\$@"
WRAP
chmod +x "$dest.new/qemu-system-x86_64"
rm -rf "$dest"
mv "$dest.new" "$dest"
"$wrapper" --version | head -1 >&2
echo "$wrapper"
