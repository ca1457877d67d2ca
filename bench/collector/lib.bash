# bench/collector/lib.bash — sourced by the collector benchmarks (ingest.sh,
# ab.sh, stall.sh, shared.sh): a private network namespace, the collector
# under test on loopback, what it stored, CPU time.

BUF=${BUF:-4194304}   # socket buffer: net.core.rmem_max here (nfcapd -B cannot go beyond)

# in_netns [-m] SCRIPT ARGS... : re-runs SCRIPT in a private network
# namespace (root: unshare -n; with -m a private mount namespace too)
# unless already inside one, then brings loopback up.
in_netns() {
	local ns=(-n)
	[ "$1" = -m ] && { ns+=(-m --propagation private); shift; }
	if [ -z "${BENCH_INNER:-}" ]; then
		export BENCH_INNER=1
		exec unshare "${ns[@]}" -- bash "$@"
	fi
	ip link set lo up
}

# vtap_start VTAP DIR WORKERS [CPU [ARGS...]] : `vtap collector` on
# 127.0.0.1:4739 (API on :4740), store and state under DIR (emptied
# first), BUF socket buffers, pinned to CPU when given (may be ""), the
# inventory file VTAP_INVENTORY when set, ARGS last (`-o key=value`
# settings override the ones above), stderr in DIR.log; returns once it
# is ready, with its pid in VTAP_PID (non-zero, its log on stderr, if it
# did not get ready in 5 s).
vtap_start() {
	local v=$1 dir=$2 workers=$3 pre=() i
	[ -n "${4:-}" ] && pre=(taskset -c "$4")
	shift $(($# < 4 ? $# : 4))
	rm -rf "$dir"
	"${pre[@]}" "$v" collector -o collector.listen=127.0.0.1:4739 -o collector.tcp_listen= \
		-o "collector.workers=$workers" -o "collector.receive_buffer=$BUF" \
		-o "store.dir=$dir/store" -o "collector.state_dir=$dir/state" \
		-o api.listen=127.0.0.1:4740 -o collector.log_level=warn \
		${VTAP_INVENTORY:+-o "inventory.file=$VTAP_INVENTORY"} "$@" \
		--ready-file "$dir/ready" 2>"$dir.log" &
	VTAP_PID=$!
	for i in $(seq 100); do [ -s "$dir/ready" ] && return 0; sleep 0.05; done
	cat "$dir.log" >&2
	return 1
}

# vtap_stop : stops the collector of vtap_start (SIGTERM, waits for it).
vtap_stop() {
	kill "$VTAP_PID"
	wait "$VTAP_PID"
	VTAP_PID=
}

# vtap_wait_stored [N] : waits until the rows the collector has stored stop
# changing (and, with N, reach N; at most ~20 s), then prints their number.
vtap_wait_stored() {
	local got prev=-1 i
	for i in $(seq 100); do
		got=$(curl -sf http://127.0.0.1:4740/api/v1/status | jq .writer.rows_written)
		[ "$got" = "$prev" ] && [ "$got" -ge "${1:-0}" ] && break
		prev=$got
		sleep 0.2
	done
	echo "$got"
}

# cpu_ticks PID : utime + stime in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# inventory FILE VMS OWNED : an inventory of VMS VMs on 10 hosts in which VM
# i < OWNED (at most 250) owns 198.51.100.(i + 1), a destination of
# `vtap flowgen`'s records (record n goes to 198.51.100.(n % 250 + 1)):
# with OWNED 250 every record is attributed to a VM (and counted in its
# per-VM statistics); the other VMs only fill the tables.
inventory() {
	python3 - "$1" "$2" "$3" <<'PY'
import json, sys
n, owned = int(sys.argv[2]), int(sys.argv[3])
vms = [{"name": "vm%d" % i, "uuid": "00000000-0000-4000-8000-%012d" % i,
        "mac": "52:54:00:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255),
        "ipv4": "198.51.100.%d" % (i + 1) if i < owned else "198.19.%d.%d" % (i >> 8, i & 255),
        "host": "h%d" % (i % 10)} for i in range(n)]
json.dump({"hosts": [{"name": "h%d" % i} for i in range(10)], "vms": vms}, open(sys.argv[1], "w"))
PY
}
