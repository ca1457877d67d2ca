/* main.c — the `vtap` binary: one entry point, subcommands for every
 * component (agent, collector, manager, CLI queries, the lab). */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "core/log.h"

static const struct cmd *const root_subs[] = {
	&cmd_help,
	&cmd_version,
	&cmd_man,
	&cmd_docs,
	&cmd_config_keys,
	&cmd_agent,
	&cmd_lab,
	&cmd_decode,
	&cmd_meter,
	&cmd_flowdecode,
	&cmd_flows,
	&cmd_store,
	&cmd_flowgen,
	&cmd_collector,
	&cmd_vms,
	&cmd_vm,
	&cmd_taprun,
	&cmd_session,
	NULL,
};

struct root_opts {
	bool version;
};

static const struct opt_def root_opts[] = {
	{ "version", 'V', OPT_FLAG, offsetof(struct root_opts, version), NULL,
	  "print the version and exit", 0, 0, NULL, NULL },
};

static int root_run(const struct cmd *c, void *o, int argc, char **argv)
{
	const struct root_opts *opts = o;

	(void)argv;
	if (opts->version) {
		printf("vtap %s\n", VTAP_VERSION);
		return 0;
	}
	if (argc > 0) {
		fprintf(stderr, "vtap: unknown command '%s'; see 'vtap --help'\n", argv[0]);
		return 2;
	}
	cmd_print_help(stderr, c, "vtap", 0, NULL);
	return 2;
}

const struct cmd vtap_root = {
	.name = "vtap",
	.summary = "visibility into virtualized networks: per-VM taps, flows, collector, lab",
	.usage = NULL,
	.opts = root_opts,
	.nopts = ARRAY_SIZE(root_opts),
	.opts_size = sizeof(struct root_opts),
	.run = root_run,
	.subs = root_subs,
	.max_args = 1,
};

int main(int argc, char **argv)
{
	log_init("vtap", LOG_LVL_INFO, false);
	return cmd_dispatch(&vtap_root, "vtap", argc, argv);
}
