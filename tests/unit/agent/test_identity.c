/* Unit tests: src/agent/identity — alias format, inventory JSON, libvirt
 * domain XML, the resolution order, libvirt's test driver, and the
 * identity thread noticing a rewritten inventory. */
#include "agent/identity.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "core/compiler.h"
#include "core/timeutil.h"
#include "flow/addr.h"
#include "vt_test.h"

static void test_alias(void)
{
	static const struct {
		const char *alias;
		int rc;
		const char *name;
		const char *uuid;     /* NULL: nil */
		const char *msg;      /* part of the error */
	} cases[] = {
		{ "vm=web1 uuid=6d83961b-95c8-431f-aeb3-2910bf2324ef", 0, "web1",
		  "6d83961b-95c8-431f-aeb3-2910bf2324ef", NULL },
		{ "uuid=6d83961b-95c8-431f-aeb3-2910bf2324ef vm=web1", 0, "web1",
		  "6d83961b-95c8-431f-aeb3-2910bf2324ef", NULL },
		{ "  name=db   ", 0, "db", NULL, NULL },
		{ "vm=\"my vm\" role=web", 0, "my vm", NULL, NULL },
		{ "uuid=6d83961b-95c8-431f-aeb3-2910bf2324ef", 0, "",
		  "6d83961b-95c8-431f-aeb3-2910bf2324ef", NULL },
		{ "uplink to the fabric", -ENOENT, "", NULL, NULL },
		{ "role=web rack=4", -ENOENT, "", NULL, NULL },
		{ "", -ENOENT, "", NULL, NULL },
		{ "vm=", -EINVAL, "", NULL, "VM name must be" },
		{ "vm=\"open", -EINVAL, "", NULL, "unterminated quote" },
		{ "vm=a uuid=nope", -EINVAL, "", NULL, "'nope' is not a UUID" },
		{ "uuid=00000000-0000-0000-0000-000000000000", -EINVAL, "", NULL, "is not a UUID" },
		{ "vm=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -EINVAL, "",
		  NULL, "1-63 bytes" },
		{ "vm=a\tb", 0, "a", NULL, NULL },   /* a tab ends the value */
		{ "vm=\"a\x01\"", -EINVAL, "", NULL, "control character" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct id_entry e;
		struct vt_err err = { 0 };
		int rc = id_parse_alias(cases[i].alias, &e, &err);
		uint8_t want[16] = { 0 };

		if (rc != cases[i].rc) {
			fprintf(stderr, "  alias '%s': rc %d want %d (%s)\n", cases[i].alias, rc,
				cases[i].rc, err.msg);
			vt_test_failures++;
			continue;
		}
		if (rc == 0) {
			CHECK_STR(e.name, cases[i].name);
			if (cases[i].uuid)
				uuid_parse(cases[i].uuid, want);
			CHECK_MEM(e.uuid, want, 16);
		}
		if (cases[i].msg)
			CHECK_CONTAINS(err.msg, cases[i].msg);
	}
}

static const char inventory_ok[] =
	"{\"prefix\":\"vt\",\"hosts\":[{\"name\":\"h1\"}],\"vms\":["
	"{\"name\":\"vm1\",\"id\":1,\"uuid\":\"6d83961b-95c8-431f-aeb3-2910bf2324ef\","
	"\"mac\":\"52:54:00:18:00:01\",\"ipv4\":\"198.18.1.1\",\"host\":\"h1\","
	"\"namespace\":\"vt-vm1\",\"interface\":\"eth0\",\"port\":\"vp-vm1\",\"port_type\":\"veth\"},"
	"{\"name\":\"vm3\",\"uuid\":\"0b7b3a51-1d2e-4f00-9c1a-5c1d7a9e0003\","
	"\"mac\":\"52:54:00:18:00:03\",\"host\":\"h1\",\"port\":\"tp-vm3\",\"port_type\":\"tap\"},"
	"{\"name\":\"macsonly\",\"mac\":\"52:54:00:aa:00:01\"}]}";

static void test_inventory_parse(void)
{
	struct id_set s;
	struct vt_err err = { 0 };
	uint8_t u[16];

	id_set_init(&s, 0);
	CHECK_EQ(id_parse_inventory(inventory_ok, strlen(inventory_ok), &s, &err), 0);
	CHECK_EQ(s.n, 3);
	if (s.n == 3) {
		CHECK_STR(s.v[0].name, "vm1");
		CHECK_STR(s.v[0].port, "vp-vm1");
		CHECK_STR(s.v[0].host, "h1");
		CHECK(s.v[0].has_mac);
		CHECK_EQ(s.v[0].mac[5], 1);
		uuid_parse("6d83961b-95c8-431f-aeb3-2910bf2324ef", u);
		CHECK_MEM(s.v[0].uuid, u, 16);
		CHECK_STR(s.v[1].port, "tp-vm3");
		CHECK_STR(s.v[2].port, "");
		CHECK(uuid_is_nil(s.v[2].uuid));
	}
	id_set_free(&s);

	static const struct {
		const char *doc;
		const char *msg;
	} bad[] = {
		{ "[]", "not a JSON object" },
		{ "{}", "no \"vms\" array" },
		{ "{\"vms\":{}}", "no \"vms\" array" },
		{ "{\"vms\":[1]}", "vms[0]: not an object" },
		{ "{\"vms\":[{\"name\":\"a\",\"port\":\"p\"},{\"name\":\"b\",\"uuid\":\"x\",\"port\":\"q\"}]}",
		  "vms[1].uuid: 'x' is not a UUID" },
		{ "{\"vms\":[{\"name\":\"a\",\"mac\":\"01:00:5e:00:00:01\"}]}", "vms[0].mac" },
		{ "{\"vms\":[{\"name\":\"a\",\"mac\":7}]}", "vms[0].mac: not a string" },
		{ "{\"vms\":[{\"name\":\"a\",\"port\":\"a-very-long-port-name\"}]}", "vms[0].port: longer" },
		{ "{\"vms\":[{\"port\":\"p\"}]}", "neither \"name\" nor \"uuid\"" },
		{ "{\"vms\":[{\"name\":\"a\"}]}", "neither \"mac\" nor \"port\"" },
		{ "{\"vms\":[{\"name\":\"a\\u0000b\",\"port\":\"p\"}]}", "holds a NUL" },
		{ "{\"vms\":[", "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vt_err e = { 0 };
		id_set_init(&s, 0);
		if (id_parse_inventory(bad[i].doc, strlen(bad[i].doc), &s, &e) >= 0) {
			fprintf(stderr, "  inventory %s: accepted\n", bad[i].doc);
			vt_test_failures++;
		}
		CHECK(e.msg[0] != '\0');
		CHECK_CONTAINS(e.msg, bad[i].msg);
		id_set_free(&s);
	}
	/* the bound on entries is enforced, with a message */
	id_set_init(&s, 2);
	CHECK(id_parse_inventory(inventory_ok, strlen(inventory_ok), &s, &err) == -ENOSPC);
	CHECK_CONTAINS(err.msg, "more than 2 VMs");
	id_set_free(&s);
}

static const char domxml[] =
	"<domain type='test' id='1'>\n"
	"  <name>web&amp;1</name>\n"
	"  <uuid>6d83961b-95c8-431f-aeb3-2910bf2324ef</uuid>\n"
	"  <devices>\n"
	"    <disk type='file'/>\n"
	"    <interface type='bridge'>\n"
	"      <mac address='52:54:00:18:00:01'/>\n"
	"      <source bridge='br0'/>\n"
	"      <target dev='vp-vm1'/>\n"
	"    </interface>\n"
	"    <interface type='network'>\n"
	"      <mac address='52:54:00:18:00:11'/>\n"
	"    </interface>\n"
	"    <interface type='bridge'><target dev='thisnameiswaytoolongforlinux'/></interface>\n"
	"  </devices>\n"
	"</domain>\n";

static void test_domain_xml(void)
{
#ifdef HAVE_LIBVIRT
	struct id_set s;
	struct vt_err err = { 0 };

	id_set_init(&s, 0);
	CHECK_EQ(id_parse_domain_xml(domxml, strlen(domxml), &s, &err), 0);
	CHECK_EQ(s.n, 2);   /* the third interface has nothing to match it by */
	if (s.n == 2) {
		CHECK_STR(s.v[0].name, "web&1");
		CHECK_STR(s.v[0].port, "vp-vm1");
		CHECK(s.v[0].has_mac);
		CHECK_STR(s.v[1].port, "");
		CHECK_EQ(s.v[1].mac[5], 0x11);
		CHECK_MEM(s.v[0].uuid, s.v[1].uuid, 16);
	}
	id_set_free(&s);

	static const struct {
		const char *doc;
		const char *msg;
	} bad[] = {
		{ "not xml", "not well-formed" },
		{ "<node><domain/></node>", "root element is not <domain>" },
		{ "<domain><uuid>6d83961b-95c8-431f-aeb3-2910bf2324ef</uuid></domain>", "<name>" },
		{ "<domain><name>a</name><uuid>zz</uuid></domain>", "invalid <uuid>" },
		/* an external entity is never fetched nor expanded */
		{ "<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/hostname'>]>"
		  "<domain><name>&x;</name><uuid>6d83961b-95c8-431f-aeb3-2910bf2324ef</uuid></domain>",
		  "<name>" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vt_err e = { 0 };
		id_set_init(&s, 0);
		CHECK(id_parse_domain_xml(bad[i].doc, strlen(bad[i].doc), &s, &e) < 0);
		CHECK_CONTAINS(e.msg, bad[i].msg);
		CHECK_EQ(s.n, 0);
		id_set_free(&s);
	}
#endif
}

/* The resolution order: libvirt, then the inventory, then the alias. */
static void test_resolve_order(void)
{
	struct id_set lv, inv;
	struct id_entry e;
	static const uint8_t mac1[6] = { 0x52, 0x54, 0, 0x18, 0, 1 };
	static const uint8_t mac2[6] = { 0x52, 0x54, 0, 0x18, 0, 2 };
	static const uint8_t mac3[6] = { 0x52, 0x54, 0, 0x18, 0, 3 };
	static const uint8_t tap3[6] = { 0xfe, 0x54, 0, 0x18, 0, 3 };
	static const uint8_t other[6] = { 0x02, 0x42, 0, 0, 0, 9 };

	id_set_init(&lv, 0);
	id_set_init(&inv, 0);
	e = (struct id_entry){ .name = "lv-vm1", .port = "vp-vm1", .has_mac = true };
	memcpy(e.mac, mac1, 6);
	e.uuid[15] = 1;
	id_set_add(&lv, &e);
	e = (struct id_entry){ .name = "lv-vm3", .port = "", .has_mac = true };
	memcpy(e.mac, mac3, 6);
	e.uuid[15] = 3;
	id_set_add(&lv, &e);
	e = (struct id_entry){ .name = "inv-vm1", .port = "vp-vm1" };
	e.uuid[15] = 0x11;
	id_set_add(&inv, &e);
	e = (struct id_entry){ .name = "inv-vm2", .port = "vp-other", .has_mac = true };
	memcpy(e.mac, mac2, 6);
	e.uuid[15] = 0x12;
	id_set_add(&inv, &e);

	const uint8_t learned2[1][6] = { { 0x52, 0x54, 0, 0x18, 0, 2 } };
	static const struct {
		const char *what;
		const char *ifname;
		const uint8_t *link_mac;
		bool learned2;
		const char *alias;
		bool have_lv, have_inv, alias_on;
		enum id_source src;
		const char *name;
	} cases[] = {
		{ "libvirt by port name beats the inventory", "vp-vm1", other, false, "vm=al", true, true, true, ID_SRC_LIBVIRT, "lv-vm1" },
		{ "without libvirt the inventory answers", "vp-vm1", other, false, "vm=al", false, true, true, ID_SRC_INVENTORY, "inv-vm1" },
		{ "inventory by learned MAC", "vp-vm2", other, true, NULL, true, true, true, ID_SRC_INVENTORY, "inv-vm2" },
		{ "libvirt TAP port by its fe: MAC", "vnet7", tap3, false, NULL, true, true, true, ID_SRC_LIBVIRT, "lv-vm3" },
		{ "alias when no source knows the port", "vp-x", other, false, "vm=al uuid=6d83961b-95c8-431f-aeb3-2910bf2324ef", true, true, true, ID_SRC_ALIAS, "al" },
		{ "alias ignored when off", "vp-x", other, false, "vm=al", true, true, false, ID_SRC_NONE, "" },
		{ "a malformed alias is no identity", "vp-x", other, false, "vm=al uuid=zz", true, true, true, ID_SRC_NONE, "" },
		{ "nothing matches: unknown", "vp-x", other, false, NULL, true, true, true, ID_SRC_NONE, "" },
		{ "no link MAC, no learned MACs", "vp-y", NULL, false, NULL, true, true, true, ID_SRC_NONE, "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct id_sources s = { cases[i].have_lv ? &lv : NULL, cases[i].have_inv ? &inv : NULL,
					cases[i].alias_on };
		struct id_port p = { cases[i].ifname, cases[i].link_mac,
				     cases[i].learned2 ? learned2 : NULL, cases[i].learned2 ? 1u : 0u,
				     cases[i].alias };
		struct id_entry out;
		enum id_source got = id_resolve(&s, &p, &out);
		if (got != cases[i].src || strcmp(out.name, cases[i].name) != 0) {
			fprintf(stderr, "  %s: source %s name '%s', want %s '%s'\n", cases[i].what,
				id_source_name(got), out.name, id_source_name(cases[i].src),
				cases[i].name);
			vt_test_failures++;
		}
	}
	CHECK_STR(id_source_name(ID_SRC_NONE), "unknown");
	CHECK_STR(id_source_name(ID_SRC_INVENTORY), "inventory");
	id_set_free(&lv);
	id_set_free(&inv);
}

static const char node_xml[] =
	"<?xml version='1.0'?>\n<node>\n"
	"  <domain type='test'><name>vm1</name><uuid>6d83961b-95c8-431f-aeb3-2910bf2324ef</uuid>\n"
	"    <memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>\n"
	"    <devices><interface type='bridge'><mac address='52:54:00:18:00:01'/>\n"
	"      <source bridge='br0'/><target dev='vp-vm1'/><model type='virtio'/></interface>\n"
	"    </devices></domain>\n"
	"  <domain type='test'><name>vm2</name><uuid>6d83961b-95c8-431f-aeb3-2910bf2324e2</uuid>\n"
	"    <memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os>\n"
	"    <devices><interface type='bridge'><mac address='52:54:00:18:00:02'/>\n"
	"      <source bridge='br0'/><target dev='vnet3'/></interface>\n"
	"    </devices></domain>\n"
	"</node>\n";

static int write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	if (!fp)
		return -1;
	fputs(text, fp);
	return fclose(fp);
}

static void test_libvirt_test_driver(void)
{
#ifdef HAVE_LIBVIRT
	char dir[] = "/tmp/vtap-id.XXXXXX", path[256], uri[300];
	struct id_set s;
	struct vt_err err = { 0 };

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/node.xml", dir);
	snprintf(uri, sizeof(uri), "test://%s", path);
	CHECK_EQ(write_file(path, node_xml), 0);
	CHECK_STR(id_libvirt_file(uri), path);
	CHECK(id_libvirt_file("test:///default") == NULL);
	CHECK(id_libvirt_file("qemu:///system") == NULL);
	id_set_init(&s, 0);
	CHECK_EQ(id_load_libvirt(uri, &s, &err), 0);
	CHECK_EQ(s.n, 2);
	for (size_t i = 0; i < s.n; i++) {
		if (strcmp(s.v[i].name, "vm1") == 0) {
			CHECK_STR(s.v[i].port, "vp-vm1");
		} else {
			CHECK_STR(s.v[i].name, "vm2");
			/* libvirt drops "vnet" names: the MAC must carry the match */
			CHECK(strcmp(s.v[i].port, "vnet3") != 0);
			CHECK(s.v[i].has_mac && s.v[i].mac[5] == 2);
		}
	}
	id_set_free(&s);
	/* a URI that cannot be opened: an error that says which */
	id_set_init(&s, 0);
	CHECK(id_load_libvirt("test:///nonexistent/node.xml", &s, &err) < 0);
	CHECK_CONTAINS(err.msg, "test:///nonexistent/node.xml");
	id_set_free(&s);
	unlink(path);
	rmdir(dir);
#endif
}

struct cbstate {
	struct evloop *ev;
	int calls;
};

static void on_identity(void *arg)
{
	struct cbstate *c = arg;
	c->calls++;
	ev_stop(c->ev);
}

static bool run_until_cb(struct evloop *ev, struct cbstate *c, int want, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;
	while (c->calls < want && mono_ms() < end)
		ev_run_once(ev, 50);
	return c->calls >= want;
}

static void test_identity_thread(void)
{
	char dir[] = "/tmp/vtap-idt.XXXXXX", path[256];
	struct evloop *ev = ev_new(16);
	struct cbstate c = { ev, 0 };
	struct vt_err err = { 0 };
	struct identity *id;
	const struct id_sources *s;
	static const char inv2[] = "{\"vms\":[{\"name\":\"moved\",\"port\":\"vp-vm9\"}]}";

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/inventory.json", dir);
	CHECK_EQ(write_file(path, inventory_ok), 0);
	struct identity_cfg cfg = { .inventory = path, .alias = true, .refresh_ms = 0,
				    .watch_ms = 50, .debounce_ms = 20 };
	id = identity_new(ev, &cfg, on_identity, &c, &err);
	CHECK(id != NULL);
	if (!id)
		goto out;
	CHECK(run_until_cb(ev, &c, 1, 5000));
	s = identity_sources(id);
	CHECK(s->libvirt == NULL);
	CHECK(s->inventory != NULL && s->inventory->n == 3);
	/* a rewritten file is noticed by the watch and reloaded */
	usleep(20000);
	CHECK_EQ(write_file(path, inv2), 0);
	CHECK(run_until_cb(ev, &c, 2, 5000));
	s = identity_sources(id);
	CHECK(s->inventory != NULL && s->inventory->n == 1);
	/* a broken file keeps the previous snapshot and reports the error */
	CHECK_EQ(write_file(path, "{\"vms\":[{]}"), 0);
	identity_refresh(id, true);
	CHECK(run_until_cb(ev, &c, 3, 5000));
	s = identity_sources(id);
	CHECK(s->inventory != NULL && s->inventory->n == 1);
	{
		struct vbuf b;
		struct jw w;
		vbuf_init(&b, 1 << 16);
		jw_init(&w, &b, false);
		jw_obj_open(&w, NULL);
		identity_status_json(id, &w);
		jw_obj_close(&w);
		CHECK_CONTAINS(vbuf_str(&b), "\"errors\":1");
		CHECK_CONTAINS(vbuf_str(&b), "\"entries\":1");
		CHECK_CONTAINS(vbuf_str(&b), "\"last_error\":\"");
		vbuf_free(&b);
	}
	/* debounced requests coalesce into one load */
	CHECK_EQ(write_file(path, inventory_ok), 0);
	uint64_t before = identity_loads(id);
	identity_refresh(id, false);
	identity_refresh(id, false);
	identity_refresh(id, false);
	CHECK(run_until_cb(ev, &c, 4, 5000));
	CHECK(identity_loads(id) >= before + 1);
	identity_free(id);
out:
	ev_free(ev);
	unlink(path);
	rmdir(dir);
}

VT_TEST_MAIN(VT_T(test_alias), VT_T(test_inventory_parse), VT_T(test_domain_xml),
	     VT_T(test_resolve_order), VT_T(test_libvirt_test_driver), VT_T(test_identity_thread))
