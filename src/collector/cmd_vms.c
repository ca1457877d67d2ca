/* cmd_vms.c — `vtap vms` and `vtap vm NAME`: the per-VM statistics of a
 * running collector, read from its HTTP API (/api/v1/vms). Text tables by
 * default, the API's JSON with -j. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "collector/collector.h"
#include "core/json.h"
#include "core/out.h"
#include "core/timeutil.h"
#include "http/http_client.h"

struct vms_opts {
	const char *api;
	const char *config;
	bool json;
	int sort;
	uint64_t limit;
	uint64_t window_ms;
	uint64_t points;
};

static const char *const sort_names[] = { "bytes", "name", NULL };

#define O(f) offsetof(struct vms_opts, f)
#define API_OPTS                                                                              \
	{ "api", 0, OPT_STR, O(api), "URL",                                                   \
	  "the collector's API (default: api.listen of --config, else http://127.0.0.1:4740)", \
	  0, 0, NULL, NULL },                                                                 \
	{ "config", 'c', OPT_STR, O(config), "FILE", "the collector's config file, for its API address", \
	  0, 0, NULL, NULL },                                                                 \
	{ "json", 'j', OPT_FLAG, O(json), NULL, "the API's JSON", 0, 0, NULL, NULL },           \
	{ "window", 'w', OPT_DURATION, O(window_ms), "DUR", "rates over this last period", 1000, \
	  86400000, NULL, "60s" }
static const struct opt_def vms_opt_defs[] = {
	API_OPTS,
	{ "sort", 's', OPT_ENUM, O(sort), "ORDER", "bytes (in + out, biggest first) or name", 0, 0,
	  sort_names, "bytes" },
	{ "limit", 'n', OPT_UINT, O(limit), "N", "VMs to show (0: all)", 0, UINT64_MAX, NULL, "0" },
};
static const struct opt_def vm_opt_defs[] = {
	API_OPTS,
	{ "points", 'p', OPT_UINT, O(points), "N", "time series points to print (text; 0: none)", 0,
	  100000, NULL, "12" },
	{ "limit", 'n', OPT_UINT, O(limit), "N", "rows per table (L4, peers, services; 0: all)", 0,
	  UINT64_MAX, NULL, "10" },
};
#undef O

/* The API target: --api, else the first api.listen of --config, else the
 * default address. */
static int api_target(const struct vms_opts *o, char *buf, size_t len)
{
	struct collector_conf *c;
	struct vt_err err = { 0 };

	if (o->api) {
		snprintf(buf, len, "%s", o->api);
		return 0;
	}
	if (!o->config) {
		snprintf(buf, len, "http://%s", COLL_DEFAULT_API);
		return 0;
	}
	c = collector_conf_load(o->config, NULL, 0, &err);
	if (!c) {
		fprintf(stderr, "vtap: option --config: %s\n", err.msg);
		return -EINVAL;
	}
	if (!c->api.listen.n) {
		collector_conf_free(c);
		fprintf(stderr, "vtap: %s has no api.listen address\n", o->config);
		return -EINVAL;
	}
	const struct http_listen_addr *a = &c->api.listen.a[0];
	if (a->kind == HTTP_LISTEN_UNIX) {
		snprintf(buf, len, "unix:%s", a->path);
	} else {
		/* a wildcard listener is reached on loopback */
		const char *s = a->spec;
		if (!strncmp(s, "0.0.0.0:", 8))
			snprintf(buf, len, "http://127.0.0.1:%s", s + 8);
		else if (!strncmp(s, "[::]:", 5))
			snprintf(buf, len, "http://[::1]:%s", s + 5);
		else
			snprintf(buf, len, "http://%s", s);
	}
	collector_conf_free(c);
	return 0;
}

static void print_body(const struct http_client_resp *r)
{
	fwrite(r->body.data, 1, r->body.len, stdout);
	if (r->body.len && r->body.data[r->body.len - 1] != '\n')
		putchar('\n');
}

/* GET <path> from the API; the parsed body (caller frees) or NULL with
 * a message printed. With -j the raw answer is printed too. */
static struct json_val *api_get(const struct vms_opts *o, const char *path, int *status)
{
	char target[512];
	struct http_client_opts co = { .peer_name = "the collector",
				       .hint = "is `vtap collector` running? (see --api)",
				       .max_response = 256u << 20 };
	struct http_client_resp resp;
	struct vt_err err = { 0 };
	struct json_val *v = NULL;

	*status = 0;
	if (api_target(o, target, sizeof(target)) < 0)
		return NULL;
	memset(&resp, 0, sizeof(resp));
	if (http_client_json(target, "GET", path, NULL, 0, &co, &resp, &v, &err) < 0)
		fprintf(stderr, "vtap: %s\n", err.msg);
	else if (o->json)
		print_body(&resp);
	*status = resp.status;
	http_client_resp_free(&resp);
	return v;
}

static double d(const struct json_val *o, const char *k)
{
	const struct json_val *v = json_get(o, k);

	return v && v->type == JSON_NUM ? v->u.num : 0;
}

static const char *si(double v, char *buf, size_t len)
{
	return fmt_si(v, buf, len);
}

/* "tcp/5201,tcp/8080" from a services array (answered ones). */
static void services_text(const struct json_val *arr, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < json_len(arr) && n < len; i++) {
		const struct json_val *e = json_at(arr, i);
		int k = snprintf(buf + n, len - n, "%s%s/%" PRIu64, n ? "," : "", json_str_or(e, "proto", ""),
				 json_u64(e, "port"));
		if (k < 0 || (size_t)k >= len - n)
			break;
		n += (size_t)k;
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static const struct json_val *loc(const struct json_val *vm, const char *l)
{
	return json_get(json_get(vm, "locality"), l);
}

static int vms_run(const struct cmd *c, void *opts, int argc, char **argv)
{
	struct vms_opts *o = opts;
	char path[256], b1[16], b2[16], b3[16], b4[16], b5[16], b6[16], svc[512];
	struct json_val *v;
	int status = 0;
	static const struct out_col cols[] = {
		{ "vm", "VM", COL_LEFT, COL_STR }, { "host", "HOST", COL_LEFT, COL_STR },
		{ "zone", "ZONE", COL_LEFT, COL_STR }, { "bytes_in", "BYTES IN", COL_RIGHT, COL_STR },
		{ "bytes_out", "BYTES OUT", COL_RIGHT, COL_STR }, { "bps_in", "BPS IN", COL_RIGHT, COL_STR },
		{ "bps_out", "BPS OUT", COL_RIGHT, COL_STR },
		{ "same_host", "SAME-HOST", COL_RIGHT, COL_STR },
		{ "cross_host", "CROSS-HOST", COL_RIGHT, COL_STR },
		{ "outside", "OUTSIDE", COL_RIGHT, COL_STR }, { "services", "SERVICES", COL_LEFT, COL_STR },
	};

	(void)c;
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "/api/v1/vms?sort=%s&limit=%" PRIu64 "&window=%" PRIu64 "ms",
		 sort_names[o->sort], o->limit, o->window_ms);
	v = api_get(o, path, &status);
	if (!v)
		return 1;
	if (o->json) {
		json_free(v);
		return 0;
	}
	const struct json_val *vms = json_get(v, "vms");
	struct out out;
	struct out_table *t = out_table_new(cols, ARRAY_SIZE(cols));
	out_init(&out, stdout, OUT_FMT_TEXT, false);
	for (size_t i = 0; t && i < json_len(vms); i++) {
		const struct json_val *e = json_at(vms, i);
		out_cell_str(t, json_str_or(e, "name", ""));
		out_cell_str(t, json_str_or(e, "host", "")[0] ? json_str_or(e, "host", "") : "-");
		out_cell_str(t, json_str_or(e, "zone", "")[0] ? json_str_or(e, "zone", "") : "-");
		out_cell_str(t, si((double)json_u64(e, "bytes_in"), b1, sizeof(b1)));
		out_cell_str(t, si((double)json_u64(e, "bytes_out"), b2, sizeof(b2)));
		out_cell_str(t, si(d(e, "bps_in"), b3, sizeof(b3)));
		out_cell_str(t, si(d(e, "bps_out"), b4, sizeof(b4)));
		/* locality split: bytes in + out */
		const struct json_val *sh = loc(e, "same_host"), *ch = loc(e, "cross_host"),
				      *ou = loc(e, "outside");
		out_cell_str(t, si((double)(json_u64(sh, "bytes_in") + json_u64(sh, "bytes_out")), b5, sizeof(b5)));
		out_cell_str(t, si((double)(json_u64(ch, "bytes_in") + json_u64(ch, "bytes_out")), b6, sizeof(b6)));
		out_cell_str(t, si((double)(json_u64(ou, "bytes_in") + json_u64(ou, "bytes_out")), b1, sizeof(b1)));
		services_text(json_get(e, "services"), svc, sizeof(svc));
		out_cell_str(t, svc);
	}
	if (t) {
		out_table_print(&out, t, "vms");
		out_table_free(t);
	}
	const struct json_val *tot = json_get(v, "totals");
	out_text(&out, "%zu VMs; flows counted %" PRIu64 ", second observations not counted again %" PRIu64
		 "\n", json_len(vms), json_u64(tot, "flows"), json_u64(json_get(tot, "duplicates"), "flows"));
	out_finish(&out);
	json_free(v);
	return 0;
}

static void print_services(const struct json_val *arr, const char *title, const char *peers,
			   uint64_t limit)
{
	char b1[16], b2[16];

	printf("%s:\n", title);
	if (!json_len(arr)) {
		printf("  -\n");
		return;
	}
	printf("  %-12s %8s %8s %8s %10s %10s\n", "SERVICE", "FLOWS", "ANSWERS", peers, "BYTES IN",
	       "BYTES OUT");
	for (size_t i = 0; i < json_len(arr) && (!limit || i < limit); i++) {
		const struct json_val *e = json_at(arr, i);
		char svc[32];
		snprintf(svc, sizeof(svc), "%s/%" PRIu64, json_str_or(e, "proto", ""), json_u64(e, "port"));
		printf("  %-12s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "%s %10s %10s\n", svc, json_u64(e, "flows"),
		       json_u64(e, "answers"), json_u64(e, !strcmp(peers, "CLIENTS") ? "clients" : "servers"),
		       json_get(e, "clients_more") && json_get(e, "clients_more")->u.b ? "+" : " ",
		       si((double)json_u64(e, "bytes_in"), b1, sizeof(b1)), si((double)json_u64(e, "bytes_out"), b2, sizeof(b2)));
	}
}

static int vm_run(const struct cmd *c, void *opts, int argc, char **argv)
{
	struct vms_opts *o = opts;
	char path[512], enc[256], b1[16], b2[16], b3[16], b4[16], tb[40];
	struct json_val *v;
	size_t n = 0;
	int status = 0;

	(void)c;
	(void)argc;
	/* the name travels as one path segment: percent-encode it */
	for (const char *p = argv[0]; *p && n + 4 < sizeof(enc); p++) {
		unsigned char ch = (unsigned char)*p;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_' || ch == '.' || ch == '~')
			enc[n++] = (char)ch;
		else
			n += (size_t)snprintf(enc + n, sizeof(enc) - n, "%%%02X", ch);
	}
	enc[n] = '\0';
	snprintf(path, sizeof(path), "/api/v1/vms/%s?window=%" PRIu64 "ms", enc, o->window_ms);
	v = api_get(o, path, &status);
	if (!v)
		return status == 404 ? 2 : 1;
	if (o->json) {
		json_free(v);
		return 0;
	}
	const struct json_val *e = json_get(v, "vm");
	printf("VM %s  uuid %s  host %s  zone %s\n", json_str_or(e, "name", ""), json_str_or(e, "uuid", "")[0] ? json_str_or(e, "uuid", "") : "-",
	       json_str_or(e, "host", "")[0] ? json_str_or(e, "host", "") : "-", json_str_or(e, "zone", "")[0] ? json_str_or(e, "zone", "") : "-");
	printf("first seen %s, ", fmt_time_ms(json_u64(e, "first_ms"), tb, sizeof(tb)));
	printf("last seen %s\n", fmt_time_ms(json_u64(e, "last_ms"), tb, sizeof(tb)));
	printf("traffic      %10s %10s %10s %10s\n", "BYTES", "PACKETS", "FLOWS", "BPS");
	printf("  in         %10s %10s %10" PRIu64 " %10s\n", si((double)json_u64(e, "bytes_in"), b1, sizeof(b1)),
	       si((double)json_u64(e, "packets_in"), b2, sizeof(b2)), json_u64(e, "flows_in"), si(d(e, "bps_in"), b3, sizeof(b3)));
	printf("  out        %10s %10s %10" PRIu64 " %10s\n", si((double)json_u64(e, "bytes_out"), b1, sizeof(b1)),
	       si((double)json_u64(e, "packets_out"), b2, sizeof(b2)), json_u64(e, "flows_out"), si(d(e, "bps_out"), b4, sizeof(b4)));
	printf("locality     %10s %10s\n", "BYTES IN", "BYTES OUT");
	static const char *const locs[3][2] = { { "same_host", "same host" }, { "cross_host", "cross host" },
						{ "outside", "outside" } };
	for (int i = 0; i < 3; i++) {
		const struct json_val *l = loc(e, locs[i][0]);
		printf("  %-10s %10s %10s\n", locs[i][1], si((double)json_u64(l, "bytes_in"), b1, sizeof(b1)),
		       si((double)json_u64(l, "bytes_out"), b2, sizeof(b2)));
	}
	print_services(json_get(e, "services_offered"), "services offered (server side)", "CLIENTS", o->limit);
	print_services(json_get(e, "services_consumed"), "services consumed (client side)", "SERVERS", o->limit);
	const struct json_val *l4 = json_get(e, "l4");
	printf("L4 (by service port):\n  %-12s %10s %10s\n", "PORT", "BYTES IN", "BYTES OUT");
	for (size_t i = 0; i < json_len(l4) && (!o->limit || i < o->limit); i++) {
		const struct json_val *x = json_at(l4, i);
		char k[32];
		snprintf(k, sizeof(k), "%s/%" PRIu64, json_str_or(x, "proto", ""), json_u64(x, "port"));
		printf("  %-12s %10s %10s\n", k, si((double)json_u64(json_get(x, "in"), "bytes"), b1, sizeof(b1)),
		       si((double)json_u64(json_get(x, "out"), "bytes"), b2, sizeof(b2)));
	}
	const struct json_val *peers = json_get(e, "peers");
	printf("peers:\n  %-20s %-16s %-10s %10s %10s\n", "PEER", "ADDRESS", "LOCALITY", "BYTES IN", "BYTES OUT");
	for (size_t i = 0; i < json_len(peers) && (!o->limit || i < o->limit); i++) {
		const struct json_val *x = json_at(peers, i);
		printf("  %-20s %-16s %-10s %10s %10s\n", json_str_or(x, "vm", "")[0] ? json_str_or(x, "vm", "") : "-", json_str_or(x, "addr", ""),
		       json_str_or(x, "locality", ""), si((double)json_u64(json_get(x, "in"), "bytes"), b1, sizeof(b1)),
		       si((double)json_u64(json_get(x, "out"), "bytes"), b2, sizeof(b2)));
	}
	const struct json_val *pts = json_get(json_get(e, "series"), "points");
	if (o->points && json_len(pts)) {
		size_t np = json_len(pts), from = np > o->points ? np - o->points : 0;
		printf("rates (%" PRIu64 " s buckets):\n  %-24s %10s %10s\n",
		       json_u64(json_get(e, "series"), "interval_ms") / 1000, "TIME", "BPS IN", "BPS OUT");
		for (size_t i = from; i < np; i++) {
			const struct json_val *x = json_at(pts, i);
			printf("  %-24s %10s %10s\n", fmt_time_ms(json_u64(x, "t_ms"), tb, sizeof(tb)),
			       si(d(x, "bps_in"), b1, sizeof(b1)), si(d(x, "bps_out"), b2, sizeof(b2)));
		}
	}
	json_free(v);
	return 0;
}

const struct cmd cmd_vms = {
	.name = "vms",
	.summary = "list VMs with their traffic, rates, locality split and services (from a collector)",
	.description =
		"Reads a running collector's per-VM statistics (GET /api/v1/vms). Bytes count each\n"
		"flow once (the count-once rule: docs/collector.md). SAME-HOST, CROSS-HOST and\n"
		"OUTSIDE split a VM's bytes (in + out) by where the other end is; SERVICES are the\n"
		"server ports the VM answered on.\n"
		"Example:\n"
		"  vtap vms --api http://127.0.0.1:4740 -n 20",
	.opts = vms_opt_defs,
	.nopts = ARRAY_SIZE(vms_opt_defs),
	.opts_size = sizeof(struct vms_opts),
	.run = vms_run,
};

const struct cmd cmd_vm = {
	.name = "vm",
	.summary = "one VM in detail: traffic, rates over time, L4, peers, services offered and consumed",
	.usage = "NAME|UUID",
	.description = "Reads GET /api/v1/vms/NAME from a running collector.\n"
		       "Example:\n"
		       "  vtap vm web-1 -p 30",
	.opts = vm_opt_defs,
	.nopts = ARRAY_SIZE(vm_opt_defs),
	.opts_size = sizeof(struct vms_opts),
	.run = vm_run,
	.min_args = 1,
	.max_args = 1,
};
