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

# ---- act: the collector ------------------------------------------------------
# A collector with its store and API; 200 exporters' IPFIX from the load
# generator (in a private network namespace when root, else one exporter on
# loopback); then, as root, the VM view of a lab: traffic between VMs on one
# host and across hosts, each host's ports metered (the agent's meter) and
# exported to the collector, `vtap vms` / `vtap vm`.
collector_act() {
	if ! "$VTAP" collector --help >/dev/null 2>&1; then
		echo "== collector: not in this build yet"
		return 0
	fi
	local tmp
	tmp=$(mktemp -d)
	echo
	echo "== collector: vtap collector (UDP, TCP and the API on loopback, port 0 = free ports)"
	"$VTAP" collector -o collector.listen=127.0.0.1:0 -o collector.tcp_listen=127.0.0.1:0 \
		-o api.listen=127.0.0.1:0 -o "store.dir=$tmp/store" -o "collector.state_dir=$tmp/state" \
		-o collector.log_level=warn --ready-file "$tmp/ready" &
	local cpid=$! i
	# shellcheck disable=SC2064
	trap "kill $cpid 2>/dev/null; rm -rf '$tmp'" EXIT
	for i in $(seq 100); do [ -s "$tmp/ready" ] && break; sleep 0.05; done
	cat "$tmp/ready"
	local udp tcp api
	udp=$(sed -n 's/.*"udp":\["\([^"]*\)".*/\1/p' "$tmp/ready")
	tcp=$(sed -n 's/.*"tcp":\["\([^"]*\)".*/\1/p' "$tmp/ready")
	api=$(sed -n 's/.*"api":"\([^"]*\)".*/\1/p' "$tmp/ready")
	echo "== collector: 20,000 IPFIX records over UDP, 5,000 NetFlow v9, 5,000 IPFIX over TCP"
	"$VTAP" flowgen --to "$udp" -n 20000 -r 100000
	"$VTAP" flowgen --to "$udp" -n 5000 -f nfv9 --src-base 127.0.0.2 -r 100000
	"$VTAP" flowgen --tcp "$tcp" -n 5000 --src-base 127.0.0.3
	sleep 1
	echo "== collector: top destination ports by flows, through the API"
	curl -s "http://$api/api/v1/flows?aggregate=dstport&sort=flows&limit=5&format=text"
	echo "== collector: exporters"
	curl -s "http://$api/api/v1/exporters" | (command -v jq >/dev/null &&
		jq -c '.list[] | {address, worker, packets, records, templates, sequence_gaps}' || cat)
	kill "$cpid"
	wait "$cpid" || true
	echo "== collector: stopped cleanly; the store answers offline:"
	"$VTAP" flows -d "$tmp/store" -A exporter
	trap - EXIT
	rm -rf "$tmp"
	[ "$(id -u)" -eq 0 ] && command -v tcpdump >/dev/null && command -v mergecap >/dev/null &&
		command -v iperf3 >/dev/null && "$VTAP" meter --help >/dev/null 2>&1 || {
		echo "== collector: the lab VM view needs root, tcpdump, mergecap, iperf3 and vtap meter"
		return 0
	}
	collector_lab_act
}

collector_lab_act() {
	local P=democ$$ tmp ip4 http3 vm host port uuid mac i
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "'$VTAP' lab down --prefix $P >/dev/null 2>&1; rm -rf '$tmp'" EXIT
	local X=("$VTAP" lab exec --prefix "$P")
	echo
	echo "== collector: the VM view — lab $P, a collector in mgmt with the lab's inventory"
	"$VTAP" lab up --prefix "$P" --hosts 2 --vms-per-host 3 >/dev/null
	local inv=/run/vtap/lab/$P/inventory.json
	"${X[@]}" mgmt -- "$VTAP" collector -o collector.listen=0.0.0.0:4739 -o collector.tcp_listen= \
		-o "inventory.file=$inv" -o api.listen=127.0.0.1:4740 -o "store.dir=$tmp/store" \
		-o "collector.state_dir=$tmp/state" -o collector.log_level=warn --ready-file "$tmp/ready" &
	for i in $(seq 100); do [ -s "$tmp/ready" ] && break; sleep 0.05; done
	declare -A cap
	for vm in vm1 vm2 vm3 vm4 vm5 vm6; do
		host=$(jq -r ".vms[] | select(.name == \"$vm\") | .host" "$inv")
		port=$(jq -r ".vms[] | select(.name == \"$vm\") | .port" "$inv")
		"${X[@]}" "$host" -- tcpdump -i "$port" -w "$tmp/$vm.pcap" --immediate-mode -U -s 0 \
			-B 65536 -Q inout 2>/dev/null &
		cap[$vm]=$!
	done
	sleep 1.5
	"${X[@]}" vm4 -- iperf3 -s -1 >/dev/null 2>&1 &
	ip4=$!
	"${X[@]}" vm3 -- "$VTAP" lab http-serve --port 8080 --count 1 >/dev/null 2>&1 &
	http3=$!
	sleep 0.5
	echo "vm1 (h1) -> vm4 (h2): iperf3 4 MB; vm2 -> vm3 (both h1): HTTP 300 kB; vm5 -> the outside: ping"
	"${X[@]}" vm1 -- iperf3 -c 198.18.1.4 -n 4M >/dev/null
	"${X[@]}" vm2 -- curl -s -o /dev/null http://198.18.1.3:8080/bytes/300000
	"${X[@]}" vm5 -- ping -c 3 -i 0.2 -q 198.19.200.1 >/dev/null
	sleep 1
	for vm in "${!cap[@]}"; do kill -INT "${cap[$vm]}" 2>/dev/null; done
	wait "${cap[@]}" "$ip4" "$http3" 2>/dev/null || true
	for host in h1 h2; do
		local args=() files=()
		i=0
		for vm in $(jq -r ".hosts[] | select(.name == \"$host\") | .vms[]" "$inv"); do
			uuid=$(jq -r ".vms[] | select(.name == \"$vm\") | .uuid" "$inv")
			mac=$(jq -r ".vms[] | select(.name == \"$vm\") | .mac" "$inv")
			files+=("$tmp/$vm.pcap")
			args+=(--vm "port=$i,uuid=$uuid,name=$vm,mac=$mac")
			i=$((i + 1))
		done
		mergecap -F pcapng -I none -w "$tmp/$host.pcapng" "${files[@]}"
		"${X[@]}" "$host" -- "$VTAP" meter -r "$tmp/$host.pcapng" \
			--collector udp://198.19.0.250:4739 "${args[@]}" >/dev/null
	done
	sleep 3   # the count-once rule waits up to 2 s for a sender's record
	echo "== collector: vtap vms"
	"${X[@]}" mgmt -- "$VTAP" vms --api http://127.0.0.1:4740 -w 1h
	echo "== collector: vtap vm vm4"
	"${X[@]}" mgmt -- "$VTAP" vm --api http://127.0.0.1:4740 vm4 -n 5 -p 0
	"$VTAP" lab down --prefix "$P" >/dev/null
	trap - EXIT
	rm -rf "$tmp"
}
collector_act

# ---- act: the virtual tap ------------------------------------------------------
# An agent on h1 with the tap on; a VXLAN mirror session on vm1 (named by
# UUID) to the analyzer namespace, whose own kernel VXLAN device terminates
# the tunnel; traffic to and from vm1; then `vtap session show` next to what
# tcpdump counted at the analyzer.
tap_act() {
	local P=demot$$ tmp uuid an=198.19.0.254 n agent cap
	local X=("$VTAP" lab exec --prefix "$P")
	if [ "$(id -u)" -ne 0 ]; then
		echo "== tap: skipped (needs root for network namespaces and eBPF)"
		return 0
	fi
	for c in tcpdump jq iperf3 ethtool; do
		command -v $c >/dev/null || { echo "== tap: skipped ($c missing: scripts/deps.sh)"; return 0; }
	done
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "kill \$agent \$cap 2>/dev/null; '$VTAP' lab down --prefix $P >/dev/null 2>&1; rm -rf '$tmp'" EXIT
	echo
	echo "== tap: a lab, an agent with [tap] enable = yes on h1, a VXLAN device (VNI 100) in the analyzer"
	"$VTAP" lab up --prefix "$P" --hosts 2 --vms-per-host 3 --no-ipv6 >/dev/null
	"${X[@]}" analyzer -- ip link add vx100 type vxlan id 100 dstport 4789 local $an nolearning
	"${X[@]}" analyzer -- ip link set vx100 up
	"${X[@]}" analyzer -- ethtool -K eth0 gro off >/dev/null 2>&1 || true
	cat >"$tmp/h1.conf" <<EOC
[agent]
name = h1
[ports]
bridge = br0
exclude = up0
[identity]
libvirt = test:///run/vtap/lab/$P/h1.xml
[export]
collector = none
[tap]
enable = yes
state = $tmp/tap-state.json
[control]
listen = unix:$tmp/h1.sock
EOC
	"${X[@]}" h1 -- "$VTAP" agent -c "$tmp/h1.conf" >"$tmp/agent.log" 2>&1 &
	agent=$!
	for _ in $(seq 100); do
		"$VTAP" agent status --socket "$tmp/h1.sock" >/dev/null 2>&1 && break
		sleep 0.1
	done
	uuid=$(jq -r '.vms[] | select(.name == "vm1") | .uuid' "/run/vtap/lab/$P/inventory.json")
	echo "== tap: vtap session add --name vm1-mirror --vm $uuid --dest 'vxlan://$an?vni=100'"
	"$VTAP" session add --socket "$tmp/h1.sock" --name vm1-mirror --vm "$uuid" \
		--dest "vxlan://$an?vni=100"
	"$VTAP" session list --socket "$tmp/h1.sock"
	"${X[@]}" analyzer -- tcpdump -i vx100 -n -U -w "$tmp/mirror.pcap" 2>"$tmp/tcpdump.err" &
	cap=$!
	for _ in $(seq 100); do grep -q "listening on" "$tmp/tcpdump.err" && break; sleep 0.1; done
	echo "== tap: traffic — vm1 pings vm2 and vm4; 2000 iperf3 UDP datagrams vm1 -> vm4; vm2 pings vm5 (not mirrored)"
	"${X[@]}" vm5 -- iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	local srv=$!
	"${X[@]}" vm1 -- ping -c 3 -i 0.2 -q 198.18.1.2 | tail -1
	"${X[@]}" vm1 -- ping -c 3 -i 0.2 -q 198.18.1.4 | tail -1
	"${X[@]}" vm2 -- ping -c 3 -i 0.2 -q 198.18.1.5 | tail -1
	sleep 0.3
	"${X[@]}" vm1 -- iperf3 -c 198.18.1.5 -p 5201 -u -b 20M -l 1200 -k 2000 | grep -E 'receiver' || true
	wait $srv || true
	sleep 1
	kill -INT $cap
	wait $cap 2>/dev/null || true
	cap=
	echo
	echo "== tap: vtap session show 1"
	"$VTAP" session show 1 --socket "$tmp/h1.sock"
	n=$(tcpdump -r "$tmp/mirror.pcap" -n 2>/dev/null | wc -l)
	echo "== tap: tcpdump at the analyzer counted $n frames on vx100 (the session's sent counter: $("$VTAP" session show 1 -j --socket "$tmp/h1.sock" | jq .counters.sent))"
	echo "== tap: vtap agent status (h1), the tap line"
	"$VTAP" agent status --socket "$tmp/h1.sock" | grep '^tap:'
	kill -TERM $agent
	wait $agent || true
	agent=
	"$VTAP" lab down --prefix "$P" >/dev/null
	trap - EXIT
	rm -rf "$tmp"
}
tap_act
