#!/usr/bin/env bash
# timeout: 120
# lib/nl against the real kernel, checked with iproute2 as the independent
# peer: what the lab does not exercise itself — VXLAN devices (external /
# collect_md as the tap uses, and classic), bridge options, MTU/MAC/alias/
# master changes, renames, persistent vnet_hdr TAPs, addresses added and
# removed, routes (via, on-link, local, metric, removal), neighbours,
# sysctls, link events within 1 s, spawning inside a namespace, deletion.
# The driver is tests/unit/nl/nl_kernel.c.
. "$(dirname "$0")/lib.sh"
need_netadmin
need_cmd ip jq
NLK=${NL_KERNEL:-$(dirname "$VTAP")/tests/unit/nl/nl_kernel}
[ -x "$NLK" ] || fail "$NLK not built"
NS=${LAB_PREFIX}-nl
on_exit "ip netns delete $NS"

root_fwd=$(cat /proc/sys/net/ipv4/ip_forward)
"$NLK" setup "$NS" | tee "$TMPDIR_T/setup.txt" || fail "nl_kernel setup"
ipj() { ip -n "$NS" -d -j "$@"; }
check_eq "vx0: external VXLAN" \
	"$(ipj link show vx0 | jq -c '.[0].linkinfo | [.info_kind, .info_data.external, .info_data.port, .info_data.local, .info_data.ttl, .info_data.learning, .info_data.udp_csum]')" \
	'["vxlan",true,4789,"198.18.0.9",64,false,true]'
check_eq "vx1: VNI 42 to 198.18.0.7:8472, learning" \
	"$(ipj link show vx1 | jq -c '.[0].linkinfo.info_data | [.id, .remote, .port, .learning, (.external // false)]')" \
	'[42,"198.18.0.7",8472,true,false]'
check_eq "br0: snooping off, ageing 30 s" \
	"$(ipj link show br0 | jq -c '.[0].linkinfo.info_data | [.mcast_snooping, .ageing_time]')" '[0,3000]'
check_eq "a0: mtu, mac, alias, master, up" \
	"$(ipj link show a0 | jq -c '.[0] | [.mtu, .address, .ifalias, .master, .operstate]')" \
	'[1400,"02:00:00:00:00:0a","port a","br0","UP"]'
check_eq "b0 renamed b1" "$(ip -n "$NS" -o link show | grep -c ': b0@\|: b1@')" 1
check "b1 exists" ip -n "$NS" link show b1
check_eq "tp0: persistent vnet_hdr TAP" \
	"$(ip -n "$NS" -d link show tp0 | grep -o 'tun type tap pi off vnet_hdr on persist on')" \
	"tun type tap pi off vnet_hdr on persist on"
check_eq "addresses on br0" \
	"$(ipj addr show dev br0 | jq -c '[.[0].addr_info[] | select(.scope == "global") | "\(.local)/\(.prefixlen)"] | sort')" \
	'["198.18.0.9/24","2001:db8::8/64","2001:db8::9/64"]'
check_eq "IPv6 addresses without DAD" \
	"$(ipj addr show dev br0 | jq '[.[0].addr_info[] | select(.family == "inet6" and .scope == "global") | .tentative // false] | any')" false
check_eq "route via, metric" "$(ip -n "$NS" route show 198.51.100.0/24)" "198.51.100.0/24 via 198.18.0.1 dev br0 metric 50 "
check_eq "removed route gone" "$(ip -n "$NS" route show 192.0.2.0/24)" ""
check_eq "IPv6 default on-link" "$(ip -n "$NS" -6 route show default | grep -o 'via 2001:db8::1 dev br0 metric 1024 onlink')" \
	"via 2001:db8::1 dev br0 metric 1024 onlink"
check_eq "local route" "$(ip -n "$NS" route show table local 203.0.113.0/24)" "local 203.0.113.0/24 dev lo scope host "
check "a local route answers for the whole prefix" ip netns exec "$NS" ping -c 1 -W 2 203.0.113.77
check_eq "neighbour" "$(ip -n "$NS" neigh show 198.18.0.7)" "198.18.0.7 dev br0 lladdr 02:00:00:00:00:07 PERMANENT "
check_eq "sysctl" "$(ip netns exec "$NS" cat /proc/sys/net/ipv4/ip_forward)" 1
check_eq "sysctl of the root namespace untouched" "$(cat /proc/sys/net/ipv4/ip_forward)" "$root_fwd"
check_eq "vx0: IPv6 address generation off" "$(ipj link show vx0 | jq -r '.[0].inet6_addr_gen_mode')" none
check_eq "vx0: no IPv6 address though up" \
	"$(ipj link show vx0 | jq -r '.[0].flags | index("UP") != null'):$(ip -n "$NS" -6 addr show dev vx0)" "true:"

# route lookups (ip route get) and per-link counters against iproute2
ip -n "$NS" route add 192.0.2.128/25 via 198.18.0.1 mtu 1300 || fail "ip route add ... mtu"
for dst in 192.0.2.130 198.51.100.7; do
	want=$(ip -n "$NS" -j route get "$dst" | jq -r --argjson idx \
		"$(ipj link show br0 | jq '.[0].ifindex')" \
		'.[0] | "route-get \(.dst) oif=\($idx) mtu=\(.metrics[0].mtu // 0) gw=\(.gateway // "-")"')
	check_eq "route towards $dst" "$("$NLK" route-get "$NS" "$dst")" "$want"
done
check_eq "no route towards 10.9.9.9" "$("$NLK" route-get "$NS" 10.9.9.9)" \
	"route-get 10.9.9.9: Network is unreachable"
check_eq "lo's packet counters" "$("$NLK" link-get "$NS" lo | grep -o 'rx_packets=.*')" \
	"$(ip -n "$NS" -s -j link show lo | jq -r '.[0].stats64 | "rx_packets=\(.rx.packets) tx_packets=\(.tx.packets)"')"

# lib/nl's own view agrees with iproute2's
"$NLK" dump "$NS" >"$TMPDIR_T/dump.txt" || fail "nl_kernel dump"
for l in br0 a0 b1 vx0 vx1 tp0; do
	want=$(ipj link show "$l" | jq -r '.[0] | "\(.ifname) mtu=\(.mtu) mac=\(.address)"')
	got=$(awk -v l="$l" '$1 == "link" && $2 == l {
		for (i = 3; i <= NF; i++) { if ($i ~ /^mtu=/) m = $i; if ($i ~ /^mac=/) a = $i }
		print l, m, a }' "$TMPDIR_T/dump.txt")
	check_eq "lib/nl dump of $l" "$got" "$want"
done
grep -q "^link vx0 kind=vxlan .* external=1 vni=0 port=4789" "$TMPDIR_T/dump.txt" || fail "vx0 in the dump"
grep -q "^link a0 kind=veth master=2 .*alias=port a up=1 brport_state=3" "$TMPDIR_T/dump.txt" ||
	fail "a0 in the dump"
check_eq "lib/nl address dump" "$(grep '^addr [0-9]' "$TMPDIR_T/dump.txt" | awk '{print $3}' | sort | paste -sd,)" \
	"198.18.0.9/24,2001:db8::8/64,2001:db8::9/64"
grep -q "^route 198.51.100.0/24 type=1 gw=198.18.0.1 oif=2 metric=50" "$TMPDIR_T/dump.txt" || fail "route dump"

# link events: a port joining br0 and a link going, made by another process
"$NLK" events "$NS" 3 20 >"$TMPDIR_T/events.txt" &
evp=$!
on_exit "kill $evp"
wait_until 10 grep -q subscribed "$TMPDIR_T/events.txt" || fail "events: no subscription"
ip -n "$NS" link add e0 type veth peer name e1 || fail "ip link add"
# latencies are measured from the moment the change is made (ip returned):
# the kernel notifies before that, so they are <= 0 unless we are slow
ip -n "$NS" link set e0 master br0 || fail "ip link set master"
t_join=$(date +%s%3N)
wait_until 5 grep -q "^event NEW e0 master=" "$TMPDIR_T/events.txt" || fail "no event for e0 joining br0"
ip -n "$NS" link del e0 || fail "ip link del"
t_del=$(date +%s%3N)
wait "$evp" || fail "events: fewer than 3 ($(cat "$TMPDIR_T/events.txt"))"
cat "$TMPDIR_T/events.txt"
t=$(awk '/^event NEW e0/ {sub("time_ms=", "", $5); print $5}' "$TMPDIR_T/events.txt")
[ $((t - t_join)) -lt 1000 ] || fail "join seen after $((t - t_join)) ms"
echo "ok   e0 joining br0 seen within 1 s ($((t - t_join)) ms after ip returned)"
check_eq "removals seen" "$(grep -c '^event DEL e[01] ' "$TMPDIR_T/events.txt")" 2
t=$(awk '/^event DEL e0/ {sub("time_ms=", "", $5); print $5}' "$TMPDIR_T/events.txt")
[ $((t - t_del)) -lt 1000 ] || fail "removal seen after $((t - t_del)) ms"
echo "ok   e0 removal seen within 1 s ($((t - t_del)) ms after ip returned)"

# spawning inside: the child runs in the namespace (its sysfs too) and its status comes back
out=$("$NLK" spawn "$NS") || fail "spawn"
check_eq "spawned child's exit status" "$(echo "$out" | grep -o 'exit=[0-9]*')" exit=7
ino=$(echo "$out" | grep -o 'inode=[0-9]*' | cut -d= -f2)
check_eq "namespace inode matches iproute2's" "$ino" "$(stat -L -c %i "/run/netns/$NS")"

"$NLK" teardown "$NS" | tee "$TMPDIR_T/teardown.txt" || fail "nl_kernel teardown"
check_eq "namespace gone" "$(ip netns list | grep -c "^$NS\b" || true)" 0
echo "PASS"
