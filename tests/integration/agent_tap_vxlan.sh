#!/usr/bin/env bash
# timeout: 360
# Mirror sessions through `vtap agent` and `vtap session` (issue 5: done-when
# 1 through the agent, and the session CLI).
#  1. The CLI and API: bad sessions are refused with the field named
#     (destination.vni out of range, a missing target, an unknown key, a
#     malformed --dest URL, an unknown or bad id); a session added with the
#     flags (--vm UUID --dest vxlan://...) shows up in list and show, and
#     in the state file.
#  2. Completeness: the agent found vm1's port on br0 itself and armed it
#     for the session (the VM named by UUID, never by port): during ping,
#     a fixed-count iperf3 UDP stream both ways, short iperf3 TCP runs and
#     an nmap scan, to and from A with a same-host (vm2) and a cross-host
#     (vm4) peer while vm2 and vm4 also talk, the multiset of frames the
#     analyzer's own VXLAN device decapsulates equals the multiset captured
#     on A's interface inside A (tap/tap_frames.py), and `vtap session
#     show`'s sent counter equals the frames the analyzer received.
#  3. del: the copies stop, list is empty, the state file holds no session;
#     a clean stop of the agent leaves no filter and no VXLAN device.
set -u
cd "$(dirname "$0")/../.."
source tests/integration/tap/tap_lib.sh
source tests/integration/tap/agent_tap_lib.sh
need_tap

tap_lab_up 9000
analyzer_vxlan 100
agent_tap_conf
agent_tap_start

info "1. the session CLI"
expect_err() { # expect_err RC 'TEXT' vtap-session-args... : fails naming TEXT
	local want=$1 text=$2 rc=0
	shift 2
	vs "$@" >"$TAPDIR/err.out" 2>&1 || rc=$?
	[ "$rc" = "$want" ] || fail "vtap session $*: exit $rc, want $want: $(cat "$TAPDIR/err.out")"
	grep -qF -- "$text" "$TAPDIR/err.out" || fail "vtap session $*: '$text' not in: $(cat "$TAPDIR/err.out")"
	echo "ok   refused: $(head -1 "$TAPDIR/err.out")"
}
expect_err 1 "destination.vni" add --vm "$UUID_A" --dest "vxlan://$AN_IP?vni=99999999"
expect_err 1 "destination.colour: unknown key" add --vm vm1 --dest "vxlan://$AN_IP?vni=5&colour=red"
expect_err 2 "--dest" add --vm vm1 --dest "vxlan:/$AN_IP"
expect_err 2 "'ftp' is not vxlan" add --vm vm1 --dest "ftp://$AN_IP"
echo '{"id": 7, "destination": {"type": "vxlan", "remote": "'$AN_IP'", "vni": 7}}' >"$TAPDIR/bad.json"
expect_err 1 "target: required" add "$TAPDIR/bad.json"
expect_err 1 "no session 42" show 42
expect_err 2 "ID: 'x1' is not a session id" del x1
[ "$(vs list -j | jq '.sessions | length')" = 0 ] || fail "a refused session was kept"

vs add --name a-vx --vm "$UUID_A" --dest "vxlan://$AN_IP?vni=100" >"$TAPDIR/add.out" || fail "session add"
cat "$TAPDIR/add.out"
grep -q "session 1 'a-vx' added: vxlan, active" "$TAPDIR/add.out" || fail "add output"
expect_err 1 "id: already in use" add --id 1 --vm vm2 --dest "gre://$AN_IP"
vs list
[ "$(vs list -j | jq -c '[.sessions[] | [.id, .name, .active, .definition.destination.vni]]')" = '[[1,"a-vx",true,100]]' ] ||
	fail "list: $(vs list -j)"
jq -e --arg u "$UUID_A" '.sessions | length == 1 and .[0].target.vms == [$u] and .[0].destination.vni == 100' \
	"$TAPDIR/tap-state.json" >/dev/null || fail "state file: $(cat "$TAPDIR/tap-state.json")"
S=$(sshow 1)
[ "$(jq -c '[.ports[] | [.ifname, .vm, .armed, .direction]]' <<<"$S")" = '[["vp-vm1","vm1",true,"both"]]' ] ||
	fail "the session is not on vm1's port only: $(jq -c .ports <<<"$S")"
"$VTAP" agent status --socket "unix:$TAPDIR/h1.sock" | grep "^tap:" | tee "$TAPDIR/st.out"
grep -q "1 session (0 inactive, 1 in-kernel VXLAN" "$TAPDIR/st.out" || fail "agent status: no session count"

info "2. completeness through the agent"
iperf_s vm2 5201
iperf_s vm4 5202
agent_quiet
S0=$(sctr sent)
capture analyzer vx100 "$TAPDIR/m1.pcap"
capture vm1 eth0 "$TAPDIR/t1.pcap"
nsx vm2 ping -q -i 0.05 $C_IP >/dev/null 2>&1 &
on_exit "kill $! 2>/dev/null"
nsx vm1 ping -c 5 -i 0.05 -q $B_IP >/dev/null || fail "ping A->B"
nsx vm2 ping -c 5 -i 0.05 -q $A_IP >/dev/null || fail "ping B->A"
nsx vm1 ping -c 5 -i 0.05 -q $C_IP >/dev/null || fail "ping A->C"
nsx vm4 ping -c 5 -i 0.05 -q $A_IP >/dev/null || fail "ping C->A"
nsx vm1 ping -6 -c 5 -i 0.05 -q $B6 >/dev/null || fail "ping -6 A->B"
iperf_c vm1 $C_IP -p 5202 -u -b 20M -l 1400 -k 2000 >/dev/null || fail "iperf3 UDP A->C"
iperf_c vm1 $C_IP -p 5202 -u -b 20M -l 1200 -k 2000 -R >/dev/null || fail "iperf3 UDP C->A"
iperf_c vm1 $B_IP -p 5201 -t 2 -b 150M >/dev/null || fail "iperf3 TCP A->B"
iperf_c vm1 $C_IP -p 5202 -t 2 -b 150M -R >/dev/null || fail "iperf3 TCP C->A"
nsx vm1 nmap -sS -n -T4 -p 1-200 $B_IP >/dev/null || fail "nmap A->B"
nsx vm4 nmap -sS -n -T4 -p 1-200 $A_IP >/dev/null || fail "nmap C->A"
nud_settled  # no probe may fall between the counters and the captures
agent_settle
capture_stop "$TAPDIR/t1.pcap" "$TAPDIR/m1.pcap"
vs show 1
S=$(sshow 1)
python3 $TF compare --truth "$TAPDIR/t1.pcap" --mirror "$TAPDIR/m1.pcap" --encap vxlan \
	--mtu 1500 --vm-mac "$A_MAC" --window >"$TAPDIR/cmp.json"
rc=$?
echo "vm1: $(cat "$TAPDIR/cmp.json")"
[ $rc -eq 0 ] || fail "the mirror is not the ground truth: $(jq -c "{missing, extra, problems, missing_sample, extra_sample}" "$TAPDIR/cmp.json")"
n=$(jq .mirror_all "$TAPDIR/cmp.json")
sent=$(($(jq .counters.sent <<<"$S") - S0))
check_eq "session show: sent = frames at the analyzer" "$sent" "$n"
for c in drop_error drop_too_big drop_queue_full drop_dest_down; do
	check_eq "session show: $c" "$(jq .counters.$c <<<"$S")" 0
done
[ "$(jq .truth_frames "$TAPDIR/cmp.json")" -gt 20000 ] || fail "too little traffic to prove anything"

info "3. del and a clean stop"
vs del 1 | grep -q "session 1 deleted" || fail "del"
[ "$(vs list -j | jq '.sessions | length')" = 0 ] || fail "list after del: $(vs list -j)"
jq -e '.sessions == []' "$TAPDIR/tap-state.json" >/dev/null || fail "state file after del: $(cat "$TAPDIR/tap-state.json")"
expect_err 1 "no session 1" del 1
capture analyzer vx100 "$TAPDIR/after.pcap"
nsx vm1 ping -c 5 -i 0.05 -q $B_IP >/dev/null || fail "ping after del"
capture_stop "$TAPDIR/after.pcap"
check_eq "frames mirrored after del" "$(tshark -r "$TAPDIR/after.pcap" 2>/dev/null | wc -l)" 0
agent_tap_stop
nsx h1 tc filter show dev vp-vm1 ingress | grep -q vtap && fail "filter left on vp-vm1 ingress"
nsx h1 tc filter show dev vp-vm1 egress | grep -q vtap && fail "filter left on vp-vm1 egress"
nsx h1 ip link show vtapvx0 >/dev/null 2>&1 && fail "vtapvx0 left behind"
echo "ok: sessions through the agent: CLI round trip, $n frames mirrored equal to the ground truth"
