# tap_lib.sh — sourced by the tap_*.sh integration tests and bench/tap, on
# top of tests/integration/lib.sh and `vtap lab` (docs/lab.md):
#
#   source tests/integration/tap/tap_lib.sh
#   need_tap                        # root, namespaces, the peers
#   tap_lab_up [MONITOR_MTU]        # 2 hosts x 3 VMs (vm3 on a TAP port), removed on exit
#   taprun --port ... --session F   # `vtap tap-run` in host h1, ready when it returns
#   STATS=$(stats); sess sent 1     # counters (one JSON line) and one of them
#
# The lab: VM A = vm1 (veth port vp-vm1 on h1), B = vm2 (h1), the TAP VM
# vm3 (tp-vm3 on h1, relayed with virtio-net headers as qemu does), C = vm4
# (h2, the cross-host peer). Mirror copies leave h1 by its management link
# mgmt0 (198.19.0.11) for the analyzer (198.19.0.254) over the lab's
# management network, whose MTU is MONITOR_MTU.
#
# The monitoring link behaves like a NIC without tunnel offloads: h1
# segments and checksums in software before the "wire", so the analyzer
# receives wire frames; its VXLAN devices (analyzer_vxlan) have GRO off so
# they do not merge them again. A sink in the analyzer listens on GRE and
# UDP 37008 (analyzer_sink), so it answers no copy with an ICMP error.

source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"

# The tap tests' files, captures first, live in memory when they can:
# tcpdump writes each frame as it comes (-U), and on a disk a write now
# and then waits for writeback, long enough under load to overflow its
# ring (agent_tap_restart: 408 frames dropped by the kernel, once)
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	TAPDIR=$(mktemp -d /dev/shm/vtap-tap.XXXXXX)
	on_exit "rm -rf '$TAPDIR'"
else
	TAPDIR=$TMPDIR_T
fi
TAPRUN_PID=
A_IP=198.18.1.1 B_IP=198.18.1.2 T_IP=198.18.1.3 C_IP=198.18.1.4
A6=2001:db8:18::1:1 B6=2001:db8:18::1:2
AN_IP=198.19.0.254
H1_MG=198.19.0.11

info() { echo "-- $*"; }

need_tap() {
	need_netadmin
	need_cmd tcpdump tshark capinfos iperf3 python3 jq ethtool nmap bc
	[ -x "$VTAP" ] || fail "no vtap binary at $VTAP"
}

# nsx NAME CMD... : a command in a lab member (vm1, h1, analyzer ...). Not
# `vtap lab exec`: `ip netns exec` execs the command, so $! of a background
# nsx is the command itself.
nsx() { local ns=$1; shift; ip netns exec "$LAB_PREFIX-$ns" "$@"; }

# wait_for SECONDS 'SHELL CONDITION' : like wait_until, for a condition
# written as one string.
wait_for() { local t=$1; shift; wait_until "$t" bash -c "$*"; }

uuid_of() { lab_json ".vms[] | select(.name == \"$1\") | .uuid"; }
mac_of() { lab_json ".vms[] | select(.name == \"$1\") | .mac"; }

# tap_lab_up [MONITOR_MTU] : the lab, quiet monitoring link (see above).
tap_lab_up() {
	local mtu=${1:-9000}
	lab_up --hosts 2 --vms-per-host 3 --monitor-mtu "$mtu" >"$TAPDIR/lab.out" ||
		fail "lab up: $(cat "$TAPDIR/lab.out")"
	on_exit 'tap_cleanup'
	nsx h1 ethtool -K mgmt0 tx off tx-udp_tnl-segmentation off tx-udp_tnl-csum-segmentation off \
		tx-gre-segmentation off tx-gre-csum-segmentation off >/dev/null 2>&1 ||
		fail "ethtool on h1's mgmt0"
	nsx analyzer ethtool -K eth0 gro off >/dev/null 2>&1
	UUID_A=$(uuid_of vm1) UUID_B=$(uuid_of vm2) UUID_T=$(uuid_of vm3) UUID_C=$(uuid_of vm4)
	A_MAC=$(mac_of vm1) B_MAC=$(mac_of vm2) T_MAC=$(mac_of vm3)
	[ -n "$UUID_A" ] && [ -n "$A_MAC" ] || fail "no inventory"
	wait_for 10 "ip netns exec $LAB_PREFIX-h1 ping -c1 -W1 -q $AN_IP" || fail "analyzer not reachable from h1"
}

tap_cleanup() {
	if [ -n "$TAPRUN_PID" ]; then
		kill "$TAPRUN_PID" 2>/dev/null
		wait "$TAPRUN_PID" 2>/dev/null
		echo "--- tap-run stderr (last 30 lines)"
		tail -30 "$TAPDIR/taprun.err"
	fi
}

# analyzer_vxlan VNI : the analyzer's kernel VXLAN device for one VNI.
analyzer_vxlan() {
	nsx analyzer ip link add vx$1 type vxlan id "$1" dstport 4789 local $AN_IP nolearning
	nsx analyzer ip link set vx$1 up
	nsx analyzer ethtool -K vx$1 gro off >/dev/null 2>&1
}

# analyzer_sink : listens on the GRE protocol (raw socket) and UDP 37008 and
# throws away what it reads, as a capturing analyzer does; the analyzer's
# kernel then answers nothing to the copies (with a full raw socket it
# sends "protocol unreachable", so it must keep reading).
analyzer_sink() {
	nsx analyzer python3 -c '
import select, socket
g = socket.socket(socket.AF_INET, socket.SOCK_RAW, 47)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("", 37008))
for s in (g, u):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.setblocking(False)
open("'"$TAPDIR"'/sink.ready", "w").close()
while True:
    for s in select.select([g, u], [], [])[0]:
        try:
            while True:
                s.recv(65536)
        except BlockingIOError:
            pass' &
	on_exit "kill $! 2>/dev/null"
	wait_for 10 "[ -f '$TAPDIR/sink.ready' ]" || fail "analyzer sink did not start"
}

# iperf_s NAME PORT : an iperf3 server daemon in a VM (killed on exit).
iperf_s() {
	nsx "$1" iperf3 -s -D -p "$2" -I "$TAPDIR/iperf-$1-$2.pid" >/dev/null || fail "iperf3 server"
	wait_for 5 "[ -s '$TAPDIR/iperf-$1-$2.pid' ]" || fail "iperf3 server did not start"
	on_exit "kill $(cat "$TAPDIR/iperf-$1-$2.pid") 2>/dev/null"
}

# iperf_c NAME ARGS... : an iperf3 client (output in $TAPDIR/iperf.out);
# retried while the server, which serves one test at a time, is busy.
iperf_c() {
	local ns=$1; shift
	for _ in 1 2 3 4 5; do
		nsx "$ns" iperf3 -c "$@" >"$TAPDIR/iperf.out" 2>&1 && return 0
		grep -q "Connection refused\|server is busy\|unable to connect\|closed unexpectedly" \
			"$TAPDIR/iperf.out" || break
		sleep 0.5
	done
	cat "$TAPDIR/iperf.out" >&2
	return 1
}

# taprun ARGS... : `vtap tap-run` in host h1, in the background; returns
# once it is ready (ports armed, sessions set).
taprun() {
	rm -f "$TAPDIR/ready"
	ip netns exec "$LAB_PREFIX-h1" "$VTAP" tap-run --ready "$TAPDIR/ready" "$@" \
		>"$TAPDIR/taprun.out" 2>"$TAPDIR/taprun.err" &
	TAPRUN_PID=$!
	wait_for 30 "[ -f '$TAPDIR/ready' ] || ! kill -0 $TAPRUN_PID 2>/dev/null"
	[ -f "$TAPDIR/ready" ] || { cat "$TAPDIR/taprun.err"; TAPRUN_PID=; fail "tap-run did not start"; }
}

# stats : the current counters (one JSON line).
stats() {
	local n
	n=$(wc -l <"$TAPDIR/taprun.out")
	kill -USR1 "$TAPRUN_PID"
	wait_for 10 "[ \$(wc -l <'$TAPDIR/taprun.out') -gt $n ]" || fail "no stats from tap-run"
	tail -1 "$TAPDIR/taprun.out"
}

# taprun_stop : SIGTERM; the exit's counters in $TAPDIR/final.json.
taprun_stop() {
	local rc
	kill -TERM "$TAPRUN_PID"
	wait "$TAPRUN_PID"
	rc=$?
	TAPRUN_PID=
	[ $rc -eq 0 ] || { tail -20 "$TAPDIR/taprun.err"; fail "tap-run exited with $rc"; }
	tail -1 "$TAPDIR/taprun.out" >"$TAPDIR/final.json"
}

# sess FIELD [ID] : a session counter from $STATS.
sess() { jq -r --arg f "$1" --argjson id "${2:-1}" '.sessions[] | select(.id == $id) | .[$f]' <<<"$STATS"; }

# capture NAME IFACE FILE [FILTER...] : tcpdump in the background, until
# capture_stop FILE; its stderr (with the kernel's drop count) in FILE.err.
# Immediate mode: without it libpcap uses a TPACKET_V3 ring, whose partly
# filled block reaches tcpdump only when the kernel's block timer (1 s, up
# to two ticks) retires it, and frames in a block not yet retired when
# tcpdump gets SIGINT are lost without being counted as drops (the last
# 689-1003 datagrams of a stream in agent_tap_restart). In immediate
# mode every frame is readable at once; the ring (-B, KiB) holds frames of
# up to 64 KiB (GSO) each, hence its size: 256 MiB, about 4,000 frames.
declare -A CAP_PIDS
capture() {
	local ns=$1 ifc=$2 file=$3; shift 3
	ip netns exec "$LAB_PREFIX-$ns" tcpdump -i "$ifc" -s 0 -B 262144 -U --immediate-mode \
		-w "$file" "$@" 2>"$file.err" &
	CAP_PIDS[$file]=$!
	on_exit "kill ${CAP_PIDS[$file]} 2>/dev/null"
	wait_for 10 "grep -q 'listening on' '$file.err'" || fail "tcpdump on $ns/$ifc did not start"
}

# capture_stop FILE... : stops them, once the frames still crossing the
# lab's links (a few ms) are in; a capture that dropped frames proves nothing.
capture_stop() {
	local f pid
	sleep 0.3
	for f in "$@"; do kill -INT "${CAP_PIDS[$f]}" 2>/dev/null; done
	for f in "$@"; do
		pid=${CAP_PIDS[$f]}
		wait "$pid" 2>/dev/null
		grep -q "^0 packets dropped by kernel" "$f.err" ||
			fail "capture $f dropped packets: $(grep dropped "$f.err")"
	done
}

# no_tshark_errors FILE EXCEPT [TSHARK OPTION...] : fails if tshark finds a
# malformed packet or an expert error in FILE, other than in packets that
# match the display filter EXCEPT ("" for none).
#
# When several sessions mirror the same VM to one capture, each carries a
# copy of the same TCP streams, and tshark's TCP analysis takes the other
# sessions' copies for retransmissions of one conversation: it may report
# reassembly errors no single stream has (one CI run: 102 of them). Such a
# file is checked with TCP_OFF, and each session's packets, taken apart
# with tshark_split, with everything on.
TCP_OFF=(-o tcp.analyze_sequence_numbers:FALSE -o tcp.desegment_tcp_streams:FALSE)
no_tshark_errors() {
	local f=$1 except=$2 flt='_ws.malformed || _ws.expert.severity >= 0x00800000' n
	shift 2
	[ -n "$except" ] && flt="!($except) && ($flt)"
	n=$(tshark -r "$f" "$@" -Y "$flt" 2>/dev/null | wc -l)
	[ "$n" = 0 ] && return 0
	tshark -r "$f" "$@" -Y "$flt" -T fields -e frame.number -e frame.len -e frame.protocols \
		-e _ws.expert.message 2>/dev/null | head
	fail "$n malformed/error packets in $(basename "$f")${except:+ (not counting $except)}"
}

# tshark_split FILE FILTER OUT MIN : the packets of FILE that match the
# display filter FILTER, in OUT; there must be at least MIN.
tshark_split() {
	local n
	tshark -r "$1" -Y "$2" -w "$3" 2>/dev/null || fail "tshark -Y '$2' -w $3"
	n=$(capinfos -c -M "$3" | awk '/Number of packets/ {print $NF}')
	[ "$n" -ge "$4" ] || fail "$n packets match '$2' in $(basename "$1"), fewer than $4"
}

# settle : waits until no copy is in flight in the tap and the counters
# stop moving; leaves the last counters in $STATS.
settle() {
	local prev="" cur
	for _ in $(seq 1 50); do
		STATS=$(stats)
		cur=$(jq -c '[.sessions[] | .sent, .in_flight]' <<<"$STATS")
		if [ "$cur" = "$prev" ] && [ "$(jq '[.sessions[].in_flight] | add // 0' <<<"$STATS")" = 0 ]; then
			sleep 0.3
			return 0
		fi
		prev=$cur
		sleep 0.3
	done
	fail "the tap did not settle: $cur"
}

# quiet : waits until the tapped VMs have been silent for 2 s (the lab's
# VMs send a few IPv6 multicast listener reports after their addresses
# appear), so counters taken now and captures started next see the same
# frames; leaves the counters in $STATS.
quiet() {
	local prev="" cur still=0
	for _ in $(seq 1 60); do
		STATS=$(stats)
		cur=$(jq -c '[.ports[] | .from_vm_packets, .to_vm_packets]' <<<"$STATS")
		if [ "$cur" = "$prev" ]; then
			still=$((still + 1))
			[ $still -ge 4 ] && return 0
		else
			still=0
		fi
		prev=$cur
		sleep 0.5
	done
	fail "the VMs do not go quiet: $cur"
}

# A session's sent counter and the frames its analyzer captured describe
# the same stretch of time only if no copy is made between a counter read
# and a capture's edge. `quiet` and `settle` make that the usual case, but
# cannot promise it (one CI run: 2 copies between settle's last read and
# capture_stop). So the counters are read on both sides of each edge:
#   bracket_open  : after quiet (in $STATS), then after the captures started
#   bracket_close : after settle (in $STATS), then after capture_stop
# and sent_matches ID N LABEL requires
#   sent(close_before) - sent(open_after) <= N <= sent(close_after) - sent(open_before)
# which is equality whenever both edges were quiet (the bracket says so in
# the log when they were not). A bracket wider than 16 copies fails: the
# edges were not quiet enough to prove anything.
bracket_open() { BR_OPEN0=$STATS; BR_OPEN1=$(stats); STATS=$BR_OPEN1; }
bracket_close() { BR_CLOSE0=$STATS; BR_CLOSE1=$(stats); STATS=$BR_CLOSE1; }
sent_of() { jq -r --argjson id "$2" '.sessions[] | select(.id == $id) | .sent' <<<"$1"; }
sent_matches() {
	local id=$1 n=$2 what=$3 lo hi
	lo=$(($(sent_of "$BR_CLOSE0" "$id") - $(sent_of "$BR_OPEN1" "$id")))
	hi=$(($(sent_of "$BR_CLOSE1" "$id") - $(sent_of "$BR_OPEN0" "$id")))
	[ $lo != $hi ] && info "$what: copies made at a capture edge: sent counter between $lo and $hi"
	[ $((hi - lo)) -le 16 ] || fail "$what: $((hi - lo)) copies at the capture edges; not quiet"
	[ "$n" -ge $lo ] && [ "$n" -le $hi ] ||
		fail "$what: $n frames at the analyzer, but the sent counter says $lo..$hi"
}

TF=tests/integration/tap/tap_frames.py

# fail MSG : as lib.sh's, with the tap's own last words (the cleanup runs
# quietly).
fail() {
	echo "FAIL: $*" >&2
	if [ -n "$TAPRUN_PID" ] && [ -s "$TAPDIR/taprun.err" ]; then
		echo "--- tap-run stderr (last 20 lines)" >&2
		tail -20 "$TAPDIR/taprun.err" >&2
	fi
	exit 1
}
