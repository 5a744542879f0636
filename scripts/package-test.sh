#!/usr/bin/env bash
# The release artifacts work where nothing of this repository is: `npm run package` into a
# temporary directory, then
#   - the npm tarball: only runtime code inside; installed into a clean prefix (runtime
#     dependencies from npm's cache or the registry), `vmhop --version` and `vmhop-agent
#     --version` run from there, and the agent opens a registry (better-sqlite3's binary loads);
#   - the .deb: control fields, conffiles, file modes; installed into a throwaway root with
#     `dpkg --root` (its own dpkg database, dependencies not checked, maintainer scripts not run
#     against the host), both commands run from there, and its unit passes `systemd-analyze verify`.
# One step of scripts/test.sh (about 3 minutes, most of it compiling better-sqlite3 twice).
set -euo pipefail
cd "$(dirname "$0")/.."
t=$(mktemp -d /tmp/vmhop-package-test.XXXXXX)
trap 'rm -rf "$t"' EXIT
failures=0
ok() { printf 'ok: %s\n' "$*"; }
fail() {
  printf 'FAIL: %s\n' "$*"
  failures=$((failures + 1))
}
expect() { # expect DESCRIPTION ACTUAL EXPECTED
  if [[ $2 == "$3" ]]; then ok "$1"; else fail "$1: got '$2', expected '$3'"; fi
}

# The packages dist/src imports (statically or on first use) that do not resolve from DIR: a
# runtime import left in devDependencies shows here even if --version never loads it.
# A specifier has no whitespace: the pattern must not run from a help text's "... from'" to the
# next quote (the undrain verb's "come home from'" did).
unresolved() {
  (cd "$1" && node --input-type=module -e '
    import { readFileSync, readdirSync } from "node:fs";
    const specs = new Set();
    for (const f of readdirSync("dist/src", { recursive: true }).filter((x) => x.endsWith(".js")))
      for (const m of readFileSync(`dist/src/${f}`, "utf8").matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["\x27]([^."\x27\s][^"\x27\s]*)["\x27]/g))
        if (!m[1].startsWith("node:")) specs.add(m[1]);
    for (const s of specs) { try { import.meta.resolve(s); } catch { console.log(s); } }')
}

version=$(git show HEAD:package.json | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).version')
VMHOP_RELEASE_DIR=$t/release bash scripts/package.sh
tgz=$t/release/vmhop-$version.tgz
deb=$t/release/vmhop_${version}_$(dpkg --print-architecture).deb
ls -l "$t/release"

# The tarball: runtime code, the web UI, README, the unit and the files beside it (for an
# install without the .deb); nothing of the tests, bench, guest or sources.
listing=$(tar -tzf "$tgz")
ours='package\.json|README\.md|LICENSE|dist/src/.+\.js|dist/web/.+|packaging/(vmhop-agent\.service|agent\.json|tmpfiles\.conf)'
extra=$(grep -vE "^package/($ours)\$" <<<"$listing" || true)
expect 'tarball holds only package.json, README.md, LICENSE, dist/src/**.js, dist/web/ and 3 packaging files' "$extra" ''
for f in dist/src/cli/main.js dist/src/agent/main.js dist/web/index.html; do
  grep -qx "package/$f" <<<"$listing" && ok "tarball has $f" || fail "tarball lacks $f"
done
banned=$(grep -E '\.test\.js$|/testing/|/demo/|-fixtures\.js$|\.map$' <<<"$listing" || true)
expect 'tarball has no tests, test helpers, demo or source maps' "$banned" ''

# A clean prefix: what `npm install -g` does on a host with Node and nothing else of vmhop.
npm install --global --prefix "$t/prefix" --prefer-offline --no-audit --no-fund --loglevel=error "$tgz"
expect 'vmhop --version (npm prefix)' "$("$t/prefix/bin/vmhop" --version)" "$version"
expect 'vmhop-agent --version (npm prefix)' "$("$t/prefix/bin/vmhop-agent" --version)" "$version"
expect 'every package dist/src imports resolves (npm prefix)' "$(unresolved "$t/prefix/lib/node_modules/vmhop")" ''
# Our devDependencies must not come along. (Type packages a runtime dependency itself depends on
# may: protobufjs, under etcd3's gRPC client, depends on @types/node.)
dev=$(cd "$t/prefix/lib/node_modules/vmhop/node_modules" &&
  for d in $(node -p "Object.keys(require('$PWD/package.json').devDependencies).join(' ')"); do
    [[ -e "$d" ]] && echo "$d"
  done || true)
expect 'no build or test tools installed' "$dev" ''
"$t/prefix/bin/vmhop-agent" token list --data-dir "$t/data-npm" --json >/dev/null &&
  ok 'vmhop-agent opens its registry (better-sqlite3 loads)' || fail 'vmhop-agent token list (npm prefix)'
echo "npm prefix: $(du -sh "$t/prefix" | cut -f1) installed"

# The .deb: fields and conffiles.
depends=$(dpkg-deb -f "$deb" Depends)
for d in 'nodejs (>= 20.19)' qemu-system-x86 qemu-utils; do
  [[ ", $depends, " == *", $d"[,\ ]* ]] && ok "Depends names $d" || fail "Depends '$depends' lacks $d"
done
expect 'conffiles' "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)" /etc/vmhop/agent.json

# A throwaway root with its own dpkg database: dpkg --root installs, registers the conffile, and
# runs the maintainer scripts unchrooted with DPKG_ROOT set (they then leave the host alone).
r=$t/root
mkdir -p "$r/var/lib/dpkg/updates" "$r/var/lib/dpkg/info"
touch "$r/var/lib/dpkg/status"
dpkg --root="$r" --force-depends --force-script-chrootless --force-not-root --log=/dev/null -i "$deb" &>"$t/dpkg.log" ||
  { cat "$t/dpkg.log"; fail "dpkg --root -i"; }
expect 'dpkg --root: installed' "$(dpkg --root="$r" -s vmhop | sed -n 's/^Status: //p')" 'install ok installed'
conf=$(dpkg --root="$r" -s vmhop | sed -n '/^Conffiles:/,/^[A-Z]/p' | awk '/^ \//{print $1}')
expect 'dpkg --root: registered conffiles' "$conf" /etc/vmhop/agent.json
expect 'vmhop --version (.deb)' "$("$r/usr/bin/vmhop" --version)" "$version"
expect 'vmhop-agent --version (.deb)' "$("$r/usr/bin/vmhop-agent" --version)" "$version"
expect 'every package dist/src imports resolves (.deb)' "$(unresolved "$r/usr/lib/vmhop")" ''
"$r/usr/bin/vmhop-agent" token list --data-dir "$t/data-deb" --json >/dev/null &&
  ok 'vmhop-agent opens its registry from the .deb' || fail 'vmhop-agent token list (.deb)'
grep -q 'MIT License' "$r/usr/share/doc/vmhop/copyright" &&
  ok '.deb carries the licence as /usr/share/doc/vmhop/copyright' || fail '.deb: no /usr/share/doc/vmhop/copyright'
expect '/var/lib/vmhop mode' "$(stat -c '%a %U' "$r/var/lib/vmhop")" '700 root'
expect '/etc/vmhop/agent.json mode' "$(stat -c '%a %U' "$r/etc/vmhop/agent.json")" '644 root'
grep -qx 'd /run/vmhop 0700 root root -' "$r/usr/lib/tmpfiles.d/vmhop.conf" &&
  ok 'tmpfiles.d makes /run/vmhop 0700' || fail 'tmpfiles.d: no /run/vmhop 0700 line'
grep -qx 'RuntimeDirectoryMode=0700' "$r/lib/systemd/system/vmhop-agent.service" &&
  ok 'unit: RuntimeDirectoryMode=0700' || fail 'unit: no RuntimeDirectoryMode=0700'
# vmhop(1) is generated from the command tree: every top-level verb has its section.
verbs=$("$r/usr/bin/vmhop" --help | sed -n '/^Commands:/,$p' | awk 'NR > 1 && $1 != "help" {print $1}')
man=$(zcat "$r/usr/share/man/man1/vmhop.1.gz" 2>/dev/null | sed 's/\\-/-/g' || true)
missing=$(for v in $verbs; do grep -qE "^\.SS \"vmhop $v( |\")" <<<"$man" || echo "$v"; done)
[[ -n $verbs && -z $missing ]] && ok "vmhop(1) documents all $(wc -w <<<"$verbs") verbs" ||
  fail "vmhop(1) lacks: ${missing:-the page or the verb list}"
echo ".deb: $(du -h "$deb" | cut -f1), installed $(du -sh "$r/usr/lib/vmhop" | cut -f1) under /usr/lib/vmhop"

# The unit as shipped, but for ExecStart's path, which must point into the throwaway root:
# verify checks that the program exists. Warnings count as failures (verify exits 0 on them).
unit=$r/lib/systemd/system/vmhop-agent.service
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$t/unit"
  sed "s|^ExecStart=/usr/bin/vmhop-agent |ExecStart=$r/usr/bin/vmhop-agent |" "$unit" >"$t/unit/vmhop-agent.service"
  # verify also loads units of this host that ours pulls in (network-online.target's): their
  # warnings are the host's business (libvirt 11's libvirtd.service says Type=notify-reload,
  # which Debian 12's systemd 252 does not know), so only lines that name vmhop count.
  rc=0
  out=$(systemd-analyze verify "$t/unit/vmhop-agent.service" 2>&1) || rc=$?
  msg=$(grep vmhop <<<"$out" || true)
  if ((rc == 0)) && [[ -z $msg ]]; then
    ok 'systemd-analyze verify vmhop-agent.service'
  else
    fail "systemd-analyze verify (exit $rc): ${msg:-$out}"
  fi
else
  fail 'systemd-analyze is missing (Debian package systemd): the unit was not verified'
fi

echo "package test: $failures failed"
((failures == 0))
