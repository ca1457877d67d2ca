/* Unit tests: src/collector/vmstats — per-VM counters, the server-side
 * decision, port profiling, the time series, bounds and the JSON views. */
#include "collector/vmstats.h"

#include <stdio.h>
#include <string.h>

#include "collector/enrich.h"
#include "core/json.h"
#include "http/prom.h"
#include "vt_test.h"

#define T0 1700000000000ull   /* a multiple of 10 s */

struct fspec {
	int src_vm, dst_vm;          /* VM numbers (0: not a VM) */
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t flags;
	uint64_t bytes, packets;
	uint64_t first, last;        /* ms after T0 */
	uint8_t loc;
	bool primary;
	bool by_name;                /* the VMs have no UUID, only their names */
};

static void mkrow(const struct fspec *f, struct flow_rec *r, struct flow_attr *a)
{
	memset(r, 0, sizeof(*r));
	memset(a, 0, sizeof(*a));
	addr_parse(f->src, &r->src);
	addr_parse(f->dst, &r->dst);
	r->proto = f->proto;
	r->sport = f->sport;
	r->dport = f->dport;
	r->tcp_flags = f->flags;
	r->bytes = f->bytes;
	r->packets = f->packets;
	r->first_ms = T0 + f->first;
	r->last_ms = T0 + f->last;
	if (f->src_vm) {
		a->src_vm.uuid[15] = f->by_name ? 0 : (uint8_t)f->src_vm;
		snprintf(a->src_vm.name, sizeof(a->src_vm.name), "vm%d", f->src_vm);
	}
	if (f->dst_vm) {
		a->dst_vm.uuid[15] = f->by_name ? 0 : (uint8_t)f->dst_vm;
		snprintf(a->dst_vm.name, sizeof(a->dst_vm.name), "vm%d", f->dst_vm);
	}
	a->locality = f->loc;
}

static void add_all(struct vmstats *vs, const struct fspec *f, size_t n)
{
	vmstats_begin(vs);
	for (size_t i = 0; i < n; i++) {
		struct flow_rec r;
		struct flow_attr a;
		struct vmstats_hint h = { f[i].primary, "h1", "h2" };
		mkrow(&f[i], &r, &a);
		vmstats_add(vs, &r, &a, &h, T0 + 3600000);
	}
	vmstats_end(vs);
}

static struct vmstats *mk(uint64_t max_ports, uint64_t max_services)
{
	struct vmstats_conf c;
	vmstats_conf_defaults(&c);
	c.max_ports = max_ports;
	c.max_services = max_services;
	return vmstats_new(&c);
}

/* The VM detail as a parsed JSON tree (caller frees). */
static struct json_val *detail(struct vmstats *vs, const char *id)
{
	struct vbuf b;
	struct jw w;
	struct vt_err err = { 0 };
	struct json_val *v;

	vbuf_init(&b, 1 << 22);
	jw_init(&w, &b, false);
	jw_obj_open(&w, NULL);
	if (vmstats_json_vm(vs, &w, "vm", id, NULL, T0 + 3600000, 60000) < 0) {
		vbuf_free(&b);
		return NULL;
	}
	jw_obj_close(&w);
	CHECK_EQ(w.err, 0);
	v = json_parse((const char *)b.data, b.len, 1 << 20, &err);
	CHECK(v != NULL);
	vbuf_free(&b);
	return v;
}

static int64_t geti(const struct json_val *o, const char *path)
{
	char buf[128], *save = NULL;
	const struct json_val *v = o;
	int64_t out = -1;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) {
		char *end;
		unsigned long idx = strtoul(k, &end, 10);
		if (*end == '\0' && end != k)
			v = json_at(v, idx);
		else
			v = json_get(v, k);
	}
	if (v && v->type == JSON_NUM && v->is_int)
		out = v->i;
	else if (v && v->type == JSON_BOOL)
		out = v->u.b;
	return out;
}

static const char *getstr(const struct json_val *o, const char *path)
{
	char buf[128], *save = NULL;
	const struct json_val *v = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save)) {
		char *end;
		unsigned long idx = strtoul(k, &end, 10);
		v = (*end == '\0' && end != k) ? json_at(v, idx) : json_get(v, k);
	}
	return v && v->type == JSON_STR ? v->u.str.s : NULL;
}

static void test_role(void)
{
	struct vmstats *vs = mk(256, 128);
	static const struct {
		uint8_t proto;
		const char *src, *dst;
		uint16_t sport, dport;
		uint8_t flags;
		enum vm_role role;
		enum role_by by;
	} cases[] = {
		/* port heuristic: the port below the ephemeral range is the server's */
		{ 6, "10.0.0.1", "10.0.0.2", 45000, 5201, 0x1b, ROLE_DST_SERVER, ROLE_BY_PORT },
		{ 6, "10.0.0.2", "10.0.0.1", 5201, 45000, 0x1b, ROLE_SRC_SERVER, ROLE_BY_PORT },
		{ 17, "10.0.0.1", "10.0.0.2", 53, 1053, 0, ROLE_SRC_SERVER, ROLE_BY_PORT },
		{ 17, "10.0.0.1", "10.0.0.2", 40000, 50000, 0, ROLE_SRC_SERVER, ROLE_BY_PORT },
		{ 132, "10.0.0.1", "10.0.0.2", 60000, 38412, 0, ROLE_DST_SERVER, ROLE_BY_PORT },
		/* equal ports decide nothing; no ports, no role */
		{ 17, "10.0.0.1", "10.0.0.2", 4789, 4789, 0, ROLE_UNKNOWN, ROLE_BY_NONE },
		{ 1, "10.0.0.1", "10.0.0.2", 0, 0x0800, 0, ROLE_UNKNOWN, ROLE_BY_NONE },
		/* a SYN without ACK: the sender opened it, whatever the ports say */
		{ 6, "10.0.0.5", "10.0.0.6", 40000, 50000, 0x02, ROLE_DST_SERVER, ROLE_BY_SYN },
		/* ... and the answer and later records follow the remembered opening */
		{ 6, "10.0.0.6", "10.0.0.5", 50000, 40000, 0x12, ROLE_SRC_SERVER, ROLE_BY_CONN },
		{ 6, "10.0.0.5", "10.0.0.6", 40000, 50000, 0x18, ROLE_DST_SERVER, ROLE_BY_CONN },
		/* a scan of a low port from a low port: SYN decides */
		{ 6, "10.0.0.7", "10.0.0.8", 80, 1000, 0x02, ROLE_DST_SERVER, ROLE_BY_SYN },
		{ 6, "10.0.0.8", "10.0.0.7", 1000, 80, 0x14, ROLE_SRC_SERVER, ROLE_BY_CONN },
		/* IPv6 */
		{ 6, "2001:db8::1", "2001:db8::2", 443, 51000, 0x1a, ROLE_SRC_SERVER, ROLE_BY_PORT },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct flow_rec r;
		enum role_by by;
		memset(&r, 0, sizeof(r));
		addr_parse(cases[i].src, &r.src);
		addr_parse(cases[i].dst, &r.dst);
		r.proto = cases[i].proto;
		r.sport = cases[i].sport;
		r.dport = cases[i].dport;
		r.tcp_flags = cases[i].flags;
		r.last_ms = T0 + i;
		fprintf(stderr, "  case %zu\n", i);
		CHECK_EQ(vmstats_role(vs, &r, &by), cases[i].role);
		CHECK_EQ(by, cases[i].by);
	}
	vmstats_free(vs);
}

static void test_accounting(void)
{
	struct vmstats *vs = mk(256, 128);
	static const struct fspec f[] = {
		/* vm1 (h1) -> vm4 (h2): iperf3 to 5201, cross host, both directions */
		{ 1, 4, "198.18.1.1", "198.18.1.4", 6, 45000, 5201, 0x1b, 100000, 80, 0, 4000,
		  FLOW_LOC_CROSS_HOST, true },
		{ 4, 1, "198.18.1.4", "198.18.1.1", 6, 5201, 45000, 0x1b, 4000, 60, 0, 4000,
		  FLOW_LOC_CROSS_HOST, true },
		/* the receiver side's copy of the first record: not counted again */
		{ 1, 4, "198.18.1.1", "198.18.1.4", 6, 45000, 5201, 0x1b, 100000, 80, 0, 4000,
		  FLOW_LOC_CROSS_HOST, false },
		/* vm1 -> the outside: HTTP */
		{ 1, 0, "198.18.1.1", "198.19.200.1", 6, 46000, 80, 0x1b, 500, 5, 1000, 1500,
		  FLOW_LOC_OUTSIDE, true },
		{ 0, 1, "198.19.200.1", "198.18.1.1", 6, 80, 46000, 0x1b, 7000, 6, 1000, 1500,
		  FLOW_LOC_OUTSIDE, true },
		/* a scan of vm4:23 from vm1, refused with a bare RST */
		{ 1, 4, "198.18.1.1", "198.18.1.4", 6, 50123, 23, 0x02, 60, 1, 2000, 2000,
		  FLOW_LOC_CROSS_HOST, true },
		{ 4, 1, "198.18.1.4", "198.18.1.1", 6, 23, 50123, 0x14, 40, 1, 2000, 2000,
		  FLOW_LOC_CROSS_HOST, true },
		/* vm2 -> vm4 (another client of 5201) */
		{ 2, 4, "198.18.1.2", "198.18.1.4", 6, 47000, 5201, 0x1b, 300, 3, 3000, 3100,
		  FLOW_LOC_CROSS_HOST, true },
	};
	struct vmstats_totals t;
	struct json_val *v;

	add_all(vs, f, ARRAY_SIZE(f));
	vmstats_totals(vs, &t);
	CHECK_EQ(t.rows, 8);
	CHECK_EQ(t.flows, 7);
	CHECK_EQ(t.bytes, 100000 + 4000 + 500 + 7000 + 60 + 40 + 300);
	CHECK_EQ(t.dup_flows, 1);
	CHECK_EQ(t.dup_bytes, 100000);
	CHECK_EQ(t.loc_flows[FLOW_LOC_CROSS_HOST], 5);
	CHECK_EQ(t.loc_bytes[FLOW_LOC_OUTSIDE], 7500);
	CHECK_EQ(t.vms, 3);

	v = detail(vs, "vm1");
	CHECK_STR(getstr(v, "vm.name"), "vm1");
	CHECK_STR(getstr(v, "vm.uuid"), "00000000-0000-0000-0000-000000000001");
	CHECK_STR(getstr(v, "vm.host"), "h2");   /* the last hint for its side wins */
	CHECK_EQ(geti(v, "vm.bytes_out"), 100000 + 500 + 60);
	CHECK_EQ(geti(v, "vm.bytes_in"), 4000 + 7000 + 40);
	CHECK_EQ(geti(v, "vm.flows_out"), 3);
	CHECK_EQ(geti(v, "vm.flows_in"), 3);
	CHECK_EQ(geti(v, "vm.locality.cross_host.bytes_out"), 100060);
	CHECK_EQ(geti(v, "vm.locality.outside.bytes_in"), 7000);
	CHECK_EQ(geti(v, "vm.locality.same_host.bytes_in"), 0);
	/* consumed: tcp/23 (refused), tcp/80, tcp/5201, sorted by proto and port */
	CHECK_EQ(geti(v, "vm.services_consumed.0.port"), 23);
	CHECK_EQ(geti(v, "vm.services_consumed.0.refused"), 1);
	CHECK_EQ(geti(v, "vm.services_consumed.0.answered"), 0);
	CHECK_EQ(geti(v, "vm.services_consumed.1.port"), 80);
	CHECK_EQ(geti(v, "vm.services_consumed.1.answered"), 1);
	CHECK_EQ(geti(v, "vm.services_consumed.1.bytes_in"), 7000);
	CHECK_EQ(geti(v, "vm.services_consumed.2.port"), 5201);
	CHECK_EQ(geti(v, "vm.services_consumed.2.servers"), 1);
	CHECK(json_len(json_get(json_get(v, "vm"), "services_offered")) == 0);
	/* L4: by service port, biggest first */
	CHECK_EQ(geti(v, "vm.l4.0.port"), 5201);
	CHECK_EQ(geti(v, "vm.l4.0.out.bytes"), 100000);
	CHECK_EQ(geti(v, "vm.l4.0.in.bytes"), 4000);
	CHECK_EQ(geti(v, "vm.l4.1.port"), 80);
	/* peers: vm4 (a VM) and 198.19.200.1 */
	CHECK_STR(getstr(v, "vm.peers.0.vm"), "vm4");
	CHECK_STR(getstr(v, "vm.peers.0.locality"), "cross_host");
	CHECK_EQ(geti(v, "vm.peers.0.out.bytes"), 100060);
	CHECK_STR(getstr(v, "vm.peers.1.addr"), "198.19.200.1");
	CHECK_STR(getstr(v, "vm.peers.1.vm"), "");
	json_free(v);

	v = detail(vs, "00000000-0000-0000-0000-000000000004");
	CHECK_STR(getstr(v, "vm.name"), "vm4");
	CHECK_EQ(geti(v, "vm.bytes_in"), 100000 + 60 + 300);
	/* offered: tcp/23 refused, tcp/5201 with two clients, one answer */
	CHECK_EQ(geti(v, "vm.services_offered.0.port"), 23);
	CHECK_EQ(geti(v, "vm.services_offered.0.answered"), 0);
	CHECK_EQ(geti(v, "vm.services_offered.1.port"), 5201);
	CHECK_EQ(geti(v, "vm.services_offered.1.flows"), 2);
	CHECK_EQ(geti(v, "vm.services_offered.1.answers"), 1);
	CHECK_EQ(geti(v, "vm.services_offered.1.clients"), 2);
	CHECK_EQ(geti(v, "vm.services_offered.1.bytes_in"), 100300);
	CHECK_EQ(geti(v, "vm.services_offered.1.bytes_out"), 4000);
	json_free(v);
	CHECK(detail(vs, "vm9") == NULL);

	/* the list: answered services only, biggest VM first */
	struct vbuf b;
	struct jw w;
	struct vt_err err = { 0 };
	vbuf_init(&b, 1 << 20);
	jw_init(&w, &b, false);
	jw_obj_open(&w, NULL);
	vmstats_json_list(vs, &w, "vms", NULL, T0 + 3600000, 60000, VMS_SORT_BYTES, 0);
	vmstats_json_totals(vs, &w, "totals");
	jw_obj_close(&w);
	v = json_parse((const char *)b.data, b.len, 1 << 20, &err);
	CHECK(v != NULL);
	CHECK_STR(getstr(v, "vms.0.name"), "vm1");
	CHECK_STR(getstr(v, "vms.1.name"), "vm4");
	CHECK_STR(getstr(v, "vms.2.name"), "vm2");
	CHECK_EQ(json_len(json_get(json_at(json_get(v, "vms"), 1), "services")), 1);
	CHECK_EQ(geti(v, "vms.1.services.0.port"), 5201);
	CHECK_EQ(geti(v, "totals.duplicates.flows"), 1);
	CHECK_EQ(geti(v, "totals.flows"), 7);
	json_free(v);
	vbuf_free(&b);

	/* Prometheus: per-VM counters */
	struct prom p;
	vbuf_init(&b, 1 << 20);
	prom_init(&p, &b);
	CHECK_EQ(vmstats_metrics(vs, &p), 0);
	CHECK_EQ(prom_finish(&p), 0);
	CHECK_CONTAINS(vbuf_str(&b),
		       "vtap_vm_bytes_total{vm=\"vm1\",uuid=\"00000000-0000-0000-0000-000000000001\",direction=\"out\"} 100560");
	CHECK_CONTAINS(vbuf_str(&b), "vtap_flows_duplicate_total 1");
	vbuf_free(&b);
	vmstats_free(vs);
}

static void test_series(void)
{
	struct vmstats *vs = mk(256, 128);
	/* 30,000 bytes over exactly 3 buckets; 10 bytes in one; one flow far
	 * older than the window (1 h) is counted but not in the series */
	static const struct fspec f[] = {
		{ 1, 0, "10.0.0.1", "10.0.0.9", 17, 40000, 53, 0, 30000, 300, 10000, 39999,
		  FLOW_LOC_OUTSIDE, true },
		{ 1, 0, "10.0.0.1", "10.0.0.9", 17, 40000, 53, 0, 10, 1, 25000, 25000,
		  FLOW_LOC_OUTSIDE, true },
		{ 1, 0, "10.0.0.1", "10.0.0.9", 17, 40000, 53, 0, 7, 7, 0, 1, FLOW_LOC_OUTSIDE, true },
	};
	struct vmstats_conf c;
	vmstats_conf_defaults(&c);
	c.series_points = 3;     /* a 30 s window */
	vmstats_free(vs);
	vs = vmstats_new(&c);
	add_all(vs, f, 2);
	struct json_val *v = detail(vs, "vm1");
	CHECK_EQ(geti(v, "vm.series.interval_ms"), 10000);
	CHECK_EQ(json_len(json_get(json_get(json_get(v, "vm"), "series"), "points")), 3);
	CHECK_EQ(geti(v, "vm.series.points.0.t_ms"), (int64_t)(T0 + 10000));
	CHECK_EQ(geti(v, "vm.series.points.0.bytes_out"), 10000);
	CHECK_EQ(geti(v, "vm.series.points.1.bytes_out"), 10010);
	CHECK_EQ(geti(v, "vm.series.points.2.bytes_out"), 10000);
	CHECK_EQ(geti(v, "vm.series.points.2.packets_out"), 100);
	json_free(v);
	/* a later flow moves the window: the oldest bucket drops out, and a
	 * flow older than the window counts in totals only */
	static const struct fspec g[] = {
		{ 1, 0, "10.0.0.1", "10.0.0.9", 17, 40000, 53, 0, 5, 1, 45000, 45000,
		  FLOW_LOC_OUTSIDE, true },
	};
	add_all(vs, g, 1);
	add_all(vs, &f[2], 1);
	v = detail(vs, "vm1");
	CHECK_EQ(geti(v, "vm.series.points.0.t_ms"), (int64_t)(T0 + 20000));
	CHECK_EQ(geti(v, "vm.series.points.2.bytes_out"), 5);
	CHECK_EQ(geti(v, "vm.bytes_out"), 30000 + 10 + 5 + 7);
	json_free(v);
	struct vmstats_totals t;
	vmstats_totals(vs, &t);
	CHECK_EQ(t.series_late, 1);

	/* rates over the last 20 s at 5 s into bucket T0+40000: that bucket
	 * (5 bytes so far) and the one before (10,000), over 15.001 s */
	struct vbuf b;
	struct jw w;
	struct vt_err err = { 0 };
	vbuf_init(&b, 1 << 20);
	jw_init(&w, &b, false);
	jw_obj_open(&w, NULL);
	vmstats_json_list(vs, &w, "vms", NULL, T0 + 45000, 20000, VMS_SORT_NAME, 0);
	jw_obj_close(&w);
	v = json_parse((const char *)b.data, b.len, 10000, &err);
	const struct json_val *vm = json_at(json_get(v, "vms"), 0);
	CHECK_EQ(geti(v, "vms.0.rate_window_ms"), 15001);
	const struct json_val *bps = json_get(vm, "bps_out");
	CHECK(bps && bps->u.num > 5335.0 && bps->u.num < 5336.0);
	CHECK_STR(getstr(v, "vms.0.zone"), "");
	json_free(v);
	vbuf_free(&b);
	vmstats_free(vs);
}

static void test_bounds(void)
{
	struct vmstats *vs = mk(2, 1);
	static const struct fspec f[] = {
		{ 1, 0, "10.0.0.1", "10.0.0.9", 17, 40000, 53, 0, 100, 1, 0, 0, FLOW_LOC_OUTSIDE, true },
		{ 1, 0, "10.0.0.1", "10.0.0.9", 17, 40000, 123, 0, 200, 1, 0, 0, FLOW_LOC_OUTSIDE, true },
		{ 1, 0, "10.0.0.1", "10.0.0.9", 17, 40000, 161, 0, 300, 1, 0, 0, FLOW_LOC_OUTSIDE, true },
	};
	add_all(vs, f, ARRAY_SIZE(f));
	struct json_val *v = detail(vs, "vm1");
	CHECK_EQ(json_len(json_get(json_get(v, "vm"), "l4")), 2);
	CHECK_EQ(geti(v, "vm.l4_other_out.bytes"), 300);
	CHECK_EQ(json_len(json_get(json_get(v, "vm"), "services_consumed")), 1);
	CHECK_EQ(geti(v, "vm.services_other"), 2);
	/* totals stay exact */
	CHECK_EQ(geti(v, "vm.bytes_out"), 600);
	json_free(v);
	vmstats_free(vs);

	/* the VM bound */
	struct vmstats_conf c;
	vmstats_conf_defaults(&c);
	c.max_vms = 1;
	vs = vmstats_new(&c);
	static const struct fspec g[] = {
		{ 1, 2, "10.0.0.1", "10.0.0.2", 17, 40000, 53, 0, 100, 1, 0, 0, FLOW_LOC_CROSS_HOST, true },
	};
	add_all(vs, g, 1);
	struct vmstats_totals t;
	vmstats_totals(vs, &t);
	CHECK_EQ(t.vms, 1);
	CHECK_EQ(t.vms_untracked, 1);
	CHECK_EQ(t.bytes, 100);
	vmstats_free(vs);
	c.max_vms = 0;
	CHECK(vmstats_new(&c) == NULL);
}

/* The latest name and host of a VM (same UUID) win, cut to 63 bytes and
 * terminated, whether longer or shorter than the one before. */
static void test_names(void)
{
	struct vmstats *vs = mk(8, 8);
	static const struct fspec f = { 1, 0, "10.0.0.1", "10.0.0.9", 17, 40000, 53, 0, 100, 1, 0, 0,
					FLOW_LOC_OUTSIDE, true };
	const char *names[] = { "vm1", "a-name-of-seventy-characters-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				"b", "b" };
	const char *hosts[] = { "h1", "a-host-of-seventy-characters-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				"h3", "h3" };
	const char *uuid = "00000000-0000-0000-0000-000000000001";

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct flow_rec r;
		struct flow_attr a;
		struct vmstats_hint h = { true, hosts[i], NULL };
		mkrow(&f, &r, &a);
		snprintf(a.src_vm.name, sizeof(a.src_vm.name), "%s", names[i]);
		vmstats_begin(vs);
		vmstats_add(vs, &r, &a, &h, T0 + 3600000);
		vmstats_end(vs);
		struct json_val *v = detail(vs, uuid);
		char want[VT_NAME_MAX];
		snprintf(want, sizeof(want), "%s", names[i]);
		CHECK_STR(getstr(v, "vm.name"), want);
		snprintf(want, sizeof(want), "%s", hosts[i]);
		CHECK_STR(getstr(v, "vm.host"), want);
		CHECK_EQ(strlen(getstr(v, "vm.host")), VT_MIN(strlen(hosts[i]), (size_t)VT_NAME_MAX - 1));
		json_free(v);
	}
	vmstats_free(vs);
}

/* VMs known only by name (no UUID) are keyed by their name: two names,
 * two entries, each with its own counters, peers and ports; the same
 * name again is the same entry. A VM peer is keyed by its identity, an
 * outside peer by its address. */
static void test_name_keys(void)
{
	struct vmstats *vs = mk(8, 8);
	static const struct fspec f[] = {
		{ 1, 2, "10.0.0.1", "10.0.0.2", 6, 40000, 443, 0, 100, 1, 0, 0, FLOW_LOC_CROSS_HOST, true, true },
		{ 1, 0, "10.0.0.1", "192.0.2.9", 6, 40001, 443, 0, 10, 1, 0, 0, FLOW_LOC_OUTSIDE, true, true },
		{ 2, 0, "10.0.0.2", "192.0.2.9", 17, 40002, 53, 0, 1, 1, 0, 0, FLOW_LOC_OUTSIDE, true, true },
	};

	add_all(vs, f, ARRAY_SIZE(f));
	struct vmstats_totals t;
	vmstats_totals(vs, &t);
	CHECK_EQ(t.vms, 2);
	struct json_val *v = detail(vs, "vm1");
	CHECK(v != NULL);
	CHECK_EQ(geti(v, "vm.bytes_out"), 110);
	CHECK_EQ(json_len(json_get(json_get(v, "vm"), "peers")), 2);
	CHECK_EQ(json_len(json_get(json_get(v, "vm"), "l4")), 1);
	json_free(v);
	v = detail(vs, "vm2");
	CHECK(v != NULL);
	CHECK_EQ(geti(v, "vm.bytes_in"), 100);
	CHECK_EQ(geti(v, "vm.bytes_out"), 1);
	CHECK_EQ(json_len(json_get(json_get(v, "vm"), "l4")), 2);
	json_free(v);
	vmstats_free(vs);
}

/* Rows with no VM summed by the caller (vmstats_plain_row, then
 * vmstats_add_plain) give the totals vmstats_add() of each gives. */
static void test_plain(void)
{
	struct vmstats *one = mk(16, 16), *sum = mk(16, 16);
	struct vmstats_plain pl = { 0 };
	struct vmstats_hint h = { true, NULL, NULL };
	struct vmstats_totals a, b;

	CHECK(one && sum);
	vmstats_begin(one);
	for (unsigned i = 0; i < 10; i++) {
		struct flow_rec r;
		struct flow_attr at;
		memset(&r, 0, sizeof(r));
		memset(&at, 0, sizeof(at));
		r.bytes = 1000 + i;
		r.packets = 1 + i % 3;
		at.locality = (uint8_t)(i % 4);   /* 3: out of range, counted outside */
		at.nil_vms = FLOWATTR_NIL_VM | FLOWATTR_NIL_PEER | FLOWATTR_NIL_SRC | FLOWATTR_NIL_DST;
		vmstats_add(one, &r, &at, &h, 0);
		vmstats_plain_row(&pl, &r, &at);
	}
	vmstats_end(one);
	vmstats_begin(sum);
	vmstats_add_plain(sum, &pl);
	vmstats_end(sum);
	vmstats_totals(one, &a);
	vmstats_totals(sum, &b);
	CHECK_EQ_U64(a.rows, 10);
	CHECK_EQ_U64(a.loc_flows[FLOW_LOC_OUTSIDE], 5);
	CHECK(memcmp(&a, &b, sizeof(a)) == 0);
	vmstats_free(one);
	vmstats_free(sum);
}

VT_TEST_MAIN(VT_T(test_role), VT_T(test_accounting), VT_T(test_series), VT_T(test_bounds), VT_T(test_names), VT_T(test_name_keys),
	     VT_T(test_plain))
