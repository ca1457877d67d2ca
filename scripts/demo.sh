#!/usr/bin/env bash
# demo.sh — the README's first command: shows what vtap can do so far.
# Each component adds its act here as it lands; the demo must keep working.
set -euo pipefail
cd "$(dirname "$0")/.."
VTAP=${VTAP:-build/release/vtap}
echo "== vtap $("$VTAP" --version)"
"$VTAP" --help

# ---- act: the lab ------------------------------------------------------------
# A virtual datacenter in network namespaces: 2 hypervisors x 3 VMs (one on
# a real TAP device), connectivity across hosts, a live migration under a
# sequence-numbered stream that shows the gap it caused, and a clean
# teardown. Needs root (network namespaces); skipped otherwise.
lab_act() {
	local P=demo$$ tmp
	if [ "$(id -u)" -ne 0 ]; then
		echo "== lab: skipped (needs root for network namespaces)"
		return 0
	fi
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "'$VTAP' lab down --prefix $P >/dev/null 2>&1; rm -rf '$tmp'" EXIT
	echo
	echo "== lab: vtap lab up --prefix $P --hosts 2 --vms-per-host 3"
	"$VTAP" lab up --prefix "$P" --hosts 2 --vms-per-host 3
	echo
	echo "== lab: vtap lab status"
	"$VTAP" lab status --prefix "$P"
	echo
	echo "== lab: vm1 (h1) pings vm5 (h2) over IPv4 and IPv6, vm3 (TAP) pings the outside"
	"$VTAP" lab exec --prefix "$P" vm1 -- ping -c 2 -i 0.2 -q 198.18.1.5 | tail -2
	"$VTAP" lab exec --prefix "$P" vm1 -- ping -6 -c 2 -i 0.2 -q 2001:db8:18::1:5 | tail -2
	"$VTAP" lab exec --prefix "$P" vm3 -- ping -c 2 -i 0.2 -q 198.19.200.1 | tail -2
	echo
	echo "== lab: migrate vm2 h1 -> h2 (1 s pause) while vm4 streams 1000 datagrams/s to it"
	"$VTAP" lab exec --prefix "$P" vm2 -- "$VTAP" lab seq-recv --port 9000 --timeout 30s \
		--ready-file "$tmp/ready" --out "$tmp/recv.json" &
	local rcv=$! i
	for i in $(seq 100); do [ -f "$tmp/ready" ] && break; sleep 0.05; done
	"$VTAP" lab exec --prefix "$P" vm4 -- "$VTAP" lab seq-send --to 198.18.1.2:9000 \
		--rate 1000 --count 4000 >"$tmp/send.json" &
	local snd=$!
	sleep 1
	"$VTAP" lab migrate --prefix "$P" --pause 1s vm2 h2
	wait "$snd" "$rcv"
	echo "sender:   $(cat "$tmp/send.json")"
	echo "receiver: $(cat "$tmp/recv.json")"
	if command -v jq >/dev/null; then
		jq -r '"=> \(.unique) of \(.expected) datagrams arrived; \(.missing) lost in the gap \(.missing_ranges | map("\(.[0])-\(.[1])") | join(", ")); the stream resumed: \(.resumed_after_gap)"' "$tmp/recv.json"
	fi
	echo "libvirt now lists vm2 on h2:"
	virsh -c "test:///run/vtap/lab/$P/h2.xml" domiflist vm2 2>/dev/null || true
	echo
	echo "== lab: vtap lab down"
	"$VTAP" lab down --prefix "$P"
	trap - EXIT
	rm -rf "$tmp"
}
lab_act
