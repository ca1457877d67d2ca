#!/usr/bin/env bash
# demo.sh — the README's first command: shows what vtap can do so far.
# Each component adds its act here as it lands; the demo must keep working.
set -euo pipefail
cd "$(dirname "$0")/.."
VTAP=${VTAP:-build/release/vtap}
DEMO_PIDS=()   # background processes of the current act, stopped by its EXIT trap
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

# ---- act: agents -> collector ------------------------------------------------
# The product end to end: one `vtap agent` per hypervisor of a fresh lab
# (VM identities from the libvirt test driver), exporting IPFIX to `vtap
# collector` in the management network — and, side by side, to a stock
# nfcapd; VM-to-VM traffic on one host and across hosts, a VM talking to
# the outside; then the agent's own view (vtap agent status), the VM view
# (vtap vms, vtap vm), the stored flows (vtap flows) and nfcapd's totals.
agent_act() {
	local P=demoa$$ tmp h c
	if [ "$(id -u)" -ne 0 ]; then
		echo "== agents -> collector: skipped (needs root for network namespaces)"
		return 0
	fi
	for c in jq iperf3 curl; do
		command -v $c >/dev/null || { echo "== agents -> collector: skipped ($c missing: scripts/deps.sh)"; return 0; }
	done
	local nf=1
	command -v nfcapd >/dev/null && command -v nfdump >/dev/null || nf=0
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064
	trap "kill \${DEMO_PIDS[*]:-} 2>/dev/null || true; '$VTAP' lab down --prefix $P >/dev/null 2>&1; rm -rf '$tmp'" EXIT
	local X=("$VTAP" lab exec --prefix "$P")
	echo
	echo "== agents -> collector: a lab, vtap collector in mgmt (198.19.0.250) with the lab's inventory"
	"$VTAP" lab up --prefix "$P" --hosts 2 --vms-per-host 3 --no-ipv6 >/dev/null
	local inv=/run/vtap/lab/$P/inventory.json
	"${X[@]}" mgmt -- "$VTAP" collector -o collector.listen=198.19.0.250:4739 -o collector.tcp_listen= \
		-o "inventory.file=$inv" -o api.listen=127.0.0.1:4740 -o "store.dir=$tmp/store" \
		-o "collector.state_dir=$tmp/state" -o collector.log_level=warn --ready-file "$tmp/ready" &
	DEMO_PIDS+=($!)
	local collectors=udp://198.19.0.250:4739
	if [ $nf -eq 1 ]; then
		mkdir -p "$tmp/nf"
		"${X[@]}" mgmt -- nfcapd -w "$tmp/nf" -p 2055 -b 198.19.0.250 -t 3600 -C none >/dev/null 2>&1 &
		DEMO_PIDS+=($!)
		collectors+=,udp://198.19.0.250:2055
	fi
	for _ in $(seq 100); do [ -s "$tmp/ready" ] && break; sleep 0.05; done
	echo "== agents -> collector: vtap agent on h1 and h2, exporting to $collectors"
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
collector = $collectors
[control]
listen = unix:$tmp/$h.sock
EOC
		"${X[@]}" "$h" -- "$VTAP" agent -c "$tmp/$h.conf" >"$tmp/agent-$h.log" 2>&1 &
		DEMO_PIDS+=($!)
	done
	for h in h1 h2; do
		for _ in $(seq 100); do
			"$VTAP" agent status --socket "$tmp/$h.sock" -j 2>/dev/null |
				jq -e '[.ports[].identity_source] | all(. == "libvirt")' >/dev/null 2>&1 && break
			sleep 0.1
		done
	done
	echo "== agents -> collector: traffic"
	echo "   vm1 (h1) -> vm4 (h2): iperf3 TCP 8 MB      vm5 -> vm6 (both h2): iperf3 UDP 2 MB"
	echo "   vm2 -> vm3 (both h1, vm3 on a TAP): HTTP 300 kB    vm6 (h2) -> vm3 (h1): HTTP 200 kB"
	echo "   vm5 -> the outside (198.19.200.1): ping"
	"${X[@]}" vm4 -- iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
	local s1=$!
	"${X[@]}" vm6 -- iperf3 -s -1 -p 5202 >/dev/null 2>&1 &
	local s2=$!
	"${X[@]}" vm3 -- "$VTAP" lab http-serve --port 8080 --count 2 --ready-file "$tmp/http" >/dev/null 2>&1 &
	local s3=$!
	for _ in $(seq 100); do [ -f "$tmp/http" ] && break; sleep 0.05; done
	sleep 0.5
	"${X[@]}" vm1 -- iperf3 -c 198.18.1.4 -p 5201 -n 8M >/dev/null || true
	"${X[@]}" vm5 -- iperf3 -c 198.18.1.6 -p 5202 -u -b 50M -n 2M >/dev/null || true
	"${X[@]}" vm2 -- curl -s -o /dev/null http://198.18.1.3:8080/bytes/300000 || true
	"${X[@]}" vm6 -- curl -s -o /dev/null http://198.18.1.3:8080/bytes/200000 || true
	"${X[@]}" vm5 -- ping -c 3 -i 0.2 -q 198.19.200.1 >/dev/null || true
	wait "$s1" "$s2" "$s3" 2>/dev/null || true
	echo
	echo "== agents -> collector: vtap agent status (h1)"
	"$VTAP" agent status --socket "$tmp/h1.sock"
	# SIGTERM: each agent exports every flow it still holds, then stops
	kill -TERM "${DEMO_PIDS[@]:1+nf}" 2>/dev/null || true
	wait "${DEMO_PIDS[@]:1+nf}" 2>/dev/null || true
	sleep 3   # a receiver's record waits up to 2 s for its sender's (count once)
	local api=http://127.0.0.1:4740
	echo
	echo "== agents -> collector: vtap vms (each flow counted once: at the sender's port)"
	"${X[@]}" mgmt -- "$VTAP" vms --api "$api" -w 1h
	echo
	echo "== agents -> collector: vtap vm vm3 (the TAP VM: its service, peers, locality)"
	"${X[@]}" mgmt -- "$VTAP" vm --api "$api" vm3 -n 5 -p 0
	echo
	echo "== agents -> collector: vtap flows -A srcvm,dstvm,exporter (the store keeps every"
	echo "   observation: a cross-host flow once from each host's agent, a same-host flow once)"
	"$VTAP" flows -d "$tmp/store" -A srcvm,dstvm,exporter -n 8
	kill -TERM "${DEMO_PIDS[0]}" 2>/dev/null || true
	wait "${DEMO_PIDS[0]}" 2>/dev/null || true
	if [ $nf -eq 1 ]; then
		kill -TERM "${DEMO_PIDS[1]}" 2>/dev/null || true
		wait "${DEMO_PIDS[1]}" 2>/dev/null || true
		echo
		echo "== agents -> collector: the same stream, side by side"
		nfdump -R "$tmp/nf" -I | awk '/^(Flows|Packets|Bytes):/ {printf "%s %s  ", $1, $2} END {print "(nfcapd + nfdump)"}'
		"$VTAP" flows -d "$tmp/store" -A proto -j -n 0 | jq -r '.summary |
			"Flows: \(.flows)  Packets: \(.packets)  Bytes: \(.bytes)  (vtap collector)"'
	fi
	DEMO_PIDS=()
	"$VTAP" lab down --prefix "$P" >/dev/null
	trap - EXIT
	rm -rf "$tmp"
}
agent_act

# ---- act: the collector, fed by anyone's exporters ----------------------------
# A collector on loopback with its store and API; IPFIX over UDP and TCP and
# NetFlow v9 from the load generator (standing in for routers and other
# exporters); top destination ports through the API, the exporters, and the
# store queried offline after a clean stop.
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
	trap "kill $cpid 2>/dev/null || true; rm -rf '$tmp'" EXIT
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
	"${X[@]}" analyzer -- tcpdump -i vx100 -n -U --immediate-mode -w "$tmp/mirror.pcap" 2>"$tmp/tcpdump.err" &
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
