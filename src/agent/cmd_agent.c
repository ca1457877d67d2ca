/* cmd_agent.c — `vtap agent` (the daemon) and `vtap agent status` (its
 * client over the control API). */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/tap/tap_agent.h"
#include "cli/commands.h"
#include "core/json.h"
#include "core/log.h"
#include "core/out.h"
#include "core/timeutil.h"
#include "http/http_client.h"

/* ---- vtap agent ------------------------------------------------------------ */

struct agent_opts {
	const char *config;
	struct opt_strlist set;
	bool check;
	const char *log_level;
};

static const struct opt_def agent_optdefs[] = {
	{ "config", 'c', OPT_STR, offsetof(struct agent_opts, config), "FILE",
	  "the config file (docs/reference/agent.conf.md)", 0, 0, NULL, NULL },
	{ "set", 'o', OPT_STRLIST, offsetof(struct agent_opts, set), "SECTION.KEY=VALUE",
	  "override one config key (repeatable), e.g. -o ports.bridge=br0", 0, 0, NULL, NULL },
	{ "check", 0, OPT_FLAG, offsetof(struct agent_opts, check), NULL,
	  "validate the configuration and exit", 0, 0, NULL, NULL },
	{ "log-level", 'l', OPT_STR, offsetof(struct agent_opts, log_level), "LEVEL",
	  "err, warn, info or debug (overrides [agent] log_level)", 0, 0, NULL, NULL },
};

static int agent_cmd_run(const struct cmd *cmd, void *o, int argc, char **argv)
{
	const struct agent_opts *opts = o;
	struct agent_conf c;
	struct vt_err err = { 0 };
	struct agent *a;
	struct tap_agent *tap = NULL;
	enum log_level lvl;
	int r;

	(void)cmd;
	(void)argc;
	(void)argv;
	if (agent_conf_load(opts->config, &opts->set, &c, &err) < 0) {
		fprintf(stderr, "vtap agent: %s\n", err.msg);
		agent_conf_free(&c);
		return 2;
	}
	if (opts->log_level) {
		if (log_parse_level(opts->log_level, &lvl) < 0) {
			fprintf(stderr, "vtap agent: --log-level: '%s' is not err, warn, info or debug\n",
				opts->log_level);
			agent_conf_free(&c);
			return 2;
		}
	} else {
		lvl = (enum log_level)c.agent.log_level;
	}
	if (opts->check) {
		printf("%s: configuration is valid\n", opts->config ? opts->config : "(defaults)");
		agent_conf_free(&c);
		return 0;
	}
	log_set_level(lvl);
	a = agent_new(&c, &err);
	if (!a) {
		log_err("vtap agent: %s", err.msg);
		agent_conf_free(&c);
		return 1;
	}
	if (c.tap.enable && !(tap = tap_agent_new(a, &c, &err))) {
		log_err("vtap agent: %s", err.msg);
		agent_free(a);
		agent_conf_free(&c);
		return 1;
	}
	r = agent_run(a);
	/* the engine lives on the agent's loop: it goes first */
	tap_agent_free(tap);
	agent_free(a);
	agent_conf_free(&c);
	return r < 0 ? 1 : 0;
}

/* ---- vtap agent status ------------------------------------------------------ */

struct status_opts {
	bool json;
	const char *socket;
	const char *config;
	uint64_t timeout_ms;
};

static const struct opt_def status_optdefs[] = {
	{ "json", 'j', OPT_FLAG, offsetof(struct status_opts, json), NULL,
	  "print the whole status document as JSON", 0, 0, NULL, NULL },
	{ "socket", 's', OPT_STR, offsetof(struct status_opts, socket), "PATH",
	  "the agent's control socket (unix:PATH or HOST:PORT; default " AGENT_DEFAULT_SOCKET
	  ", or [control] listen of --config)", 0, 0, NULL, NULL },
	{ "config", 'c', OPT_STR, offsetof(struct status_opts, config), "FILE",
	  "read the control socket from this agent config file", 0, 0, NULL, NULL },
	{ "timeout", 't', OPT_DURATION, offsetof(struct status_opts, timeout_ms), "DUR",
	  "give up after this long", 1, 600000, NULL, "10s" },
};

/* target() : the client target for a socket spec ("unix:/x", "/x",
 * "127.0.0.1:9000", "http://..."). */
static const char *dur(uint64_t ms, char *buf, size_t cap)
{
	uint64_t s = ms / 1000;

	if (s < 120)
		snprintf(buf, cap, "%" PRIu64 "s", s);
	else if (s < 7200)
		snprintf(buf, cap, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(buf, cap, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, (s / 60) % 60);
	return buf;
}

static const struct out_col port_cols[] = {
	{ "name", "PORT", COL_LEFT, COL_STR },
	{ "type", "TYPE", COL_LEFT, COL_STR },
	{ "ifindex", "IFINDEX", COL_RIGHT, COL_UINT },
	{ "vm", "VM", COL_LEFT, COL_STR },
	{ "uuid", "UUID", COL_LEFT, COL_STR },
	{ "source", "SOURCE", COL_LEFT, COL_STR },
	{ "frames_in", "IN", COL_RIGHT, COL_UINT },
	{ "frames_out", "OUT", COL_RIGHT, COL_UINT },
	{ "packets", "METERED", COL_RIGHT, COL_UINT },
	{ "bytes", "BYTES", COL_RIGHT, COL_UINT },
	{ "dropped", "DROPPED", COL_RIGHT, COL_UINT },
};

static void print_text(const struct json_val *st)
{
	const struct json_val *ag = json_get(st, "agent"), *ports = json_get(st, "ports");
	const struct json_val *fl = json_get(st, "flows"), *ex = json_get(st, "export");
	const struct json_val *id = json_get(st, "identity");
	struct out o;
	struct out_table *t;
	char b1[32];

	printf("agent %s (vtap %s, pid %" PRIu64 "), up %s, %s backend, %" PRIu64
	       " capture thread%s\n",
	       json_str_or(ag, "name", "?"), json_str_or(ag, "version", "?"), json_u64(ag, "pid"),
	       dur(json_u64(ag, "uptime_ms"), b1, sizeof(b1)), json_str_or(ag, "backend", "?"),
	       json_u64(ag, "threads"), json_u64(ag, "threads") == 1 ? "" : "s");
	out_init(&o, stdout, OUT_FMT_TEXT, false);
	t = out_table_new(port_cols, ARRAY_SIZE(port_cols));
	for (size_t i = 0; t && i < json_len(ports); i++) {
		const struct json_val *p = json_at(ports, i), *vm = json_get(p, "vm");
		out_cell_str(t, json_str_or(p, "name", "?"));
		out_cell_str(t, json_str_or(p, "type", "?"));
		out_cell_uint(t, json_u64(p, "ifindex"));
		out_cell_str(t, vm && vm->type == JSON_OBJ ? json_str_or(vm, "name", "-") : "unknown");
		out_cell_str(t, vm && vm->type == JSON_OBJ ? json_str_or(vm, "uuid", "-") : "-");
		out_cell_str(t, json_str_or(p, "identity_source", "-"));
		out_cell_uint(t, json_u64(p, "frames_in"));
		out_cell_uint(t, json_u64(p, "frames_out"));
		out_cell_uint(t, json_u64(p, "packets"));
		out_cell_uint(t, json_u64(p, "bytes"));
		out_cell_uint(t, json_u64(p, "dropped"));
	}
	if (t && out_table_rows(t))
		out_table_print(&o, t, "ports");
	else
		printf("no VM ports\n");
	out_table_free(t);
	out_finish(&o);
	for (size_t i = 0; i < json_len(ports); i++) {
		const char *e = json_get_str(json_at(ports, i), "capture_error");
		if (e)
			printf("  %s: not tapped: %s\n", json_str_or(json_at(ports, i), "name", "?"), e);
	}
	printf("flows: %" PRIu64 " active (peak %" PRIu64 "), %" PRIu64 " records, %" PRIu64
	       " lost; %" PRIu64 " wire packets, %" PRIu64 " bytes metered\n",
	       json_u64(fl, "active"), json_u64(fl, "peak"), json_u64(fl, "records"), json_u64(fl, "records_lost"),
	       json_u64(fl, "packets"), json_u64(fl, "bytes"));
	const struct json_val *cols = json_get(ex, "collectors");
	if (json_len(cols) == 0)
		printf("export: no collector\n");
	for (size_t i = 0; i < json_len(cols); i++) {
		const struct json_val *c = json_at(cols, i), *up = json_get(c, "up");
		printf("export %s %s: %s, %" PRIu64 " messages, %" PRIu64 " records, %" PRIu64
		       " messages dropped\n",
		       json_str_or(ex, "format", "?"), json_str_or(c, "url", "?"),
		       up && up->type == JSON_BOOL && up->u.b ? "up" : "down", json_u64(c, "messages"),
		       json_u64(c, "records"), json_u64(c, "dropped_messages"));
	}
	const struct json_val *tap = json_get(st, "tap");
	if (tap && tap->type == JSON_OBJ)
		printf("tap: %s backend%s, %" PRIu64 " session%s (%" PRIu64 " inactive, %" PRIu64
		       " in-kernel VXLAN, %" PRIu64 " destination%s down), %" PRIu64 " ports armed\n",
		       json_str_or(tap, "backend", "?"),
		       json_get(tap, "adopted") && json_get(tap, "adopted")->type == JSON_BOOL &&
				       json_get(tap, "adopted")->u.b ? " (adopted the running programs)" : "",
		       json_u64(tap, "sessions_defined"), json_u64(tap, "sessions_defined") == 1 ? "" : "s",
		       json_u64(tap, "sessions_inactive"), json_u64(tap, "sessions_kernel_path"),
		       json_u64(tap, "sessions_dest_down"), json_u64(tap, "sessions_dest_down") == 1 ? "" : "s",
		       json_u64(tap, "ports_armed"));
	else
		printf("tap: off ([tap] enable = no)\n");
	static const char *const srcs[] = { "libvirt", "inventory" };
	for (size_t i = 0; i < ARRAY_SIZE(srcs); i++) {
		const struct json_val *s = json_get(id, srcs[i]), *cf = json_get(s, "configured");
		if (!cf || cf->type != JSON_BOOL || !cf->u.b)
			continue;
		printf("identity %s %s: %" PRIu64 " entries%s%s\n", srcs[i],
		       json_str_or(s, srcs[i][0] == 'l' ? "uri" : "path", "?"), json_u64(s, "entries"),
		       json_get_str(s, "last_error") ? "; last error: " : "",
		       json_str_or(s, "last_error", ""));
	}
}

static int status_run(const struct cmd *cmd, void *o, int argc, char **argv)
{
	const struct status_opts *opts = o;
	char tgt[256];
	const char *spec = opts->socket;
	struct agent_conf c;
	bool have_conf = false;
	struct http_client_opts co = { .peer_name = "the agent",
				       .hint = "is `vtap agent` running?",
				       .timeout_ms = opts->timeout_ms };
	struct http_client_resp resp;
	struct vt_err err = { 0 };
	struct json_val *st;

	(void)cmd;
	(void)argc;
	(void)argv;
	if (!spec && opts->config) {
		if (agent_conf_load(opts->config, NULL, &c, &err) < 0) {
			fprintf(stderr, "vtap agent status: %s\n", err.msg);
			agent_conf_free(&c);
			return 2;
		}
		have_conf = true;
		spec = c.control.listen.a[0].spec;
	}
	http_client_target(spec ? spec : "unix:" AGENT_DEFAULT_SOCKET, tgt, sizeof(tgt));
	if (have_conf)
		agent_conf_free(&c);
	memset(&resp, 0, sizeof(resp));
	if (http_client_json(tgt, "GET", "/api/v1/status", NULL, 0, &co, &resp, &st, &err) < 0) {
		fprintf(stderr, "vtap agent status: %s\n", err.msg);
		http_client_resp_free(&resp);
		return 1;
	}
	if (opts->json) {
		fwrite(resp.body.data, 1, resp.body.len, stdout);
		printf("\n");
	} else {
		print_text(st);
	}
	json_free(st);
	http_client_resp_free(&resp);
	return 0;
}

static const struct cmd cmd_agent_status = {
	.name = "status",
	.summary = "show the running agent's ports, VMs, flows and export counters",
	.description = "Asks the agent over its control API (GET /api/v1/status). The text form "
		       "lists every VM port with its VM (and where the identity came from), the "
		       "frames seen in each direction, the wire packets and bytes metered there "
		       "(each packet counted once on the host) and the frames the kernel dropped; "
		       "then flows, export and identity sources. -j prints the whole document.",
	.opts = status_optdefs,
	.nopts = ARRAY_SIZE(status_optdefs),
	.opts_size = sizeof(struct status_opts),
	.run = status_run,
};

static const struct cmd *const agent_subs[] = { &cmd_agent_status, NULL };

const struct cmd cmd_agent = {
	.name = "agent",
	.summary = "the per-hypervisor daemon: tap VM ports, meter flows, export IPFIX/NetFlow v9",
	.usage = NULL,
	.description = "Discovers the VM ports of this host (ports of the configured bridges, "
		       "followed live through rtnetlink, and listed interfaces), learns which VM "
		       "each belongs to (libvirt, an inventory file, the interface alias), taps "
		       "them with AF_PACKET rings, counts every packet once, meters flows and "
		       "exports them as IPFIX or NetFlow v9 records carrying the VM's identity. "
		       "SIGHUP reloads the identity sources; SIGTERM exports every flow and exits. "
		       "See docs/agent.md.",
	.opts = agent_optdefs,
	.nopts = ARRAY_SIZE(agent_optdefs),
	.opts_size = sizeof(struct agent_opts),
	.run = agent_cmd_run,
	.subs = agent_subs,
};
