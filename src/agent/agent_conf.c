/* agent_conf.c — the agent's config file: every key with its type, bounds,
 * default and help (the table `vtap config-keys agent` prints and
 * docs/reference/agent.conf.md is generated from), and the parsers of the
 * keys that hold lists. */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/ports.h"
#include "core/compiler.h"
#include "core/log.h"
#include "core/timeutil.h"

const char *const agent_backends[] = { "afpacket", NULL };
const char *const agent_tap_backends[] = { "ebpf", "afpacket", NULL };
static const char *const log_levels[] = { "err", "warn", "info", "debug", NULL };
static const char *const formats[] = { "ipfix", "nfv9", NULL };

/* split() : calls <fn> with each comma/space separated word of <val>
 * (copied, NUL-terminated). An empty list is an error. */
static int split(const char *val, struct vt_err *err, int (*fn)(const char *w, void *f,
								  struct vt_err *e),
		 void *field)
{
	const char *p = val;
	int words = 0;

	while (*p) {
		char w[256];
		size_t n = 0;
		int r;

		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		while (*p && *p != ',' && !isspace((unsigned char)*p)) {
			if (n >= sizeof(w) - 1)
				return vt_err_set(err, -E2BIG, "'%.40s...' is too long", val);
			w[n++] = *p++;
		}
		w[n] = '\0';
		if ((r = fn(w, field, err)) < 0)
			return r;
		words++;
	}
	if (!words)
		return vt_err_set(err, -EINVAL, "empty list");
	return 0;
}

static bool ifname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IFNAMSIZ || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]) ||
		    (unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static int add_name(const char *w, void *field, struct vt_err *err)
{
	struct agent_names *l = field;

	if (!ifname_ok(w))
		return vt_err_set(err, -EINVAL, "'%s' is not an interface name (1-%d characters, "
				  "no '/', ':' or spaces)", w, IFNAMSIZ - 1);
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], w) == 0)
			return vt_err_set(err, -EINVAL, "'%s' is listed twice", w);
	if (l->n >= AGENT_LIST_MAX)
		return vt_err_set(err, -E2BIG, "more than %d names", AGENT_LIST_MAX);
	/* ifname_ok() bounded the length; the check keeps the compiler's
	 * truncation analysis honest too */
	if (snprintf(l->v[l->n], sizeof(l->v[0]), "%s", w) >= (int)sizeof(l->v[0]))
		return vt_err_set(err, -ENAMETOOLONG, "'%s' is too long", w);
	l->n++;
	return 0;
}

static int parse_names(const char *val, void *field, struct vt_err *err)
{
	struct agent_names *l = field;

	l->n = 0;
	return split(val, err, add_name, field);
}

static int add_glob(const char *w, void *field, struct vt_err *err)
{
	struct agent_globs *l = field;

	if (strlen(w) >= sizeof(l->v[0]))
		return vt_err_set(err, -E2BIG, "pattern '%s' is longer than %zu characters", w,
				  sizeof(l->v[0]) - 1);
	if (l->n >= AGENT_LIST_MAX)
		return vt_err_set(err, -E2BIG, "more than %d patterns", AGENT_LIST_MAX);
	snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", w);
	return 0;
}

static int parse_globs(const char *val, void *field, struct vt_err *err)
{
	struct agent_globs *l = field;

	l->n = 0;
	return split(val, err, add_glob, field);
}

static int add_kind(const char *w, void *field, struct vt_err *err)
{
	unsigned *k = field;

	if (strcmp(w, "veth") == 0)
		*k |= PORT_KIND_VETH;
	else if (strcmp(w, "tap") == 0)
		*k |= PORT_KIND_TAP;
	else if (strcmp(w, "other") == 0)
		*k |= PORT_KIND_OTHER;
	else
		return vt_err_set(err, -EINVAL, "'%s' is not a port kind (veth, tap, other)", w);
	return 0;
}

static int parse_kinds(const char *val, void *field, struct vt_err *err)
{
	*(unsigned *)field = 0;
	return split(val, err, add_kind, field);
}

/* A collector URL: udp://HOST:PORT or tcp://HOST:PORT, HOST an IPv4
 * address, [IPv6] or a name; the exporter resolves and connects. */
static int add_url(const char *w, void *field, struct vt_err *err)
{
	struct agent_urls *l = field;
	const char *host, *colon;
	uint64_t port;

	if (strncmp(w, "udp://", 6) != 0 && strncmp(w, "tcp://", 6) != 0)
		return vt_err_set(err, -EINVAL, "'%s': a collector is udp://HOST:PORT or "
				  "tcp://HOST:PORT", w);
	host = w + 6;
	if (*host == '[') {
		const char *close = strchr(host, ']');
		if (!close || close[1] != ':')
			return vt_err_set(err, -EINVAL, "'%s': IPv6 addresses go in brackets, "
					  "[2001:db8::1]:4739", w);
		colon = close + 1;
	} else {
		colon = strrchr(host, ':');
	}
	if (!colon || colon == host)
		return vt_err_set(err, -EINVAL, "'%s': missing HOST:PORT", w);
	if (parse_u64(colon + 1, 1, 65535, &port) < 0)
		return vt_err_set(err, -EINVAL, "'%s': the port must be 1-65535", w);
	if (strlen(w) >= sizeof(l->v[0]))
		return vt_err_set(err, -E2BIG, "'%s' is too long", w);
	if (l->n >= AGENT_COLLECTORS_MAX)
		return vt_err_set(err, -E2BIG, "more than %d collectors", AGENT_COLLECTORS_MAX);
	snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", w);
	return 0;
}

static int parse_urls(const char *val, void *field, struct vt_err *err)
{
	struct agent_urls *l = field;

	l->n = 0;
	if (strcmp(val, "none") == 0)
		return 0;
	return split(val, err, add_url, field);
}

#define OFF(sec, f) offsetof(struct agent_conf, sec.f) - offsetof(struct agent_conf, sec)

static const struct conf_key agent_keys[] = {
	{ "name", CONF_STR, OFF(agent, name), 1, 63, NULL,
	  "this host's name in status output and logs (default: the host name)", NULL, NULL, NULL,
	  false },
	{ "threads", CONF_UINT, OFF(agent, threads), 0, 64, "0",
	  "capture threads, each with its own flow-table shard (0: one per core, at most 4, "
	  "leaving a core to the control thread when there are several)", NULL, NULL, NULL, false },
	{ "backend", CONF_ENUM, OFF(agent, backend), 0, 0, "afpacket",
	  "capture backend: afpacket (TPACKET_V3 ring per port)", agent_backends, NULL, NULL, false },
	{ "log_level", CONF_ENUM, OFF(agent, log_level), 0, 0, "info",
	  "err, warn, info or debug", log_levels, NULL, NULL, false },
};

static const struct conf_key ports_keys[] = {
	{ "bridge", CONF_CUSTOM, OFF(ports, bridges), 0, 0, NULL,
	  "Linux bridges whose ports are VM ports (comma-separated); ports that join later "
	  "are tapped as they appear", NULL, parse_names, "interface list", false },
	{ "interface", CONF_CUSTOM, OFF(ports, interfaces), 0, 0, NULL,
	  "interfaces tapped as VM ports whatever they are enslaved to (comma-separated)", NULL,
	  parse_names, "interface list", false },
	{ "exclude", CONF_CUSTOM, OFF(ports, exclude), 0, 0, NULL,
	  "bridge ports that are not VM ports, as shell patterns (comma-separated): the uplink, "
	  "e.g. 'bond*, eth*, up*'", NULL, parse_globs, "pattern list", false },
	{ "kinds", CONF_CUSTOM, OFF(ports, kinds), 0, 0, "veth, tap",
	  "kinds of bridge ports that are VM ports: veth, tap, other", NULL, parse_kinds,
	  "kind list", false },
	{ "max_ports", CONF_UINT, OFF(ports, max_ports), 1, 65534, "4096",
	  "VM ports tapped at most; more are counted and logged, not tapped", NULL, NULL, NULL,
	  false },
};

static const struct conf_key capture_keys[] = {
	{ "ring_size", CONF_SIZE, OFF(capture, ring_size), 128 << 10, 1ull << 30, "4M",
	  "kernel capture ring per port; a full ring drops frames (counted per port)", NULL, NULL,
	  NULL, false },
	{ "snaplen", CONF_UINT, OFF(capture, snaplen), 64, 65535, "256",
	  "bytes of each frame copied to the agent (headers: the metering needs no payload)", NULL,
	  NULL, NULL, false },
	{ "block_timeout", CONF_DURATION, OFF(capture, block_timeout_ms), 1, 1000, "10ms",
	  "a partly filled ring block is handed to the agent after this long", NULL, NULL, NULL,
	  false },
};

static const struct conf_key identity_keys[] = {
	{ "libvirt", CONF_STR, OFF(identity, libvirt), 0, 1024, "qemu:///system",
	  "libvirt URI to read domains from (read-only); \"\" turns libvirt off. In the lab: "
	  "test:///run/vtap/lab/PREFIX/hN.xml", NULL, NULL, NULL, false },
	{ "inventory", CONF_STR, OFF(identity, inventory), 0, 4096, NULL,
	  "inventory file (JSON, {\"vms\": [{\"name\", \"uuid\", \"mac\", \"port\"}]}); reloaded "
	  "when it changes", NULL, NULL, NULL, false },
	{ "alias", CONF_BOOL, OFF(identity, alias), 0, 0, "yes",
	  "read 'vm=NAME uuid=UUID' from a port's interface alias when no other source knows it",
	  NULL, NULL, NULL, false },
	{ "refresh", CONF_DURATION, OFF(identity, refresh_ms), 0, 86400000, "60s",
	  "reload every identity source this often (0: only on port changes, file changes and "
	  "SIGHUP)", NULL, NULL, NULL, false },
	{ "watch", CONF_DURATION, OFF(identity, watch_ms), 0, 60000, "1s",
	  "check the inventory file and a test:// libvirt file for changes this often (0: off)",
	  NULL, NULL, NULL, false },
	{ "debounce", CONF_DURATION, OFF(identity, debounce_ms), 0, 10000, "200ms",
	  "after a port change, wait this long for more before reloading the sources", NULL, NULL,
	  NULL, false },
	{ "max_vms", CONF_UINT, OFF(identity, max_vms), 1, 1000000, "65536",
	  "VM interfaces one source may describe", NULL, NULL, NULL, false },
};

static const struct conf_key meter_keys[] = {
	{ "active_timeout", CONF_DURATION, OFF(meter, active_ms), 0, 86400000, "60s",
	  "export a long-lived flow after this long (0: never)", NULL, NULL, NULL, false },
	{ "idle_timeout", CONF_DURATION, OFF(meter, idle_ms), 1000, 86400000, "15s",
	  "export a flow silent for this long", NULL, NULL, NULL, false },
	{ "fin_timeout", CONF_DURATION, OFF(meter, fin_ms), 0, 3600000, "2s",
	  "after TCP FIN or RST, export the flow once silent this long (the last ACK joins it)",
	  NULL, NULL, NULL, false },
	{ "max_flows", CONF_UINT, OFF(meter, max_flows), 1024, 1ull << 30, "1000000",
	  "flows held at most (all capture threads); beyond it the flow nearest expiry is "
	  "exported early, flowEndReason 5", NULL, NULL, NULL, false },
	{ "mac_table", CONF_UINT, OFF(meter, mac_table), 64, 1u << 24, "65536",
	  "entries of the local VM MAC table (count once)", NULL, NULL, NULL, false },
	{ "flood_window", CONF_DURATION, OFF(meter, flood_window_ms), 1, 1000, "5ms",
	  "copies of a flooded frame (broadcast, multicast, unknown unicast) on several ports "
	  "within this time are one frame", NULL, NULL, NULL, false },
	{ "record_queue", CONF_UINT, OFF(meter, record_queue), 64, 1u << 20, "8192",
	  "finished flow records each capture thread may queue for export", NULL, NULL, NULL,
	  false },
};

static const struct conf_key export_keys[] = {
	{ "collector", CONF_CUSTOM, OFF(export, collectors), 0, 0, NULL,
	  "collectors, udp://HOST:PORT or tcp://HOST:PORT (IPFIX only), comma-separated; "
	  "none: meter without exporting", NULL, parse_urls, "URL list", false },
	{ "format", CONF_ENUM, OFF(export, format), 0, 0, "ipfix",
	  "ipfix (RFC 7011) or nfv9 (RFC 3954, UDP only)", formats, NULL, NULL, false },
	{ "domain", CONF_UINT, OFF(export, domain), 0, UINT32_MAX, "1",
	  "IPFIX observation domain id / NetFlow v9 source id", NULL, NULL, NULL, false },
	{ "mtu", CONF_UINT, OFF(export, mtu), 1280, 65535, "1500",
	  "MTU of the path to UDP collectors: every message fits in it", NULL, NULL, NULL, false },
	{ "template_interval", CONF_DURATION, OFF(export, template_ms), 0, 86400000, "60s",
	  "resend templates over UDP this often (0: only at start)", NULL, NULL, NULL, false },
	{ "template_every", CONF_UINT, OFF(export, template_every), 0, 1000000, "0",
	  "... and every N messages over UDP (0: off)", NULL, NULL, NULL, false },
	{ "stats_interval", CONF_DURATION, OFF(export, stats_ms), 0, 86400000, "60s",
	  "send the exporter statistics options record this often (0: only at exit)", NULL, NULL,
	  NULL, false },
	{ "flush", CONF_DURATION, OFF(export, flush_ms), 10, 60000, "500ms",
	  "a partly filled message waits at most this long", NULL, NULL, NULL, false },
	{ "queue", CONF_UINT, OFF(export, queue), 1, 1000000, "256",
	  "messages queued per collector while it is slow or down; more are dropped (counted)",
	  NULL, NULL, NULL, false },
};

static const struct conf_key tap_keys[] = {
	{ "enable", CONF_BOOL, OFF(tap, enable), 0, 0, "no",
	  "run the virtual tap: mirror sessions on the VM ports (vtap session, docs/tap.md)", NULL,
	  NULL, NULL, false },
	{ "backend", CONF_ENUM, OFF(tap, backend), 0, 0, "ebpf",
	  "ebpf (tc clsact programs, in-kernel VXLAN copies, ring buffer) or afpacket "
	  "(TPACKET_V3 sockets, every copy made in user space)", agent_tap_backends, NULL, NULL,
	  false },
	{ "vxlan_device", CONF_STR, OFF(tap, vxlan_device), 1, IFNAMSIZ - 1, "vtapvx0",
	  "the collect_md VXLAN device the eBPF programs clone VXLAN copies into (created, or "
	  "adopted from a previous run)", NULL, NULL, NULL, false },
	{ "vxlan_port", CONF_UINT, OFF(tap, vxlan_port), 1, 65535, "4789",
	  "UDP destination port of that device", NULL, NULL, NULL, false },
	{ "ring_size", CONF_SIZE, OFF(tap, ring_size), 64 << 10, 1ull << 30, "16M",
	  "eBPF ring buffer for user-space copies (a power of 2), or the AF_PACKET ring per "
	  "port; a full ring is counted as drop_queue_full", NULL, NULL, NULL, false },
	{ "state", CONF_STR, OFF(tap, state), 0, 4096, "/var/lib/vtap/tap-sessions.json",
	  "the sessions, kept across restarts (JSON, rewritten atomically on every change); "
	  "\"\" keeps them in memory only", NULL, NULL, NULL, false },
};

static const struct conf_key control_keys[] = {
	HTTP_CONF_KEYS("unix:" AGENT_DEFAULT_SOCKET),
};

static const struct conf_section agent_secs[] = {
	{ "agent", "the daemon", agent_keys, ARRAY_SIZE(agent_keys),
	  offsetof(struct agent_conf, agent), NULL },
	{ "ports", "which links are VM ports", ports_keys, ARRAY_SIZE(ports_keys),
	  offsetof(struct agent_conf, ports), NULL },
	{ "capture", "the capture rings", capture_keys, ARRAY_SIZE(capture_keys),
	  offsetof(struct agent_conf, capture), NULL },
	{ "identity", "VM identity sources, consulted in the order libvirt, inventory, alias",
	  identity_keys, ARRAY_SIZE(identity_keys), offsetof(struct agent_conf, identity), NULL },
	{ "meter", "flow metering", meter_keys, ARRAY_SIZE(meter_keys),
	  offsetof(struct agent_conf, meter), NULL },
	{ "export", "flow export", export_keys, ARRAY_SIZE(export_keys),
	  offsetof(struct agent_conf, export), NULL },
	{ "tap", "the virtual tap: mirror sessions (vtap session)", tap_keys, ARRAY_SIZE(tap_keys),
	  offsetof(struct agent_conf, tap), NULL },
	{ "control", "the control API (vtap agent status)", control_keys, ARRAY_SIZE(control_keys),
	  offsetof(struct agent_conf, control), NULL },
};

const struct conf_schema agent_conf_schema = {
	"agent", "agent.conf — `vtap agent`", agent_secs, ARRAY_SIZE(agent_secs),
};

int agent_conf_load(const char *path, const struct opt_strlist *set, struct agent_conf *c,
		    struct vt_err *err)
{
	int r;

	memset(c, 0, sizeof(*c));
	r = conf_load(path, agent_secs, ARRAY_SIZE(agent_secs), c, err);
	for (size_t i = 0; r == 0 && set && i < set->n; i++)
		r = conf_set(set->v[i], agent_secs, ARRAY_SIZE(agent_secs), c, err);
	if (r < 0)
		return r;
	if (c->ports.bridges.n == 0 && c->ports.interfaces.n == 0)
		return vt_err_set(err, -EINVAL, "%s: no VM ports to tap: set [ports] bridge and/or "
				  "[ports] interface", path ? path : "configuration");
	if (c->export.format == 1)
		for (size_t i = 0; i < c->export.collectors.n; i++)
			if (strncmp(c->export.collectors.v[i], "tcp://", 6) == 0)
				return vt_err_set(err, -EINVAL, "%s: [export] collector: '%s': NetFlow "
						  "v9 goes over UDP only", path ? path : "configuration",
						  c->export.collectors.v[i]);
	if (c->tap.vxlan_device && !ifname_ok(c->tap.vxlan_device))
		return vt_err_set(err, -EINVAL, "%s: [tap] vxlan_device: '%s' is not an interface "
				  "name (1-%d characters, no '/', ':' or spaces)",
				  path ? path : "configuration", c->tap.vxlan_device, IFNAMSIZ - 1);
	/* the kernel sizes a BPF ring buffer in powers of 2 only */
	if (c->tap.backend == 0 && (c->tap.ring_size & (c->tap.ring_size - 1)) != 0)
		return vt_err_set(err, -EINVAL, "%s: [tap] ring_size: %llu is not a power of 2 "
				  "(the ebpf backend needs one, e.g. 16M)", path ? path : "configuration",
				  (unsigned long long)c->tap.ring_size);
	if (c->control.listen.n == 0)
		return vt_err_set(err, -EINVAL, "%s: [control] listen: no address",
				  path ? path : "configuration");
	return 0;
}

void agent_conf_free(struct agent_conf *c)
{
	conf_free(agent_secs, ARRAY_SIZE(agent_secs), c);
}
