/* cmd_flows.c — `vtap flows`: query a store directory with the filter
 * language; list flows or aggregate them into top-N tables. It opens the
 * store read-only, so it works next to a running collector. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "core/out.h"
#include "core/timeutil.h"
#include "query/filter.h"
#include "query/qout.h"
#include "query/query.h"
#include "store/store.h"

struct flows_opts {
	const char *dir;
	const char *since, *until;
	const char *keys;
	int sort;
	uint64_t limit;
	bool oldest;
	bool once;
	bool json, csv, quiet;
	uint64_t max_groups;
};

static const char *const sort_names[] = { "bytes", "packets", "flows", NULL };

#define O(f) offsetof(struct flows_opts, f)
static const struct opt_def flows_opts[] = {
	{ "dir", 'd', OPT_STR, O(dir), "DIR", "store directory", 0, 0, NULL,
	  "/var/lib/vtap/store" },
	{ "since", 0, OPT_STR, O(since), "TIME",
	  "flows active at or after TIME: an age (15m, 2h, 7d), Unix seconds or ISO 8601 UTC",
	  0, 0, NULL, NULL },
	{ "until", 0, OPT_STR, O(until), "TIME", "flows active at or before TIME (same forms)",
	  0, 0, NULL, NULL },
	{ "aggregate", 'A', OPT_STR, O(keys), "KEYS",
	  "aggregate by comma-separated keys: srcip dstip ip srcport dstport port proto srcvm "
	  "dstvm vm srczone dstzone zone exporter vlan locality inif outif srcas dstas tos dup",
	  0, 0, NULL, NULL },
	{ "sort", 's', OPT_ENUM, O(sort), "ORDER", "order of aggregated groups: bytes, packets or flows",
	  0, 0, sort_names, "bytes" },
	{ "limit", 'n', OPT_UINT, O(limit), "N", "groups or flows to show (0 = all)", 0,
	  UINT64_MAX, NULL, "10" },
	{ "oldest", 0, OPT_FLAG, O(oldest), NULL, "list oldest flows first (default newest first)",
	  0, 0, NULL, NULL },
	{ "once", '1', OPT_FLAG, O(once), NULL,
	  "count once: leave out duplicate observations (adds 'and not dup' to the filter); the "
	  "totals `vtap vms` shows. Default: every stored observation, as nfdump counts",
	  0, 0, NULL, NULL },
	{ "json", 'j', OPT_FLAG, O(json), NULL, "JSON output", 0, 0, NULL, NULL },
	{ "csv", 0, OPT_FLAG, O(csv), NULL, "CSV output (listings carry every stored field)", 0, 0,
	  NULL, NULL },
	{ "quiet", 'q', OPT_FLAG, O(quiet), NULL, "no summary after text output", 0, 0, NULL,
	  NULL },
	{ "max-groups", 0, OPT_UINT, O(max_groups), "N",
	  "refuse aggregations with more groups than this (memory bound)", 1, UINT64_MAX, NULL,
	  "50000000" },
};

/* Prints the filter and a caret under the column a message names. */
static void show_column(const char *text, const char *msg)
{
	unsigned long col;
	char *end;

	if (strncmp(msg, "column ", 7) != 0)
		return;
	col = strtoul(msg + 7, &end, 10);
	if (end == msg + 7 || col == 0 || col > strlen(text) + 1)
		return;
	fprintf(stderr, "  %s\n  %*s^\n", text, (int)(col - 1), "");
}

static int flows_run(const struct cmd *c, void *o, int argc, char **argv)
{
	struct flows_opts *opts = o;
	struct vt_err err = { 0 };
	struct query q;
	struct store_conf conf;
	struct store *st = NULL;
	struct filter *f = NULL;
	struct query_result *res = NULL;
	uint64_t now = wall_ms();
	struct out out;
	int rc = 1;

	(void)c;
	memset(&q, 0, sizeof(q));
	if (opts->json && opts->csv) {
		fprintf(stderr, "vtap flows: --json and --csv exclude each other\n");
		return 2;
	}
	if (opts->since && parse_time_ms(opts->since, now, &q.since_ms) < 0) {
		fprintf(stderr, "vtap flows: option --since: '%s' is not a time (e.g. 1h, "
				"1700000000, 2026-11-21T10:00:00Z)\n", opts->since);
		return 2;
	}
	q.until_ms = UINT64_MAX;
	if (opts->until && parse_time_ms(opts->until, now, &q.until_ms) < 0) {
		fprintf(stderr, "vtap flows: option --until: '%s' is not a time (e.g. 10m, "
				"1700000000, 2026-11-21T10:00:00Z)\n", opts->until);
		return 2;
	}
	if (q.until_ms < q.since_ms) {
		fprintf(stderr, "vtap flows: --until is before --since\n");
		return 2;
	}
	if (opts->keys && query_parse_keys(opts->keys, q.keys, &q.nkeys, &err) < 0) {
		fprintf(stderr, "vtap flows: option -A/--aggregate: %s\n", err.msg);
		return 2;
	}
	f = filter_compile_argv(argc, argv, &err);
	if (!f) {
		char *text = NULL;
		size_t len = 1;
		for (int i = 0; i < argc; i++)
			len += strlen(argv[i]) + 1;
		text = calloc(1, len);
		for (int i = 0, n = 0; text && i < argc; i++)
			n += snprintf(text + n, len - (size_t)n, "%s%s", i ? " " : "", argv[i]);
		fprintf(stderr, "vtap flows: filter: %s\n", err.msg);
		if (text)
			show_column(text, err.msg);
		free(text);
		return 2;
	}
	if (opts->once && filter_once(f, &err) < 0) {
		fprintf(stderr, "vtap flows: option -1/--once: %s\n", err.msg);
		filter_free(f);
		return 2;
	}
	q.filter = f;
	q.sort = (enum qsort)opts->sort;
	q.limit = opts->limit;
	q.oldest_first = opts->oldest;
	q.max_groups = opts->max_groups;

	if (store_conf_init(&conf, opts->dir) < 0) {
		fprintf(stderr, "vtap flows: out of memory\n");
		goto out;
	}
	st = store_open(&conf, STORE_RDONLY, &err);
	store_conf_free(&conf);
	if (!st) {
		fprintf(stderr, "vtap flows: %s\n", err.msg);
		goto out;
	}
	if (query_run(st, &q, &res, &err) < 0) {
		fprintf(stderr, "vtap flows: %s\n", err.msg);
		goto out;
	}
	out_init(&out, stdout, opts->json ? OUT_FMT_JSON : opts->csv ? OUT_FMT_CSV : OUT_FMT_TEXT,
		 true);
	if (qout_print(&out, &q, res, !opts->quiet) < 0) {
		fprintf(stderr, "vtap flows: out of memory\n");
		out_finish(&out);
		goto out;
	}
	if (out_finish(&out) < 0) {
		fprintf(stderr, "vtap flows: cannot write the output: %s\n", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	query_result_free(res);
	store_close(st);
	filter_free(f);
	return rc;
}

const struct cmd cmd_flows = {
	.name = "flows",
	.summary = "list, filter and aggregate stored flows (top-N by bytes, packets or flows)",
	.usage = "[FILTER...]",
	.description =
		"Reads the store directory (read-only; works while a collector writes to it).\n"
		"Without -A, lists matching flows, newest first. With -A, aggregates them by the\n"
		"given keys and shows the top N groups by bytes, packets or flows.\n"
		"The filter language (docs/query.md):\n"
		"  vm NAME | src vm GLOB | dst vm UUID | zone Z | src|dst ip ADDR | src|dst net CIDR\n"
		"  src|dst port N|N-M | ip/net/port without direction = either side\n"
		"  proto tcp|udp|icmp|N | exporter ADDR | bytes > N | packets >= N | vlan N\n"
		"  locality same-host|cross-host|outside | dup | ipv4 | ipv6 | and | or | not | ( )\n"
		"Count once: a cross-host VM-to-VM flow is exported by both hosts' agents and\n"
		"stored twice; the collector marks the observation it did not count as `dup`.\n"
		"By default every observation counts (what nfdump shows for the same exports);\n"
		"--once (= 'and not dup') gives the count-once totals that `vtap vms` uses.\n"
		"Examples:\n"
		"  vtap flows --since 1h -A srcip -n 10\n"
		"  vtap flows -A dstport -s flows proto tcp and not dst net 198.18.0.0/15\n"
		"  vtap flows -A srcvm,dstvm vm 'web-*' and dst port 443\n"
		"  vtap flows --once -A srcvm -j      # per-VM bytes sent, as vtap vms counts them",
	.opts = flows_opts,
	.nopts = ARRAY_SIZE(flows_opts),
	.opts_size = sizeof(struct flows_opts),
	.run = flows_run,
	.max_args = 1024,
};
