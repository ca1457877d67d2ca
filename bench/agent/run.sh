#!/usr/bin/env bash
# bench/agent/run.sh — live metering: how many packets per second one
# agent capture core meters on a lab port without a drop, and whether the
# drop counters tell the truth at overload; softflowd (libpcap live
# capture of the same port) in the same run as the peer.
#
#   bench/agent/run.sh [SECONDS]     (default 5 per rate)
#
# A lab of 1 host x 2 VMs (release build). vm1 replays an IMIX stream
# (64/576/1500-byte frames 7:4:1, UDP, 1024 flows) to vm2 with tcpreplay at
# a fixed rate, then as fast as it can. For each rate and each meter:
#   - vtap agent, one capture thread (its CPU time is the capture thread's,
#     from /proc), exporting to nfcapd: frames captured on the port + frames
#     the kernel dropped must equal what tcpreplay sent (exactly), and the
#     wire packets metered must equal the frames captured;
#   - softflowd -i on the same port (libpcap): its own capture and drop
#     counters (softflowctl statistics) against the same sent count.
# Overload: the same stream at a fixed rate while the meter is stopped
# (SIGSTOP) for 2 s, so its kernel buffer overflows; the drops it reports
# plus what it captured must still equal what was sent.
# CPU ns/packet is the capture thread's (the agent) or the process's
# (softflowd) user + system time over the packets captured: 1e9 / it is
# what one core sustains. tcpreplay through veth and a bridge cannot send
# faster than about 150 kpps on a 2-core machine, below that capacity.
# Prints a markdown table for docs/agent.md. The machine is shared: run it
# when it is quiet; figures are per run, not guarantees.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SECS=${1:-5}
[ "$(id -u)" -eq 0 ] || { echo "bench/agent/run.sh needs root (network namespaces)"; exit 1; }
scripts/build_release.sh >/dev/null
VTAP=$ROOT/build/release/vtap
P=bench$$
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	"$VTAP" lab down --prefix $P >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT

python3 - "$tmp/imix.pcap" <<'EOF'
import struct, sys
# IMIX: 7 x 64, 4 x 576, 1 x 1500 bytes (Ethernet frame without FCS: -4)
sizes = [60] * 7 + [572] * 4 + [1496]
src_mac = bytes.fromhex("525400180001"); dst_mac = bytes.fromhex("525400180002")
src_ip = bytes([198, 18, 1, 1]); dst_ip = bytes([198, 18, 1, 2])
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(12 * 1024):
        n = sizes[i % 12]
        sport = 20000 + (i % 1024)
        ip_len = n - 14
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, i & 0xffff, 0, 64, 17, 0, src_ip, dst_ip)
        udp = struct.pack("!HHHH", sport, 9, ip_len - 20, 0)
        frame = dst_mac + src_mac + b"\x08\x00" + ip + udp + bytes(ip_len - 28)
        f.write(struct.pack("<IIII", i // 1000000, i % 1000000, len(frame), len(frame)))
        f.write(frame)
EOF

"$VTAP" lab up --prefix $P --hosts 1 --vms-per-host 2 --no-ipv6 >/dev/null
exec_in() { local ns=$1; shift; "$VTAP" lab exec --prefix $P "$ns" -- "$@"; }
for vm in vm1 vm2; do exec_in $vm ethtool -K eth0 tso off gso off gro off >/dev/null; done
mkdir -p "$tmp/nf"
exec_in mgmt nfcapd -w "$tmp/nf" -p 4739 -b 198.19.0.250 -t 3600 -C none >/dev/null 2>&1 &
pids+=($!)
cat >"$tmp/h1.conf" <<EOF
[agent]
threads = 1
[ports]
bridge = br0
exclude = up0
[identity]
libvirt = test:///run/vtap/lab/$P/h1.xml
[export]
collector = udp://198.19.0.250:4739
[control]
listen = unix:$tmp/h1.sock
EOF

status() { "$VTAP" agent status --socket "unix:$tmp/h1.sock" -j; }
port_ctr() { status | jq -r '.ports[] | select(.name == "vp-vm1") | "\(.frames_in) \(.dropped) \(.packets)"'; }
cap_cpu() { # CPU seconds of the agent's capture thread
	local pid=$1 t
	for t in /proc/"$pid"/task/*; do
		if [ "$(cat "$t/comm")" = vtap-cap0 ]; then
			awk '{ printf "%.2f", ($14 + $15) / 100 }' "$t/stat"
			return
		fi
	done
	echo 0
}
replay() { # replay PPS|max [STOP_PID] -> sent packets and achieved pps
	local rate=$1 n args
	if [ "$rate" = max ]; then
		n=$((2000000 * SECS / 5))
		args=(--topspeed)
	else
		n=$((rate * SECS))
		args=(--pps="$rate")
	fi
	"$VTAP" lab exec --prefix $P vm1 -- tcpreplay -q -i eth0 -L "$n" --loop=0 "${args[@]}" \
		"$tmp/imix.pcap" >"$tmp/replay.txt" 2>&1 &
	local rp=$!
	if [ -n "${2:-}" ]; then
		sleep 1
		kill -STOP "$2"
		sleep 2
		kill -CONT "$2"
	fi
	wait $rp
	sent=$(sed -n 's/.*Actual: \([0-9]*\) packets.*/\1/p' "$tmp/replay.txt")
	pps=$(sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' "$tmp/replay.txt")
}

RATES="50000 100000 200000 max overload"
rows=()

# ---- vtap agent ----------------------------------------------------------
"$VTAP" lab exec --prefix $P h1 -- "$VTAP" agent -c "$tmp/h1.conf" >"$tmp/agent.log" 2>&1 &
apid=$!
pids+=($apid)
for _ in $(seq 100); do status >/dev/null 2>&1 && break; sleep 0.1; done
for r in $RATES; do
	read -r f0 d0 p0 <<<"$(port_ctr)"
	c0=$(cap_cpu $apid)
	if [ "$r" = overload ]; then replay 100000 $apid; else replay "$r"; fi
	sleep 1.5
	read -r f1 d1 p1 <<<"$(port_ctr)"
	c1=$(cap_cpu $apid)
	frames=$((f1 - f0)) drops=$((d1 - d0)) metered=$((p1 - p0))
	acc="yes"
	[ $((frames + drops)) -eq "$sent" ] || acc="NO ($((frames + drops)) of $sent)"
	[ "$metered" -eq "$frames" ] || acc="$acc; metered $metered of $frames"
	ns=$(awk -v c="$(awk -v a="$c1" -v b="$c0" 'BEGIN{print a-b}')" -v f="$frames" \
		'BEGIN { if (f) printf "%.0f", c * 1e9 / f; else print "-" }')
	rows+=("| vtap agent (1 capture thread) | $r | ${pps%.*} | $sent | $frames | $drops | $acc | $ns |")
	echo "${rows[-1]}"
done
# tap latency: ports appearing while the agent runs (link event -> bound)
for i in $(seq 20); do
	"$VTAP" lab exec --prefix $P h1 -- ip link add "vp-b$i" type veth peer name "vp-b$i-p"
	"$VTAP" lab exec --prefix $P h1 -- ip link set "vp-b$i" master br0 up
done
sleep 1
lat=$(status | jq -r '[.ports[] | select(.name | startswith("vp-b")) | .tap_latency_us] | sort |
	"\(length) ports: min \(.[0]) us, median \(.[length / 2 | floor]) us, max \(.[-1]) us"')
for i in $(seq 20); do "$VTAP" lab exec --prefix $P h1 -- ip link del "vp-b$i"; done
kill -TERM $apid
wait $apid || true

# ---- softflowd --------------------------------------------------------------
for r in $RATES; do
	"$VTAP" lab exec --prefix $P h1 -- softflowd -d -i vp-vm1 -n 198.19.0.250:4739 -v 10 \
		-c "$tmp/sf.ctl" >/dev/null 2>&1 &
	spid=$!
	pids+=($spid)
	for _ in $(seq 50); do [ -S "$tmp/sf.ctl" ] && break; sleep 0.1; done
	sleep 0.5
	if [ "$r" = overload ]; then replay 100000 $spid; else replay "$r"; fi
	sleep 1.5
	st=$(softflowctl -c "$tmp/sf.ctl" statistics 2>/dev/null || true)
	rcv=$(sed -n 's/.*Packets received by libpcap: *\([0-9]*\).*/\1/p' <<<"$st")
	drp=$(sed -n 's/.*Packets dropped by libpcap: *\([0-9]*\).*/\1/p' <<<"$st")
	cpu=$(awk '{ printf "%.2f", ($14 + $15) / 100 }' /proc/$spid/stat 2>/dev/null || echo 0)
	kill -TERM $spid 2>/dev/null
	wait $spid 2>/dev/null || true
	rm -f "$tmp/sf.ctl"
	# libpcap's "received" (ps_recv) includes what it dropped
	cap=$((${rcv:-0} - ${drp:-0}))
	acc="yes"
	[ $((cap + ${drp:-0})) -eq "$sent" ] || acc="NO ($((cap + ${drp:-0})) of $sent)"
	ns=$(awk -v c="$cpu" -v f="$cap" 'BEGIN { if (f > 0) printf "%.0f", c * 1e9 / f; else print "-" }')
	rows+=("| softflowd -i (libpcap) | $r | ${pps%.*} | $sent | $cap | ${drp:-?} | $acc | $ns |")
	echo "${rows[-1]}"
done

echo
echo "tap latency (link event received -> capture bound), release build: $lat"
echo
echo "| meter | rate asked (pps) | rate achieved (pps) | sent | captured | dropped (reported) | captured + dropped = sent | CPU ns/packet |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
