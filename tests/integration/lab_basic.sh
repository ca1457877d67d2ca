#!/usr/bin/env bash
# timeout: 400
# The lab's promise (issue 2): 2 hosts x 3 VMs; every VM reaches every
# other over IPv4 and IPv6, on the same host and across hosts, the
# TAP-attached VM like the others (with GSO super-frames crossing its
# relay); VMs reach the outside router; hosts reach mgmt and analyzer over
# the management network, VMs do not; the inventory and the libvirt node
# XMLs agree with what exists; `lab down` leaves the root namespace as it
# found it.
. "$(dirname "$0")/lib.sh"
need_netadmin
need_cmd ping jq virsh tcpdump curl ethtool

snapshot_root_netns "$TMPDIR_T/root.before"
lab_up --hosts 2 --vms-per-host 3 >"$TMPDIR_T/up.txt" || fail "lab up"
cat "$TMPDIR_T/up.txt"

# ---- status and inventory ------------------------------------------------
check "lab status exits 0 (healthy)" "$VTAP" lab status --prefix "$LAB_PREFIX"
"$VTAP" lab status --prefix "$LAB_PREFIX" -j >"$TMPDIR_T/status.json" || fail "status -j"
check_eq "status healthy" "$(jq -r .healthy "$TMPDIR_T/status.json")" true
check_eq "VMs in state ok" "$(jq '[.vms[] | select(.state == "ok")] | length' "$TMPDIR_T/status.json")" 6
check_eq "VM count" "$(lab_json '.vms | length')" 6
check_eq "distinct MACs" "$(lab_json '[.vms[].mac] | unique | length')" 6
check_eq "distinct IPv4" "$(lab_json '[.vms[].ipv4] | unique | length')" 6
check_eq "distinct UUIDs" "$(lab_json '[.vms[].uuid] | unique | length')" 6
check_eq "TAP VMs" "$(lab_json '[.vms[] | select(.port_type == "tap") | .name] | join(",")')" vm3
check_eq "VMs on h1" "$(lab_json '.hosts[0].vms | join(",")')" vm1,vm2,vm3
check_eq "VMs on h2" "$(lab_json '.hosts[1].vms | join(",")')" vm4,vm5,vm6

# ---- libvirt: the real API reads our node XMLs ----------------------------
for h in 1 2; do
	uri=$(lab_json ".hosts[$((h - 1))].libvirt_uri")
	want=$(lab_json "[.vms[] | select(.host == \"h$h\") | .name] | sort | join(\",\")")
	got=$(virsh -c "$uri" list --name | sed '/^$/d' | sort | paste -sd,)
	check_eq "virsh list on h$h" "$got" "$want"
done
for i in $(seq 0 5); do
	name=$(lab_json ".vms[$i].name")
	host=$(lab_json ".vms[$i].host")
	uri="test:///run/vtap/lab/$LAB_PREFIX/$host.xml"
	row=$(virsh -c "$uri" domiflist "$name" | awk 'NR > 2 && NF {print $1, $3, $5}')
	check_eq "virsh domiflist $name" "$row" "$(lab_json ".vms[$i] | \"\(.port) br0 \(.mac)\"")"
	uuid=$(virsh -c "$uri" domuuid "$name")
	check_eq "virsh domuuid $name" "$uuid" "$(lab_json ".vms[$i].uuid")"
done

# ---- the ports are what they claim ----------------------------------------
for i in $(seq 0 5); do
	name=$(lab_json ".vms[$i].name") host=$(lab_json ".vms[$i].host")
	port=$(lab_json ".vms[$i].port") type=$(lab_json ".vms[$i].port_type")
	details=$(in_ns "$host" ip -d link show "$port") || fail "$port missing on $host"
	echo "$details" | grep -q "master br0" || fail "$port is not a port of br0 on $host"
	if [ "$type" = tap ]; then
		echo "$details" | grep -q "tun type tap pi off vnet_hdr on" || fail "$port is not a vnet_hdr TAP"
		in_ns "$name" ip -d link show eth0 | grep -q "tun type tap pi off vnet_hdr on persist on" ||
			fail "$name's eth0 is not a persistent TAP"
	else
		echo "$details" | grep -q "veth" || fail "$port is not a veth"
	fi
	mac=$(in_ns "$name" cat /sys/class/net/eth0/address)
	check_eq "$name eth0 MAC (sysfs of the VM)" "$mac" "$(lab_json ".vms[$i].mac")"
done

# ---- connectivity: full mesh, both families -------------------------------
# ping_all SRC FAMILY TARGETS...: prints "ok" or the failing targets
ping_all() {
	local src=$1 fam=$2
	shift 2
	in_ns "$src" sh -c '
		fam=$1; shift; bad=""
		for d in "$@"; do
			out=$(ping -$fam -n -c 2 -i 0.2 -W 3 "$d" 2>&1)
			echo "$out" | grep -q " 2 received" || bad="$bad $d"
		done
		[ -z "$bad" ] && echo ok || echo "unreachable:$bad"' sh "$fam" "$@"
}
v4=($(lab_json '.vms[].ipv4'))
v6=($(lab_json '.vms[].ipv6'))
for i in $(seq 0 5); do
	src=$(lab_json ".vms[$i].name")
	t4=() t6=()
	for j in $(seq 0 5); do
		[ "$i" = "$j" ] && continue
		t4+=("${v4[$j]}") t6+=("${v6[$j]}")
	done
	check_eq "$src reaches the 5 other VMs over IPv4" "$(ping_all "$src" 4 "${t4[@]}")" ok
	check_eq "$src reaches the 5 other VMs over IPv6" "$(ping_all "$src" 6 "${t6[@]}")" ok
	check_eq "$src reaches the outside" \
		"$(ping_all "$src" 4 198.18.0.1 198.19.200.1 198.19.200.77)" ok
	check_eq "$src reaches the outside over IPv6" \
		"$(ping_all "$src" 6 2001:db8:18::1 2001:db8:200::1 2001:db8:200::abc)" ok
done
for h in h1 h2; do
	check_eq "$h reaches mgmt and analyzer" "$(ping_all "$h" 4 198.19.0.250 198.19.0.254)" ok
done
check_eq "mgmt reaches both hosts" "$(ping_all mgmt 4 198.19.0.11 198.19.0.12 198.19.0.254)" ok
# the management network is not reachable from VMs
if in_ns vm1 ping -n -c 1 -W 1 198.19.0.250 >/dev/null 2>&1; then
	fail "vm1 reaches the management network"
fi
echo "ok   VMs cannot reach the management network"

# ---- the TAP VM: TCP with offloads through the relay -----------------------
# Frames larger than the MTU on the host-side TAP port are GSO super-frames
# that crossed the relay with their virtio-net header, as through vhost-net.
tap_vm=vm3 tap_port=tp-vm3
check "TSO on the TAP VM's NIC" sh -c "'$VTAP' lab exec --prefix '$LAB_PREFIX' $tap_vm -- \
	ethtool -k eth0 | grep -q 'tcp-segmentation-offload: on'"
# capture_big NAME FILTER: 3 frames > 3000 bytes matching FILTER on the port
capture_big() {
	bg_in_ns "$1" h1 timeout 60 tcpdump -n -i "$tap_port" -c 3 -w "$TMPDIR_T/$1.pcap" \
		"tcp and greater 3000 and $2" 2>"$TMPDIR_T/$1.err"
	wait_until 10 grep -q "listening on" "$TMPDIR_T/$1.err" || fail "tcpdump did not start"
}
# from the TAP VM: it serves, vm1 (same host) and vm6 (other host, IPv6) download
capture_big cap_out "src host 198.18.1.3"
bg_in_ns srv $tap_vm "$VTAP" lab http-serve --port 8081 --count 2 --timeout 60s \
	--ready-file "$TMPDIR_T/http.ready" >"$TMPDIR_T/http.json"
wait_until 10 test -f "$TMPDIR_T/http.ready" || fail "http-serve in the TAP VM did not start"
got=$(in_ns vm1 curl -s -o /dev/null -w '%{size_download}' "http://198.18.1.3:8081/bytes/20000000")
check_eq "vm1 downloads 20000000 bytes from the TAP VM (same host)" "$got" 20000000
got=$(in_ns vm6 curl -s -o /dev/null -w '%{size_download}' "http://[2001:db8:18::1:3]:8081/bytes/5000000")
check_eq "vm6 downloads 5000000 bytes from the TAP VM over IPv6 (other host)" "$got" 5000000
wait "$srv" || fail "http-serve in the TAP VM failed"
check_eq "body bytes the TAP VM's server sent" "$(jq .body_bytes "$TMPDIR_T/http.json")" 25000000
wait "$cap_out" || true
check_eq "super-frames from the TAP VM on $tap_port" \
	"$(tcpdump -n -r "$TMPDIR_T/cap_out.pcap" 2>/dev/null | wc -l)" 3
# to the TAP VM: vm5 (other host) serves, the TAP VM downloads
capture_big cap_in "dst host 198.18.1.3"
bg_in_ns srv5 vm5 "$VTAP" lab http-serve --port 8082 --count 1 --timeout 60s \
	--ready-file "$TMPDIR_T/http5.ready" >/dev/null
wait_until 10 test -f "$TMPDIR_T/http5.ready" || fail "http-serve in vm5 did not start"
got=$(in_ns $tap_vm curl -s -o /dev/null -w '%{size_download}' "http://198.18.1.5:8082/bytes/20000000")
check_eq "the TAP VM downloads 20000000 bytes from vm5" "$got" 20000000
wait "$srv5" || fail "http-serve in vm5 failed"
wait "$cap_in" || true
check_eq "super-frames to the TAP VM on $tap_port" \
	"$(tcpdump -n -r "$TMPDIR_T/cap_in.pcap" 2>/dev/null | wc -l)" 3

# ---- down: nothing left ----------------------------------------------------
lab_down || fail "lab down"
compare_root_netns "$TMPDIR_T/root.before"
[ ! -e "/run/vtap/lab/$LAB_PREFIX" ] || fail "/run/vtap/lab/$LAB_PREFIX remains"
pgrep -f "lab tapd --prefix $LAB_PREFIX " >/dev/null && fail "a TAP relay of the lab remains"
check_eq "lab down again" "$("$VTAP" lab down --prefix "$LAB_PREFIX")" "lab $LAB_PREFIX: nothing to remove"
echo "PASS"
