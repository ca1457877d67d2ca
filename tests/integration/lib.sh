# lib.sh — shared helpers for every integration test (source it first).
# timeout: 60
# (Run directly, as scripts/test.sh does with every tests/integration/*.sh,
# it tests its own helpers: see the end of the file.)
#
#   . "$(dirname "$0")/lib.sh"
#   need_netadmin                 # exit 77 "skipped: needs CAP_NET_ADMIN" unless we can
#   lab_up --hosts 2 --vms-per-host 3   # a lab named $LAB_PREFIX, removed on exit
#   in_ns vm1 ping -c1 198.18.1.4       # run a command inside a lab member
#   wait_until 5 test -s "$out"          # poll (0.1 s) until true or fail after 5 s
#   port=$(free_port)                     # a TCP+UDP port free on the root's loopback
#   on_exit "kill $pid"                   # cleanup that runs even on failure/timeout
#
# What it provides
#   VTAP            the vtap binary under test (scripts/test.sh exports it;
#                   default build/asan/vtap)
#   LAB_PREFIX      a lab prefix unique to this run ("t" + pid + random, at most
#                   12 characters), also exported as VTAP_LAB_PREFIX so plain
#                   `$VTAP lab ...` commands use it
#   TMPDIR_T        a scratch directory removed on exit
#   need_netadmin   skip (exit 77) without root / CAP_NET_ADMIN / CAP_SYS_ADMIN
#   need_cmd CMD..  skip when a peer tool is missing
#   on_exit CMD     register a cleanup command (a string, run with eval); all run
#                   in reverse order on exit, including after a failure, `exit`,
#                   SIGINT/SIGTERM/SIGHUP (what `timeout` sends) — never rely on a
#                   test reaching its end to clean up (bash runs a trap only when
#                   the foreground command returns: bound long commands with
#                   `timeout`, or run them with bg_in_ns)
#   wait_until T CMD...   run CMD every 0.1 s until it succeeds (0) or T seconds
#                   pass (1); T may be fractional. Use it instead of sleeps.
#   free_port       print a port number with nothing listening on it (TCP or UDP)
#                   in the root namespace; ports inside lab namespaces are always
#                   free, so tests may use fixed ones there
#   lab_up ARGS..   `vtap lab up --prefix $LAB_PREFIX ARGS`; lab_down runs on exit
#   lab_down        `vtap lab down --prefix $LAB_PREFIX` (idempotent)
#   in_ns NAME CMD..      `vtap lab exec NAME -- CMD` in this run's lab (NAME: vmN,
#                   hN, mgmt, analyzer, ext, fabric)
#   bg_in_ns VAR NAME CMD..   the same in the background; its pid goes into VAR
#                   and it is killed on exit if still running
#   lab_json JQ     query this lab's inventory.json with jq (e.g. '.vms[0].ipv4')
#   nud_settled     wait until no lab VM resolves or probes a neighbour
#   snapshot_root_netns FILE / compare_root_netns FILE
#                   record the root namespace (ip netns, ip link, ip addr) and
#                   later fail (printing a diff) if it changed; lifetimes of
#                   dynamic addresses are ignored, and namespaces of *other* runs
#                   (other prefixes: engineers share machines) are reported but not
#                   counted unless VTAP_STRICT_NETNS=1 (CI machines run alone)
#   fail MSG        print "FAIL: MSG" and exit 1
#   check DESC CMD..      run CMD (output kept unless it fails); print "ok DESC"
#                   or show the output and fail with DESC
#   check_eq DESC GOT WANT   compare two strings exactly
#
# Integration tests exit 0 (pass), 77 (skipped, reason on the last line) or
# anything else (fail), and carry a "# timeout: SECONDS" header line.

set -u
set -o pipefail

_LIB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VTAP=${VTAP:-$_LIB_ROOT/build/asan/vtap}
export VTAP
LAB_PREFIX=${LAB_PREFIX:-$(printf 't%x%04x' $$ $((RANDOM % 65536)))}
LAB_PREFIX=${LAB_PREFIX:0:12}
export LAB_PREFIX VTAP_LAB_PREFIX=$LAB_PREFIX

_on_exit_cmds=()
on_exit() {
	_on_exit_cmds+=("$1")
}
_run_on_exit() {
	local rc=$? i
	trap - EXIT INT TERM HUP
	for ((i = ${#_on_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_on_exit_cmds[$i]}" >/dev/null 2>&1 || true
	done
	exit $rc
}
trap _run_on_exit EXIT
# a signal becomes an ordinary exit, so the EXIT trap above runs
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

TMPDIR_T=$(mktemp -d "${TMPDIR:-/tmp}/vtap-it.XXXXXX")
on_exit "rm -rf '$TMPDIR_T'"

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

check() {
	local desc=$1
	shift
	if "$@" >"$TMPDIR_T/check.out" 2>&1; then
		echo "ok   $desc"
	else
		cat "$TMPDIR_T/check.out" >&2
		fail "$desc (command: $*)"
	fi
}

check_eq() {
	if [ "$2" == "$3" ]; then
		echo "ok   $1: $2"
	else
		fail "$1: got '$2', want '$3'"
	fi
}

need_netadmin() {
	local eff
	if [ "$(id -u)" -ne 0 ]; then
		echo "skipped: needs CAP_NET_ADMIN (run as root)"
		exit 77
	fi
	# CapEff must hold CAP_NET_ADMIN (12) and CAP_SYS_ADMIN (21, for the
	# namespace bind mounts)
	eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
	if (((0x$eff >> 12 & 1) == 0 || (0x$eff >> 21 & 1) == 0)); then
		echo "skipped: needs CAP_NET_ADMIN and CAP_SYS_ADMIN"
		exit 77
	fi
	if [ ! -c /dev/net/tun ]; then
		echo "skipped: needs /dev/net/tun"
		exit 77
	fi
}

need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || { echo "skipped: needs $c (scripts/deps.sh)"; exit 77; }
	done
}

wait_until() {
	local tmo=$1 deadline
	shift
	deadline=$(($(date +%s%3N) + $(awk -v t="$tmo" 'BEGIN { printf "%d", t * 1000 }')))
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(date +%s%3N)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

free_port() {
	local p i
	for i in $(seq 200); do
		p=$((20000 + RANDOM % 40000))
		if [ -z "$(ss -Hlntu "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

lab_up() {
	on_exit lab_down
	"$VTAP" lab up --prefix "$LAB_PREFIX" "$@"
}

lab_down() {
	"$VTAP" lab down --prefix "$LAB_PREFIX"
}

in_ns() {
	local name=$1
	shift
	"$VTAP" lab exec --prefix "$LAB_PREFIX" "$name" -- "$@"
}

bg_in_ns() {
	local var=$1 name=$2 pid
	shift 2
	"$VTAP" lab exec --prefix "$LAB_PREFIX" "$name" -- "$@" &
	pid=$!
	printf -v "$var" '%s' "$pid"
	on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
}

lab_json() {
	jq -r "$1" "/run/vtap/lab/$LAB_PREFIX/inventory.json"
}

# nud_settled : waits (20 s at most, else fails) until no VM of the lab
# resolves or probes a neighbour. A VM that answered from a STALE entry
# sends a unicast probe 5 s later; before a test compares captures with
# counters, that frame must not fall between the two.
nud_quiet() {
	local vm
	for vm in $(lab_json '.vms[].name'); do
		in_ns "$vm" ip neigh show | grep -qE 'DELAY|PROBE|INCOMPLETE' && return 1
	done
	return 0
}
nud_settled() {
	wait_until 20 nud_quiet ||
		fail "neighbour entries still probing: $(in_ns vm1 ip neigh show | tr '\n' ';')"
}

# The root namespace as text: namespaces, links, addresses (lifetimes of
# dynamic addresses and link statistics removed).
_root_state() {
	echo "== netns"
	ip netns list 2>/dev/null | awk '{print $1}' | sort
	echo "== link"
	ip -o link show | sed -E 's/ +$//'
	echo "== addr"
	ip -o addr show | sed -E 's/(valid|preferred)_lft [^ ]+//g; s/ +/ /g'
}

snapshot_root_netns() {
	_root_state >"$1"
}

compare_root_netns() {
	local before=$1 now=$TMPDIR_T/root-now.$$ strict=${VTAP_STRICT_NETNS:-0}
	_root_state >"$now"
	if diff -q "$before" "$now" >/dev/null; then
		echo "ok   root namespace unchanged (ip netns, ip link, ip addr)"
		return 0
	fi
	# links and addresses must match exactly
	if ! diff <(sed -n '/^== link/,$p' "$before") <(sed -n '/^== link/,$p' "$now"); then
		fail "root namespace links or addresses changed (diff above)"
	fi
	# namespaces: ours must all be gone; others' come and go on a shared machine
	local ours
	ours=$(sed -n '/^== netns/,/^== link/p' "$now" | grep -E "^${LAB_PREFIX}-" || true)
	[ -z "$ours" ] || fail "namespaces of this lab remain: $ours"
	if [ "$strict" = 1 ]; then
		diff <(sed -n '/^== netns/,/^== link/p' "$before") <(sed -n '/^== netns/,/^== link/p' "$now")
		fail "namespace list changed (VTAP_STRICT_NETNS=1)"
	fi
	echo "ok   root namespace unchanged (links, addresses; no namespace of ours;" \
		"other runs' namespaces changed meanwhile and were ignored)"
}

# ---- self-test: when run rather than sourced ---------------------------------
_lib_selftest() {
	local t0 t1 out rc port lib=${BASH_SOURCE[0]}

	[[ "$LAB_PREFIX" =~ ^[a-z][a-z0-9]{0,11}$ ]] || fail "LAB_PREFIX '$LAB_PREFIX' is not a lab prefix"
	echo "ok   LAB_PREFIX $LAB_PREFIX"
	t0=$(date +%s%3N)
	wait_until 0.5 false && fail "wait_until succeeded on false"
	t1=$(date +%s%3N)
	[ $((t1 - t0)) -ge 500 ] && [ $((t1 - t0)) -lt 3000 ] || fail "wait_until 0.5 took $((t1 - t0)) ms"
	echo "ok   wait_until times out ($((t1 - t0)) ms for 0.5 s)"
	(sleep 0.3; touch "$TMPDIR_T/flag") &
	wait_until 5 test -f "$TMPDIR_T/flag" || fail "wait_until missed a condition that became true"
	echo "ok   wait_until sees a condition become true"
	port=$(free_port) || fail "free_port found nothing"
	[ "$port" -ge 20000 ] && [ "$port" -lt 60000 ] && [ -z "$(ss -Hlntu "sport = :$port")" ] ||
		fail "free_port gave $port"
	echo "ok   free_port $port"
	# cleanups run in reverse order, keep the exit code, also on SIGTERM
	local f=$TMPDIR_T/cleanups
	bash -c ". '$lib'; on_exit 'echo one >>$f'; on_exit 'echo two >>$f'; exit 3"; rc=$?
	check_eq "on_exit order and exit code" "$(paste -sd' ' "$f"):$rc" "two one:3"
	rm -f "$f"
	out=$(bash -c ". '$lib'; on_exit 'echo cleaned >>$f'; kill -TERM \$\$; sleep 5; echo not-reached")
	check_eq "on_exit runs on SIGTERM" "$(cat "$f"):$out" "cleaned:"
	out=$(bash -c ". '$lib'; check_eq x 1 2" 2>&1); rc=$?
	check_eq "check_eq fails on a mismatch" "$rc:$out" "1:FAIL: x: got '1', want '2'"
	out=$(bash -c ". '$lib'; check 'false fails' false" 2>&1); rc=$?
	check_eq "check fails on a failing command" "$rc" 1
	if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
		out=$(setpriv --reuid=65534 --regid=65534 --clear-groups bash -c \
			"TMPDIR=/tmp . '$lib'; need_netadmin; echo not-skipped" 2>&1); rc=$?
		check_eq "need_netadmin skips without privileges" "$rc:$out" \
			"77:skipped: needs CAP_NET_ADMIN (run as root)"
	fi
	snapshot_root_netns "$TMPDIR_T/root"
	compare_root_netns "$TMPDIR_T/root" >/dev/null || fail "compare_root_netns on an unchanged root"
	echo "ok   snapshot_root_netns / compare_root_netns agree on an unchanged root"
	echo "PASS"
}
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	_lib_selftest
fi
