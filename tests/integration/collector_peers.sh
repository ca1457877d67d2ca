#!/usr/bin/env bash
# timeout: 400
# collector_peers.sh — real exporters, side by side with a real nfcapd
# receiving the same stream (issue 4, done-when 2).
#
# Each phase: exporter -> nfcapd (writes its files, and repeats every
# datagram with -R) -> vtap collector. Then the stored flow, packet and
# byte totals must equal nfcapd's exactly, and three top-10 queries must
# give nfdump's answers: src IP by bytes, dst port by flows, and
# `proto tcp and dst port 443` by src IP (by flows). Ties: every group we
# return has exactly nfdump's value for that key, and the ten values are
# nfdump's ten.
# Phases: softflowd NetFlow v9; softflowd IPFIX (-A milli), the collector
# on one CPU; nfreplay -v 9
# of the first phase's nfcapd files. (vtap's own meter: collector_meter.sh.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collector_lib.bash"
need_cmd nfcapd nfdump nfreplay softflowd jq python3 curl ss

C=${VTAP_CORPUS:?VTAP_CORPUS must point at the shared corpus}
PCAPS=(traffic/pcapplusplus_many-protocols.pcap scans/ndpi_synscan.pcap
	traffic/zeek_var-services-std-ports.pcap traffic/pcapplusplus_sll.pcap
	scans/stopddos_amp.TCP.reflection.SYNACK.pcap traffic/zeek_wikipedia.pcap)
for p in "${PCAPS[@]}"; do [ -f "$C/$p" ] || fail "missing corpus file $p"; done

softflowd_all() { # VERSION [ARGS]
	local v=$1 p
	shift
	for p in "${PCAPS[@]}"; do
		softflowd -r "$C/$p" -n "127.0.0.1:$NFPORT" -v "$v" -c none "$@" || return 1
	done
}

peer_phase v9 softflowd_all 9
# the IPFIX phase with the collector on one CPU (batches written by the
# ingest thread itself, not handed to the writer thread)
COLL_CPUS=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))') \
	peer_phase ipfix softflowd_all 10 -A milli

nfreplay_v9() {
	local f
	for f in "$TMPDIR_T"/v9/nf/nfcapd.*; do
		nfreplay -r "$f" -v 9 -H 127.0.0.1 -p "$NFPORT" -d 1000 || return 1
	done
}
peer_phase nfreplay nfreplay_v9
echo "collector_peers: every phase agrees with nfcapd/nfdump"
