#!/usr/bin/env bash
# timeout: 240
# pcapng ring files (issue 5, done-when 4): one session on VMs A and B
# writing pcapng files of 256 KiB each. tshark reads every file of the
# ring, also while it is being written; the interfaces are named after the
# VMs and described by UUID, host and port; per VM, the copies equal that
# VM's own capture (normalised to wire frames) frame for frame, and the
# direction flags match (the interface stands for the VM's NIC: what the VM
# sent is "outbound").
set -u
cd "$(dirname "$0")/../.."
source tests/integration/tap/tap_lib.sh
need_tap

tap_lab_up 9000
mkdir -p "$TAPDIR/ring"
cat >"$TAPDIR/s.json" <<EOF2
{"id": 31, "name": "ab-ring", "target": {"vms": ["vm1", "$UUID_B"]},
 "destination": {"type": "pcapng", "dir": "$TAPDIR/ring", "prefix": "ab", "file_size": "256k",
                 "file_count": 10000}}
EOF2
taprun --port vp-vm1=vm1,$UUID_A --port vp-vm2=vm2,$UUID_B --session "$TAPDIR/s.json" --host hv-test
iperf_s vm2 5201
capture vm1 eth0 "$TAPDIR/truth-vm1.pcap"
capture vm2 eth0 "$TAPDIR/truth-vm2.pcap"

nsx vm1 ping -c 5 -i 0.05 -q $B_IP >/dev/null || fail "ping A->B"
nsx vm4 ping -c 5 -i 0.05 -q $B_IP >/dev/null || fail "ping C->B"
iperf_c vm1 $B_IP -p 5201 -t 1 -b 40M >/dev/null || fail "iperf3 TCP A->B"
iperf_c vm4 $B_IP -p 5201 -u -b 10M -l 1200 -k 800 >/dev/null || fail "iperf3 UDP C->B"
iperf_c vm1 $C_IP -p 5201 -t 1 -b 20M -R >/dev/null 2>&1 || true   # no server on C: refused, a few frames
settle

# readable while being written: the newest file, as it is now
cur=$(ls "$TAPDIR/ring"/ab_*.pcapng | sort | tail -1)
n_live=$(tshark -r "$cur" 2>"$TAPDIR/live.err" | wc -l)
[ "$n_live" -gt 0 ] && ! grep -q "cut short\|appears to be damaged" "$TAPDIR/live.err" ||
	fail "tshark could not read the file being written ($n_live packets): $(cat "$TAPDIR/live.err")"
capture_stop "$TAPDIR/truth-vm1.pcap" "$TAPDIR/truth-vm2.pcap"
taprun_stop

files=("$TAPDIR/ring"/ab_*.pcapng)
[ ${#files[@]} -ge 3 ] || fail "only ${#files[@]} ring files: no rotation"
total=0
for f in "${files[@]}"; do
	tshark -r "$f" >/dev/null 2>"$TAPDIR/read.err" || fail "tshark cannot read $f: $(cat "$TAPDIR/read.err")"
	grep -v "Running as user" "$TAPDIR/read.err" | grep -q . && fail "tshark on $f: $(cat "$TAPDIR/read.err")"
	total=$((total + $(capinfos -c -M "$f" | awk '/Number of packets/ {print $NF}')))
done
names=$(for f in "${files[@]}"; do tshark -r "$f" -T fields -e frame.interface_name 2>/dev/null; done | sort -u | tr '\n' ' ')
[ "$names" = "vm1 vm2 " ] || fail "interface names: '$names'"
desc=$(tshark -r "${files[0]}" -T fields -e frame.interface_name -e frame.interface_description 2>/dev/null | sort -u)
echo "$desc" | grep -q "^vm1	uuid=$UUID_A host=hv-test port=vp-vm1$" || fail "vm1 description: $desc"

for vm in vm1 vm2; do
	MAC=$(mac_of $vm)
	python3 $TF compare --truth "$TAPDIR/truth-$vm.pcap" \
		--mirror "${files[@]}" --encap pcapng --ifname $vm --vm-mac "$MAC" --mtu 1500 --window \
		>"$TAPDIR/cmp-$vm.json"
	rc=$?
	echo "$vm: $(cat "$TAPDIR/cmp-$vm.json")"
	[ $rc -eq 0 ] || fail "$vm: the ring does not hold the VM's frames"
	# directions per tshark too: outbound = sent by the VM
	out=$(for f in "${files[@]}"; do tshark -r "$f" -Y "frame.interface_name == \"$vm\" && frame.packet_flags_direction == 2" 2>/dev/null; done | wc -l)
	[ "$out" = "$(jq .directions_all.from_vm "$TAPDIR/cmp-$vm.json")" ] || fail "$vm: $out outbound per tshark"
done
na=$(jq .mirror_frames "$TAPDIR/cmp-vm1.json") nb=$(jq .mirror_frames "$TAPDIR/cmp-vm2.json")
# the files hold what the session sent, all of it (the ring kept every file)
[ "$(jq '[.sessions[] | select(.id == 31) | .sent] | .[0]' "$TAPDIR/final.json")" = "$total" ] ||
	fail "capinfos counts $total packets, the session sent $(jq -c '.sessions' "$TAPDIR/final.json")"
echo "ok: ${#files[@]} files, $total packets, interfaces named after the VMs, equal to each VM's capture"
