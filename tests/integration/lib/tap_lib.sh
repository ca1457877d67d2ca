# tap_lib.sh — sourced by the tap_*.sh integration tests (it lives in lib/
# so scripts/test.sh does not run it as a test).
#
# The topology, all in namespaces named with this run's prefix ($TP):
#
#   ${TP}a (VM A 198.18.1.1) ─ vp-a ┐                    ┌ vp-c ─ ${TP}c (VM C 198.18.1.3)
#   ${TP}b (VM B 198.18.1.2) ─ vp-b ┤ br0 ${TP}h1 ─ up1 ═ up2 ─ br0 ${TP}h2
#                                   │
#                         mon0 198.19.0.1/24 ═ eth0 198.19.0.2/24 ${TP}n (analyzer)
#
# Host 1 runs the tap; the analyzer terminates VXLAN with the kernel's own
# device (vxN, GRO off so it does not merge frames) and captures GRE,
# ERSPAN and TZSP raw. The monitoring link behaves like a NIC without
# tunnel offloads: host 1 segments and checksums in software before the
# "wire", so the analyzer sees wire frames.

TP=${TP:-vtt$$}
TAPDIR=$(mktemp -d /tmp/vtap-tap.XXXXXX)
VTAP=${VTAP:-build/asan/vtap}
TAPRUN_PID=
BG_PIDS=()
UUID_A=6695eb01-f6a4-8304-79aa-97f2502e193f
UUID_B=1b4e28ba-2fa1-11d2-883f-0016d3cca427
UUID_C=9f8d6a55-3d9c-4a5e-8d2b-5b9f1e0a7c11
A_IP=198.18.1.1
B_IP=198.18.1.2
C_IP=198.18.1.3
AN_IP=198.19.0.2

skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
info() { echo "-- $*"; }

need_root() {
	[ "$(id -u)" -eq 0 ] || skip "needs CAP_NET_ADMIN"
	ip netns add "${TP}probe" 2>/dev/null || skip "needs CAP_NET_ADMIN (cannot create namespaces)"
	ip netns del "${TP}probe"
	for t in tcpdump tshark iperf3 python3; do
		command -v $t >/dev/null || fail "$t missing (scripts/deps.sh installs it)"
	done
	[ -x "$VTAP" ] || fail "no vtap binary at $VTAP"
}

nsx() { local ns=$1; shift; ip netns exec "${TP}$ns" "$@"; }

cleanup() {
	local rc=$?
	[ -n "$TAPRUN_PID" ] && kill "$TAPRUN_PID" 2>/dev/null && wait "$TAPRUN_PID" 2>/dev/null
	for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	for n in a b c n h1 h2; do ip netns del "${TP}$n" 2>/dev/null; done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ -f "$TAPDIR/taprun.err" ]; then
		echo "--- tap-run stderr (last 30 lines)"; tail -30 "$TAPDIR/taprun.err"
	fi
	rm -rf "$TAPDIR"
	exit $rc
}

# topo_up [MON_MTU] : builds the topology above; the monitoring link's MTU
# defaults to 9000 (jumbo, as monitoring networks are).
topo_up() {
	local mon_mtu=${1:-9000}
	trap cleanup EXIT
	for n in a b c n h1 h2; do
		ip netns add "${TP}$n" || fail "netns ${TP}$n"
		nsx $n ip link set lo up
	done
	for h in h1 h2; do
		nsx $h ip link add br0 type bridge
		nsx $h ip link set br0 up
	done
	# VMs: IPv6 off, so nothing speaks unless a test makes it
	for v in a:h1:$A_IP b:h1:$B_IP c:h2:$C_IP; do
		IFS=: read -r vm host ip <<<"$v"
		nsx $vm sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
		nsx $host ip link add vp-$vm type veth peer name eth0 netns "${TP}$vm"
		nsx $host sysctl -qw net.ipv6.conf.vp-$vm.disable_ipv6=1
		nsx $host ip link set vp-$vm master br0 up
		nsx $vm ip addr add $ip/24 dev eth0
		nsx $vm ip link set eth0 up
	done
	nsx h1 ip link add up1 type veth peer name up2 netns "${TP}h2"
	nsx h1 ip link set up1 master br0 up
	nsx h2 ip link set up2 master br0 up
	for h in h1 h2; do nsx $h sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done
	# the monitoring network
	nsx h1 ip link add mon0 type veth peer name eth0 netns "${TP}n"
	nsx h1 ip link set mon0 mtu "$mon_mtu"
	nsx n ip link set eth0 mtu "$mon_mtu"
	nsx h1 ip addr add 198.19.0.1/24 dev mon0
	nsx n ip addr add $AN_IP/24 dev eth0
	nsx h1 ip link set mon0 up
	nsx n ip link set eth0 up
	nsx n sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	# a NIC without tunnel offloads: the kernel segments and checksums
	nsx h1 ethtool -K mon0 tx off tx-udp_tnl-segmentation off tx-udp_tnl-csum-segmentation off \
		tx-gre-segmentation off tx-gre-csum-segmentation off >/dev/null 2>&1 ||
		fail "ethtool on mon0"
	nsx n ethtool -K eth0 gro off >/dev/null 2>&1
	# bridges forward at once; wait for carrier everywhere
	wait_until 10 'nsx a ping -c1 -W1 -q $B_IP >/dev/null && nsx a ping -c1 -W1 -q $C_IP >/dev/null && nsx h1 ping -c1 -W1 -q $AN_IP >/dev/null' ||
		fail "topology not reachable"
}

# analyzer_vxlan VNI : the analyzer's kernel VXLAN device for one VNI.
analyzer_vxlan() {
	nsx n ip link add vx$1 type vxlan id "$1" dstport 4789 local $AN_IP nolearning
	nsx n ip link set vx$1 up
	nsx n ethtool -K vx$1 gro off >/dev/null 2>&1
}

# analyzer_sink : a process in the analyzer that listens on the GRE protocol
# (raw socket) and on UDP 37008 and throws away what it reads, as a
# capturing analyzer does: the analyzer's kernel then answers nothing
# ("protocol/port unreachable") to the copies.
analyzer_sink() {
	ip netns exec "${TP}n" python3 -c '
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
	BG_PIDS+=($!)
	wait_until 10 '[ -f "$TAPDIR/sink.ready" ]' || fail "analyzer sink did not start"
}

# iperf_c NS ARGS... : an iperf3 client; retried while the server, which
# serves one test at a time, is not accepting yet.
iperf_c() {
	local ns=$1; shift
	for _ in 1 2 3 4 5; do
		nsx $ns iperf3 -c "$@" >"$TAPDIR/iperf.out" 2>&1 && return 0
		grep -q "Connection refused\|server is busy" "$TAPDIR/iperf.out" || break
		sleep 0.5
	done
	cat "$TAPDIR/iperf.out"
	return 1
}

# wait_until SECONDS 'COMMAND' : polls every 0.1 s
wait_until() {
	local end=$((SECONDS + $1))
	while [ $SECONDS -lt $end ]; do
		eval "$2" && return 0
		sleep 0.1
	done
	eval "$2"
}

# taprun ARGS... : starts `vtap tap-run` in host 1; waits until it is ready.
taprun() {
	rm -f "$TAPDIR/ready"
	# not through nsx: $! must be vtap itself (ip netns exec execs it)
	ip netns exec "${TP}h1" "$VTAP" tap-run --ready "$TAPDIR/ready" "$@" \
		>"$TAPDIR/taprun.out" 2>"$TAPDIR/taprun.err" &
	TAPRUN_PID=$!
	wait_until 30 '[ -f "$TAPDIR/ready" ] || ! kill -0 $TAPRUN_PID 2>/dev/null'
	[ -f "$TAPDIR/ready" ] || { cat "$TAPDIR/taprun.err"; fail "tap-run did not start"; }
}

# stats : the current counters (one JSON line) on stdout.
stats() {
	local n
	n=$(wc -l <"$TAPDIR/taprun.out")
	kill -USR1 "$TAPRUN_PID"
	wait_until 10 '[ $(wc -l <"$TAPDIR/taprun.out") -gt '"$n"' ]' || fail "no stats from tap-run"
	tail -1 "$TAPDIR/taprun.out"
}

# taprun_stop : SIGTERM, then the final counters in $TAPDIR/final.json.
taprun_stop() {
	kill -TERM "$TAPRUN_PID"
	wait "$TAPRUN_PID"
	local rc=$?
	TAPRUN_PID=
	[ $rc -eq 0 ] || fail "tap-run exited with $rc"
	tail -1 "$TAPDIR/taprun.out" >"$TAPDIR/final.json"
}

# sess FIELD [ID] : a session counter from the last stats line.
sess() { jq -r --arg f "$1" --argjson id "${2:-1}" '.sessions[] | select(.id == $id) | .[$f]' <<<"$STATS"; }

# capture NS IFACE FILE [FILTER] : tcpdump in the background; waits until it
# listens. Its stderr (with the kernel drop count) goes to FILE.err.
capture() {
	local ns=$1 ifc=$2 file=$3; shift 3
	ip netns exec "${TP}$ns" tcpdump -i "$ifc" -s 0 -B 32768 -U -w "$file" "$@" 2>"$file.err" &
	BG_PIDS+=($!)
	eval "CAP_PID_$(basename "$file" .pcap | tr -c 'a-zA-Z0-9_\n' _)=$!"
	wait_until 10 'grep -q "listening on" "$file.err"' || fail "tcpdump on $ns/$ifc did not start"
}

# capture_stop FILE : stops the capture of FILE and checks the kernel
# dropped nothing (a capture with drops proves nothing).
capture_stop() {
	local file=$1 var pid
	var="CAP_PID_$(basename "$file" .pcap | tr -c 'a-zA-Z0-9_\n' _)"
	pid=${!var}
	kill -INT "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	grep -q "^0 packets dropped by kernel" "$file.err" ||
		fail "capture $file dropped packets: $(grep dropped "$file.err")"
}

# settle : waits until the tap has no copies in flight and the counters
# stop moving (copies reach the analyzer within milliseconds).
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
