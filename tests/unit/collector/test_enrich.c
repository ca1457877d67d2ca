/* Unit tests: src/collector/enrich — inventory parsing, zones, VM
 * attribution from elements and inventory, locality, the count-once rule. */
#include "collector/enrich.h"

#include <stdio.h>
#include <string.h>

#include "core/be.h"
#include "core/timeutil.h"
#include "vt_test.h"

/* A lab-style inventory: h1 (vm1, vm2, vm3), h2 (vm4); vm5 has no host. */
static const char inv_json[] =
	"{\"hosts\":["
	"{\"name\":\"h1\",\"mgmt_ip\":\"198.19.0.11\",\"vms\":[\"vm1\",\"vm2\",\"vm3\"]},"
	"{\"name\":\"h2\",\"mgmt_ip\":\"198.19.0.12\"}],"
	"\"vms\":["
	"{\"name\":\"vm1\",\"id\":1,\"uuid\":\"00000000-0000-0000-0000-000000000001\","
	" \"mac\":\"52:54:00:18:00:01\",\"ipv4\":\"198.18.1.1\",\"ipv6\":\"2001:db8:18::1:1\","
	" \"host\":\"h1\",\"port_type\":\"veth\"},"
	"{\"name\":\"vm2\",\"uuid\":\"00000000-0000-0000-0000-000000000002\","
	" \"mac\":\"52:54:00:18:00:02\",\"ipv4\":\"198.18.1.2\",\"host\":\"h1\"},"
	"{\"name\":\"db-3\",\"uuid\":\"00000000-0000-0000-0000-000000000003\","
	" \"mac\":\"52:54:00:18:00:03\",\"ipv4\":\"198.18.1.3\",\"host\":\"h1\","
	" \"attributes\":{\"tier\":\"data\"}},"
	"{\"name\":\"vm4\",\"uuid\":\"00000000-0000-0000-0000-000000000004\","
	" \"macs\":[\"52:54:00:18:00:04\"],\"ips\":[\"198.18.1.4\"],\"host\":\"h2\"},"
	"{\"name\":\"vm5\",\"ipv4\":\"198.18.1.5\"}]}";

static void uuid_n(uint8_t u[16], int n)
{
	memset(u, 0, 16);
	u[15] = (uint8_t)n;
}

static struct vt_addr ip4(const char *s)
{
	struct vt_addr a;
	if (addr_parse(s, &a) < 0)
		memset(&a, 0xee, sizeof(a));
	return a;
}

static struct inventory *load_inv(void)
{
	struct vt_err err = { 0 };
	struct inventory *inv = inv_new(100);
	int r = inv_parse_json(inv, inv_json, strlen(inv_json), "t.json", &err);
	if (r < 0)
		fprintf(stderr, "  inventory: %s\n", err.msg);
	CHECK_EQ(r, 0);
	return inv;
}

static void test_inventory_parse(void)
{
	struct inventory *inv = load_inv();
	struct inv_stats st;
	const struct inv_vm *vm;

	inv_get_stats(inv, &st);
	CHECK_EQ(st.vms, 5);
	CHECK_EQ(st.hosts, 2);
	vm = inv_vm_at(inv, 0);
	CHECK_STR(vm->name, "vm1");
	CHECK_STR(vm->host, "h1");
	CHECK_EQ(vm->nmac, 1);
	CHECK_EQ(vm->nip, 2);
	CHECK_EQ(vm->uuid[15], 1);
	/* scalar fields become attributes; "id" is a number */
	bool have_id = false, have_pt = false;
	for (size_t i = 0; i < vm->nattr; i++) {
		have_id |= !strcmp(vm->attr[i].key, "id") && !strcmp(vm->attr[i].val, "1");
		have_pt |= !strcmp(vm->attr[i].key, "port_type") && !strcmp(vm->attr[i].val, "veth");
	}
	CHECK(have_id);
	CHECK(have_pt);
	vm = inv_vm_at(inv, 3);
	CHECK_STR(vm->name, "vm4");
	CHECK_EQ(vm->nmac, 1);
	CHECK_EQ(vm->nip, 1);
	/* a second source describing vm4 again merges its addresses */
	const char more[] = "{\"vms\":[{\"uuid\":\"00000000-0000-0000-0000-000000000004\","
			    "\"mac\":\"52:54:00:18:00:44\"}]}";
	struct vt_err err = { 0 };
	CHECK_EQ(inv_parse_json(inv, more, strlen(more), "more", &err), 0);
	CHECK_EQ(inv_count(inv), 5);
	CHECK_EQ(inv_vm_at(inv, 3)->nmac, 2);
	inv_free(inv);
}

static void test_inventory_errors(void)
{
	static const struct {
		const char *doc;
		const char *msg;
	} cases[] = {
		{ "[1,2]", "not a JSON object" },
		{ "{\"vms\":{}}", "must be arrays" },
		{ "{\"vms\":[{\"name\":\"a\",\"mac\":\"zz\"}]}", "vms[0].mac: 'zz' is not a MAC" },
		{ "{\"vms\":[{\"name\":\"a\"},{\"name\":\"b\",\"uuid\":\"x\"}]}", "vms[1].uuid: 'x' is not a UUID" },
		{ "{\"vms\":[{\"name\":\"a\",\"ipv4\":\"1.2.3\"}]}", "vms[0].ipv4: '1.2.3' is not an IP" },
		{ "{\"vms\":[{\"id\":3}]}", "vms[0] has neither a name nor a uuid" },
		{ "{\"vms\":[{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}]}",
		  "longer than 63 bytes" },
		{ "{\"hosts\":[{\"mgmt_ip\":\"1.2.3.4\"}]}", "hosts[0] has no name" },
		{ "{\"hosts\":[{\"name\":\"h\",\"mgmt_ip\":\"nope\"}]}", "hosts[0].mgmt_ip: not an IP" },
		{ "{\"vms\":[", "inventory t:" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct inventory *inv = inv_new(10);
		struct vt_err err = { 0 };
		int r = inv_parse_json(inv, cases[i].doc, strlen(cases[i].doc), "t", &err);
		CHECK(r < 0);
		CHECK_CONTAINS(err.msg, cases[i].msg);
		/* a bad document adds nothing */
		CHECK_EQ(inv_count(inv), 0);
		inv_free(inv);
	}
	/* the VM bound is counted, not exceeded */
	struct inventory *inv = inv_new(2);
	struct vt_err err = { 0 };
	CHECK_EQ(inv_parse_json(inv, inv_json, strlen(inv_json), "t", &err), 0);
	CHECK_EQ(inv_count(inv), 2);
	struct inv_stats st;
	inv_get_stats(inv, &st);
	CHECK_EQ(st.truncated, 3);
	inv_free(inv);
}

static char *zv_web[] = { "vm[12]" };
static char *za_data[] = { "tier=data" };
static char *zn_inet[] = { "198.19.200.0/24", "2001:db8:200::/64" };
static char *zn_lab[] = { "198.18.0.0/16" };

/* zones_of() : the compiled zones of <n> definitions (which must be valid). */
static struct zones *zones_of(const struct zone_conf *zc, size_t n)
{
	struct vt_err err = { 0 };
	struct zones *z = zones_new(zc, n, &err);

	CHECK(z != NULL);
	return z;
}

static struct zones *make_zones(void)
{
	const struct zone_conf zc[] = {
		{ .name = "web", .vm = { zv_web, 1 } },
		{ .name = "data", .attr = { za_data, 1 }, .net = { zn_inet, 2 } },
		{ .name = "lab", .net = { zn_lab, 1 } },
	};

	return zones_of(zc, ARRAY_SIZE(zc));
}

static void test_zones_errors(void)
{
	static char *bad_net[] = { "198.18.0.0/33" };
	static char *bad_attr[] = { "=x" };
	static char *empty_vm[] = { "" };
	static const struct {
		const char *name;
		struct conf_strlist vm, attr, net;
		const char *msg;
	} cases[] = {
		{ "a", { 0 }, { 0 }, { bad_net, 1 }, "zone 'a': net '198.18.0.0/33' is not a prefix" },
		{ "a", { 0 }, { bad_attr, 1 }, { 0 }, "zone 'a': attr '=x' is not KEY=PATTERN" },
		{ "a", { empty_vm, 1 }, { 0 }, { 0 }, "vm pattern is empty" },
		{ "a", { 0 }, { 0 }, { 0 }, "zone 'a' has no vm, attr or net rule" },
		{ "outside", { zv_web, 1 }, { 0 }, { 0 }, "reserved" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct zone_conf zc;
		struct vt_err err = { 0 };
		memset(&zc, 0, sizeof(zc));
		snprintf(zc.name, sizeof(zc.name), "%s", cases[i].name);
		zc.vm = cases[i].vm;
		zc.attr = cases[i].attr;
		zc.net = cases[i].net;
		CHECK(zones_new(&zc, 1, &err) == NULL);
		CHECK_CONTAINS(err.msg, cases[i].msg);
	}
	struct zone_conf two[2];
	struct vt_err err = { 0 };
	memset(two, 0, sizeof(two));
	snprintf(two[0].name, sizeof(two[0].name), "z");
	two[0].vm = (struct conf_strlist){ zv_web, 1 };
	two[1] = two[0];
	CHECK(zones_new(two, 2, &err) == NULL);
	CHECK_CONTAINS(err.msg, "zone 'z' is defined twice");
}

/* A record: <src>/<dst> addresses and MACs, optionally with elements. */
struct rspec {
	const char *src, *dst;
	int src_mac, dst_mac;       /* last octet of 52:54:00:18:00:XX; 0 = none */
	int obs;                    /* observing VM number (uuid ...N, name vmN); 0 none */
	const char *obs_name;       /* overrides the name ("" = only the uuid) */
	int peer;                   /* local peer VM number; 0 none */
	uint8_t dir, scope;
};

static void build(struct flow_rec *r, const struct rspec *s)
{
	memset(r, 0, sizeof(*r));
	r->src = ip4(s->src);
	r->dst = ip4(s->dst);
	r->ipver = addr_is_v4(&r->src) ? 4 : 6;
	r->proto = 6;
	r->bytes = 1000;
	r->packets = 10;
	if (s->src_mac) {
		uint8_t m[6] = { 0x52, 0x54, 0, 0x18, 0, (uint8_t)s->src_mac };
		memcpy(r->src_mac, m, 6);
	}
	if (s->dst_mac) {
		uint8_t m[6] = { 0x52, 0x54, 0, 0x18, 0, (uint8_t)s->dst_mac };
		memcpy(r->dst_mac, m, 6);
	}
	r->direction = s->dir;
	r->scope = s->scope;
	if (s->obs) {
		uuid_n(r->vm.uuid, s->obs);
		if (s->obs_name)
			snprintf(r->vm.name, sizeof(r->vm.name), "%s", s->obs_name);
		else
			snprintf(r->vm.name, sizeof(r->vm.name), "vm%d", s->obs);
		snprintf(r->vm.ifname, sizeof(r->vm.ifname), "vp-vm%d", s->obs);
	}
	if (s->peer) {
		uuid_n(r->peer.uuid, s->peer);
		snprintf(r->peer.name, sizeof(r->peer.name), "vm%d", s->peer);
	}
}

/* Case <i>: record <r> built from <in> and attributed by <s>. */
static void enrich_case(const struct enrich_snap *s, size_t i, const struct rspec *in,
			struct flow_rec *r, struct flow_attr *a, struct enrich_info *info)
{
	build(r, in);
	enrich_flow(s, r, a, info);
	fprintf(stderr, "  case %zu\n", i);
}

static void test_attribution(void)
{
	struct zones *z = make_zones();
	struct enrich_snap *s = enrich_snap_new(load_inv(), z);
	static const struct {
		struct rspec r;
		const char *src_vm, *dst_vm;   /* "" = not a VM */
		uint8_t src_by, dst_by;
		const char *src_zone, *dst_zone;
		uint8_t loc;
	} cases[] = {
		/* agent, same host: observing VM sends, the peer receives */
		{ { "198.18.1.1", "198.18.1.2", 1, 2, 1, NULL, 2, FLOW_DIR_INGRESS, FLOW_SCOPE_LOCAL },
		  "vm1", "vm2", ATTR_ELEMENT, ATTR_ELEMENT, "web", "web", FLOW_LOC_SAME_HOST },
		/* agent on h1, sender side of a cross-host flow; the receiver by MAC */
		{ { "198.18.1.1", "198.18.1.4", 1, 4, 1, NULL, 0, FLOW_DIR_INGRESS, FLOW_SCOPE_REMOTE },
		  "vm1", "vm4", ATTR_ELEMENT, ATTR_MAC, "web", "lab", FLOW_LOC_CROSS_HOST },
		/* agent on h2, receiver side: observing VM is the destination */
		{ { "198.18.1.1", "198.18.1.4", 1, 4, 4, NULL, 0, FLOW_DIR_EGRESS, FLOW_SCOPE_REMOTE },
		  "vm1", "vm4", ATTR_MAC, ATTR_ELEMENT, "web", "lab", FLOW_LOC_CROSS_HOST },
		/* to the internet via the gateway's MAC: dst is outside, in zone data by net */
		{ { "198.18.1.3", "198.19.200.7", 3, 0x99, 3, "db-3", 0, FLOW_DIR_INGRESS, FLOW_SCOPE_REMOTE },
		  "db-3", "", ATTR_ELEMENT, ATTR_NONE, "data", "data", FLOW_LOC_OUTSIDE },
		/* no elements (softflowd): both ends by MAC; same inventory host */
		{ { "198.18.1.1", "198.18.1.3", 1, 3, 0, NULL, 0, FLOW_DIR_UNKNOWN, 0 },
		  "vm1", "db-3", ATTR_MAC, ATTR_MAC, "web", "data", FLOW_LOC_SAME_HOST },
		/* no MACs: by IP; different hosts */
		{ { "198.18.1.4", "198.18.1.2", 0, 0, 0, NULL, 0, FLOW_DIR_UNKNOWN, 0 },
		  "vm4", "vm2", ATTR_IP, ATTR_IP, "lab", "web", FLOW_LOC_CROSS_HOST },
		/* vm5 has no host: VM to VM, location unknown = cross-host */
		{ { "198.18.1.5", "198.18.1.2", 0, 0, 0, NULL, 0, FLOW_DIR_UNKNOWN, 0 },
		  "vm5", "vm2", ATTR_IP, ATTR_IP, "lab", "web", FLOW_LOC_CROSS_HOST },
		/* IPv6 by IP */
		{ { "2001:db8:18::1:1", "2001:db8:200::5", 0, 0, 0, NULL, 0, FLOW_DIR_UNKNOWN, 0 },
		  "vm1", "", ATTR_IP, ATTR_NONE, "web", "data", FLOW_LOC_OUTSIDE },
		/* a VM the inventory does not know, named by the element: zone by name */
		{ { "10.0.0.1", "10.0.0.2", 0, 0, 42, "vm2x", 0, FLOW_DIR_INGRESS, FLOW_SCOPE_REMOTE },
		  "vm2x", "", ATTR_ELEMENT, ATTR_NONE, "outside", "outside", FLOW_LOC_OUTSIDE },
		/* element with only the UUID: the name comes from the inventory */
		{ { "198.18.1.2", "8.8.8.8", 0, 0, 2, "", 0, FLOW_DIR_INGRESS, FLOW_SCOPE_REMOTE },
		  "vm2", "", ATTR_ELEMENT, ATTR_NONE, "web", "outside", FLOW_LOC_OUTSIDE },
		/* broadcast MAC is never a VM; the IP decides */
		{ { "198.18.1.1", "198.18.255.255", 1, 0xff, 0, NULL, 0, FLOW_DIR_UNKNOWN, 0 },
		  "vm1", "", ATTR_MAC, ATTR_NONE, "web", "lab", FLOW_LOC_OUTSIDE },
		/* direction unknown with elements: inventory only */
		{ { "198.18.1.1", "198.18.1.4", 1, 4, 1, NULL, 0, FLOW_DIR_UNKNOWN, FLOW_SCOPE_REMOTE },
		  "vm1", "vm4", ATTR_MAC, ATTR_MAC, "web", "lab", FLOW_LOC_CROSS_HOST },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct flow_rec r;
		struct flow_attr a;
		struct enrich_info info;
		enrich_case(s, i, &cases[i].r, &r, &a, &info);
		CHECK_STR(a.src_vm.name, cases[i].src_vm);
		CHECK_STR(a.dst_vm.name, cases[i].dst_vm);
		CHECK_EQ(info.src_by, cases[i].src_by);
		CHECK_EQ(info.dst_by, cases[i].dst_by);
		CHECK_STR(zones_name(z, a.src_zone), cases[i].src_zone);
		CHECK_STR(zones_name(z, a.dst_zone), cases[i].dst_zone);
		CHECK_EQ(a.locality, cases[i].loc);
		/* attributed identities are canonical: no port name */
		CHECK_EQ(a.src_vm.ifname[0], 0);
		/* UUIDs come from the element or the inventory (vm5 has none there) */
		if (cases[i].src_vm[0])
			CHECK_EQ(uuid_is_nil(a.src_vm.uuid), !strcmp(cases[i].src_vm, "vm5"));
		/* the writer's hint: set exactly for the identities that are nil */
		CHECK_EQ(!!(a.nil_vms & FLOWATTR_NIL_VM), vm_ident_nil(&r.vm));
		CHECK_EQ(!!(a.nil_vms & FLOWATTR_NIL_PEER), vm_ident_nil(&r.peer));
		CHECK_EQ(!!(a.nil_vms & FLOWATTR_NIL_SRC), vm_ident_nil(&a.src_vm));
		CHECK_EQ(!!(a.nil_vms & FLOWATTR_NIL_DST), vm_ident_nil(&a.dst_vm));
	}
	/* without a snapshot only the elements count */
	struct flow_rec r;
	struct flow_attr a;
	build(&r, &cases[1].r);
	enrich_flow(NULL, &r, &a, NULL);
	CHECK_STR(a.src_vm.name, "vm1");
	CHECK_STR(a.dst_vm.name, "");
	CHECK_EQ(a.locality, FLOW_LOC_OUTSIDE);
	CHECK_EQ(a.src_zone, 0);

	/* host lookup by management address */
	struct vt_addr m = ip4("198.19.0.12");
	const struct inv_host *h = enrich_host_by_addr(s, &m);
	CHECK(h && !strcmp(h->name, "h2"));
	m = ip4("198.19.0.13");
	CHECK(enrich_host_by_addr(s, &m) == NULL);
	enrich_snap_free(s);
	zones_free(z);
}

/* Zones whose last rule is not a net (only the zones up to the last net
 * rule are scanned for addresses), over an empty inventory (no address
 * is looked up): the net zone still wins over a later VM zone, a VM
 * named by the element still gets its zone by name. */
static char *zn_dmz[] = { "198.19.200.0/24" };

static void test_zones_no_inventory(void)
{
	const struct zone_conf zc[] = {
		{ .name = "dmz", .net = { zn_dmz, 1 } },
		{ .name = "web", .vm = { zv_web, 1 } },
	};
	struct zones *z = zones_of(zc, ARRAY_SIZE(zc));
	struct enrich_snap *s = enrich_snap_new(inv_new(1), z);
	CHECK(s != NULL);
	static const struct {
		struct rspec r;
		const char *src_zone, *dst_zone;
		uint8_t src_by;
	} cases[] = {
		/* no elements, MACs set: nothing to look up, zones by net */
		{ { "198.19.200.5", "10.1.1.1", 1, 2, 0, NULL, 0, FLOW_DIR_UNKNOWN, 0 },
		  "dmz", "outside", ATTR_NONE },
		/* vm1 (zone web by name) in the dmz net: the first zone wins */
		{ { "198.19.200.5", "10.1.1.1", 0, 0, 1, NULL, 0, FLOW_DIR_INGRESS, FLOW_SCOPE_REMOTE },
		  "dmz", "outside", ATTR_ELEMENT },
		/* vm1 elsewhere: its zone by name */
		{ { "10.9.9.9", "198.19.200.6", 0, 0, 1, NULL, 0, FLOW_DIR_INGRESS, FLOW_SCOPE_REMOTE },
		  "web", "dmz", ATTR_ELEMENT },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct flow_rec r;
		struct flow_attr a;
		struct enrich_info info;
		enrich_case(s, i, &cases[i].r, &r, &a, &info);
		CHECK_STR(zones_name(z, a.src_zone), cases[i].src_zone);
		CHECK_STR(zones_name(z, a.dst_zone), cases[i].dst_zone);
		CHECK_EQ(info.src_by, cases[i].src_by);
		CHECK_EQ(info.dst_by, ATTR_NONE);
		CHECK_EQ(a.locality, FLOW_LOC_OUTSIDE);
	}
	enrich_snap_free(s);
	zones_free(z);
}

/* A record without the agent's elements where nothing can name its ends
 * (no snapshot, no VM with an address, zones by VM only): the whole
 * attribution is "outside, no identity", every field of it rewritten; an
 * element record under the same snapshot still gets its VM and zone. */
static void test_plain(void)
{
	const struct zone_conf zc[] = { { .name = "web", .vm = { zv_web, 1 } } };
	struct zones *z = zones_of(zc, ARRAY_SIZE(zc));
	struct enrich_snap *snaps[] = { NULL, enrich_snap_new(inv_new(1), NULL),
					enrich_snap_new(inv_new(1), z) };
	const struct rspec plain = { "198.19.200.5", "10.1.1.1", 1, 2, 0, NULL, 0,
				     FLOW_DIR_UNKNOWN, 0 };
	const struct rspec elem = { "198.19.200.5", "10.1.1.1", 0, 0, 1, NULL, 0,
				    FLOW_DIR_INGRESS, FLOW_SCOPE_REMOTE };
	struct flow_attr want;

	memset(&want, 0, sizeof(want));
	want.locality = FLOW_LOC_OUTSIDE;
	want.nil_vms = FLOWATTR_NIL_VM | FLOWATTR_NIL_PEER | FLOWATTR_NIL_SRC | FLOWATTR_NIL_DST;
	for (size_t i = 0; i < ARRAY_SIZE(snaps); i++) {
		struct flow_rec r;
		struct flow_attr a;
		struct enrich_info info = { 0xee, 0xee };
		CHECK(i == 0 || snaps[i] != NULL);
		memset(&a, 0xa5, sizeof(a));
		enrich_case(snaps[i], i, &plain, &r, &a, &info);
		CHECK(memcmp(&a, &want, sizeof(a)) == 0);
		CHECK_EQ(info.src_by, ATTR_NONE);
		CHECK_EQ(info.dst_by, ATTR_NONE);
		memset(&a, 0xa5, sizeof(a));
		enrich_case(snaps[i], i, &elem, &r, &a, &info);
		CHECK_EQ(info.src_by, ATTR_ELEMENT);
		CHECK_STR(a.src_vm.name, "vm1");
		CHECK_EQ(a.nil_vms, FLOWATTR_NIL_PEER | FLOWATTR_NIL_DST);
		CHECK_STR(zones_name(z, a.src_zone), i == 2 ? "web" : "outside");
	}
	for (size_t i = 0; i < ARRAY_SIZE(snaps); i++)
		enrich_snap_free(snaps[i]);
	zones_free(z);
}

static void test_primary(void)
{
	struct enrich_snap *s = enrich_snap_new(load_inv(), NULL);
	static const struct {
		struct rspec r;
		bool src_metered, dst_metered;
		bool primary;
		int side;
	} cases[] = {
		/* sender's observation always counts */
		{ { "198.18.1.1", "198.18.1.4", 1, 4, 1, NULL, 0, FLOW_DIR_INGRESS, FLOW_SCOPE_REMOTE },
		  true, true, true, OBS_SRC },
		/* receiver's observation: a duplicate when the sender is metered */
		{ { "198.18.1.1", "198.18.1.4", 1, 4, 4, NULL, 0, FLOW_DIR_EGRESS, FLOW_SCOPE_REMOTE },
		  true, true, false, OBS_DST },
		{ { "198.18.1.1", "198.18.1.4", 1, 4, 4, NULL, 0, FLOW_DIR_EGRESS, FLOW_SCOPE_REMOTE },
		  false, true, true, OBS_DST },
		/* from the outside to a VM: the receiver's record counts */
		{ { "198.19.200.1", "198.18.1.4", 0x99, 4, 4, NULL, 0, FLOW_DIR_EGRESS, FLOW_SCOPE_REMOTE },
		  true, true, true, OBS_DST },
		/* same host: one record, at the sender */
		{ { "198.18.1.1", "198.18.1.2", 1, 2, 1, NULL, 2, FLOW_DIR_INGRESS, FLOW_SCOPE_LOCAL },
		  true, true, true, OBS_SRC },
		/* a router's record next to agents */
		{ { "198.18.1.1", "198.19.200.1", 1, 0x99, 0, NULL, 0, FLOW_DIR_UNKNOWN, 0 },
		  true, false, false, OBS_NONE },
		{ { "198.19.200.1", "198.18.1.4", 0, 0, 0, NULL, 0, FLOW_DIR_UNKNOWN, 0 },
		  false, true, false, OBS_NONE },
		{ { "198.18.1.1", "198.18.1.4", 1, 4, 0, NULL, 0, FLOW_DIR_UNKNOWN, 0 },
		  false, false, true, OBS_NONE },
		{ { "198.19.200.1", "198.19.200.2", 0, 0, 0, NULL, 0, FLOW_DIR_UNKNOWN, 0 },
		  true, true, true, OBS_NONE },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct flow_rec r;
		struct flow_attr a;
		build(&r, &cases[i].r);
		enrich_flow(s, &r, &a, NULL);
		fprintf(stderr, "  case %zu\n", i);
		CHECK_EQ(enrich_obs_side(&r, &a), cases[i].side);
		CHECK_EQ(enrich_is_primary(&r, &a, cases[i].src_metered, cases[i].dst_metered),
			 cases[i].primary);
	}
	enrich_snap_free(s);
}

static void test_snapshot_swap(void)
{
	struct enrich e;
	struct enrich_snap *a, *held;

	enrich_init(&e);
	CHECK(enrich_get(&e) == NULL);
	a = enrich_snap_new(load_inv(), NULL);
	enrich_swap(&e, a);
	held = enrich_get(&e);
	CHECK(held == a);
	CHECK_EQ(enrich_generation(&e), 1);
	/* replacing it keeps the held reference valid until put */
	enrich_swap(&e, enrich_snap_new(inv_new(4), NULL));
	uint8_t u[16];
	uuid_n(u, 4);
	CHECK(enrich_by_uuid(held, u) != NULL);
	CHECK_STR(enrich_by_uuid(held, u)->name, "vm4");
	enrich_put(&e, held);
	held = enrich_get(&e);
	CHECK(enrich_by_uuid(held, u) == NULL);
	enrich_put(&e, held);
	enrich_destroy(&e);
}

static void test_domain_macs(void)
{
	static const struct {
		const char *xml;
		size_t want;
		const char *first;
	} cases[] = {
		/* the lab's test-driver node, two interfaces */
		{ "<domain type='test'><name>vm1</name><devices>"
		  "<interface type='bridge'><mac address='52:54:00:18:00:01'/><source bridge='br0'/>"
		  "<target dev='vp-vm1'/></interface>"
		  "<interface type='network'>\n  <mac address=\"52:54:00:18:01:01\"/>\n</interface>"
		  "</devices></domain>", 2, "52:54:00:18:00:01" },
		/* no interface, a <mac> elsewhere is not a NIC */
		{ "<domain><mac address='52:54:00:00:00:09'/></domain>", 0, NULL },
		/* a bad MAC is skipped, the next interface counts */
		{ "<interface><mac address='zz'/></interface><interface><mac address='02:00:00:00:00:01'/>"
		  "</interface>", 1, "02:00:00:00:00:01" },
		/* truncated in the middle of the attribute: nothing read past the end */
		{ "<interface><mac address='52:54:00:18:0", 0, NULL },
		{ "<interface><mac address=", 0, NULL },
		{ "<interface><mac address=52:54:00:18:00:01/></interface>", 0, NULL },
		{ "", 0, NULL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t macs[4][6];
		char b[VT_MACSTRLEN];
		size_t n = inv_domain_macs(cases[i].xml, strlen(cases[i].xml), macs, 4);
		CHECK_EQ(n, cases[i].want);
		if (n && cases[i].first)
			CHECK_STR(mac_fmt(macs[0], b, sizeof(b)), cases[i].first);
	}
	/* the bound */
	const char *two = "<interface><mac address='02:00:00:00:00:01'/></interface>"
			  "<interface><mac address='02:00:00:00:00:02'/></interface>";
	uint8_t one[1][6];
	CHECK_EQ(inv_domain_macs(two, strlen(two), one, 1), 1);
}

/* Merging VMs two sources describe (a file and libvirt): by UUID, else by
 * name; a name learned by a merge is found by later name-only entries.
 * Then the scale the product is sized for (100,000 VMs, max_vms' default):
 * loading must be linear, not a scan of every VM per VM (that took minutes
 * and stalled the API loop at every inventory reload). */
static void test_inventory_merge_scale(void)
{
	struct inventory *inv = inv_new(200000);
	struct inv_vm v;
	const struct inv_vm *d;

	/* uuid 1 without a name; then a name-only "x"; then uuid 1 named "x":
	 * merged into the first (by UUID), which now answers to "x" first */
	memset(&v, 0, sizeof(v));
	uuid_n(v.uuid, 1);
	v.mac[0][5] = 1;
	v.nmac = 1;
	CHECK_EQ(inv_add_vm(inv, &v), 0);
	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "x");
	CHECK_EQ(inv_add_vm(inv, &v), 0);
	CHECK_EQ(inv_count(inv), 2);
	memset(&v, 0, sizeof(v));
	uuid_n(v.uuid, 1);
	snprintf(v.name, sizeof(v.name), "x");
	v.mac[0][5] = 2;
	v.nmac = 1;
	CHECK_EQ(inv_add_vm(inv, &v), 0);
	CHECK_EQ(inv_count(inv), 2);
	d = inv_vm_at(inv, 0);
	CHECK_STR(d->name, "x");
	CHECK_EQ(d->nmac, 2);
	/* a name-only entry "x" goes to the first VM named "x" (index 0) */
	memset(&v, 0, sizeof(v));
	snprintf(v.name, sizeof(v.name), "x");
	v.mac[0][5] = 3;
	v.nmac = 1;
	CHECK_EQ(inv_add_vm(inv, &v), 0);
	CHECK_EQ(inv_count(inv), 2);
	CHECK_EQ(inv_vm_at(inv, 0)->nmac, 3);
	CHECK_EQ(inv_vm_at(inv, 1)->nmac, 0);
	/* a UUID seen before merges even under another name */
	memset(&v, 0, sizeof(v));
	uuid_n(v.uuid, 1);
	snprintf(v.name, sizeof(v.name), "other");
	CHECK_EQ(inv_add_vm(inv, &v), 0);
	CHECK_EQ(inv_count(inv), 2);
	inv_free(inv);

	inv = inv_new(200000);
	uint64_t t0 = mono_ms();
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < 100000; i++) {
			memset(&v, 0, sizeof(v));
			snprintf(v.name, sizeof(v.name), "vm-%u", i);
			if (pass == 0) {
				v.uuid[0] = 0x42;
				st_be32(v.uuid + 12, i);
			}
			v.mac[0][0] = 0x52;
			st_be32(v.mac[0] + 2, i + (uint32_t)pass * 1000000);
			v.nmac = 1;
			CHECK_EQ(inv_add_vm(inv, &v), 0);
		}
	uint64_t ms = mono_ms() - t0;
	CHECK_EQ(inv_count(inv), 100000);
	CHECK_EQ(inv_vm_at(inv, 99999)->nmac, 2);
	/* linear: well under a second even with ASan on a busy machine; the
	 * quadratic merge took over a minute */
	CHECK(ms < 10000);
	inv_free(inv);
}

VT_TEST_MAIN(VT_T(test_inventory_parse), VT_T(test_domain_macs), VT_T(test_inventory_errors), VT_T(test_zones_errors),
	     VT_T(test_attribution), VT_T(test_zones_no_inventory), VT_T(test_plain),
	     VT_T(test_primary), VT_T(test_snapshot_swap),
	     VT_T(test_inventory_merge_scale))
