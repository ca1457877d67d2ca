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

# ---- act: the agent --------------------------------------------------------------
# One `vtap agent` per hypervisor of a fresh lab, VM identities from the
# libvirt test driver, IPFIX to nfcapd in the management network; VM-to-VM
# traffic on one host and across hosts; the agent's own view (vtap agent
# status), then the flows the collector stored, per VM, with VM names.
agent_act() {
	local P=demoa$$ tmp h pids=()
	if [ "$(id -u)" -ne 0 ]; then
		echo "== agent: skipped (needs root for network namespaces)"
		return 0
	fi
	for c in nfcapd nfdump jq iperf3; do
		command -v $c >/dev/null || { echo "== agent: skipped ($c missing: scripts/deps.sh)"; return 0; }
	done
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "kill \${pids[*]} 2>/dev/null; '$VTAP' lab down --prefix $P >/dev/null 2>&1; rm -rf '$tmp'" EXIT
	echo
	echo "== agent: a lab with an agent per host, exporting IPFIX to nfcapd in mgmt"
	"$VTAP" lab up --prefix "$P" --hosts 2 --vms-per-host 3 --no-ipv6 >/dev/null
	mkdir -p "$tmp/nf"
	"$VTAP" lab exec --prefix "$P" mgmt -- nfcapd -w "$tmp/nf" -p 4739 -b 198.19.0.250 -t 3600 \
		-C none >/dev/null 2>&1 &
	pids+=($!)
	for h in h1 h2; do
		cat >"$tmp/$h.conf" <<EOC
[agent]
name = $h
[ports]
bridge = br0
exclude = up0
[identity]
libvirt = test:///run/vtap/lab/$P/$h.xml
[export]
collector = udp://198.19.0.250:4739
[control]
listen = unix:$tmp/$h.sock
EOC
		"$VTAP" lab exec --prefix "$P" "$h" -- "$VTAP" agent -c "$tmp/$h.conf" \
			>"$tmp/agent-$h.log" 2>&1 &
		pids+=($!)
	done
	for h in h1 h2; do
		for _ in $(seq 100); do
			"$VTAP" agent status --socket "$tmp/$h.sock" -j 2>/dev/null |
				jq -e '[.ports[].identity_source] | all(. == "libvirt")' >/dev/null 2>&1 && break
			sleep 0.1
		done
	done
	echo "== agent: traffic — vm1 pings vm2 (same host) and vm4 (other host); iperf3 TCP vm3 (TAP) -> vm5"
	"$VTAP" lab exec --prefix "$P" vm1 -- ping -c 3 -i 0.2 -q 198.18.1.2 | tail -1
	"$VTAP" lab exec --prefix "$P" vm1 -- ping -c 3 -i 0.2 -q 198.18.1.4 | tail -1
	"$VTAP" lab exec --prefix "$P" vm5 -- iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	local srv=$!
	sleep 0.5
	"$VTAP" lab exec --prefix "$P" vm3 -- iperf3 -c 198.18.1.5 -p 5201 -n 2M -b 100M |
		grep -E 'sender|receiver' || true
	wait $srv || true
	echo
	echo "== agent: vtap agent status (h1)"
	"$VTAP" agent status --socket "$tmp/h1.sock"
	# which port (exporter address + ifindex) belongs to which VM
	for h in h1 h2; do
		"$VTAP" agent status --socket "$tmp/$h.sock" -j |
			jq -c --arg ip "$(jq -r --arg h "$h" '.hosts[] | select(.name == $h) | .mgmt_ip' \
				"/run/vtap/lab/$P/inventory.json")" \
				'.ports[] | {key: "\($ip)/\(.ifindex)", value: (.vm.name // "unknown")}'
	done | jq -s 'from_entries' >"$tmp/ports.json"
	for p in "${pids[@]:1}"; do kill -TERM "$p"; done
	for p in "${pids[@]:1}"; do wait "$p" || true; done
	sleep 1
	kill -TERM "${pids[0]}"
	wait "${pids[0]}" || true
	pids=()
	echo
	echo "== agent: the flows nfcapd stored, per VM (nfdump, names from the agents' ports)"
	nfdump -R "$tmp/nf" -o json | jq -r --slurpfile m "$tmp/ports.json" '
		.[] | select(.type == "FLOW") |
		(if .direction == 1 then .output_snmp else .input_snmp end) as $if |
		[($m[0]["\(.ip4_router)/\($if)"] // "?"),
		 (if .direction == 1 then "in " else "out" end),
		 "\(.src4_addr):\(.src_port // .icmp_type) -> \(.dst4_addr):\(.dst_port // .icmp_code)",
		 (if .proto == 6 then "tcp" elif .proto == 17 then "udp" elif .proto == 1 then "icmp" else "\(.proto)" end),
		 "\(.in_packets) pkts", "\(.in_bytes) bytes", "seen by \(.ip4_router)"] | @tsv' |
		sort | column -t -s "$(printf '\t')"
	echo "(each same-host flow appears once, at the sender's port; cross-host flows once per host)"
	"$VTAP" lab down --prefix "$P" >/dev/null
	trap - EXIT
	rm -rf "$tmp"
}
agent_act
