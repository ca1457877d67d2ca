#!/usr/bin/env bash
# timeout: 200
# collector_libvirt.sh — the collector's inventory from the hosts' libvirt
# (the lab's test-driver nodes, test:///run/vtap/lab/P/hN.xml): every VM
# with the UUID and MAC libvirt gives, on its host; a zone by attribute
# (host=h1); after `vtap lab migrate vm2 h2` the collector rereads the
# rewritten node files and shows vm2 on h2 with the same UUID (a VM that
# moves keeps its identity) and out of the h1 zone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/collector_lib.bash"
need_netadmin
need_cmd jq curl virsh

libs=$(ldd "$VTAP" 2>/dev/null || true)
if ! grep -q libvirt <<<"$libs"; then
	echo "skipped: vtap built without libvirt (libvirt-dev)"
	exit 77
fi
lab_up --hosts 2 --vms-per-host 3 >"$TMPDIR_T/lab.out" || fail "lab up"
D=/run/vtap/lab/$LAB_PREFIX
cat >"$TMPDIR_T/c.conf" <<EOF
[collector]
listen = 127.0.0.1:0
tcp_listen =
[inventory]
libvirt = h1=test://$D/h1.xml
libvirt = h2=test://$D/h2.xml
reload_interval = 200ms
[zone onh1]
attr = host=h1
EOF
coll_start lv -c "$TMPDIR_T/c.conf"

inv_matches() { # the collector's inventory equals the lab's (name, uuid, mac, host)
	local want got
	want=$(jq -c '[.vms[] | {name, uuid, mac, host}] | sort_by(.name)' "$D/inventory.json")
	got=$(coll_api api/v1/inventory | jq -c '[.list[] | {name, uuid, mac: .macs[0], host}] | sort_by(.name)')
	[ "$want" == "$got" ]
}
wait_until 5 inv_matches || fail "inventory from libvirt differs: $(coll_api api/v1/inventory | jq -c .list)"
echo "ok   6 VMs from libvirt, names, UUIDs, MACs and hosts as in the lab"
z=$(coll_api api/v1/inventory | jq -r '[.list[] | select(.zone == "onh1") | .name] | sort | join(",")')
check_eq "zone onh1 (attr host=h1)" "$z" "vm1,vm2,vm3"
uuid=$(coll_api api/v1/inventory | jq -r '.list[] | select(.name == "vm2") | .uuid')

"$VTAP" lab migrate --pause 0 vm2 h2 >"$TMPDIR_T/migrate.out" || fail "migrate"
virsh -c "test://$D/h2.xml" domuuid vm2 >/dev/null 2>&1 || fail "libvirt does not list vm2 on h2"
wait_until 5 inv_matches || fail "inventory not reread after the migration"
v=$(coll_api api/v1/inventory | jq -c '.list[] | select(.name == "vm2")')
check_eq "vm2 after migration: host" "$(jq -r .host <<<"$v")" h2
check_eq "vm2 after migration: same UUID" "$(jq -r .uuid <<<"$v")" "$uuid"
check_eq "vm2 after migration: zone" "$(jq -r .zone <<<"$v")" ""
check_eq "inventory reloads counted" "$(coll_api api/v1/status | jq '.inventory.loads >= 2')" true
coll_stop
