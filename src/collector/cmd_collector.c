/* cmd_collector.c — `vtap collector`: runs the collector daemon in the
 * foreground (collector.h); `--check` only validates the configuration. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "collector/collector.h"
#include "core/log.h"

struct collector_opts {
	const char *config;
	struct opt_strlist set;
	const char *ready_file;
	bool check;
};

#define O(f) offsetof(struct collector_opts, f)
static const struct opt_def collector_opt_defs[] = {
	{ "config", 'c', OPT_STR, O(config), "FILE",
	  "configuration file (docs/reference/collector.conf.md); without it every key has its default",
	  0, 0, NULL, NULL },
	{ "set", 'o', OPT_STRLIST, O(set), "SECTION.KEY=VALUE",
	  "override one key of the file (repeatable), e.g. -o store.dir=/tmp/s -o collector.workers=4",
	  0, 0, NULL, NULL },
	{ "ready-file", 0, OPT_STR, O(ready_file), "FILE",
	  "once everything listens, write the bound addresses there as JSON (scripts, tests)", 0, 0,
	  NULL, NULL },
	{ "check", 0, OPT_FLAG, O(check), NULL, "validate the configuration and exit", 0, 0, NULL,
	  NULL },
};
#undef O

static int collector_cmd_run(const struct cmd *c, void *o, int argc, char **argv)
{
	struct collector_opts *opts = o;
	struct vt_err err = { 0 };
	struct collector_conf *conf;
	int rc;

	(void)c;
	(void)argc;
	(void)argv;
	conf = collector_conf_load(opts->config, opts->set.v, opts->set.n, &err);
	if (!conf) {
		fprintf(stderr, "vtap collector: %s\n", err.msg);
		return 2;
	}
	if (opts->check) {
		struct zones *z = zones_new(conf->zones, conf->nzones, &err);
		if (!z) {
			fprintf(stderr, "vtap collector: %s\n", err.msg);
			collector_conf_free(conf);
			return 2;
		}
		zones_free(z);
		printf("configuration ok\n");
		collector_conf_free(conf);
		return 0;
	}
	rc = collector_run(conf, opts->ready_file);
	collector_conf_free(conf);
	return rc;
}

const struct cmd cmd_collector = {
	.name = "collector",
	.summary = "run the flow collector: NetFlow/IPFIX/sFlow ingest, VM attribution, store, API",
	.usage = NULL,
	.description =
		"Receives NetFlow v5/v9, IPFIX (UDP and TCP) and sFlow from many exporters,\n"
		"attributes every flow to VMs and zones, stores it and keeps per-VM statistics.\n"
		"Runs in the foreground; SIGTERM or SIGINT stop it cleanly (everything received is\n"
		"stored), SIGHUP rereads the inventory. The HTTP API (default http://127.0.0.1:4740)\n"
		"serves /api/v1/... and /metrics; `vtap vms` and `vtap vm` read it.\n"
		"Configuration: docs/collector.md, every key: `vtap config-keys collector`.\n"
		"Example:\n"
		"  vtap collector -c /etc/vtap/collector.conf\n"
		"  vtap collector -o store.dir=/tmp/store -o collector.state_dir=/tmp/state",
	.opts = collector_opt_defs,
	.nopts = ARRAY_SIZE(collector_opt_defs),
	.opts_size = sizeof(struct collector_opts),
	.run = collector_cmd_run,
};
