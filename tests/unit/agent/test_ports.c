/* Unit tests: src/agent/ports — VM port discovery from link messages:
 * bridges, kinds, exclusions, explicit interfaces, renames, MAC and alias
 * changes, re-enslavement, deletion, resync, slot reuse and the bound. */
#include "agent/ports.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "core/compiler.h"
#include "nl/nlmsg.h"
#include "vt_test.h"

struct evrec {
	enum ports_ev ev;
	char name[IFNAMSIZ];
	uint32_t slot;
	unsigned changes;
	bool explicit_if;
	char bridge[IFNAMSIZ];
	enum port_kind kind;
};

static struct evrec evs[64];
static size_t nevs;

static void on_port(void *arg, enum ports_ev ev, struct port *p, unsigned changes)
{
	(void)arg;
	if (nevs < ARRAY_SIZE(evs)) {
		struct evrec *e = &evs[nevs++];
		e->ev = ev;
		snprintf(e->name, sizeof(e->name), "%s", p->name);
		e->slot = p->slot;
		e->changes = changes;
		e->explicit_if = p->explicit_if;
		snprintf(e->bridge, sizeof(e->bridge), "%s", p->bridge);
		e->kind = p->kind;
	}
}

static struct nl_link_info mk(uint32_t ifindex, const char *name, const char *kind, uint32_t master)
{
	struct nl_link_info li;

	memset(&li, 0, sizeof(li));
	li.ifindex = ifindex;
	snprintf(li.name, sizeof(li.name), "%s", name);
	snprintf(li.kind, sizeof(li.kind), "%s", kind);
	li.master = master;
	li.mac_len = 6;
	li.mac[0] = 0x02;
	li.mac[5] = (uint8_t)ifindex;
	li.link_netnsid = -1;
	li.flags = IFF_UP;
	if (strcmp(kind, "tap") == 0) {
		snprintf(li.kind, sizeof(li.kind), "tun");
		li.tun_tap = true;
	}
	return li;
}

static const char *const bridges[] = { "br0", "br1" };
static const char *const ifaces[] = { "eth9" };
static const char *const excl[] = { "up*" };

static struct ports *mkports(uint32_t max)
{
	struct ports_cfg cfg = { bridges, 2, ifaces, 1, excl, 1,
				 PORT_KIND_VETH | PORT_KIND_TAP, max };
	nevs = 0;
	return ports_new(&cfg, on_port, NULL);
}

#define EXPECT(i, e, n, s, ch)                                                       \
	do {                                                                       \
		CHECK((size_t)(i) < nevs);                                         \
		if ((size_t)(i) < nevs) {                                          \
			CHECK_EQ(evs[i].ev, e);                                    \
			CHECK_STR(evs[i].name, n);                                 \
			CHECK_EQ(evs[i].slot, s);                                  \
			CHECK_EQ(evs[i].changes, ch);                              \
		}                                                                  \
	} while (0)

static void test_discovery(void)
{
	struct ports *ps = mkports(16);
	struct nl_link_info li;

	CHECK(ps != NULL);
	/* a dump: bridge, uplink (excluded), veth and TAP ports, an L3 tun
	 * (kind not allowed), the explicit interface, an unconfigured bridge
	 * and its port */
	li = mk(1, "lo", "", 0);
	li.flags |= IFF_LOOPBACK;
	ports_update(ps, false, &li);
	li = mk(2, "br0", "bridge", 0);
	ports_update(ps, false, &li);
	li = mk(3, "up0", "veth", 2);
	ports_update(ps, false, &li);
	li = mk(4, "vp-vm1", "veth", 2);
	ports_update(ps, false, &li);
	li = mk(5, "tp-vm3", "tap", 2);
	ports_update(ps, false, &li);
	li = mk(6, "tun0", "tun", 2);
	ports_update(ps, false, &li);
	li = mk(7, "eth9", "dummy", 0);
	ports_update(ps, false, &li);
	li = mk(8, "br9", "bridge", 0);
	ports_update(ps, false, &li);
	li = mk(9, "vp-other", "veth", 8);
	ports_update(ps, false, &li);
	CHECK_EQ(nevs, 3);
	EXPECT(0, PORTS_ADDED, "vp-vm1", 0, 0);
	EXPECT(1, PORTS_ADDED, "tp-vm3", 1, 0);
	EXPECT(2, PORTS_ADDED, "eth9", 2, 0);
	CHECK_EQ(evs[1].kind, PORT_KIND_TAP);
	CHECK_STR(evs[1].bridge, "br0");
	CHECK(evs[2].explicit_if);
	CHECK_STR(evs[2].bridge, "");
	CHECK_EQ(ports_count(ps), 3);
	CHECK_EQ(ports_links(ps), 9);
	CHECK(ports_bridge_known(ps, "br0"));
	CHECK(!ports_bridge_known(ps, "br1"));
	CHECK(!ports_bridge_known(ps, "br9"));

	/* hotplug: a veth appears, then is enslaved */
	nevs = 0;
	li = mk(10, "vp-vm2", "veth", 0);
	ports_update(ps, false, &li);
	CHECK_EQ(nevs, 0);
	li.master = 2;
	ports_update(ps, false, &li);
	EXPECT(0, PORTS_ADDED, "vp-vm2", 3, 0);
	/* the bridge's own view of the port is ignored, even a "DELLINK" */
	li.family = AF_BRIDGE;
	ports_update(ps, true, &li);
	li.kind[0] = '\0';
	ports_update(ps, false, &li);
	CHECK_EQ(nevs, 1);
	/* released from the bridge */
	li = mk(10, "vp-vm2", "veth", 0);
	ports_update(ps, false, &li);
	EXPECT(1, PORTS_REMOVED, "vp-vm2", 3, 0);

	/* rename, MAC, alias, down: one change event each, what changed */
	nevs = 0;
	li = mk(4, "vp-vmx", "veth", 2);
	ports_update(ps, false, &li);
	EXPECT(0, PORTS_CHANGED, "vp-vmx", 0, PORT_CH_NAME);
	li.mac[4] = 0x77;
	ports_update(ps, false, &li);
	EXPECT(1, PORTS_CHANGED, "vp-vmx", 0, PORT_CH_MAC);
	snprintf(li.alias, sizeof(li.alias), "vm=web1");
	ports_update(ps, false, &li);
	EXPECT(2, PORTS_CHANGED, "vp-vmx", 0, PORT_CH_ALIAS);
	li.flags = 0;
	ports_update(ps, false, &li);
	EXPECT(3, PORTS_CHANGED, "vp-vmx", 0, PORT_CH_STATE);
	/* the same message again: nothing */
	ports_update(ps, false, &li);
	CHECK_EQ(nevs, 4);
	/* renamed to an excluded name: no longer a VM port */
	li = mk(5, "up-tp", "tap", 2);
	ports_update(ps, false, &li);
	EXPECT(4, PORTS_REMOVED, "tp-vm3", 1, 0);
	/* the explicit interface renamed away, then back */
	li = mk(7, "eth10", "dummy", 0);
	ports_update(ps, false, &li);
	EXPECT(5, PORTS_REMOVED, "eth9", 2, 0);
	li = mk(7, "eth9", "dummy", 0);
	ports_update(ps, false, &li);
	/* slots are reused oldest-freed first: never-used ones (4..15) come
	 * before the freed 3, 1 and 2 */
	EXPECT(6, PORTS_ADDED, "eth9", 4, 0);

	/* re-enslavement to another configured bridge */
	nevs = 0;
	li = mk(11, "br1", "bridge", 0);
	ports_update(ps, false, &li);
	CHECK_EQ(nevs, 0);
	li = mk(4, "vp-vmx", "veth", 11);
	li.mac[4] = 0x77;
	snprintf(li.alias, sizeof(li.alias), "vm=web1");
	li.flags = 0;
	ports_update(ps, false, &li);
	EXPECT(0, PORTS_CHANGED, "vp-vmx", 0, PORT_CH_BRIDGE);
	CHECK_STR(evs[0].bridge, "br1");
	/* deleted */
	ports_update(ps, true, &li);
	EXPECT(1, PORTS_REMOVED, "vp-vmx", 0, 0);
	CHECK(ports_by_ifindex(ps, 4) == NULL);
	CHECK(ports_by_slot(ps, 4) != NULL);
	CHECK(ports_by_slot(ps, 3) == NULL);
	ports_free(ps);
}

static void test_bridge_lifecycle(void)
{
	struct ports *ps = mkports(16);
	struct nl_link_info li;

	/* ports known before their bridge: added when it appears */
	li = mk(20, "vp-a", "veth", 30);
	ports_update(ps, false, &li);
	li = mk(21, "vp-b", "veth", 30);
	ports_update(ps, false, &li);
	CHECK_EQ(nevs, 0);
	li = mk(30, "br0", "bridge", 0);
	ports_update(ps, false, &li);
	CHECK_EQ(nevs, 2);
	EXPECT(0, PORTS_ADDED, "vp-a", 0, 0);
	EXPECT(1, PORTS_ADDED, "vp-b", 1, 0);
	/* the bridge renamed to an unconfigured name: its ports are not VM
	 * ports any more; deleting it afterwards changes nothing */
	nevs = 0;
	li = mk(30, "brX", "bridge", 0);
	ports_update(ps, false, &li);
	CHECK_EQ(nevs, 2);
	CHECK_EQ(evs[0].ev, PORTS_REMOVED);
	CHECK_EQ(evs[1].ev, PORTS_REMOVED);
	li = mk(30, "br0", "bridge", 0);
	ports_update(ps, false, &li);
	CHECK_EQ(nevs, 4);
	/* the bridge deleted */
	nevs = 0;
	ports_update(ps, true, &li);
	CHECK_EQ(nevs, 2);
	CHECK_EQ(ports_count(ps), 0);
	ports_free(ps);
}

static void test_resync_and_bound(void)
{
	struct ports *ps = mkports(2);
	struct nl_link_info li;

	li = mk(2, "br0", "bridge", 0);
	ports_update(ps, false, &li);
	li = mk(3, "vp-1", "veth", 2);
	CHECK_EQ(ports_update(ps, false, &li), 0);
	li = mk(4, "vp-2", "veth", 2);
	CHECK_EQ(ports_update(ps, false, &li), 0);
	li = mk(5, "vp-3", "veth", 2);
	CHECK_EQ(ports_update(ps, false, &li), -ENOSPC);
	CHECK_EQ(ports_refused(ps), 1);
	CHECK_EQ(ports_count(ps), 2);
	/* a resync after lost events: vp-1 vanished meanwhile; vp-3 now fits */
	nevs = 0;
	ports_sync_begin(ps);
	li = mk(2, "br0", "bridge", 0);
	ports_update(ps, false, &li);
	li = mk(4, "vp-2", "veth", 2);
	ports_update(ps, false, &li);
	li = mk(5, "vp-3", "veth", 2);
	ports_update(ps, false, &li);
	ports_sync_end(ps);
	CHECK_EQ(ports_count(ps), 2);
	CHECK(ports_by_ifindex(ps, 3) == NULL);
	CHECK(ports_by_ifindex(ps, 5) != NULL);
	CHECK_EQ(ports_links(ps), 3);
	bool removed = false, added = false;
	for (size_t i = 0; i < nevs; i++) {
		removed |= evs[i].ev == PORTS_REMOVED && strcmp(evs[i].name, "vp-1") == 0;
		added |= evs[i].ev == PORTS_ADDED && strcmp(evs[i].name, "vp-3") == 0;
	}
	CHECK(removed && added);
	ports_free(ps);
	/* bad bounds */
	struct ports_cfg cfg = { bridges, 1, NULL, 0, NULL, 0, PORT_KIND_VETH, 0 };
	CHECK(ports_new(&cfg, on_port, NULL) == NULL);
	cfg.max_ports = 65535;
	CHECK(ports_new(&cfg, on_port, NULL) == NULL);
}

/* lib/nl reports the family, which is how AF_BRIDGE messages are told
 * apart from the link's own. */
static void test_nl_family(void)
{
	uint8_t buf[256];
	struct nlb b;
	struct ifinfomsg ifi = { 0 };
	struct nl_link_info li;
	struct vt_rd r;
	struct nlmsg m;
	int len;

	for (int fam = 0; fam < 2; fam++) {
		nlb_init(&b, buf, sizeof(buf), RTM_DELLINK, 0);
		ifi.ifi_family = fam ? AF_BRIDGE : AF_UNSPEC;
		ifi.ifi_index = 7;
		nlb_put_fam(&b, &ifi, sizeof(ifi));
		nla_put_str(&b, IFLA_IFNAME, "vp-vm1");
		nla_put_u32(&b, IFLA_MASTER, 3);
		len = nlb_finish(&b);
		CHECK(len > 0);
		r = rd_init(buf, (size_t)len);
		CHECK_EQ(nlmsg_next(&r, &m), 1);
		CHECK_EQ(nl_link_parse(&m, &li), 0);
		CHECK_EQ(li.family, fam ? AF_BRIDGE : AF_UNSPEC);
		CHECK_EQ(li.master, 3);
	}
}

static void test_kind_names(void)
{
	struct nl_link_info li = mk(1, "x", "tap", 0);

	CHECK_EQ(port_kind_of(&li), PORT_KIND_TAP);
	li.tun_tap = false;
	CHECK_EQ(port_kind_of(&li), PORT_KIND_OTHER);
	li = mk(1, "x", "veth", 0);
	CHECK_EQ(port_kind_of(&li), PORT_KIND_VETH);
	CHECK_STR(port_kind_name(PORT_KIND_TAP), "tap");
	CHECK_STR(port_kind_name(PORT_KIND_VETH), "veth");
	CHECK_STR(port_kind_name(PORT_KIND_OTHER), "other");
}

VT_TEST_MAIN(VT_T(test_discovery), VT_T(test_bridge_lifecycle), VT_T(test_resync_and_bound),
	     VT_T(test_nl_family), VT_T(test_kind_names))
