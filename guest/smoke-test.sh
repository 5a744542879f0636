#!/usr/bin/env bash
# End-to-end check of the test guest under QEMU/TCG (no KVM needed):
# builds it, boots it, exercises every control command, corrupts the disk
# image while the VM is off and checks that disk-verify notices, cold-boots
# from the same disk and checks the writer resumes, and measures
# boot-to-service time. Only loopback traffic (slirp hostfwd).
#
# Usage: guest/smoke-test.sh [--timing-runs N] [--timing-only]
# Env:   VMHOP_SMOKE_PORT (host port forwarded to the guest, default 17777)
#        VMHOP_SMOKE_KERNEL (vmlinux|vmlinuz, default vmlinux when built)
# Needs: qemu-system-x86 qemu-utils (qemu-img, qemu-io) + build-guest.sh's.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${VMHOP_SMOKE_PORT:-17777}
RUNS=3
TIMING_ONLY=0
while [ $# -gt 0 ]; do
	case "$1" in
	--timing-runs)
		RUNS=$2
		shift
		;;
	--timing-only) TIMING_ONLY=1 ;;
	*)
		echo "usage: $0 [--timing-runs N] [--timing-only]" >&2
		exit 2
		;;
	esac
	shift
done

G=$(bash "$ROOT/scripts/build-guest.sh" --quiet)
G=$(readlink -f "$G")
KERNEL=${VMHOP_SMOKE_KERNEL:-}
if [ -z "$KERNEL" ]; then
	KERNEL=vmlinuz
	[ -f "$G/vmlinux" ] && KERNEL=vmlinux
fi
TMP=$(mktemp -d /tmp/vmhop-smoke.XXXXXX)
QPID=
PASS=0
FAIL=0
cleanup() {
	[ -z "$QPID" ] || kill "$QPID" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() {
	PASS=$((PASS + 1))
	echo "ok   - $*"
}
bad() {
	FAIL=$((FAIL + 1))
	echo "FAIL - $*"
}
check() { # check DESC JSON PATTERN...
	local desc=$1 json=$2
	shift 2
	for p in "$@"; do
		if [[ "$json" != *"$p"* ]]; then
			bad "$desc: expected $p in $json"
			return 0
		fi
	done
	ok "$desc"
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
# fork-free sleep: read with a timeout on a pipe nobody writes to
exec {SLEEP_FD}<> <(:)
snooze() { read -r -t "$1" -u "$SLEEP_FD" _ || true; }

# boot MEM DISK APPEND -> starts QEMU, sets QPID and BOOT_MS (QEMU start to first pong)
boot() {
	local mem=$1 disk=$2 extra=$3 t0 r
	: >"$TMP/serial.log"
	t0=$(now_ms)
	qemu-system-x86_64 -accel tcg -m "$mem" -smp 1 -nodefaults -no-user-config -display none \
		-serial "file:$TMP/serial.log" \
		-kernel "$G/$KERNEL" -initrd "$G/initrd.img" \
		-append "console=ttyS0 quiet cryptomgr.notests vmhop.ip=10.0.2.15/24 $extra" \
		-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-10.0.2.15:7777" -device virtio-net-pci,netdev=n0 \
		-drive "file=$disk,if=none,id=d0,format=qcow2" -device virtio-blk-pci,drive=d0 \
		>"$TMP/qemu.out" 2>&1 &
	QPID=$!
	READY_MS=
	for _ in $(seq 1 1200); do
		# bash builtins only (no forks), so polling steals no CPU from QEMU. A
		# connection made before the guest listens is accepted by slirp and
		# then dropped or left hanging (until the guest NIC is up), hence the
		# short read timeout, which also sets the resolution of the figure.
		r=
		if { exec 3<>"/dev/tcp/127.0.0.1/$PORT"; } 2>/dev/null; then
			echo ping >&3 2>/dev/null && IFS= read -r -t 0.2 r <&3 2>/dev/null || r=
			exec 3<&-
		fi
		if [[ "$r" == *'"ok":true'* ]]; then
			BOOT_MS=$(($(now_ms) - t0))
			[ -n "$READY_MS" ] || READY_MS=$BOOT_MS
			return 0
		fi
		if [ -z "$READY_MS" ] && [[ "$(<"$TMP/serial.log")" == *"vmhop-guest ready"* ]]; then
			READY_MS=$(($(now_ms) - t0))
		fi
		kill -0 "$QPID" 2>/dev/null || break
		snooze 0.05
	done
	cat "$TMP/qemu.out" "$TMP/serial.log" >&2
	return 1
}

# q CMD -> one command on a new connection, prints the reply line
q() {
	local line
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	echo "$1" >&3
	IFS= read -r -t 120 line <&3 || line=""
	exec 3<&-
	echo "$line"
}

json_num() { # json_num JSON KEY -> first numeric value of "KEY":N
	local v
	v=$(grep -o "\"$2\":[0-9]*" <<<"$1" | head -1 | cut -d: -f2)
	echo "${v:-0}"
}

shutdown_vm() {
	local r
	r=$(q poweroff) || true
	for _ in $(seq 1 300); do
		kill -0 "$QPID" 2>/dev/null || break
		snooze 0.1
	done
	if kill -0 "$QPID" 2>/dev/null; then
		bad "VM did not power off within 30 s (poweroff reply: $r); killing QEMU $QPID"
		grep -v '^tick' "$TMP/serial.log" | tail -5 | sed 's/^/#   serial: /'
		echo "#   last tick: $(grep '^tick' "$TMP/serial.log" | tail -1)"
		cp "$TMP/serial.log" "/tmp/vmhop-smoke-poweroff-failed.$$.log"
		echo "#   serial log kept in /tmp/vmhop-smoke-poweroff-failed.$$.log"
		kill "$QPID" 2>/dev/null || true
	fi
	wait "$QPID" 2>/dev/null || true
	QPID=
}

echo "# guest: $G (kernel $KERNEL)"
echo "# initrd: $(stat -c %s "$G/initrd.img") bytes"
qemu-img create -q -f qcow2 "$TMP/d.qcow2" 64M
cp "$TMP/d.qcow2" "$TMP/clean.qcow2"

if [ "$TIMING_ONLY" = 0 ]; then
# --- 1. first boot: heartbeat, control protocol, mem + disk workloads ---------
boot 256 "$TMP/d.qcow2" "vmhop.disk=/dev/vda vmhop.diskrate=256"
echo "# boot-to-service: ${BOOT_MS} ms (ready line seen at ${READY_MS} ms)"
grep -q '^vmhop-guest ready ip=10.0.2.15 port=7777' "$TMP/serial.log" && ok "ready line on serial" || bad "no ready line"
r=$(q ping)
check "ping" "$r" '"ok":true' '"tick":'
r=$(q status)
check "status" "$r" '"ok":true' '"uptime_ms":' '"boot_id":"' '"mem":{' '"disk":{"dev":"/dev/vda"' '"running":true'
check "unknown command" "$(q frobnicate)" '"ok":false' '"error":'
# many lines on one connection, and many connections
exec 4<>"/dev/tcp/127.0.0.1/$PORT"
t0=$(now_ms)
for _ in $(seq 1 200); do echo ping >&4; done
n=0
while [ $n -lt 200 ] && IFS= read -r -t 10 line <&4; do n=$((n + 1)); done
exec 4<&-
[ $n = 200 ] && ok "200 pipelined pings on one connection ($(($(now_ms) - t0)) ms)" || bad "pipelined pings: got $n/200"
t0=$(now_ms)
n=0
for _ in $(seq 1 100); do [[ "$(q ping)" == *'"ok":true'* ]] && n=$((n + 1)); done
[ $n = 100 ] && ok "100 pings on 100 connections ($(($(now_ms) - t0)) ms)" || bad "connection pings: $n/100"

check "mem-start" "$(q 'mem-start 32 16')" '"ok":true' '"mib":32'
sleep 3
r=$(q mem-verify)
check "mem-verify while running" "$r" '"ok":true' '"bad":0'
check "mem-stop" "$(q mem-stop)" '"ok":true'
check "mem-verify after stop" "$(q mem-verify)" '"ok":true' '"bad":0'
q "mem-corrupt 5" >/dev/null
q "mem-corrupt 77" >/dev/null
check "mem-verify finds corrupted pages" "$(q mem-verify)" '"ok":false' '"bad":2' '"first_bad":[5,77]'
sleep 2
check "disk-verify while running" "$(q disk-verify)" '"ok":true' '"missing":0' '"corrupt":0'
r=$(q disk-stop)
check "disk-stop" "$r" '"ok":true'
ACK=$(json_num "$r" ack)
[ "$ACK" -gt 0 ] && ok "disk writer acknowledged $ACK blocks" || bad "no disk ack"
check "disk-verify after stop" "$(q disk-verify)" '"ok":true' "\"newest\":$ACK"
ticks=$(grep -c '^tick [0-9]*$' "$TMP/serial.log" || true)
if grep -o '^tick [0-9]*$' "$TMP/serial.log" | awk '{ if (NR > 1 && $2 != p + 1) exit 1; p = $2 }'; then
	ok "heartbeat: $ticks ticks, strictly increasing by 1"
else
	bad "heartbeat not consecutive"
fi
grep -q '^disk ack [0-9]*$' "$TMP/serial.log" && ok "disk ack lines on serial" || bad "no disk ack lines"
shutdown_vm
ok "poweroff"

# --- 2. corrupt one block and zero another with the VM off -------------------
cp "$TMP/d.qcow2" "$TMP/clean.qcow2"
# seq S lives at byte (S-1)*4096
qemu-io -f qcow2 -c "write -P 0x5a $((4 * 4096)) 4096" -c "write -z $((9 * 4096)) 4096" "$TMP/d.qcow2" >/dev/null
boot 128 "$TMP/d.qcow2" "vmhop.disk=/dev/vda vmhop.diskauto=0"
r=$(q disk-verify)
check "cold disk-verify finds the damage" "$r" '"ok":false' '"corrupt":1' '"missing":1' '"first_bad":[5,10]'
r=$(q "disk-verify $((ACK + 50))")
check "cold disk-verify MINACK reports a lost tail" "$r" '"ok":false' '"missing":51'
shutdown_vm

# --- 3. cold boot from the intact disk: resume and verify with MINACK --------
boot 128 "$TMP/clean.qcow2" "vmhop.disk=/dev/vda vmhop.diskrate=256"
sleep 2
r=$(q status)
check "writer resumed after cold boot" "$r" "\"resumed_from\":$ACK" '"running":true'
check "cold disk-verify MINACK ok" "$(q "disk-verify $ACK")" '"ok":true' '"missing":0' '"corrupt":0'
r=$(q "disk-verify $((ACK + 10))")
check "MINACK above the resume point is a lost tail" "$r" '"ok":false' '"lost_tail":10'
check "disk-stop" "$(q disk-stop)" '"ok":true'
shutdown_vm

fi # TIMING_ONLY

# --- 4. boot-to-service timing ---------------------------------------------
if [ "$RUNS" -gt 0 ]; then
	for k in vmlinux vmlinuz; do
		[ -f "$G/$k" ] || continue
		for mem in 128 256; do
			times=()
			for _ in $(seq 1 "$RUNS"); do
				KERNEL=$k boot "$mem" "$TMP/clean.qcow2" ""
				times+=("$BOOT_MS(ready:$READY_MS)")
				shutdown_vm
			done
			echo "# timing: kernel=$k mem=${mem}M boot-to-service ms: ${times[*]}"
		done
	done
fi

if [ "$TIMING_ONLY" = 0 ] || [ "$FAIL" != 0 ]; then echo "$PASS passed, $FAIL failed"; fi
[ "$FAIL" = 0 ]
