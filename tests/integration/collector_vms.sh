#!/usr/bin/env bash
# timeout: 600
# collector_vms.sh — issue 4, done-when 6: the VM view in the lab, fed by
# the real agents.
#
# 2 hosts x 3 VMs (vm3 on a TAP port), one `vtap agent` per host namespace
# (identities from the libvirt test driver the lab writes) exporting IPFIX
# to `vtap collector` in the mgmt namespace (inventory: the lab's
# inventory.json). Traffic, offloads off on every VM's eth0 so that its
# own capture shows wire packets:
#   vm1 (h1) -> vm4 (h2)  iperf3 TCP 4 MB, port 5201        cross-host
#   vm5 (h2) -> vm6 (h2)  iperf3 UDP 1 MB, port 5202        same-host
#   vm2 (h1) -> vm3 (h1)  HTTP GET 300,000 B, port 8080     same-host (TAP)
#   vm6 (h2) -> vm3 (h1)  HTTP GET 200,000 B, port 8080     cross-host
#   vm1 -> vm2 ping (same host), vm4 -> vm2 ping (cross-host),
#   vm5 -> 198.19.200.1 ping (the outside)
# Ground truth: dumpcap on every VM's eth0, read by tshark (the helpers of
# agent_live.sh). collector_vms_check.py asserts, for every VM, exactly:
# `vtap vms -j` bytes/packets in/out = the stored rows' sums under the
# count-once rule = what the VM's interface sent/received; the
# same-host/cross-host/outside split; same-host flows stored once,
# cross-host ones twice (both agents) and counted once; the services
# (tcp/5201 on vm4, udp/5202 on vm6, tcp/8080 on vm3). The stored verdict:
# the rows marked `dup` are exactly the ones the rule does not count, and
# `vtap flows --once -A srcvm|dstvm` (after the stop) and
# /api/v1/flows?once=1 (while running) per VM equal `vtap vms -j` exactly.
# Then `vtap vms` and `vtap vm` print them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collector_lib.bash"
. "$(dirname "$0")/agent_helpers.bash"
need_netadmin
need_cmd tshark dumpcap iperf3 jq curl python3 ethtool

lab_up --hosts 2 --vms-per-host 3 --no-ipv6 >"$TMPDIR_T/lab.out" || fail "lab up"
INV=/run/vtap/lab/$LAB_PREFIX/inventory.json
[ -f "$INV" ] || fail "no inventory at $INV"
lab_quiet
VMS="vm1 vm2 vm3 vm4 vm5 vm6"
for vm in $VMS; do
	in_ns "$vm" ethtool -K eth0 tso off gso off gro off >/dev/null ||
		fail "cannot turn offloads off on $vm"
done

COLL_NS=mgmt
coll_start c -o "collector.listen=$COLLECTOR_IP:$COLLECTOR_PORT" -o "collector.tcp_listen=" \
	-o "inventory.file=$INV" -o "inventory.dedup_delay=3s"
for vm in $VMS; do cap_start "$vm" "$vm"; done
for h in h1 h2; do
	agent_conf "$h"
	agent_start "$h"
	wait_until 10 agent_all_identified "$h" libvirt ||
		fail "$h: identities not all from libvirt: $(agent_status "$h" -j | jq -c '[.ports[] | .identity_source]')"
done

vm_ip() { lab_json ".vms[] | select(.name == \"$1\") | .ipv4"; }

# ---- traffic -----------------------------------------------------------
bg_in_ns srv4 vm4 iperf3 -s -1 -p 5201
bg_in_ns srv6 vm6 iperf3 -s -1 -p 5202
bg_in_ns srv3 vm3 sh -c "exec '$VTAP' lab http-serve --port 8080 --count 2 >'$TMPDIR_T/http-s.log' 2>&1"
wait_until 10 listening vm4 tcp 5201 || fail "iperf3 server on vm4 did not start"
wait_until 10 listening vm6 tcp 5202 || fail "iperf3 server on vm6 did not start"
wait_until 10 listening vm3 tcp 8080 || fail "HTTP server on vm3 did not start"
check "iperf3 TCP vm1 -> vm4 (cross-host)" in_ns vm1 iperf3 -c "$(vm_ip vm4)" -p 5201 -n 4M -b 200M
check "iperf3 UDP vm5 -> vm6 (same host)" in_ns vm5 iperf3 -c "$(vm_ip vm6)" -p 5202 -u -n 1M -b 20M -l 1000
for c in vm2:300000 vm6:200000; do
	in_ns "${c%:*}" curl -s --max-time 20 -o /dev/null -w '%{size_download}' \
		"http://$(vm_ip vm3):8080/bytes/${c#*:}" >"$TMPDIR_T/curl.out" || fail "curl from ${c%:*}"
	check_eq "HTTP body received by ${c%:*}" "$(cat "$TMPDIR_T/curl.out")" "${c#*:}"
done
check "ping vm1 -> vm2 (same host)" in_ns vm1 ping -c 4 -i 0.2 -q "$(vm_ip vm2)"
check "ping vm4 -> vm2 (cross-host)" in_ns vm4 ping -c 4 -i 0.2 -q "$(vm_ip vm2)"
check "ping vm5 -> the outside" in_ns vm5 ping -c 5 -i 0.2 -q 198.19.200.1
for p in "$srv4" "$srv6" "$srv3"; do wait "$p" || fail "a server exited with an error"; done

sleep 1   # the last packets are through the captures and the agents
for vm in $VMS; do cap_stop "$vm"; done
for h in h1 h2; do agent_stop "$h"; done   # SIGTERM: every flow exported
# past dedup_delay: every held receiver-side observation decided
sleep 3.5
coll_settle
# the API's store queries read flushed blocks: wait until every decided row
# is in the files (nothing held, nothing buffered)
all_flushed() {
	coll_api api/v1/status | jq -e '.writer.held_now == 0 and .store.rows_pending == 0 and
		.store.rows_flushed == .writer.rows_written' >/dev/null
}
wait_until 15 all_flushed || fail "the store did not flush: $(coll_api api/v1/status | jq -c '[.writer, .store]')"
in_ns mgmt "$VTAP" vms --api "http://$COLL_API" -j -w 1h >"$TMPDIR_T/vms.json" || fail "vtap vms -j"
in_ns mgmt "$VTAP" vms --api "http://$COLL_API" -w 1h >"$TMPDIR_T/vms.txt" || fail "vtap vms"
in_ns mgmt "$VTAP" vm --api "http://$COLL_API" vm4 >"$TMPDIR_T/vm4.txt" || fail "vtap vm vm4"
st=$(coll_api api/v1/status) || fail "GET /api/v1/status"
check_eq "datagrams rejected" "$(jq .ingest.rejected <<<"$st")" 0
check_eq "datagrams dropped by the kernel" "$(jq .ingest.kernel_drops <<<"$st")" 0
ONCE=()
for side in srcvm dstvm; do
	coll_api "api/v1/flows?aggregate=$side&once=1&limit=0" >"$TMPDIR_T/api-once-$side.json" ||
		fail "GET /api/v1/flows?aggregate=$side&once=1"
	ONCE+=("--once-agg=$side=$TMPDIR_T/api-once-$side.json")
done
coll_stop
"$VTAP" flows -d "$COLL_DIR/store" -j -n 0 >"$TMPDIR_T/rows.json" || fail "vtap flows"
for side in srcvm dstvm; do
	"$VTAP" flows -d "$COLL_DIR/store" --once -j -A "$side" -n 0 >"$TMPDIR_T/once-$side.json" ||
		fail "vtap flows --once -A $side"
	ONCE+=("--once-agg=$side=$TMPDIR_T/once-$side.json")
done
"$VTAP" flows -d "$COLL_DIR/store" -1 -j -n 0 >"$TMPDIR_T/rows-once.json" || fail "vtap flows -1"

# shellcheck disable=SC2046
python3 "$(dirname "$0")/collector_vms_check.py" --inventory "$INV" \
	$(for vm in $VMS; do echo "--vm-pcap=$vm=$TMPDIR_T/$vm.pcapng"; done) \
	--rows "$TMPDIR_T/rows.json" --vms "$TMPDIR_T/vms.json" \
	--service vm4=tcp/5201 --service vm6=udp/5202 --service vm3=tcp/8080 \
	"${ONCE[@]}" --rows-once "$TMPDIR_T/rows-once.json" >"$TMPDIR_T/check.txt" 2>&1
rc=$?
cat "$TMPDIR_T/check.txt"
[ $rc -eq 0 ] || fail "the VM view differs from the stored flows or the VMs' own interfaces"
grep -q 'mismatches: 0' "$TMPDIR_T/check.txt" || fail "the check did not complete"

cat "$TMPDIR_T/vms.txt"
for s in tcp/5201 udp/5202 tcp/8080; do
	grep -q "$s" "$TMPDIR_T/vms.txt" || fail "vtap vms does not show $s"
done
grep -q "^VM vm4 " "$TMPDIR_T/vm4.txt" || { cat "$TMPDIR_T/vm4.txt"; fail "vtap vm vm4"; }
echo "ok   vtap vms / vtap vm show the VMs and their services"
echo PASS
