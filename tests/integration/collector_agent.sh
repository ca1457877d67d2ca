#!/usr/bin/env bash
# timeout: 600
# collector_agent.sh — issue 4, done-when 2 for vtap's own agent, live:
# the agents of a 2-host lab export the same IPFIX stream to two receivers
# in the mgmt namespace (a list of two collectors): a real nfcapd and
# `vtap collector`. Stored flow, packet and byte totals must equal nfcapd's
# exactly, and the three top-10 queries (src IP by bytes, dst port by
# flows, `proto tcp and dst port 443` by src IP) nfdump's answers — the
# checks of collector_peers.sh (collector_lib.bash peer_compare).
# (collector_meter.sh does the same for the agent's meter and exporter on
# capture files, IPFIX and NetFlow v9.)
#
# Traffic, so that each top 10 has something to rank: HTTPS-port requests
# to vm4:443 from four VMs (different counts and sizes; vm5 on vm4's host,
# the others across hosts), HTTP to vm4:80 from vm3 (the TAP VM), UDP
# datagrams from vm6 to 40 ports of vm1 (each answered by an ICMP port
# unreachable), pings.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collector_lib.bash"
. "$(dirname "$0")/agent_helpers.bash"
need_netadmin
need_cmd nfcapd nfdump jq curl python3

lab_up --hosts 2 --vms-per-host 3 --no-ipv6 >"$TMPDIR_T/lab.out" || fail "lab up"
INV=/run/vtap/lab/$LAB_PREFIX/inventory.json
VTAP_PORT=4741

mkdir -p "$TMPDIR_T/nf"
bg_in_ns nf_pid mgmt nfcapd -w "$TMPDIR_T/nf" -p "$COLLECTOR_PORT" -b "$COLLECTOR_IP" -t 3600 \
	-B 4194304 -C none
wait_until 10 listening mgmt udp "$COLLECTOR_PORT" || fail "nfcapd did not start"
COLL_NS=mgmt
coll_start c -o "collector.listen=$COLLECTOR_IP:$VTAP_PORT" -o "collector.tcp_listen=" \
	-o "inventory.file=$INV"
for h in h1 h2; do
	agent_conf "$h"
	# the second receiver (collectors are a comma-separated list)
	sed -i "s|^collector = .*|&,udp://$COLLECTOR_IP:$VTAP_PORT|" "$TMPDIR_T/$h.conf"
	agent_start "$h"
done
check_eq "h1 exports to both receivers" \
	"$(agent_status h1 -j | jq '.export.collectors | length')" 2

vm_ip() { lab_json ".vms[] | select(.name == \"$1\") | .ipv4"; }
bg_in_ns https vm4 "$VTAP" lab http-serve --port 443 --count 28
bg_in_ns http vm4 "$VTAP" lab http-serve --port 80 --count 6
wait_until 10 listening vm4 tcp 443 || fail "server on vm4:443 did not start"
wait_until 10 listening vm4 tcp 80 || fail "server on vm4:80 did not start"
V4=$(vm_ip vm4)
gets() { # VM PORT COUNT SIZE : COUNT requests, one connection each
	in_ns "$1" sh -c "for i in \$(seq $3); do curl -s --max-time 10 -o /dev/null \
		http://$V4:$2/bytes/$4 || exit 1; done" || fail "requests from $1 to vm4:$2"
}
gets vm1 443 12 20000
gets vm2 443 8 50000
gets vm6 443 5 3000
gets vm5 443 3 90000
gets vm3 80 6 100000
wait "$https" || fail "the server on vm4:443 did not serve 28 requests"
wait "$http" || fail "the server on vm4:80 did not serve 6 requests"
check "UDP from vm6 to 40 ports of vm1" in_ns vm6 bash -c \
	"for p in \$(seq 7000 7039); do echo x >/dev/udp/$(vm_ip vm1)/\$p; sleep 0.01; done"
check "ping vm2 -> vm5" in_ns vm2 ping -c 3 -i 0.2 -q "$(vm_ip vm5)"
check "ping vm1 -> the outside" in_ns vm1 ping -c 3 -i 0.2 -q 198.19.200.1

sleep 1
for h in h1 h2; do agent_stop "$h"; done   # SIGTERM: every flow exported
# nfcapd has read everything queued for it
nf_backlog() { ip netns exec "$LAB_PREFIX-mgmt" ss -Hlun "sport = :$COLLECTOR_PORT" | awk '{s += $2} END {print s + 0}'; }
nf_drained() { [ "$(nf_backlog)" -eq 0 ]; }   # evaluated at each try
wait_until 30 nf_drained || fail "nfcapd does not drain its socket ($(nf_backlog) bytes queued)"
sleep 0.5
kill -TERM "$nf_pid"
wait "$nf_pid"
coll_settle
st=$(coll_api api/v1/status) || fail "GET /api/v1/status"
check_eq "datagrams dropped by the kernel" "$(jq .ingest.kernel_drops <<<"$st")" 0
check_eq "datagrams rejected" "$(jq .ingest.rejected <<<"$st")" 0
check_eq "exporters seen" "$(coll_api api/v1/exporters | jq '.list | length')" 2
coll_stop

peer_compare agent "$TMPDIR_T/nf" "$COLL_DIR/store"
echo "collector_agent: the live agents' IPFIX agrees with nfcapd/nfdump"
echo PASS
