/* Unit tests: lib/core/opt — declarative options and subcommands. */
#include "core/opt.h"

#include <stddef.h>

#include "vt_test.h"

struct o {
	bool json;
	unsigned verbose;
	const char *config;
	uint64_t hosts;
	uint64_t timeout;
	int proto;
	struct opt_strlist collector;
};

static const char *const protos[] = { "udp", "tcp", NULL };

static const struct opt_def opts[] = {
	{ "json", 'j', OPT_FLAG, offsetof(struct o, json), NULL, "JSON output", 0, 0, NULL, NULL },
	{ "verbose", 'v', OPT_COUNT, offsetof(struct o, verbose), NULL, "more", 0, 0, NULL, NULL },
	{ "config", 'c', OPT_STR, offsetof(struct o, config), "FILE", "config file", 0, 0, NULL, "/etc/vtap.conf" },
	{ "hosts", 0, OPT_UINT, offsetof(struct o, hosts), "N", "hosts", 1, 64, NULL, "2" },
	{ "timeout", 't', OPT_DURATION, offsetof(struct o, timeout), "DUR", "timeout", 1, 60000, NULL, "5s" },
	{ "proto", 'p', OPT_ENUM, offsetof(struct o, proto), "P", "transport", 0, 0, protos, "udp" },
	{ "collector", 'C', OPT_STRLIST, offsetof(struct o, collector), "URL", "where", 0, 0, NULL, NULL },
};

static int run_parse(struct o *o, struct vt_err *err, int *first, bool *help, int argc, char **argv)
{
	memset(o, 0, sizeof(*o));
	return opt_parse(opts, sizeof(opts) / sizeof(opts[0]), o, argc, argv, true, first, help, err);
}

static void t_permute(void)
{
	char *argv[] = { "x", "vm2", "h2", "--hosts", "3", "-j", NULL };
	char *stop[] = { "x", "vm2", "ping", "-j", NULL };
	struct o o;
	struct vt_err err = { 0 };
	int first;
	bool help;

	memset(&o, 0, sizeof(o));
	CHECK_EQ(opt_parse(opts, sizeof(opts) / sizeof(opts[0]), &o, 6, argv, false, &first, &help, &err), 0);
	CHECK_EQ_U64(o.hosts, 3);
	CHECK(o.json);
	CHECK_EQ(first, 4);
	CHECK_STR(argv[first], "vm2");
	CHECK_STR(argv[first + 1], "h2");
	/* a command that runs another command: its options stay its own */
	memset(&o, 0, sizeof(o));
	CHECK_EQ(opt_parse(opts, sizeof(opts) / sizeof(opts[0]), &o, 4, stop, true, &first, &help, &err), 0);
	CHECK(!o.json);
	CHECK_EQ(first, 1);
	CHECK_STR(stop[first + 2], "-j");
}

static void t_parse_ok(void)
{
	char *argv[] = { "x", "-j", "-vv", "--hosts", "8", "-t", "250ms", "-p", "tcp",
			 "-C", "a", "--collector=b", "pos1", "-j", NULL };
	struct o o;
	struct vt_err err = { 0 };
	int first;
	bool help;

	CHECK_EQ(run_parse(&o, &err, &first, &help, 14, argv), 0);
	CHECK(o.json);
	CHECK_EQ(o.verbose, 2);
	CHECK_STR(o.config, "/etc/vtap.conf");
	CHECK_EQ_U64(o.hosts, 8);
	CHECK_EQ_U64(o.timeout, 250);
	CHECK_EQ(o.proto, 1);
	CHECK_EQ(o.collector.n, 2);
	CHECK_STR(o.collector.v[1], "b");
	/* stops at the first positional argument */
	CHECK_EQ(first, 12);
	CHECK(!help);
}

static void t_parse_errors(void)
{
	static const struct { const char *args[4]; const char *want; } cases[] = {
		{ { "--hosts", "0" }, "option --hosts: 0 is out of range [1, 64]" },
		{ { "--hosts", "many" }, "option --hosts: 'many' is not an integer" },
		{ { "-t", "2h" }, "option -t/--timeout: 2h is out of range" },
		{ { "-t", "soon" }, "option -t/--timeout: 'soon' is not a duration" },
		{ { "-p", "sctp" }, "option -p/--proto: 'sctp' is not one of: udp, tcp" },
		{ { "--nope" }, "unknown option --nope" },
		{ { "-z" }, "unknown option -z" },
		{ { "--config" }, "option --config needs an argument" },
		{ { "-c", "" }, "option -c/--config: empty value" },
		/* glibc reports these as '?' with optopt set to the long
		 * option's value (0x100 + index) or to 0: name them */
		{ { "--json=yes" }, "option --json takes no argument" },
		{ { "--verbose=2" }, "option --verbose takes no argument" },
		{ { "--co", "x" }, "option --co is ambiguous (--config, --collector)" },
		{ { "--nope=1" }, "unknown option --nope" },
		{ { "--js=1" }, "option --json takes no argument" },
		{ { "--help=1" }, "option --help takes no argument" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[6] = { "x" };
		int argc = 1;
		for (int a = 0; a < 4 && cases[i].args[a]; a++)
			argv[argc++] = (char *)cases[i].args[a];
		struct o o;
		struct vt_err err = { 0 };
		int first;
		bool help;
		CHECK(run_parse(&o, &err, &first, &help, argc, argv) < 0);
		CHECK_CONTAINS(err.msg, cases[i].want);
	}
}

static int ran_leaf;
static const char *ran_arg;

static int leaf_run(const struct cmd *c, void *o, int argc, char **argv)
{
	(void)c;
	ran_leaf = ((struct o *)o)->json ? 2 : 1;
	ran_arg = argc ? argv[0] : NULL;
	return 7;
}

static const struct cmd leaf = {
	.name = "up", .summary = "bring it up", .usage = "NAME", .opts = opts,
	.nopts = sizeof(opts) / sizeof(opts[0]), .opts_size = sizeof(struct o),
	.run = leaf_run, .min_args = 1, .max_args = 1,
};
static const struct cmd *const mid_subs[] = { &leaf, NULL };
static const struct cmd mid = { .name = "lab", .summary = "the lab", .subs = mid_subs };
static const struct cmd *const root_subs[] = { &mid, NULL };
static const struct cmd root = { .name = "vtap", .summary = "root", .subs = root_subs };

static void t_dispatch(void)
{
	char *ok[] = { "vtap", "lab", "up", "-j", "web", NULL };
	ran_leaf = 0;
	CHECK_EQ(cmd_dispatch(&root, "vtap", 5, ok), 7);
	CHECK_EQ(ran_leaf, 2);
	CHECK_STR(ran_arg, "web");

	char *missing[] = { "vtap", "lab", "up", NULL };
	ran_leaf = 0;
	CHECK_EQ(cmd_dispatch(&root, "vtap", 3, missing), 2);
	CHECK_EQ(ran_leaf, 0);

	char *extra[] = { "vtap", "lab", "up", "a", "b", NULL };
	CHECK_EQ(cmd_dispatch(&root, "vtap", 5, extra), 2);
	CHECK_EQ(ran_leaf, 0);

	char *unknown[] = { "vtap", "lab", "sideways", NULL };
	CHECK_EQ(cmd_dispatch(&root, "vtap", 3, unknown), 2);
	CHECK(cmd_find(&root, 2, (char *[]){ "lab", "up" }) == &leaf);
	CHECK(cmd_find(&root, 2, (char *[]){ "lab", "down" }) == NULL);
}

static void t_help_and_man(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	cmd_print_help(fp, &root, "vtap", 2, (char *[]){ "lab", "up" });
	cmd_print_man(fp, &leaf, "vtap lab up", "0.1");
	fclose(fp);
	CHECK_CONTAINS(text, "Usage: vtap lab up [OPTIONS] NAME");
	CHECK_CONTAINS(text, "-c, --config FILE");
	CHECK_CONTAINS(text, "(default /etc/vtap.conf)");
	CHECK_CONTAINS(text, ".TH VTAP-LAB-UP 1");
	CHECK_CONTAINS(text, "\\fB\\-\\-hosts\\fR \\fIN\\fR");
	free(text);
}

VT_TEST_MAIN(VT_T(t_parse_ok), VT_T(t_permute), VT_T(t_parse_errors), VT_T(t_dispatch), VT_T(t_help_and_man))
