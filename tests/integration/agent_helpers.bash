# agent_helpers.bash — helpers shared by the agent's integration tests
# (agent_*.sh), sourced after lib.sh. Not a test itself (test.sh runs *.sh).
#
#   agent_conf HOST [LINE...]   write $TMPDIR_T/HOST.conf: bridge br0 (or
#                               $AGENT_BRIDGES) without the uplink, libvirt
#                               test driver of HOST,
#                               export to the collector in mgmt, control
#                               socket $TMPDIR_T/HOST.sock; extra lines are
#                               appended (sections and keys)
#   agent_start HOST            run `vtap agent` in HOST (pid in AGENT_PID_HOST)
#                               and wait until its control API answers
#   agent_status HOST [-j]      `vtap agent status` of HOST's agent
#   agent_stop HOST             SIGTERM: it exports every flow and must exit 0
#                               (ASan: no leak, no error)
#   collector_start             nfcapd and a capture of the IPFIX datagrams in mgmt
#   collector_stop              flush nfcapd; $TMPDIR_T/flows.json = nfdump -o json
#   cap_start NAME NS [FILTER [SNAPLEN]]  dumpcap on eth0 of NS into
#                               $TMPDIR_T/NAME.pcapng (headers only by default)
#   cap_stop NAME               stop it (the file is complete afterwards)
#   lab_quiet                   wait until the lab's own start-up chatter (the
#                               MLD reports of new IPv6 addresses, repeated
#                               for a second or two) is over: 2 s without an
#                               ICMPv6 packet on the fabric (at most 30 s)

COLLECTOR_IP=198.19.0.250
COLLECTOR_PORT=4739

agent_conf() {
	local host=$1
	shift
	{
		echo "[agent]"
		echo "name = $host"
		echo "threads = 2"
		echo "[ports]"
		echo "bridge = ${AGENT_BRIDGES:-br0}"
		echo "exclude = up0"
		echo "[identity]"
		echo "libvirt = test:///run/vtap/lab/$LAB_PREFIX/$host.xml"
		echo "[export]"
		echo "collector = udp://$COLLECTOR_IP:$COLLECTOR_PORT"
		echo "[control]"
		echo "listen = unix:$TMPDIR_T/$host.sock"
		local l
		for l in "$@"; do echo "$l"; done
	} >"$TMPDIR_T/$host.conf"
}

agent_status() {
	local host=$1
	shift
	"$VTAP" agent status --socket "unix:$TMPDIR_T/$host.sock" "$@"
}

agent_start() {
	local host=$1 ag_pid
	# the agent logs into the test's output (shown when the test fails)
	bg_in_ns ag_pid "$host" "$VTAP" agent -c "$TMPDIR_T/$host.conf"
	printf -v "AGENT_PID_$host" "%s" "$ag_pid"
	wait_until 30 agent_status "$host" || fail "the agent of $host did not come up"
	echo "ok   agent of $host running (pid $ag_pid)"
}

# listening NS tcp|udp PORT : something listens on PORT in lab member NS
listening() {
	local opt=-Hltn
	[ "$2" = udp ] && opt=-Hlun
	ip netns exec "$LAB_PREFIX-$1" ss $opt | grep -q ":$3 "
}

# agent_all_identified HOST SOURCE : every port's identity comes from SOURCE
agent_all_identified() {
	agent_status "$1" -j | jq -e --arg s "$2" '[.ports[] | .identity_source] | all(. == $s)' >/dev/null
}

agent_stop() {
	local host=$1 var="AGENT_PID_$1" rc
	kill -TERM "${!var}"
	wait "${!var}"
	rc=$?
	[ $rc -eq 0 ] || fail "the agent of $host exited with $rc after SIGTERM"
	echo "ok   agent of $host exported everything and exited cleanly after SIGTERM"
}

collector_start() {
	mkdir -p "$TMPDIR_T/nf"
	bg_in_ns NFCAPD_PID mgmt nfcapd -w "$TMPDIR_T/nf" -p $COLLECTOR_PORT -b $COLLECTOR_IP -t 3600 -C none
	cap_start ipfix mgmt "udp port $COLLECTOR_PORT" 65535
	wait_until 10 listening mgmt udp $COLLECTOR_PORT ||
		fail "nfcapd did not start"
}

collector_stop() {
	sleep 1   # the last datagrams are in flight
	kill -TERM "$NFCAPD_PID"
	wait "$NFCAPD_PID"
	cap_stop ipfix
	nfdump -R "$TMPDIR_T/nf" -o json >"$TMPDIR_T/flows.json" || fail "nfdump could not read the collector's files"
}

cap_start() {
	local name=$1 ns=$2 filter=${3:-} snap=${4:-128} cap_pid
	# headers are enough for the ground truth, in a large buffer: it
	# must not drop (cap_stop checks)
	bg_in_ns cap_pid "$ns" sh -c "exec dumpcap -q -p -i eth0 -s $snap -B 64 ${filter:+-f '$filter'} \
		-w '$TMPDIR_T/$name.pcapng' 2>'$TMPDIR_T/$name.dumpcap'"
	printf -v "CAP_PID_$name" "%s" "$cap_pid"
	# dumpcap writes the section and interface headers once it captures
	wait_until 20 test -s "$TMPDIR_T/$name.pcapng" || fail "dumpcap on $ns did not start"
}

cap_stop() {
	local var="CAP_PID_$1" stats
	kill -INT "${!var}" 2>/dev/null
	wait "${!var}" 2>/dev/null
	# "Packets received/dropped on interface 'eth0': 15655/0 (...)"
	stats=$(grep -o 'received/dropped on interface[^:]*: [0-9]*/[0-9]*' "$TMPDIR_T/$1.dumpcap" | tail -1)
	[ -n "$stats" ] || fail "capture $1: no statistics from dumpcap: $(cat "$TMPDIR_T/$1.dumpcap")"
	[ "${stats##*/}" = 0 ] || fail "capture $1 dropped packets ($stats): no ground truth"
}

# port_ifindexes HOST: "--host-ifindex HOST:PORT=IFINDEX" arguments from the
# agent's own view of its ports
port_ifindexes() {
	agent_status "$1" -j | jq -r --arg h "$1" '.ports[] | "--host-ifindex=\($h):\(.name)=\(.ifindex)"'
}

lab_quiet() {
	local i rc
	for i in $(seq 15); do
		rc=0
		ip netns exec "$LAB_PREFIX-fabric" timeout 2 tcpdump --immediate-mode -c 1 -nq -i vmnet icmp6 \
			>/dev/null 2>&1 || rc=$?
		[ $rc -eq 124 ] && return 0
	done
	fail "the lab never became quiet"
}
