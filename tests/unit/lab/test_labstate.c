/* Unit tests: lab/labstate — names, addresses, the inventory document and
 * the libvirt node XML, prefixes and option errors. */
#include "lab/labstate.h"

#include <errno.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/json.h"
#include "vt_test.h"

static void t_prefix_and_roles(void)
{
	static const struct { const char *p; bool ok; } prefixes[] = {
		{ "vt", true }, { "t12345", true }, { "abcdefghijkl", true },
		{ "abcdefghijklm", false }, { "", false }, { "1lab", false }, { "lab-2", false },
		{ "Lab", false }, { "a.b", false }, { "a/b", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		vt_test_case = prefixes[i].p;
		CHECK_EQ(lab_prefix_ok(prefixes[i].p), prefixes[i].ok);
	}
	static const struct { const char *r; bool ok; } roles[] = {
		{ "fabric", true }, { "ext", true }, { "mgmt", true }, { "analyzer", true },
		{ "h1", true }, { "h32", true }, { "vm200", true }, { "vm0", false }, { "h01", false },
		{ "vm", false }, { "vmx", false }, { "vm1a", false }, { "host1", false },
		{ "h12345", false }, { "", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(roles); i++) {
		vt_test_case = roles[i].r;
		CHECK_EQ(lab_ns_role_ok(roles[i].r), roles[i].ok);
	}
	vt_test_case = "t_prefix_and_roles";
}

static void t_init(void)
{
	static struct lab lab;
	struct vt_err err = { 0 };
	char s[64];

	CHECK_EQ(lab_init(&lab, "vt", 2, 3, NULL, &err), 0);
	CHECK_EQ(lab.nvms, 6);
	static const struct {
		unsigned i, host;
		const char *name, *mac, *ip4, *ip6, *port;
		enum lab_port_type type;
	} vms[] = {
		{ 0, 1, "vm1", "52:54:00:18:00:01", "198.18.1.1", "2001:db8:18::1:1", "vp-vm1", LAB_PORT_VETH },
		{ 2, 1, "vm3", "52:54:00:18:00:03", "198.18.1.3", "2001:db8:18::1:3", "tp-vm3", LAB_PORT_TAP },
		{ 3, 2, "vm4", "52:54:00:18:00:04", "198.18.1.4", "2001:db8:18::1:4", "vp-vm4", LAB_PORT_VETH },
		{ 5, 2, "vm6", "52:54:00:18:00:06", "198.18.1.6", "2001:db8:18::1:6", "vp-vm6", LAB_PORT_VETH },
	};
	for (size_t k = 0; k < ARRAY_SIZE(vms); k++) {
		const struct lab_vm *vm = &lab.vms[vms[k].i];
		vt_test_case = vms[k].name;
		CHECK_STR(vm->name, vms[k].name);
		CHECK_EQ(vm->host, vms[k].host);
		CHECK_STR(mac_fmt(vm->mac, s, sizeof(s)), vms[k].mac);
		CHECK_STR(addr_fmt(&vm->ip4, s, sizeof(s)), vms[k].ip4);
		CHECK_STR(addr_fmt(&vm->ip6, s, sizeof(s)), vms[k].ip6);
		CHECK_STR(vm->port, vms[k].port);
		CHECK_EQ(vm->port_type, vms[k].type);
		CHECK_EQ(vm->uuid[6] >> 4, 4);          /* version 4 */
		CHECK_EQ(vm->uuid[8] >> 6, 2);          /* RFC 4122 variant */
	}
	vt_test_case = "t_init";
	CHECK(memcmp(lab.vms[0].uuid, lab.vms[1].uuid, 16) != 0);
	/* lookups */
	CHECK(lab_vm_find(&lab, "vm5") == &lab.vms[4]);
	CHECK(lab_vm_find(&lab, "vt-vm5") == &lab.vms[4]);
	CHECK(lab_vm_find(&lab, "vm7") == NULL);
	CHECK(lab_vm_find(&lab, "vm05") == NULL);
	CHECK_EQ(lab_host_parse(&lab, "h2"), 2);
	CHECK_EQ(lab_host_parse(&lab, "vt-h1"), 1);
	CHECK_EQ(lab_host_parse(&lab, "h3"), -EINVAL);
	lab_host_mgmt_ip(2, s, sizeof(s));
	CHECK_STR(s, "198.19.0.12");
	/* --tap-vms */
	CHECK_EQ(lab_init(&lab, "vt", 2, 3, "vm1,vm5", &err), 0);
	CHECK_EQ(lab.vms[0].port_type, LAB_PORT_TAP);
	CHECK_EQ(lab.vms[2].port_type, LAB_PORT_VETH);
	CHECK_EQ(lab.vms[4].port_type, LAB_PORT_TAP);
	CHECK_STR(lab.vms[4].port, "tp-vm5");
	CHECK_EQ(lab_init(&lab, "vt", 2, 3, "none", &err), 0);
	for (unsigned i = 0; i < lab.nvms; i++)
		CHECK_EQ(lab.vms[i].port_type, LAB_PORT_VETH);
}

static void t_init_errors(void)
{
	static struct lab lab;
	static const struct {
		const char *prefix;
		unsigned hosts, per;
		const char *tap;
		const char *msg;
	} cases[] = {
		{ "Bad", 2, 3, NULL, "option --prefix: 'Bad' must be" },
		{ "vt", 0, 3, NULL, "option --hosts: 0 is out of range [1, 32]" },
		{ "vt", 33, 1, NULL, "option --hosts: 33 is out of range" },
		{ "vt", 3, 67, NULL, "option --vms-per-host: 67 x 3 hosts is more than 200 VMs" },
		{ "vt", 2, 3, "vm7", "option --tap-vms: 'vm7' is not a VM of this lab (vm1..vm6)" },
		{ "vt", 2, 3, "vm1,,x", "option --tap-vms: 'x' is not a VM" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vt_err err = { 0 };
		vt_test_case = cases[i].msg;
		CHECK_EQ(lab_init(&lab, cases[i].prefix, cases[i].hosts, cases[i].per, cases[i].tap, &err),
			 -EINVAL);
		CHECK_CONTAINS(err.msg, cases[i].msg);
	}
	vt_test_case = "t_init_errors";
}

static void t_documents(void)
{
	static struct lab lab;
	struct vt_err err = { 0 };
	struct vbuf b;
	struct json_val *v;
	char uuid[VT_UUIDSTRLEN];

	CHECK_EQ(lab_init(&lab, "t7", 2, 2, NULL, &err), 0);
	lab.vms[1].host = 2; /* as after a migration of vm2 */
	vbuf_init(&b, 1 << 20);
	CHECK_EQ(lab_inventory_json(&lab, &b, false), 0);
	v = json_parse((const char *)b.data, b.len, 10000, &err);
	CHECK(v != NULL);
	if (v) {
		const struct json_val *vms = json_get(v, "vms"), *hosts = json_get(v, "hosts");
		CHECK_EQ(json_len(vms), 4);
		CHECK_EQ(json_len(hosts), 2);
		CHECK_STR(json_get_str(json_at(vms, 1), "host"), "h2");
		CHECK_STR(json_get_str(json_at(vms, 1), "port_type"), "tap");
		CHECK_STR(json_get_str(json_at(vms, 1), "namespace"), "t7-vm2");
		CHECK_STR(json_get_str(json_at(vms, 1), "uuid"),
			  uuid_fmt(lab.vms[1].uuid, uuid, sizeof(uuid)));
		CHECK_STR(json_get_str(json_at(hosts, 1), "libvirt_uri"),
			  "test:///run/vtap/lab/t7/h2.xml");
		CHECK_STR(json_get_str(json_at(hosts, 1), "mgmt_ip"), "198.19.0.12");
		CHECK_EQ(json_len(json_get(json_at(hosts, 0), "vms")), 1);
		CHECK_EQ(json_len(json_get(json_at(hosts, 1), "vms")), 3);
		CHECK_STR(json_get_str(json_get(v, "analyzer"), "ipv4"), "198.19.0.254");
		json_free(v);
	}
	vbuf_reset(&b);
	CHECK_EQ(lab_host_xml(&lab, 2, &b), 0);
	CHECK_CONTAINS(vbuf_str(&b), "<name>vm2</name>");
	CHECK_CONTAINS(vbuf_str(&b), "<target dev='tp-vm2'/>");
	CHECK_CONTAINS(vbuf_str(&b), "<mac address='52:54:00:18:00:02'/>");
	CHECK_CONTAINS(vbuf_str(&b), "<source bridge='br0'/>");
	CHECK_CONTAINS(vbuf_str(&b), uuid_fmt(lab.vms[1].uuid, uuid, sizeof(uuid)));
	CHECK(strstr(vbuf_str(&b), "<name>vm1</name>") == NULL);
	vbuf_reset(&b);
	CHECK_EQ(lab_host_xml(&lab, 1, &b), 0);
	CHECK_CONTAINS(vbuf_str(&b), "<name>vm1</name>");
	CHECK(strstr(vbuf_str(&b), "<name>vm2</name>") == NULL);
	vbuf_free(&b);
}

VT_TEST_MAIN(VT_T(t_prefix_and_roles), VT_T(t_init), VT_T(t_init_errors), VT_T(t_documents))
