#!/usr/bin/env bash
# timeout: 400
# agent_ports.sh — port discovery and identity while the agent runs: a
# port nobody knows (metered as unknown, with its name), then identified by
# its interface alias; a VM port renamed (still its VM, now matched by the
# MAC it sends from); released from the bridge and re-enslaved; moved to an
# unconfigured bridge; its MAC changed; an explicitly listed interface; a
# configured bridge that appears after the agent started; SIGHUP reloading
# the identity sources. Every step is checked in `vtap agent status`, and
# the unknown port's records are checked in the IPFIX tshark decodes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/agent_helpers.bash"
need_netadmin
need_cmd tshark dumpcap nfcapd nfdump jq
snapshot_root_netns "$TMPDIR_T/root"

lab_up --hosts 1 --vms-per-host 2 --no-ipv6 >/dev/null
H="ip -n $LAB_PREFIX-h1"
X=$LAB_PREFIX-x
collector_start
AGENT_BRIDGES="br0, brlate" agent_conf h1 "[ports]" "interface = ex0" "[identity]" "refresh = 0"
agent_start h1

port() { # port NAME : its status object ("" when absent)
	agent_status h1 -j | jq -c --arg p "$1" '.ports[] | select(.name == $p)'
}
port_is() { # port_is NAME JQ-EXPR : the expression is true of the port
	agent_status h1 -j | jq -e --arg p "$1" ".ports[] | select(.name == \$p) | $2" >/dev/null
}
port_gone() { [ -z "$(port "$1")" ]; }
expect() { # expect DESC CMD... : poll until true
	local d=$1
	shift
	wait_until 10 "$@" || fail "$d (status: $(agent_status h1 -j | jq -c '[.ports[] | {name, vm, identity_source, bridge, mac}]'))"
	echo "ok   $d"
}

# ---- a VM nobody knows ---------------------------------------------------
ip netns add "$X"
on_exit "ip netns del $X"
$H link add vp-x type veth peer name eth0 netns "$X"
ip -n "$X" link set eth0 address 02:00:00:00:00:99 up
ip -n "$X" addr add 198.18.9.9/16 dev eth0
$H link set vp-x master br0 up
expect "a new bridge port is tapped, as an unknown VM" port_is vp-x '.tapped and .vm == null and .identity_source == "unknown"'
check "the unknown VM talks to vm1" ip netns exec "$X" ping -c 3 -i 0.2 198.18.1.1
expect "its MAC is learned from its frames" port_is vp-x '.vm_macs == ["02:00:00:00:00:99"]'
check_eq "listed as an unknown port" "$(agent_status h1 -j | jq -c '.unknown_ports')" '["vp-x"]'

# ---- identified by its alias ---------------------------------------------------
$H link set vp-x alias "vm=extra uuid=0b7b3a51-1d2e-4f00-9c1a-5c1d7a9e0099"
expect "the interface alias names the VM" port_is vp-x \
	'.vm.name == "extra" and .vm.uuid == "0b7b3a51-1d2e-4f00-9c1a-5c1d7a9e0099" and .identity_source == "alias"'

# ---- a VM port renamed: same VM, matched by its MAC -------------------------
check "vm1 talks" in_ns vm1 ping -c 2 -i 0.2 198.18.1.2
$H link set vp-vm1 down
$H link set vp-vm1 name vp-renamed
$H link set vp-renamed up
expect "the renamed port keeps its VM (libvirt, by MAC)" port_is vp-renamed \
	'.vm.name == "vm1" and .identity_source == "libvirt"'
port_gone vp-vm1 || fail "the old name is still listed"

# ---- released and re-enslaved; an unconfigured bridge; a new MAC ---------------
$H link set vp-x nomaster
expect "a port released from the bridge is no longer tapped" port_gone vp-x
$H link set vp-x master br0
expect "re-enslaved: tapped again" port_is vp-x '.tapped and .vm.name == "extra"'
$H link add brother type bridge
$H link set brother up
$H link set vp-x master brother
expect "moved to an unconfigured bridge: not a VM port" port_gone vp-x
$H link set vp-x master br0
expect "back on br0" port_is vp-x '.tapped'
$H link set vp-x address 02:00:00:00:01:01
expect "a new host-side MAC is seen" port_is vp-x '.mac == "02:00:00:00:01:01"'

# ---- an explicit interface and a configured bridge that appears late ------------
# (no dummy module on this kernel: a veth outside any bridge)
$H link add ex0 type veth peer name ex0p
$H link set ex0 up
expect "an explicitly listed interface is tapped, on no bridge" port_is ex0 '.tapped and .explicit and .bridge == null'
$H link add brlate type bridge
$H link add vp-late type veth peer name vp-late-p
$H link set vp-late master brlate up
$H link set brlate up
expect "a port of a configured bridge created after the agent" port_is vp-late '.tapped and .bridge == "brlate"'
$H link del brlate
expect "the bridge deleted: its port is no longer a VM port" port_gone vp-late

# ---- SIGHUP reloads the identity sources --------------------------------------
loads=$(agent_status h1 -j | jq .identity.libvirt.loads)
kill -HUP "$AGENT_PID_h1"
expect "SIGHUP reloads the sources" sh -c "[ \$($VTAP agent status --socket unix:$TMPDIR_T/h1.sock -j | jq .identity.libvirt.loads) -gt $loads ]"
check_eq "link events were not lost" "$(agent_status h1 -j | jq .events.resyncs)" 0

agent_stop h1
collector_stop
# the unknown VM's flows carried its port name before it had a name
unknown=$(tshark -n -r "$TMPDIR_T/ipfix.pcapng" -d udp.port==4739,cflow \
	-Y 'cflow.srcaddr == 198.18.9.9 && cflow.virtual_station_interface_name == "vp-x"' \
	-T fields -e cflow.virtual_station_name -e cflow.packets | sort -u)
[ -n "$unknown" ] || fail "no record of the unknown VM's flow names its port vp-x"
echo "ok   the unknown VM's flows were exported with its port name: $(echo "$unknown" | tr '\n\t' '; ')"

ip netns del "$X"
lab_down >/dev/null
compare_root_netns "$TMPDIR_T/root"
echo PASS
