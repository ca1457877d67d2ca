#!/usr/bin/env bash
# timeout: 300
# collector_meter.sh — issue 4, done-when 2 for vtap's own exporter: the
# meter (the agent's flow table and IPFIX / NetFlow v9 exporter, run on
# capture files) exports to a real nfcapd that repeats the stream to the
# collector; stored totals equal nfcapd's and the three top-10 queries
# equal nfdump's (the same checks as collector_peers.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collector_lib.bash"
need_cmd nfcapd nfdump jq python3 curl ss
if ! "$VTAP" meter --help >/dev/null 2>&1; then
	echo "skipped: needs vtap meter (not in this build)"
	exit 77
fi

C=${VTAP_CORPUS:?VTAP_CORPUS must point at the shared corpus}
PCAPS=(traffic/pcapplusplus_many-protocols.pcap scans/ndpi_synscan.pcap
	traffic/zeek_var-services-std-ports.pcap traffic/pcapplusplus_sll.pcap
	scans/stopddos_amp.TCP.reflection.SYNACK.pcap traffic/zeek_wikipedia.pcap)
for p in "${PCAPS[@]}"; do [ -f "$C/$p" ] || fail "missing corpus file $p"; done

meter_all() { # FORMAT
	local p
	for p in "${PCAPS[@]}"; do
		"$VTAP" meter -r "$C/$p" -c "$1" --collector "udp://127.0.0.1:$NFPORT" -j || return 1
	done
}
peer_phase meter-ipfix meter_all ipfix
peer_phase meter-nfv9 meter_all nfv9
echo "collector_meter: vtap meter's IPFIX and NetFlow v9 agree with nfcapd/nfdump"
