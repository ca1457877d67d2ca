#!/usr/bin/env bash
# timeout: 400
# collector_vms.sh — issue 4, done-when 6: the VM view in the lab.
#
# A 2-host lab (vm1-vm3 on h1, vm3 on a TAP port; vm4-vm6 on h2). Traffic:
#   vm1 (h1) -> vm4 (h2)   iperf3 TCP, 4 MB        cross-host
#   vm2 (h1) -> vm3 (h1)   HTTP GET of 300,000 B   same-host
#   vm5 (h2) -> 198.19.200.1 (the outside)  ping   outside
# Each host's VM ports are metered and exported from the host's management
# address to the collector in the mgmt namespace (inventory: the lab's
# inventory.json): each port is captured on its host and the host's
# captures go through `vtap meter` with the VM of each port (--vm) — the
# agent's meter and exporter run offline, exporting from the host as the
# agent would.
# Checks, through `vtap vms -j` / `vtap vm`:
#  - every VM's bytes and packets in/out equal the sums of the stored flows
#    under the count-once rule, recomputed here from the stored rows;
#  - the cross-host flow is counted once though both hosts exported it
#    (the receiver's copies are counted as duplicates);
#  - vm4 offers tcp/5201 (iperf3), vm3 tcp/8080 (HTTP), answered;
#  - the locality split: vm2 all same-host, vm1 all cross-host, vm5 all
#    outside.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collector_lib.bash"
need_netadmin
need_cmd jq curl tcpdump mergecap iperf3 python3

if ! "$VTAP" meter --help >/dev/null 2>&1; then
	echo "skipped: needs vtap meter (not in this build)"
	exit 77
fi

lab_up --hosts 2 --vms-per-host 3 >"$TMPDIR_T/lab.out" || fail "lab up"
INV=/run/vtap/lab/$LAB_PREFIX/inventory.json
[ -f "$INV" ] || fail "no inventory at $INV"

COLL_NS=mgmt
coll_start c -o "collector.listen=0.0.0.0:4739" -o "collector.tcp_listen=" \
	-o "inventory.file=$INV" -o "api.listen=127.0.0.1:4740" -o "inventory.dedup_delay=3s"

vm_ip() { lab_json ".vms[] | select(.name == \"$1\") | .ipv4"; }

# ---- capture every VM port on its host ---------------------------------
declare -A CAP
for vm in $(lab_json '.vms[].name'); do
	host=$(lab_json ".vms[] | select(.name == \"$vm\") | .host")
	port=$(lab_json ".vms[] | select(.name == \"$vm\") | .port")
	bg_in_ns tpid "$host" tcpdump -i "$port" -w "$TMPDIR_T/$vm.pcap" --immediate-mode -U -s 0 -B 65536 -Q inout \
		2>>"$TMPDIR_T/tcpdump.log"
	CAP[$vm]=$tpid
done
sleep 1.5   # tcpdump attached on every port

bg_in_ns ip4 vm4 sh -c "iperf3 -s -1 >'$TMPDIR_T/iperf-s.log' 2>&1"
bg_in_ns http3 vm3 sh -c "'$VTAP' lab http-serve --port 8080 --count 1 >'$TMPDIR_T/http-s.log' 2>&1"
sleep 0.5
in_ns vm1 iperf3 -c "$(vm_ip vm4)" -n 4M -J >"$TMPDIR_T/iperf.json" || fail "iperf3"
in_ns vm2 curl -s -o /dev/null -w '%{size_download}' "http://$(vm_ip vm3):8080/bytes/300000" \
	>"$TMPDIR_T/curl.out" || fail "curl"
check_eq "HTTP body received" "$(cat "$TMPDIR_T/curl.out")" 300000
in_ns vm5 ping -c 5 -i 0.2 -q 198.19.200.1 >/dev/null || fail "ping outside"
sleep 1
for vm in "${!CAP[@]}"; do kill -INT "${CAP[$vm]}" 2>/dev/null; done
for vm in "${!CAP[@]}"; do wait "${CAP[$vm]}" 2>/dev/null; done
wait "$ip4" 2>/dev/null
wait "$http3" 2>/dev/null

# ---- meter each host's ports, export from the host ----------------------
for host in $(lab_json '.hosts[].name'); do
	args=() files=() i=0
	for vm in $(lab_json ".hosts[] | select(.name == \"$host\") | .vms[]"); do
		files+=("$TMPDIR_T/$vm.pcap")
		uuid=$(lab_json ".vms[] | select(.name == \"$vm\") | .uuid")
		mac=$(lab_json ".vms[] | select(.name == \"$vm\") | .mac")
		port=$(lab_json ".vms[] | select(.name == \"$vm\") | .port")
		args+=(--vm "port=$i,uuid=$uuid,name=$vm,ifname=$port,mac=$mac")
		i=$((i + 1))
	done
	# one pcapng per host: interface i = the i-th VM's port (-I none: one
	# interface per input file, even when they look alike)
	mergecap -F pcapng -I none -w "$TMPDIR_T/$host.pcapng" "${files[@]}" || fail "mergecap $host"
	in_ns "$host" "$VTAP" meter -r "$TMPDIR_T/$host.pcapng" --collector udp://198.19.0.250:4739 \
		"${args[@]}" -j >"$TMPDIR_T/meter-$host.json" || fail "meter on $host"
done
sleep 3.5   # past dedup_delay: every held observation decided
coll_settle
coll_api "api/v1/vms?window=1h" >"$TMPDIR_T/vms.json" || fail "GET /api/v1/vms"
"$VTAP" lab exec mgmt -- "$VTAP" vms --api http://127.0.0.1:4740 >"$TMPDIR_T/vms.txt" ||
	fail "vtap vms"
"$VTAP" lab exec mgmt -- "$VTAP" vm --api http://127.0.0.1:4740 vm4 >"$TMPDIR_T/vm4.txt" ||
	fail "vtap vm vm4"
coll_stop
"$VTAP" flows -d "$COLL_DIR/store" -j -n 0 >"$TMPDIR_T/rows.json" || fail "vtap flows"

python3 - "$TMPDIR_T/rows.json" "$TMPDIR_T/vms.json" "$INV" "$(jq .end.sum_sent.bytes "$TMPDIR_T/iperf.json")" <<'EOF' || fail "VM statistics disagree with the stored flows"
import json, sys
rows = json.load(open(sys.argv[1]))["flows"]
vms = {v["name"]: v for v in json.load(open(sys.argv[2]))["vms"]}
inv = json.load(open(sys.argv[3]))
host_of = {v["name"]: v["host"] for v in inv["vms"]}
mgmt = {h["mgmt_ip"]: h["name"] for h in inv["hosts"]}
INGRESS, EGRESS = 0, 1
# The count-once rule, recomputed from the rows: a VM is metered when a
# row was observed at its port, or its host's agent (exporter) sent rows.
metered = {r["vm"] for r in rows if r["vm"]}
agent_hosts = {mgmt.get(r["exporter"]) for r in rows if r["vm"]}
def is_metered(vm):
    return bool(vm) and (vm in metered or host_of.get(vm) in agent_hosts)
def primary(r):
    if r["vm"] and r["vm"] == r["srcvm"] and r["direction"] != EGRESS:
        return True                                  # seen at the sender
    if r["vm"] and r["vm"] == r["dstvm"] and r["direction"] != INGRESS:
        return not is_metered(r["srcvm"])            # seen at the receiver
    return not (is_metered(r["srcvm"]) or is_metered(r["dstvm"]))
want = {}
dups = 0
for r in rows:
    if not primary(r):
        dups += 1
        continue
    for side, d in (("srcvm", "out"), ("dstvm", "in")):
        if r[side]:
            w = want.setdefault(r[side], {"bytes_in": 0, "bytes_out": 0, "packets_in": 0,
                                          "packets_out": 0, "loc": {}})
            w["bytes_" + d] += r["bytes"]
            w["packets_" + d] += r["packets"]
            w["loc"].setdefault(r["locality"], 0)
            w["loc"][r["locality"]] += r["bytes"]
bad = []
for name in ("vm1", "vm2", "vm3", "vm4", "vm5"):
    if name not in vms: bad.append("%s missing from /api/v1/vms" % name); continue
    for k in ("bytes_in", "bytes_out", "packets_in", "packets_out"):
        if vms[name][k] != want.get(name, {}).get(k):
            bad.append("%s %s: vms says %s, the stored flows %s" % (name, k, vms[name][k], want.get(name, {}).get(k)))
    print("ok   %s: in %d B / %d pkts, out %d B / %d pkts" % (name, vms[name]["bytes_in"], vms[name]["packets_in"],
          vms[name]["bytes_out"], vms[name]["packets_out"]))
if dups == 0: bad.append("no duplicate observation: the cross-host flow was not exported by both hosts")
# the capture path saw the whole transfer: IP bytes >= iperf3's payload,
# and ping's 5 requests and 5 replies
if vms["vm1"]["bytes_out"] < int(sys.argv[4]):
    bad.append("vm1 sent %d IP bytes, iperf3 sent %s bytes of payload: packets were not metered"
               % (vms["vm1"]["bytes_out"], sys.argv[4]))
if vms["vm5"]["packets_out"] != 5 or vms["vm5"]["packets_in"] != 5:
    bad.append("vm5: %d packets out, %d in; ping sent 5 and got 5" % (vms["vm5"]["packets_out"], vms["vm5"]["packets_in"]))
# cross-host counted once: vm1's bytes to vm4 equal vm4's bytes from vm1
def sum_pair(s, d):
    return sum(r["bytes"] for r in rows if primary(r) and r["srcvm"] == s and r["dstvm"] == d)
seen_at = lambda s, d, at: sum(r["bytes"] for r in rows if r["srcvm"] == s and r["dstvm"] == d and r["vm"] == at)
if not (sum_pair("vm1", "vm4") == seen_at("vm1", "vm4", "vm1") > 0):
    bad.append("vm1->vm4 not counted exactly once from the sender's observation")
if seen_at("vm1", "vm4", "vm4") == 0:
    bad.append("h2 did not export the receiver's observation of vm1->vm4")
# services and locality
svc = lambda n: {(s["proto"], s["port"]) for s in vms[n]["services"]}
if ("tcp", 5201) not in svc("vm4"): bad.append("vm4 does not offer tcp/5201: %s" % svc("vm4"))
if ("tcp", 8080) not in svc("vm3"): bad.append("vm3 does not offer tcp/8080: %s" % svc("vm3"))
L = lambda n, l: vms[n]["locality"][l]["bytes_in"] + vms[n]["locality"][l]["bytes_out"]
tot = lambda n: vms[n]["bytes_in"] + vms[n]["bytes_out"]
checks = [("vm2", "same_host"), ("vm3", "same_host"), ("vm1", "cross_host"), ("vm4", "cross_host"), ("vm5", "outside")]
for n, l in checks:
    if not (L(n, l) == tot(n) > 0):
        bad.append("%s: %s bytes %d of %d" % (n, l, L(n, l), tot(n)))
    else:
        print("ok   %s: all %d bytes %s" % (n, tot(n), l))
print("ok   %d receiver-side observations not counted again" % dups)
if bad: print("\n".join(bad)); sys.exit(1)
EOF
grep -q "tcp/5201" "$TMPDIR_T/vms.txt" || { cat "$TMPDIR_T/vms.txt"; fail "vtap vms does not show tcp/5201"; }
grep -q "tcp/8080" "$TMPDIR_T/vms.txt" || { cat "$TMPDIR_T/vms.txt"; fail "vtap vms does not show tcp/8080"; }
grep -q "^VM vm4 " "$TMPDIR_T/vm4.txt" || { cat "$TMPDIR_T/vm4.txt"; fail "vtap vm vm4"; }
echo "ok   vtap vms / vtap vm show the services"
