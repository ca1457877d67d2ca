# agent_tap_lib.sh — sourced by the agent_tap*.sh integration tests, on top
# of tap_lib.sh (the lab, the analyzer, captures, tap_frames.py): the tap
# driven through `vtap agent` and `vtap session` instead of the tap-run
# harness.
#
#   agent_tap_conf [LINE...]    $TAPDIR/h1.conf: br0's ports (not the uplink),
#                               identity from the lab's libvirt test driver,
#                               no export, [tap] on, state file
#                               $TAPDIR/tap-state.json (LINEs go into [tap]), socket $TAPDIR/h1.sock
#   agent_tap_start             `vtap agent` in h1 (AGENT_PID is the agent's own
#                               pid, so kill -9 hits it); returns once its
#                               control API answers; log in $TAPDIR/agent.log
#   agent_tap_stop              SIGTERM; it must exit 0
#   vs ARGS...                  `vtap session ARGS --socket ...`
#   sshow ID                    `vtap session show ID -j` (the whole entry)
#   sctr FIELD [ID]             one counter of session ID (default 1)
#   agent_settle [ID]           until session ID has nothing in flight and its
#                               sent counter stops moving
#   agent_quiet                 until vm1's port counters stop moving for 2 s

AGENT_PID=

agent_tap_conf() {
	cat >"$TAPDIR/h1.conf" <<EOF
[agent]
name = h1
threads = 1
[ports]
bridge = br0
exclude = up0
[identity]
libvirt = test:///run/vtap/lab/$LAB_PREFIX/h1.xml
[export]
collector = none
[tap]
enable = yes
state = $TAPDIR/tap-state.json
$(printf '%s\n' "$@")
[control]
listen = unix:$TAPDIR/h1.sock
EOF
}

agent_tap_start() {
	ip netns exec "$LAB_PREFIX-h1" "$VTAP" agent -c "$TAPDIR/h1.conf" >>"$TAPDIR/agent.log" 2>&1 &
	AGENT_PID=$!
	on_exit "kill $AGENT_PID 2>/dev/null; wait $AGENT_PID 2>/dev/null"
	wait_for 30 "'$VTAP' agent status --socket 'unix:$TAPDIR/h1.sock' >/dev/null 2>&1 || ! kill -0 $AGENT_PID" ||
		true
	kill -0 "$AGENT_PID" 2>/dev/null || { tail -20 "$TAPDIR/agent.log"; fail "the agent did not start"; }
	"$VTAP" agent status --socket "unix:$TAPDIR/h1.sock" >/dev/null || fail "the agent does not answer"
}

agent_tap_stop() {
	local rc
	kill -TERM "$AGENT_PID"
	wait "$AGENT_PID"
	rc=$?
	AGENT_PID=
	[ $rc -eq 0 ] || { tail -20 "$TAPDIR/agent.log"; fail "the agent exited with $rc after SIGTERM"; }
}

vs() { "$VTAP" session "$@" --socket "unix:$TAPDIR/h1.sock"; }
sshow() { vs show "$1" -j; }
sctr() { sshow "${2:-1}" | jq -r --arg f "$1" '.counters[$f]'; }

agent_settle() {
	local prev="" cur id=${1:-1}
	for _ in $(seq 1 50); do
		cur=$(sshow "$id" | jq -c '[.counters.sent, .counters.in_flight]')
		if [ "$cur" = "$prev" ] && [ "$(jq '.[1]' <<<"$cur")" = 0 ]; then
			return 0
		fi
		prev=$cur
		sleep 0.3
	done
	fail "the tap did not settle: $cur"
}

agent_quiet() {
	local prev="" cur still=0
	for _ in $(seq 1 60); do
		cur=$(sshow "${1:-1}" | jq -c '[.ports[] | .from_vm_packets, .to_vm_packets]')
		if [ "$cur" = "$prev" ]; then
			still=$((still + 1))
			[ $still -ge 4 ] && return 0
		else
			still=0
		fi
		prev=$cur
		sleep 0.5
	done
	fail "the VMs do not go quiet: $cur"
}

# the agent's last words when a test fails
_agent_tap_fail_hook() { [ -s "$TAPDIR/agent.log" ] && { echo "--- agent log (last 25 lines)"; tail -25 "$TAPDIR/agent.log"; } >&2; }
fail() {
	echo "FAIL: $*" >&2
	_agent_tap_fail_hook
	exit 1
}
