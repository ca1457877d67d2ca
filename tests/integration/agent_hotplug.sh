#!/usr/bin/env bash
# timeout: 600
# agent_hotplug.sh — issue 3, Done-when 4: ports that come and go while the
# agents run.
#
# vm2 (veth) and vm3 (TAP) live-migrate from h1 to h2 (`vtap lab migrate`),
# while both hosts' agents run with a 60 s idle timeout:
#  - removal: the flows of vm2's port on h1 (a UDP stream that ended before
#    the migration, still in the flow table) reach the collector within 2 s
#    of the port leaving h1, with flowEndReason 4 — not after the idle
#    timeout;
#  - arrival: a stream vm2 starts the moment its port is up on h2 (the test
#    polls for the port and sends at once, without asking the agent) is
#    counted exactly by h2's agent: the exported packets and bytes equal
#    what vm5 received (vm5's own capture); the same for the TAP VM vm3
#    (its port is re-created by a new relay on h2) towards vm6;
#  - the tap latency (link event received -> capture bound) is reported by
#    the agent for each new port.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_helpers.bash"
need_netadmin
need_cmd tshark dumpcap nfcapd nfdump jq python3 ethtool
snapshot_root_netns "$TMPDIR_T/root"

lab_up --hosts 2 --vms-per-host 3 >/dev/null
inv=/run/vtap/lab/$LAB_PREFIX/inventory.json
for vm in vm2 vm3 vm5 vm6; do
	in_ns "$vm" ethtool -K eth0 tso off gso off gro off >/dev/null || fail "offloads on $vm"
done
collector_start
for vm in vm5 vm6; do cap_start "$vm" "$vm"; done
for h in h1 h2; do
	agent_conf "$h" "[meter]" "idle_timeout = 60s" "[identity]" \
		"inventory = /run/vtap/lab/$LAB_PREFIX/inventory.json"
	agent_start "$h"
done
h1ip=$(lab_json '.hosts[] | select(.name == "h1") | .mgmt_ip')
h2ip=$(lab_json '.hosts[] | select(.name == "h2") | .mgmt_ip')
ifx_h1=$(port_ifindexes h1)

seq_stream() { # seq_stream FROM TO PORT COUNT : a UDP stream, received in full
	local from=$1 to=$2 port=$3 n=$4 rpid
	bg_in_ns rpid "$to" "$VTAP" lab seq-recv --port "$port" --ready-file "$TMPDIR_T/ready-$port" \
		--out "$TMPDIR_T/recv-$port.json" --timeout 30s
	wait_until 10 test -f "$TMPDIR_T/ready-$port" || fail "seq-recv on $to:$port did not start"
	in_ns "$from" "$VTAP" lab seq-send --to "$(lab_json ".vms[] | select(.name == \"$to\") | .ipv4"):$port" \
		--rate 1000 --count "$n" >"$TMPDIR_T/sent-$port.json" || fail "seq-send $from -> $to:$port"
	wait "$rpid"
	check_eq "stream $from -> $to:$port delivered" "$(jq .unique "$TMPDIR_T/recv-$port.json")" "$n"
}

# ---- a flow of vm2 on h1, finished but in the table (idle timeout 60 s) ----
seq_stream vm2 vm5 9001 200

# ---- migrate vm2 (veth) and vm3 (TAP) to h2 --------------------------------
bg_in_ns watch_h1 h1 "$VTAP" lab watch --count 2 --ready-file "$TMPDIR_T/w1" h1 >"$TMPDIR_T/watch-h1.json"
bg_in_ns watch_h2 h2 "$VTAP" lab watch --count 2 --ready-file "$TMPDIR_T/w2" h2 >"$TMPDIR_T/watch-h2.json"
wait_until 10 test -f "$TMPDIR_T/w1" -a -f "$TMPDIR_T/w2" || fail "lab watch did not start"
for p in 9002 9003; do
	to=vm5
	[ $p = 9003 ] && to=vm6
	bg_in_ns "rcv_$p" "$to" "$VTAP" lab seq-recv --port "$p" --ready-file "$TMPDIR_T/ready-$p" \
		--out "$TMPDIR_T/recv-$p.json" --timeout 60s
	wait_until 10 test -f "$TMPDIR_T/ready-$p" || fail "seq-recv on $to:$p did not start"
done

port_up_on() { # port_up_on HOST PORT : enslaved to br0 and up
	ip -n "$LAB_PREFIX-$1" -o link show "$2" 2>/dev/null | grep -q 'master br0.*state UP\|state UP.*master br0\|,UP.*master br0'
}
# send the moment the port is up on h2: nothing waits for the agent
migrate_and_send() { # VM PORTNAME UDPPORT TO
	local vm=$1 port=$2 udp=$3 to=$4 mpid
	bg_in_ns mpid h1 "$VTAP" lab migrate --pause 1s -j "$vm" h2
	wait_until 20 port_up_on h2 "$port" || fail "$port did not come up on h2"
	in_ns "$vm" "$VTAP" lab seq-send --to "$(lab_json ".vms[] | select(.name == \"$to\") | .ipv4"):$udp" \
		--rate 2000 --count 400 >"$TMPDIR_T/sent-$udp.json" || fail "seq-send from $vm after the migration"
	wait "$mpid" || fail "migrate $vm failed"
	echo "ok   $vm migrated to h2 and sent 400 datagrams from the moment $port was up"
}
migrate_and_send vm2 vp-vm2 9002 vm5
migrate_and_send vm3 tp-vm3 9003 vm6
wait "$watch_h1"
wait "$watch_h2"
for p in 9002 9003; do
	v="rcv_$p"
	wait "${!v}"
done
check_eq "datagrams vm5 received after vm2's move" "$(jq .unique "$TMPDIR_T/recv-9002.json")" 400
check_eq "datagrams vm6 received after vm3's move" "$(jq .unique "$TMPDIR_T/recv-9003.json")" 400

# the new ports: tapped, identified, and how fast
for port in vp-vm2 tp-vm3; do
	st=$(agent_status h2 -j | jq -c --arg p "$port" '.ports[] | select(.name == $p)')
	[ -n "$st" ] || fail "h2's agent does not have $port"
	check_eq "$port on h2: tapped, VM" "$(echo "$st" | jq -r '"\(.tapped) \(.vm.name)"')" \
		"true ${port#*-}"
	lat=$(echo "$st" | jq .tap_latency_us)
	[ "$lat" -lt 1000000 ] || fail "$port took $lat us to be tapped"
	echo "ok   $port tapped $lat us after its link event reached the agent"
done
ifx_h2=$(port_ifindexes h2)

sleep 1
for vm in vm5 vm6; do cap_stop "$vm"; done
for h in h1 h2; do agent_stop "$h"; done
collector_stop

# ---- removal: vm2's flow on h1 exported at once -------------------------------
leave_ms=$(jq -r 'select(.event == "leave" and .port == "vp-vm2") | .time_ms' "$TMPDIR_T/watch-h1.json" | head -1)
[ -n "$leave_ms" ] || fail "no leave event for vp-vm2 on h1: $(cat "$TMPDIR_T/watch-h1.json")"
arrive=$(tshark -n -r "$TMPDIR_T/ipfix.pcapng" -d udp.port==4739,cflow \
	-Y "ip.src == $h1ip && cflow.dstport == 9001 && cflow.flow_end_reason == 4" \
	-T fields -e frame.time_epoch | head -1)
[ -n "$arrive" ] || fail "h1 never exported vm2's flow with flowEndReason 4"
delay=$(awk -v a="$arrive" -v l="$leave_ms" 'BEGIN { printf "%d", a * 1000 - l }')
echo "ok   vm2's flow on h1 reached the collector $delay ms after vp-vm2 left h1 (reason 4)"
[ "$delay" -ge 0 ] && [ "$delay" -le 2000 ] || fail "export after removal took $delay ms"

# ---- counts: exact, once, on the right host and port --------------------------
cmp() {
	# shellcheck disable=SC2086
	python3 "$(dirname "$0")/agent_compare.py" --inventory "$inv" \
		--vm-pcap "vm5=$TMPDIR_T/vm5.pcapng" --vm-pcap "vm6=$TMPDIR_T/vm6.pcapng" \
		--nfdump "$TMPDIR_T/flows.json" --host-ip "h1=$h1ip" --host-ip "h2=$h2ip" \
		--receiver-truth 9001 --receiver-truth 9002 --receiver-truth 9003 "$@" >"$TMPDIR_T/cmp.txt" 2>&1
	local rc=$?
	cat "$TMPDIR_T/cmp.txt"
	return $rc
}
# before the move vm2 was on h1 (its stream crossed hosts: exported by both)
# shellcheck disable=SC2086
cmp --only-port 9001 --vm-host vm2=h1 $ifx_h1 $ifx_h2 || fail "the stream before the migration"
# after: vm2 and vm3 on h2, same host as their receivers: once, at their new port
# shellcheck disable=SC2086
cmp --only-port 9002 --only-port 9003 $ifx_h1 $ifx_h2 || fail "the streams right after the migration"

lab_down >/dev/null
compare_root_netns "$TMPDIR_T/root"
echo PASS
