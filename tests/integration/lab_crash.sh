#!/usr/bin/env bash
# timeout: 300
# `lab down` after a crash: TAP relays killed -9, processes left running in
# the lab's namespaces, the state file and inventory gone — everything of
# the lab is still found and removed, and nothing else. Two labs with
# different prefixes coexist (same addresses, no cross-talk), and one's
# removal leaves the other working. A `lab up` killed halfway is cleaned up
# the same way.
. "$(dirname "$0")/lib.sh"
need_netadmin
need_cmd ping jq

A=$LAB_PREFIX
B=${LAB_PREFIX:0:11}b
C=${LAB_PREFIX:0:11}c
on_exit "'$VTAP' lab down --prefix $B"
on_exit "'$VTAP' lab down --prefix $C"
snapshot_root_netns "$TMPDIR_T/root.before"

lab_up --hosts 2 --vms-per-host 3 >/dev/null || fail "lab up A"
"$VTAP" lab up --prefix "$B" --hosts 1 --vms-per-host 2 --tap-vms vm1,vm2 --monitor-mtu 9000 \
	--no-ipv6 >/dev/null || fail "lab up B"
check "lab A healthy" "$VTAP" lab status --prefix "$A"
check "lab B healthy" "$VTAP" lab status --prefix "$B"
# the same addresses in both labs, each answered inside its own lab
check "A: vm1 reaches vm2 (198.18.1.2)" in_ns vm1 ping -n -c 2 -i 0.2 -W 3 198.18.1.2
check "B: vm1 (TAP) reaches vm2 (TAP, 198.18.1.2)" \
	"$VTAP" lab exec --prefix "$B" vm1 -- ping -n -c 2 -i 0.2 -W 3 198.18.1.2
check "B has no vm3 (198.18.1.3 is lab A's)" \
	sh -c "! '$VTAP' lab exec --prefix '$B' vm1 -- ping -n -c 1 -W 1 198.18.1.3"
check_eq "labs listed" "$("$VTAP" lab list -j | jq -c "[.[] | select(.prefix == \"$A\" or .prefix == \"$B\") | [.prefix, .namespaces]] | sort")" \
	"$(jq -nc --arg a "$A" --arg b "$B" '[[$a, 12], [$b, 7]] | sort')"
# lab B: a jumbo management network, no IPv6
for m in "h1 mgmt0" "analyzer eth0" "mgmt eth0" "fabric mgmt"; do
	set -- $m
	check_eq "B: MTU of $2 in $1" "$("$VTAP" lab exec --prefix "$B" "$1" -- cat "/sys/class/net/$2/mtu")" 9000
done
check "B: a 9000-byte frame from h1 to the analyzer, unfragmented" \
	"$VTAP" lab exec --prefix "$B" h1 -- ping -n -c 1 -W 3 -M do -s 8972 198.19.0.254
check_eq "B: no IPv6 on the VMs" "$("$VTAP" lab exec --prefix "$B" vm1 -- ip -6 -o addr show dev eth0 | wc -l)" 0
check_eq "B: no IPv6 in the inventory" "$(jq '[.vms[] | has("ipv6")] | any' "/run/vtap/lab/$B/inventory.json")" false
nsA=$(ip netns list | grep -c "^$A-")
nsB=$(ip netns list | grep -c "^$B-")
check_eq "namespaces of A" "$nsA" 12
check_eq "namespaces of B" "$nsB" 7

# ---- crash A --------------------------------------------------------------
# processes the lab's users left running inside it
bg_in_ns stray1 vm1 "$VTAP" lab seq-recv --port 9100 --timeout 600s
bg_in_ns stray2 h2 sleep 600
wait_until 10 sh -c "ip netns pids $A-h2 | grep -q ."
relays=$(jq '.processes[].pid' "/run/vtap/lab/$A/state.json")
[ -n "$relays" ] || fail "no TAP relay recorded for A"
kill -9 $relays
# status notices: the TAP VM's port went with its relay
wait_until 10 sh -c "! '$VTAP' lab status --prefix '$A' >/dev/null" || fail "status did not notice the crash"
check_eq "status of vm3 after its relay died" \
	"$("$VTAP" lab status --prefix "$A" -j | jq -r '.vms[] | select(.name == "vm3") | .state')" no-port
rm -f "/run/vtap/lab/$A/state.json" "/run/vtap/lab/$A/inventory.json"
"$VTAP" lab down --prefix "$A" >"$TMPDIR_T/down.txt" || fail "lab down after the crash"
cat "$TMPDIR_T/down.txt"
grep -q "removed 12 namespaces, stopped 2 processes" "$TMPDIR_T/down.txt" ||
	fail "unexpected: $(cat "$TMPDIR_T/down.txt")"
check_eq "namespaces of A left" "$(ip netns list | grep -c "^$A-" || true)" 0
check "the strays were stopped" sh -c "! kill -0 $stray1 2>/dev/null && ! kill -0 $stray2 2>/dev/null"
[ ! -e "/run/vtap/lab/$A" ] || fail "/run/vtap/lab/$A remains"
# B is untouched
check_eq "namespaces of B" "$(ip netns list | grep -c "^$B-")" 7
check "lab B still healthy" "$VTAP" lab status --prefix "$B"
check "B: vm2 reaches vm1 through both relays" \
	"$VTAP" lab exec --prefix "$B" vm2 -- ping -n -c 2 -i 0.2 -W 3 198.18.1.1

# ---- a lab up killed halfway ------------------------------------------------
"$VTAP" lab up --prefix "$C" --hosts 4 --vms-per-host 10 --tap-vms vm5,vm15,vm25 >/dev/null 2>&1 &
up=$!
wait_until 20 sh -c "ip netns list | grep -q '^$C-h2'" || true
kill -9 $up 2>/dev/null
wait $up 2>/dev/null
echo "lab up of $C killed with $(ip netns list | grep -c "^$C-") namespaces made"
"$VTAP" lab down --prefix "$C" >/dev/null || fail "lab down after a killed lab up"
check_eq "namespaces of C left" "$(ip netns list | grep -c "^$C-" || true)" 0
check_eq "relays of C left" "$(pgrep -fc "lab tapd --prefix $C " || true)" 0

"$VTAP" lab down --prefix "$B" >/dev/null || fail "lab down B"
check_eq "relays of B left" "$(pgrep -fc "lab tapd --prefix $B " || true)" 0
compare_root_netns "$TMPDIR_T/root.before"
echo "PASS"
