/* Unit tests: src/agent/agent_conf — the agent's config keys: defaults,
 * list keys, and an error for every kind of bad value that names the file,
 * the line and the key. */
#include "agent/agent.h"

#include <stdio.h>
#include <unistd.h>

#include "agent/ports.h"
#include "core/compiler.h"
#include "vt_test.h"

static char path[64];

static int load_text(const char *text, const struct opt_strlist *set, struct agent_conf *c,
		     struct vt_err *err)
{
	FILE *fp = fopen(path, "w");

	if (!fp)
		return -1;
	fputs(text, fp);
	fclose(fp);
	return agent_conf_load(path, set, c, err);
}

static void test_defaults(void)
{
	struct agent_conf c;
	struct vt_err err = { 0 };

	CHECK_EQ(load_text("[ports]\nbridge = br0, br1\nexclude = up*, eth*\n", NULL, &c, &err), 0);
	CHECK_EQ(c.ports.bridges.n, 2);
	CHECK_STR(c.ports.bridges.v[1], "br1");
	CHECK_EQ(c.ports.exclude.n, 2);
	CHECK_STR(c.ports.exclude.v[0], "up*");
	CHECK_EQ(c.ports.kinds, PORT_KIND_VETH | PORT_KIND_TAP);
	CHECK_EQ(c.ports.max_ports, 4096);
	CHECK_STR(c.identity.libvirt, "qemu:///system");
	CHECK(c.identity.inventory == NULL);
	CHECK(c.identity.alias);
	CHECK_EQ(c.meter.idle_ms, 15000);
	CHECK_EQ(c.meter.active_ms, 60000);
	CHECK_EQ(c.meter.fin_ms, 2000);
	CHECK_EQ(c.export.collectors.n, 0);
	CHECK_EQ(c.export.flush_ms, 500);
	CHECK_EQ(c.capture.snaplen, 256);
	CHECK_EQ(c.capture.ring_size, 4u << 20);
	CHECK(!c.tap.enable);
	CHECK_EQ(c.tap.backend, 0);
	CHECK_STR(c.tap.vxlan_device, "vtapvx0");
	CHECK_EQ(c.tap.vxlan_port, 4789);
	CHECK_EQ(c.tap.ring_size, 16u << 20);
	CHECK_STR(c.tap.state, "/var/lib/vtap/tap-sessions.json");
	CHECK_EQ(c.control.listen.n, 1);
	CHECK_STR(c.control.listen.a[0].spec, "unix:" AGENT_DEFAULT_SOCKET);
	agent_conf_free(&c);

	/* a full file, and overrides on top */
	struct opt_strlist set = { { "export.format=nfv9", "ports.interface=eth9", "agent.threads=2" }, 3 };
	CHECK_EQ(load_text("[agent]\nname = h1\n[ports]\nbridge = br0\nkinds = veth\n"
			   "[identity]\nlibvirt = \"\"\ninventory = /run/inv.json\nalias = no\n"
			   "[export]\ncollector = udp://198.19.0.250:4739, udp://[2001:db8::1]:2055\n"
			   "domain = 7\n[control]\nlisten = unix:/tmp/a.sock, 127.0.0.1:0\n",
			   &set, &c, &err), 0);
	CHECK_STR(c.agent.name, "h1");
	CHECK_EQ(c.agent.threads, 2);
	CHECK_EQ(c.ports.kinds, PORT_KIND_VETH);
	CHECK_EQ(c.ports.interfaces.n, 1);
	CHECK_STR(c.identity.libvirt, "");
	CHECK_STR(c.identity.inventory, "/run/inv.json");
	CHECK(!c.identity.alias);
	CHECK_EQ(c.export.collectors.n, 2);
	CHECK_STR(c.export.collectors.v[1], "udp://[2001:db8::1]:2055");
	CHECK_EQ(c.export.format, 1);
	CHECK_EQ(c.export.domain, 7);
	CHECK_EQ(c.control.listen.n, 2);
	agent_conf_free(&c);
}

static void test_errors(void)
{
	static const struct {
		const char *text;
		const char *set;       /* an override, or NULL */
		const char *msg;
	} cases[] = {
		{ "[ports]\nbridge = br0, br0\n", NULL, ":2: [ports] bridge: 'br0' is listed twice" },
		{ "[ports]\nbridge = averyveryverylongname\n", NULL,
		  ":2: [ports] bridge: 'averyveryverylongname' is not an interface name" },
		{ "[ports]\nbridge = a/b\n", NULL, "'a/b' is not an interface name" },
		{ "[ports]\nbridge = ,\n", NULL, ":2: [ports] bridge: empty list" },
		{ "[ports]\nbridge = br0\nkinds = veth, vm\n", NULL,
		  ":3: [ports] kinds: 'vm' is not a port kind (veth, tap, other)" },
		{ "[ports]\nbrige = br0\n", NULL, ":2: unknown key 'brige' in [ports] (did you mean 'bridge'?)" },
		{ "[ports]\nbridge = br0\nmax_ports = 0\n", NULL, ":3: [ports] max_ports" },
		{ "[ports]\nbridge = br0\nbridge = br1\n", NULL, ":3: [ports] bridge: already set on line 2" },
		{ "[ports]\nbridge = br0\n[export]\ncollector = http://x:1\n", NULL,
		  ":4: [export] collector: 'http://x:1': a collector is udp://HOST:PORT or tcp://HOST:PORT" },
		{ "[ports]\nbridge = br0\n[export]\ncollector = udp://h:0\n", NULL,
		  "'udp://h:0': the port must be 1-65535" },
		{ "[ports]\nbridge = br0\n[export]\ncollector = udp://h\n", NULL,
		  "'udp://h': missing HOST:PORT" },
		{ "[ports]\nbridge = br0\n[export]\ncollector = udp://[::1:4739\n", NULL,
		  "IPv6 addresses go in brackets" },
		{ "[ports]\nbridge = br0\n[export]\ncollector = tcp://h:1\nformat = nfv9\n", NULL,
		  "[export] collector: 'tcp://h:1': NetFlow v9 goes over UDP only" },
		{ "[ports]\nbridge = br0\n[meter]\nidle_timeout = 10ms\n", NULL, ":4: [meter] idle_timeout" },
		{ "[ports]\nbridge = br0\n[capture]\nsnaplen = 10\n", NULL, ":4: [capture] snaplen" },
		{ "[ports]\nbridge = br0\n[agent]\nbackend = ebpf\n", NULL, ":4: [agent] backend" },
		{ "[ports]\nbridge = br0\n[agent]\nthreads = 100\n", NULL, ":4: [agent] threads" },
		{ "[ports]\nbridge = br0\n[control]\nlisten = nowhere\n", NULL, ":4: [control] listen" },
		{ "[agent]\nname = h1\n", NULL, "no VM ports to tap: set [ports] bridge" },
		{ "[ports]\nbridge = br0\n", "meter.nokey=1", "nokey" },
		{ "[ports]\nbridge = br0\n", "ports.kinds=bogus", "'bogus' is not a port kind" },
		{ "[ports]\nbridge = br0\n[identity]\nrefresh = forever\n", NULL, ":4: [identity] refresh" },
		{ "[ports]\nbridge = br0\n[tap]\nbackend = pcap\n", NULL, ":4: [tap] backend" },
		{ "[ports]\nbridge = br0\n[tap]\nvxlan_port = 0\n", NULL, ":4: [tap] vxlan_port" },
		{ "[ports]\nbridge = br0\n[tap]\nring_size = 1K\n", NULL, ":4: [tap] ring_size" },
		{ "[ports]\nbridge = br0\n[tap]\nring_size = 3M\n", NULL,
		  "[tap] ring_size: 3145728 is not a power of 2" },
		{ "[ports]\nbridge = br0\n[tap]\nvxlan_device = a/b\n", NULL,
		  "[tap] vxlan_device: 'a/b' is not an interface name" },
		{ "[ports]\nbridge = br0\n[tap]\nvxlan_device = averyveryverylongname\n", NULL,
		  ":4: [tap] vxlan_device" },
		{ "[ports]\nbridge = br0\n", "tap.enable=maybe", "enable" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct agent_conf c;
		struct vt_err err = { 0 };
		struct opt_strlist set = { { cases[i].set }, cases[i].set ? 1u : 0u };
		int r = load_text(cases[i].text, &set, &c, &err);
		if (r >= 0 || !strstr(err.msg, cases[i].msg)) {
			fprintf(stderr, "  case %zu: rc %d, message '%s', want '%s'\n", i, r, err.msg,
				cases[i].msg);
			vt_test_failures++;
		}
		agent_conf_free(&c);
	}
}

static void test_schema(void)
{
	CHECK_STR(agent_conf_schema.name, "agent");
	CHECK_EQ(agent_conf_schema.nsecs, 8);
	CHECK_STR(agent_backends[0], "afpacket");
	CHECK_STR(agent_tap_backends[0], "ebpf");
	CHECK_STR(agent_tap_backends[1], "afpacket");
}

int main(void)
{
	static const struct vt_test_def tests[] = { VT_T(test_defaults), VT_T(test_errors),
						    VT_T(test_schema) };
	int r;

	snprintf(path, sizeof(path), "/tmp/vtap-agentconf-%d.conf", (int)getpid());
	r = vt_test_run(tests, ARRAY_SIZE(tests));
	unlink(path);
	return r;
}
