#!/usr/bin/env bash
# timeout: 900
# agent_live.sh — issue 3, Done-when 3: live accuracy in the lab.
#
# 2 hosts x 3 VMs (vm3 is TAP-attached, the others veth), one `vtap agent`
# per host namespace exporting IPFIX to a real nfcapd in the mgmt namespace.
# Traffic: ping (IPv4, IPv6, to the outside), iperf3 TCP and UDP between
# VMs of the same host and across hosts, a UDP broadcast. Ground truth:
# dumpcap on every VM's own eth0, read by tshark. The flows nfdump reads
# back must match per flow, packets and bytes exactly: each flow a VM sent
# once at its port (ingress), each flow it received from another host once
# at its port (egress), same-host flows once only, a broadcast once per
# host; the IPFIX records must name the observing VM (and the peer VM of
# same-host flows) with the libvirt test driver's names and UUIDs, as tshark
# decodes them.
#
# Offloads: TSO/GSO/GRO are off on every VM's eth0 for this part, so the
# VM's own interface shows wire packets and tshark's count is the wire's.
# Then a second check with offloads on: vm2 sends with TSO (the agent sees
# 64 KiB super-frames and counts their segments from the virtio-net
# header); vm1's host port has TSO/GSO off, so the bridge segments the
# super-frames before vm1 (GRO off) receives them, and vm1's own capture
# is the ground truth for vm2's exported flow.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_helpers.bash"
need_netadmin
need_cmd tshark dumpcap nfcapd nfdump iperf3 jq python3 ethtool
snapshot_root_netns "$TMPDIR_T/root"

lab_up --hosts 2 --vms-per-host 3 >/dev/null
inv=/run/vtap/lab/$LAB_PREFIX/inventory.json
# the flows compared are those of this test: the lab's start-up chatter
# must be over before the captures and the agents start
lab_quiet
for vm in vm1 vm2 vm3 vm4 vm5 vm6; do
	in_ns "$vm" ethtool -K eth0 tso off gso off gro off >/dev/null ||
		fail "cannot turn offloads off on $vm"
done

collector_start
for vm in vm1 vm2 vm3 vm4 vm5 vm6; do
	cap_start "$vm" "$vm"
done
for h in h1 h2; do
	agent_conf "$h"
	agent_start "$h"
done
# every VM port tapped, identities from the libvirt test driver
for h in h1 h2; do
	check_eq "$h: VM ports tapped" \
		"$(agent_status "$h" -j | jq -c '[.ports[] | select(.tapped) | .name] | sort')" \
		"$(jq -c --arg h "$h" '[.vms[] | select(.host == $h) | .port] | sort' "$inv")"
	wait_until 10 agent_all_identified "$h" libvirt ||
		fail "$h: identities not all from libvirt: $(agent_status "$h" -j | jq -c '[.ports[] | .identity_source]')"
done
check_eq "the TAP VM's port is tapped as a TAP" \
	"$(agent_status h1 -j | jq -r '.ports[] | select(.name == "tp-vm3") | "\(.type) \(.vm.name)"')" "tap vm3"

iperf_pair() { # iperf_pair SERVER CLIENT PORT ARGS...
	local srv=$1 cli=$2 port=$3 srv_pid
	shift 3
	bg_in_ns srv_pid "$srv" iperf3 -s -1 -p "$port"
	wait_until 10 listening "$srv" tcp "$port" ||
		fail "iperf3 server on $srv:$port did not start"
	in_ns "$cli" iperf3 -c "$(lab_json ".vms[] | select(.name == \"$srv\") | .ipv4")" -p "$port" "$@" \
		>"$TMPDIR_T/iperf-$port.txt" 2>&1 || { cat "$TMPDIR_T/iperf-$port.txt"; fail "iperf3 $cli -> $srv:$port"; }
	wait "$srv_pid"
	echo "ok   iperf3 $cli -> $srv port $port $*"
}

# ---- traffic, offloads off -------------------------------------------------
check "ping vm1 -> vm2 (same host)" in_ns vm1 ping -c 5 -i 0.2 198.18.1.2
check "ping vm4 -> vm3 (across hosts, to the TAP VM)" in_ns vm4 ping -c 5 -i 0.2 198.18.1.3
check "ping -6 vm5 -> vm1 (across hosts)" in_ns vm5 ping -6 -c 3 -i 0.2 2001:db8:18::1:1
check "ping vm6 -> the outside" in_ns vm6 ping -c 3 -i 0.2 198.19.200.9
iperf_pair vm2 vm1 5201 -n 4M -b 200M                      # TCP, same host, veth-veth
iperf_pair vm4 vm3 5202 -n 4M -b 200M                      # TCP, across hosts, from the TAP VM
iperf_pair vm3 vm2 5203 -u -b 20M -n 1M -l 1000            # UDP, same host, to the TAP VM
iperf_pair vm1 vm5 5204 -u -b 20M -n 1M -l 1200            # UDP, across hosts
check "a UDP broadcast from vm4" in_ns vm4 python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
for i in range(20):
    s.sendto(b"vtap broadcast %d" % i, ("198.18.255.255", 9999))
    time.sleep(0.01)'

# ---- GSO: offloads on at the sender ----------------------------------------
in_ns vm2 ethtool -K eth0 tso on gso on >/dev/null || fail "cannot turn TSO on in vm2"
in_ns h1 ethtool -K vp-vm1 tso off gso off >/dev/null || fail "cannot turn TSO off on vp-vm1"
iperf_pair vm1 vm2 5299 -n 16M -b 400M                     # TCP with TSO, same host
gso=$(agent_status h1 -j | jq '.ports[] | select(.name == "vp-vm2") | .gso_frames')
[ "${gso:-0}" -gt 0 ] || fail "the agent saw no GSO super-frame on vp-vm2"
echo "ok   the agent counted $gso GSO super-frames on vp-vm2 as their segments"

# Neighbour discovery must be over before the captures stop: a VM that
# answered a peer from a STALE neighbour entry (vm1 replying to vm5's ping
# -6) sends a unicast NS probe 5 s later, which could otherwise fall
# between the end of the VM captures and the agents' stop.
nud_settled
sleep 1
ifx=$(port_ifindexes h1; port_ifindexes h2)
for vm in vm1 vm2 vm3 vm4 vm5 vm6; do cap_stop "$vm"; done
for h in h1 h2; do agent_stop "$h"; done
collector_stop

largest=$(tshark -n -r "$TMPDIR_T/vm2.pcapng" -Y 'tcp.dstport == 5299' -T fields -e frame.len |
	sort -n | tail -1)
[ "${largest:-0}" -gt 1514 ] || fail "vm2 sent no super-frame (largest $largest bytes): GSO did not happen"
echo "ok   vm2's own capture shows super-frames of up to $largest bytes on port 5299"

h1ip=$(lab_json '.hosts[] | select(.name == "h1") | .mgmt_ip')
h2ip=$(lab_json '.hosts[] | select(.name == "h2") | .mgmt_ip')
# shellcheck disable=SC2086
python3 "$(dirname "$0")/agent_compare.py" --inventory "$inv" \
	$(for vm in vm1 vm2 vm3 vm4 vm5 vm6; do echo "--vm-pcap=$vm=$TMPDIR_T/$vm.pcapng"; done) \
	--nfdump "$TMPDIR_T/flows.json" --ipfix "$TMPDIR_T/ipfix.pcapng" \
	--host-ip "h1=$h1ip" --host-ip "h2=$h2ip" $ifx --receiver-truth 5299 \
	>"$TMPDIR_T/compare.txt" 2>&1
rc=$?
cat "$TMPDIR_T/compare.txt"
[ $rc -eq 0 ] || fail "exported flows differ from the VMs' own captures"
grep -q 'mismatches: 0' "$TMPDIR_T/compare.txt" || fail "comparison incomplete"

lab_down >/dev/null
compare_root_netns "$TMPDIR_T/root"
echo PASS
