#!/usr/bin/env bash
# timeout: 400
# `vtap lab migrate` as live migration looks to the network: a sequence-
# numbered stream into the migrating VM shows exactly the gap it had and
# resumes; the port leaves the old host's bridge and joins the new one's
# (seen through rtnetlink link events, `vtap lab watch`); the VM announces
# itself (tshark decodes the gratuitous ARP and the unsolicited NA); the
# inventory and the libvirt node XMLs follow (checked through virsh); the
# VM keeps its MAC, addresses and UUID; veth and TAP VMs alike.
. "$(dirname "$0")/lib.sh"
need_netadmin
need_cmd ping jq virsh tcpdump tshark

snapshot_root_netns "$TMPDIR_T/root.before"
lab_up --hosts 2 --vms-per-host 3 >/dev/null || fail "lab up"
uri() { echo "test:///run/vtap/lab/$LAB_PREFIX/$1.xml"; }
uuid2=$(lab_json '.vms[1].uuid')

# migrate_with_stream VM TO SENDER DEST_IP PORT PAUSE: runs a 1000 pps
# stream SENDER -> VM through the migration; leaves the reports in
# $TMPDIR_T/{send,recv,watch-from,watch-to,migrate}.json
migrate_with_stream() {
	local vm=$1 to=$2 sender=$3 ip=$4 port=$5 pause=$6 from w1 w2 rcv snd
	from=$(lab_json ".vms[] | select(.name == \"$vm\") | .host")
	rm -f "$TMPDIR_T"/*.ready
	bg_in_ns w1 "$from" "$VTAP" lab watch --count 1 --timeout 60s \
		--ready-file "$TMPDIR_T/w1.ready" "$from" >"$TMPDIR_T/watch-from.json"
	bg_in_ns w2 "$to" "$VTAP" lab watch --count 1 --timeout 60s \
		--ready-file "$TMPDIR_T/w2.ready" "$to" >"$TMPDIR_T/watch-to.json"
	bg_in_ns rcv "$vm" "$VTAP" lab seq-recv --port "$port" --timeout 60s \
		--ready-file "$TMPDIR_T/rcv.ready" --out "$TMPDIR_T/recv.json"
	wait_until 10 test -f "$TMPDIR_T/w1.ready" -a -f "$TMPDIR_T/w2.ready" -a \
		-f "$TMPDIR_T/rcv.ready" || fail "watchers or receiver did not start"
	bg_in_ns snd "$sender" "$VTAP" lab seq-send --to "$ip:$port" --rate 1000 --count 8000 \
		>"$TMPDIR_T/send.json"
	sleep 1.5 # the stream runs before the migration starts
	"$VTAP" lab migrate --prefix "$LAB_PREFIX" --pause "$pause" -j "$vm" "$to" \
		>"$TMPDIR_T/migrate.json" || fail "lab migrate $vm $to"
	cat "$TMPDIR_T/migrate.json"
	wait "$snd" || fail "seq-send failed"
	wait "$rcv" || fail "seq-recv failed"
	wait "$w1" "$w2" || true
	cat "$TMPDIR_T/recv.json"
}

# ---- a veth VM: vm2 h1 -> h2, 1 s pause -------------------------------------
# the announcements, captured where every frame between hosts passes
# (-U: each frame is written as it comes, so the file can be watched)
bg_in_ns cap fabric timeout 60 tcpdump -U -n -i h2-up -w "$TMPDIR_T/announce.pcap" \
	'ether src 52:54:00:18:00:02 and (arp or icmp6)' 2>"$TMPDIR_T/cap.err"
wait_until 10 grep -q "listening on" "$TMPDIR_T/cap.err" || fail "tcpdump did not start"
migrate_with_stream vm2 h2 vm4 198.18.1.2 9000 1s
r=$TMPDIR_T/recv.json
sent=$(jq .sent "$TMPDIR_T/send.json")
check_eq "sender sent" "$sent" 8000
check_eq "receiver saw the END marker" "$(jq .end_seen "$r")" true
check_eq "expected = sent" "$(jq .expected "$r")" "$sent"
check_eq "unique + missing = sent" "$(jq '.unique + .missing' "$r")" "$sent"
check_eq "one gap" "$(jq .gaps "$r")" 1
check_eq "packets arrived after the gap" "$(jq .resumed_after_gap "$r")" true
check_eq "the last datagram arrived" "$(jq .last_seq "$r")" 7999
check_eq "no duplicates" "$(jq .duplicates "$r")" 0
missing=$(jq .missing "$r")
# the port was away for at least the 1 s pause at 1000 datagrams/s
[ "$missing" -ge 900 ] && [ "$missing" -le 6000 ] || fail "gap of $missing datagrams for a 1 s pause"
echo "ok   gap of $missing datagrams ($(jq -c '.missing_ranges' "$r"))"
# the bridges: leave on h1, join on h2, the pause between them
check_eq "h1 event" "$(jq -r '"\(.event) \(.port)"' "$TMPDIR_T/watch-from.json")" "leave vp-vm2"
check_eq "h2 event" "$(jq -r '"\(.event) \(.port)"' "$TMPDIR_T/watch-to.json")" "join vp-vm2"
t1=$(jq .time_ms "$TMPDIR_T/watch-from.json") t2=$(jq .time_ms "$TMPDIR_T/watch-to.json")
[ $((t2 - t1)) -ge 1000 ] && [ $((t2 - t1)) -lt 10000 ] || fail "port away for $((t2 - t1)) ms"
echo "ok   port away $((t2 - t1)) ms (pause 1000 ms)"
# the announcements, as tshark decodes them
garp_filter='arp.isgratuitous == 1 && arp.src.proto_ipv4 == 198.18.1.2'
na_filter='icmpv6.type == 136 && icmpv6.nd.na.flag.o == 1 &&
	icmpv6.nd.na.target_address == 2001:db8:18::1:2 && ipv6.dst == ff02::1 &&
	icmpv6.checksum.status == 1 && icmpv6.opt.linkaddr == 52:54:00:18:00:02'
count() { tshark -r "$TMPDIR_T/announce.pcap" -Y "$1" 2>/dev/null | wc -l; }
# stop the capture once it holds what was sent (or after 10 s, and fail below)
wait_until 10 sh -c "[ \$(tshark -r '$TMPDIR_T/announce.pcap' -Y '$garp_filter' 2>/dev/null | wc -l) -ge 3 ] &&
	[ \$(tshark -r '$TMPDIR_T/announce.pcap' -Y '$na_filter' 2>/dev/null | wc -l) -ge 3 ]" || true
kill -INT "$cap" 2>/dev/null
wait "$cap" || true
check_eq "gratuitous ARPs from vm2 (tshark)" "$(count "$garp_filter")" 3
check_eq "unsolicited NAs from vm2 with a good checksum (tshark)" "$(count "$na_filter")" 3
# inventory and libvirt follow; identity is unchanged
check_eq "inventory: vm2 host" "$(lab_json '.vms[1].host')" h2
check_eq "inventory: vm2 uuid" "$(lab_json '.vms[1].uuid')" "$uuid2"
check_eq "h2 lists vm2" "$(virsh -c "$(uri h2)" list --name | grep -cx vm2)" 1
check_eq "h1 no longer lists vm2" "$(virsh -c "$(uri h1)" list --name | grep -cx vm2)" 0
check_eq "vm2 on h2 (domiflist)" "$(virsh -c "$(uri h2)" domiflist vm2 | awk 'NR > 2 && NF {print $1, $5}')" \
	"vp-vm2 52:54:00:18:00:02"
check_eq "vm2 uuid on h2" "$(virsh -c "$(uri h2)" domuuid vm2)" "$uuid2"
check "vp-vm2 is gone from h1" sh -c "! '$VTAP' lab exec --prefix '$LAB_PREFIX' h1 -- ip link show vp-vm2 >/dev/null 2>&1"
check "vp-vm2 is a port of br0 on h2" sh -c "'$VTAP' lab exec --prefix '$LAB_PREFIX' h2 -- ip link show vp-vm2 | grep -q 'master br0'"
check_eq "vm2 keeps its MAC" "$(in_ns vm2 cat /sys/class/net/eth0/address)" 52:54:00:18:00:02
for src in vm1 vm5; do
	check "$src reaches vm2 (IPv4)" in_ns $src ping -n -c 2 -i 0.2 -W 3 198.18.1.2
	check "$src reaches vm2 (IPv6)" in_ns $src ping -6 -n -c 2 -i 0.2 -W 3 2001:db8:18::1:2
done
check "lab status healthy after migration" "$VTAP" lab status --prefix "$LAB_PREFIX"

# ---- the TAP VM: vm3 h1 -> h2 ------------------------------------------------
old_pid=$(jq '.processes[] | select(.vm == "vm3") | .pid' "/run/vtap/lab/$LAB_PREFIX/state.json")
migrate_with_stream vm3 h2 vm1 198.18.1.3 9001 500ms
r=$TMPDIR_T/recv.json
check_eq "TAP VM: unique + missing = sent" "$(jq '.unique + .missing' "$r")" "$(jq .sent "$TMPDIR_T/send.json")"
check_eq "TAP VM: one gap, then data again" "$(jq -c '[.gaps, .resumed_after_gap, .end_seen]' "$r")" '[1,true,true]'
[ "$(jq .missing "$r")" -ge 400 ] || fail "TAP VM: a gap of only $(jq .missing "$r") for a 500 ms pause"
check_eq "TAP VM: h1 event" "$(jq -r '"\(.event) \(.port)"' "$TMPDIR_T/watch-from.json")" "leave tp-vm3"
check_eq "TAP VM: h2 event" "$(jq -r '"\(.event) \(.port)"' "$TMPDIR_T/watch-to.json")" "join tp-vm3"
new_pid=$(jq '.processes[] | select(.vm == "vm3") | .pid' "/run/vtap/lab/$LAB_PREFIX/state.json")
[ "$new_pid" != "$old_pid" ] || fail "the TAP relay was not replaced"
check "the old relay is gone" sh -c "! kill -0 $old_pid 2>/dev/null"
check "the new relay runs on h2" sh -c "tr '\\0' ' ' </proc/$new_pid/cmdline | grep -q -- '--host h2'"
check "tp-vm3 is a vnet_hdr TAP on h2's br0" sh -c "'$VTAP' lab exec --prefix '$LAB_PREFIX' h2 -- \
	ip -d link show tp-vm3 | grep -q 'master br0' && '$VTAP' lab exec --prefix '$LAB_PREFIX' h2 -- \
	ip -d link show tp-vm3 | grep -q 'tun type tap pi off vnet_hdr on'"
check_eq "h2 lists vm3 with its TAP port" "$(virsh -c "$(uri h2)" domiflist vm3 | awk 'NR > 2 && NF {print $1}')" tp-vm3
check "vm6 reaches vm3 (IPv6)" in_ns vm6 ping -6 -n -c 2 -i 0.2 -W 3 2001:db8:18::1:3

# ---- back without a pause, and refusals -------------------------------------
check "vm2 back to h1 without a pause" "$VTAP" lab migrate --prefix "$LAB_PREFIX" --pause 0 vm2 h1
check "vm4 reaches vm2 again" in_ns vm4 ping -n -c 2 -i 0.2 -W 3 198.18.1.2
out=$("$VTAP" lab migrate --prefix "$LAB_PREFIX" vm2 h1 2>&1); rc=$?
check_eq "migrating to the same host is refused" "$rc:$out" "2:vtap lab migrate: vm2 already runs on h1"
out=$("$VTAP" lab migrate --prefix "$LAB_PREFIX" vm9 h1 2>&1); rc=$?
check_eq "an unknown VM is refused" "$rc:$out" "2:vtap lab migrate: lab '$LAB_PREFIX' has no VM 'vm9' (vm1..vm6)"
out=$("$VTAP" lab migrate --prefix "$LAB_PREFIX" vm2 h7 2>&1); rc=$?
check_eq "an unknown host is refused" "$rc:$out" "2:vtap lab migrate: lab '$LAB_PREFIX' has no host 'h7' (h1..h2)"
out=$("$VTAP" lab migrate --prefix "$LAB_PREFIX" --pause 2h vm2 h2 2>&1); rc=$?
check_eq "a pause out of range is refused" "$rc" 2
echo "$out" | grep -q "option --pause: 2h is out of range" || fail "pause error: $out"

lab_down >/dev/null || fail "lab down"
compare_root_netns "$TMPDIR_T/root.before"
echo "PASS"
