/* cmd_session.c — `vtap session add|list|show|del`: mirror sessions of the
 * running agent, through its control API (/api/v1/sessions, see
 * src/agent/tap/tap_agent.h). The session itself is parsed and checked by
 * the agent with the one parser there is (tap_session.c): `add` sends a
 * JSON file as it is, or turns the common flags into the same JSON — a
 * --dest URL becomes the "destination" object key by key — so every error
 * names the same field whichever way the session was written. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/tap/tap_desturl.h"
#include "cli/commands.h"
#include "core/buf.h"
#include "core/compiler.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/out.h"
#include "core/timeutil.h"
#include "http/http_client.h"

#define BODY_MAX (4u << 20)

struct sess_opts {
	bool json;
	const char *socket;
	uint64_t timeout_ms;
	/* add */
	uint64_t id;
	const char *name;
	struct opt_strlist vms;
	bool all;
	const char *direction;
	const char *dest;
	const char *filter;
	uint64_t slice, sample;
};

#define COMMON_OPTS                                                                              \
	{ "json", 'j', OPT_FLAG, offsetof(struct sess_opts, json), NULL,                         \
	  "print the agent's answer as JSON", 0, 0, NULL, NULL },                                \
	{ "socket", 's', OPT_STR, offsetof(struct sess_opts, socket), "PATH",                    \
	  "the agent's control socket (unix:PATH, PATH or HOST:PORT; default "                   \
	  AGENT_DEFAULT_SOCKET ")", 0, 0, NULL, NULL },                                          \
	{ "timeout", 't', OPT_DURATION, offsetof(struct sess_opts, timeout_ms), "DUR",           \
	  "give up after this long", 1, 600000, NULL, "10s" }

static const struct opt_def common_optdefs[] = { COMMON_OPTS };

static const struct opt_def add_optdefs[] = {
	COMMON_OPTS,
	{ "id", 0, OPT_UINT, offsetof(struct sess_opts, id), "N",
	  "session id (default: one more than the highest in use)", 1, UINT32_MAX, NULL, NULL },
	{ "name", 'n', OPT_STR, offsetof(struct sess_opts, name), "NAME",
	  "session name (default: session-ID)", 0, 0, NULL, NULL },
	{ "vm", 'm', OPT_STRLIST, offsetof(struct sess_opts, vms), "VM",
	  "a VM to mirror, by UUID or name (repeatable)", 0, 0, NULL, NULL },
	{ "all", 'a', OPT_FLAG, offsetof(struct sess_opts, all), NULL,
	  "mirror every VM of the host", 0, 0, NULL, NULL },
	{ "direction", 'd', OPT_STR, offsetof(struct sess_opts, direction), "DIR",
	  "from_vm, to_vm or both (default both)", 0, 0, NULL, NULL },
	{ "dest", 'D', OPT_STR, offsetof(struct sess_opts, dest), "URL",
	  "where copies go: vxlan://IP[:PORT]?vni=N, gre://IP[?key=N], erspan2://IP?session_id=N, "
	  "erspan3://IP?session_id=N, tzsp://IP[:PORT] or pcapng:DIR; further destination fields "
	  "as ?k=v&k=v (mtu, mtu_policy, ttl, tos, encap, file_size, file_count...)", 0, 0, NULL,
	  NULL },
	{ "filter", 'f', OPT_STR, offsetof(struct sess_opts, filter), "EXPR",
	  "a pcap-filter expression frames must match", 0, 0, NULL, NULL },
	{ "slice", 0, OPT_UINT, offsetof(struct sess_opts, slice), "BYTES",
	  "copy at most this many bytes of each frame", 64, 65535, NULL, NULL },
	{ "sample", 0, OPT_UINT, offsetof(struct sess_opts, sample), "N",
	  "copy one frame in N", 1, 1000000, NULL, NULL },
};

/* ---- talking to the agent ---------------------------------------------------- */

struct call {
	struct http_client_resp resp;
	struct json_val *doc;          /* the answer, parsed */
};

static void call_free(struct call *c)
{
	json_free(c->doc);
	http_client_resp_free(&c->resp);
}

/* request() : <method> <path> with <body>; 0 with c->doc on a 2xx answer,
 * else 1 with the error printed (prefixed "vtap session <verb>: "). */
static int request(const struct sess_opts *o, const char *verb, const char *method,
		   const char *path, const void *body, size_t len, struct call *c)
{
	const char *spec = o->socket ? o->socket : "unix:" AGENT_DEFAULT_SOCKET;
	struct http_client_opts co = { .peer_name = "the agent",
				       .hint = "is `vtap agent` running, with [tap] enable = yes?",
				       .timeout_ms = o->timeout_ms };
	struct vt_err err = { 0 };
	char tgt[300];

	memset(c, 0, sizeof(*c));
	http_client_target(spec, tgt, sizeof(tgt));
	if (http_client_json(tgt, method, path, body, len, &co, &c->resp, &c->doc, &err) == 0)
		return 0;
	if (c->resp.status == 404 && !strstr(vbuf_str(&c->resp.body), "no such session"))
		fprintf(stderr, "vtap session %s: the agent has no sessions API: is [tap] enable = yes "
			"in its config?\n", verb);
	else
		fprintf(stderr, "vtap session %s: %s\n", verb, err.msg);
	return 1;
}

static void print_raw(const struct call *c)
{
	fwrite(c->resp.body.data, 1, c->resp.body.len, stdout);
	if (!c->resp.body.len || c->resp.body.data[c->resp.body.len - 1] != '\n')
		fputc('\n', stdout);
}

static bool gbool(const struct json_val *o, const char *k)
{
	const struct json_val *v = json_get(o, k);
	return v && v->type == JSON_BOOL && v->u.b;
}

/* next_id() : one more than the highest id the agent has. */
static int next_id(const struct sess_opts *o, uint64_t *id)
{
	struct call c;
	const struct json_val *l;
	uint64_t max = 0;

	if (request(o, "add", "GET", "/api/v1/sessions", NULL, 0, &c) != 0) {
		call_free(&c);
		return -1;
	}
	l = json_get(c.doc, "sessions");
	for (size_t i = 0; i < json_len(l); i++)
		max = VT_MAX(max, json_u64(json_at(l, i), "id"));
	call_free(&c);
	if (max >= UINT32_MAX) {
		fprintf(stderr, "vtap session add: no id left after %" PRIu64 ": give --id\n", max);
		return -1;
	}
	*id = max + 1;
	return 0;
}

static int from_flags(const struct sess_opts *o, struct vbuf *b)
{
	struct jw w;
	uint64_t id = o->id;

	if (!o->dest) {
		fprintf(stderr, "vtap session add: --dest: required (or give a JSON file)\n");
		return 2;
	}
	if (!o->all && o->vms.n == 0) {
		fprintf(stderr, "vtap session add: --vm: give the VMs to mirror (or --all)\n");
		return 2;
	}
	if (o->all && o->vms.n) {
		fprintf(stderr, "vtap session add: --all and --vm: either every VM or a list\n");
		return 2;
	}
	if (!id && next_id(o, &id) < 0)
		return 1;
	jw_init(&w, b, false);
	jw_obj_open(&w, NULL);
	jw_uint(&w, "id", id);
	if (o->name)
		jw_str(&w, "name", o->name);
	if (o->all) {
		jw_str(&w, "target", "all");
	} else {
		jw_obj_open(&w, "target");
		jw_arr_open(&w, "vms");
		for (size_t i = 0; i < o->vms.n; i++)
			jw_str(&w, NULL, o->vms.v[i]);
		jw_arr_close(&w);
		jw_obj_close(&w);
	}
	if (o->direction)
		jw_str(&w, "direction", o->direction);
	if (o->filter)
		jw_str(&w, "pcap_filter", o->filter);
	if (o->slice)
		jw_uint(&w, "slice", o->slice);
	if (o->sample)
		jw_uint(&w, "sample", o->sample);
	{
		struct vt_err err = { 0 };
		if (tap_dest_url_json(&w, "destination", o->dest, &err) < 0) {
			fprintf(stderr, "vtap session add: %s\n", err.msg);
			return 2;
		}
	}
	jw_obj_close(&w);
	return w.err ? 2 : 0;
}

static int from_file(const char *path, struct vbuf *b)
{
	struct vt_err err = { 0 };

	vbuf_free(b);   /* file_read_all() sets it up anew */
	if (file_read_all(path, BODY_MAX, true, b, &err) < 0) {
		fprintf(stderr, "vtap session add: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static int add_run(const struct cmd *cmd, void *opts, int argc, char **argv)
{
	const struct sess_opts *o = opts;
	bool flags = o->id || o->name || o->vms.n || o->all || o->direction || o->dest || o->filter ||
		     o->slice || o->sample;
	struct vbuf b;
	struct call c;
	const struct json_val *l;
	int rc;

	(void)cmd;
	if (argc > 0 && flags) {
		fprintf(stderr, "vtap session add: give a JSON file or the session flags, not both\n");
		return 2;
	}
	if (argc == 0 && !flags) {
		fprintf(stderr, "vtap session add: give a JSON file ('-': standard input) or "
			"--vm/--all and --dest (vtap session add --help)\n");
		return 2;
	}
	vbuf_init(&b, BODY_MAX);
	rc = argc > 0 ? from_file(argv[0], &b) : from_flags(o, &b);
	if (rc) {
		vbuf_free(&b);
		return rc;
	}
	rc = request(o, "add", "POST", "/api/v1/sessions", b.data, b.len, &c);
	vbuf_free(&b);
	if (rc == 0 && o->json) {
		print_raw(&c);
	} else if (rc == 0) {
		l = json_get(c.doc, "sessions");
		for (size_t i = 0; i < json_len(l); i++) {
			const struct json_val *s = json_at(l, i);
			printf("session %" PRIu64 " '%s' added: %s, %s\n", json_u64(s, "id"),
			       json_str_or(s, "name", "?"), json_str_or(s, "type", "?"),
			       gbool(s, "active") ? "active" : "inactive");
		}
	}
	call_free(&c);
	return rc;
}

/* ---- list / show / del ---------------------------------------------------------------- */

/* "vxlan://198.19.0.254:4789?vni=100", "pcapng:/var/tap" */
static void dest_str(const struct json_val *d, char *out, size_t cap)
{
	const char *type = json_str_or(d, "type", "?");
	static const char *const idk[] = { "vni", "key", "session_id" };
	size_t n;

	if (strcmp(type, "pcapng") == 0) {
		snprintf(out, cap, "pcapng:%s", json_str_or(d, "dir", "?"));
		return;
	}
	n = (size_t)snprintf(out, cap, "%s://%s%s%s", type,
			     strchr(json_str_or(d, "remote", "?"), ':') ? "[" : "", json_str_or(d, "remote", "?"),
			     strchr(json_str_or(d, "remote", "?"), ':') ? "]" : "");
	if (json_get(d, "port") && n < cap)
		n += (size_t)snprintf(out + n, cap - n, ":%" PRIu64, json_u64(d, "port"));
	for (size_t i = 0; i < ARRAY_SIZE(idk) && n < cap; i++)
		if (json_get(d, idk[i])) {
			snprintf(out + n, cap - n, "?%s=%" PRIu64, idk[i], json_u64(d, idk[i]));
			break;
		}
}

static void target_str(const struct json_val *def, char *out, size_t cap)
{
	const struct json_val *t = json_get(def, "target"), *l;
	size_t n = 0;

	out[0] = '\0';
	if ((t && t->type == JSON_STR) || gbool(t, "all")) {
		snprintf(out, cap, "all");
		return;
	}
	l = t && t->type == JSON_OBJ ? json_get(t, "vms") : t;
	for (size_t i = 0; i < json_len(l) && n < cap; i++) {
		const struct json_val *v = json_at(l, i);
		n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "," : "",
				      v->type == JSON_STR ? v->u.str.s : "?");
	}
}

static uint64_t drops(const struct json_val *c)
{
	return json_u64(c, "drop_queue_full") + json_u64(c, "drop_dest_down") + json_u64(c, "drop_too_big") +
	       json_u64(c, "drop_rate") + json_u64(c, "drop_error");
}

static const struct out_col list_cols[] = {
	{ "id", "ID", COL_RIGHT, COL_UINT },
	{ "name", "NAME", COL_LEFT, COL_STR },
	{ "target", "TARGET", COL_LEFT, COL_STR },
	{ "direction", "DIRECTION", COL_LEFT, COL_STR },
	{ "destination", "DESTINATION", COL_LEFT, COL_STR },
	{ "state", "STATE", COL_LEFT, COL_STR },
	{ "matched", "MATCHED", COL_RIGHT, COL_UINT },
	{ "sent", "SENT", COL_RIGHT, COL_UINT },
	{ "dropped", "DROPPED", COL_RIGHT, COL_UINT },
};

static void list_row(struct out_table *t, const struct json_val *s)
{
	const struct json_val *def = json_get(s, "definition"), *c = json_get(s, "counters");
	char tg[256], ds[160];

	target_str(def, tg, sizeof(tg));
	dest_str(json_get(def, "destination"), ds, sizeof(ds));
	out_cell_uint(t, json_u64(s, "id"));
	out_cell_str(t, json_str_or(s, "name", "?"));
	out_cell_str(t, tg);
	out_cell_str(t, json_str_or(def, "direction", "both"));
	out_cell_str(t, ds);
	out_cell_str(t, gbool(s, "active") ? "active" : "inactive");
	out_cell_uint(t, json_u64(c, "matched"));
	out_cell_uint(t, json_u64(c, "sent"));
	out_cell_uint(t, drops(c));
}

static int list_run(const struct cmd *cmd, void *opts, int argc, char **argv)
{
	const struct sess_opts *o = opts;
	const struct json_val *l;
	struct out_table *t;
	struct out out;
	struct call c;
	int rc;

	(void)cmd;
	(void)argc;
	(void)argv;
	rc = request(o, "list", "GET", "/api/v1/sessions", NULL, 0, &c);
	if (rc == 0 && o->json) {
		print_raw(&c);
	} else if (rc == 0) {
		l = json_get(c.doc, "sessions");
		t = out_table_new(list_cols, ARRAY_SIZE(list_cols));
		for (size_t i = 0; t && i < json_len(l); i++)
			list_row(t, json_at(l, i));
		out_init(&out, stdout, OUT_FMT_TEXT, false);
		if (t && out_table_rows(t))
			out_table_print(&out, t, "sessions");
		else
			printf("no sessions\n");
		out_finish(&out);
		out_table_free(t);
		for (size_t i = 0; i < json_len(l); i++)
			if (!gbool(json_at(l, i), "active"))
				printf("  session %" PRIu64 ": inactive: %s\n", json_u64(json_at(l, i), "id"),
				       json_str_or(json_at(l, i), "error", "?"));
	}
	call_free(&c);
	return rc;
}

static int id_arg(const char *verb, const char *s, char *path, size_t cap)
{
	uint64_t id;

	if (parse_u64(s, 1, UINT32_MAX, &id) < 0) {
		fprintf(stderr, "vtap session %s: ID: '%s' is not a session id (1..4294967295)\n",
			verb, s);
		return 2;
	}
	snprintf(path, cap, "/api/v1/sessions/%" PRIu64, id);
	return 0;
}

static const struct out_col port_cols[] = {
	{ "ifname", "PORT", COL_LEFT, COL_STR },
	{ "vm", "VM", COL_LEFT, COL_STR },
	{ "direction", "DIRECTION", COL_LEFT, COL_STR },
	{ "armed", "ARMED", COL_LEFT, COL_STR },
	{ "from_vm_packets", "FROM_VM", COL_RIGHT, COL_UINT },
	{ "to_vm_packets", "TO_VM", COL_RIGHT, COL_UINT },
	{ "matched", "MATCHED", COL_RIGHT, COL_UINT },
	{ "copied", "COPIED", COL_RIGHT, COL_UINT },
	{ "dropped", "DROPPED", COL_RIGHT, COL_UINT },
	{ "frames_before_arm", "BEFORE_ARM", COL_RIGHT, COL_UINT },
};

static void show_text(const struct json_val *s)
{
	static const char *const ctrs[] = { "matched", "matched_bytes", "sent", "sliced",
					    "drop_queue_full", "drop_dest_down", "drop_too_big",
					    "drop_rate", "drop_error", "sampled_out", "in_flight" };
	const struct json_val *def = json_get(s, "definition"), *c = json_get(s, "counters");
	const struct json_val *ports = json_get(s, "ports");
	char tg[1024], ds[160];
	struct out_table *t;
	struct out out;

	target_str(def, tg, sizeof(tg));
	dest_str(json_get(def, "destination"), ds, sizeof(ds));
	printf("session %" PRIu64 " '%s': %s\n", json_u64(s, "id"), json_str_or(s, "name", "?"),
	       gbool(s, "active") ? "active" : "inactive");
	if (!gbool(s, "active"))
		printf("  %-16s %s\n", "error", json_str_or(s, "error", "?"));
	printf("  %-16s %s\n", "target", tg);
	printf("  %-16s %s\n", "direction", json_str_or(def, "direction", "both"));
	printf("  %-16s %s\n", "destination", ds);
	if (json_get_str(def, "pcap_filter"))
		printf("  %-16s %s\n", "pcap_filter", json_get_str(def, "pcap_filter"));
	if (json_len(json_get(def, "rules")))
		printf("  %-16s %zu (default %s)\n", "rules", json_len(json_get(def, "rules")),
		       json_str_or(def, "default", "?"));
	if (json_u64(def, "slice"))
		printf("  %-16s %" PRIu64 "\n", "slice", json_u64(def, "slice"));
	if (json_u64(def, "sample") > 1)
		printf("  %-16s 1 in %" PRIu64 "\n", "sample", json_u64(def, "sample"));
	printf("counters\n");
	for (size_t i = 0; i < ARRAY_SIZE(ctrs); i++)
		printf("  %-16s %" PRIu64 "\n", ctrs[i], json_u64(c, ctrs[i]));
	t = out_table_new(port_cols, ARRAY_SIZE(port_cols));
	for (size_t i = 0; t && i < json_len(ports); i++) {
		const struct json_val *p = json_at(ports, i);
		out_cell_str(t, json_str_or(p, "ifname", "?"));
		out_cell_str(t, json_str_or(p, "vm", "-")[0] ? json_str_or(p, "vm", "-") : "-");
		out_cell_str(t, json_str_or(p, "direction", "?"));
		out_cell_str(t, gbool(p, "armed") ? "yes" : "no");
		out_cell_uint(t, json_u64(p, "from_vm_packets"));
		out_cell_uint(t, json_u64(p, "to_vm_packets"));
		out_cell_uint(t, json_u64(p, "matched"));
		out_cell_uint(t, json_u64(p, "copied"));
		out_cell_uint(t, json_u64(p, "dropped"));
		out_cell_uint(t, json_u64(p, "frames_before_arm"));
	}
	out_init(&out, stdout, OUT_FMT_TEXT, false);
	if (t && out_table_rows(t)) {
		printf("ports (counters of the port, all its sessions)\n");
		out_table_print(&out, t, "ports");
	} else {
		printf("no port of this host runs a VM of the session\n");
	}
	out_finish(&out);
	out_table_free(t);
}

static void del_text(const struct json_val *doc)
{
	printf("session %" PRIu64 " deleted\n", json_u64(doc, "deleted"));
}

/* on_id() : <method> on the session named by argv[0]; <text> prints the
 * answer without -j. */
static int on_id(const struct sess_opts *o, char **argv, const char *verb, const char *method,
		 void (*text)(const struct json_val *doc))
{
	char path[64];
	struct call c;
	int rc;

	if ((rc = id_arg(verb, argv[0], path, sizeof(path))))
		return rc;
	rc = request(o, verb, method, path, NULL, 0, &c);
	if (rc == 0 && o->json)
		print_raw(&c);
	else if (rc == 0)
		text(c.doc);
	call_free(&c);
	return rc;
}

static int show_run(const struct cmd *cmd, void *opts, int argc, char **argv)
{
	(void)cmd;
	(void)argc;
	return on_id(opts, argv, "show", "GET", show_text);
}

static int del_run(const struct cmd *cmd, void *opts, int argc, char **argv)
{
	(void)cmd;
	(void)argc;
	return on_id(opts, argv, "del", "DELETE", del_text);
}

static const struct cmd cmd_session_add = {
	.name = "add",
	.summary = "add mirror sessions to the agent",
	.usage = "[FILE|-]",
	.description = "Sends one session, a list, or {\"sessions\": [...]} as JSON (docs/tap.md) "
		       "from FILE or standard input, or one session written with the flags. The "
		       "agent applies it to every port of the VMs it names (now and when they "
		       "appear) and keeps it in its state file. Errors name the field.",
	.opts = add_optdefs,
	.nopts = ARRAY_SIZE(add_optdefs),
	.opts_size = sizeof(struct sess_opts),
	.run = add_run,
	.max_args = 1,
};

static const struct cmd cmd_session_list = {
	.name = "list",
	.summary = "list the agent's mirror sessions with their counters",
	.opts = common_optdefs,
	.nopts = ARRAY_SIZE(common_optdefs),
	.opts_size = sizeof(struct sess_opts),
	.run = list_run,
};

static const struct cmd cmd_session_show = {
	.name = "show",
	.summary = "one session: definition, counters, and the ports it taps",
	.usage = "ID",
	.opts = common_optdefs,
	.nopts = ARRAY_SIZE(common_optdefs),
	.opts_size = sizeof(struct sess_opts),
	.run = show_run,
	.min_args = 1,
	.max_args = 1,
};

static const struct cmd cmd_session_del = {
	.name = "del",
	.summary = "delete a session (its copies stop at once)",
	.usage = "ID",
	.opts = common_optdefs,
	.nopts = ARRAY_SIZE(common_optdefs),
	.opts_size = sizeof(struct sess_opts),
	.run = del_run,
	.min_args = 1,
	.max_args = 1,
};

static const struct cmd *const session_subs[] = { &cmd_session_add, &cmd_session_list,
						  &cmd_session_show, &cmd_session_del, NULL };

const struct cmd cmd_session = {
	.name = "session",
	.summary = "mirror sessions of the running agent: add, list, show, del",
	.description = "Manages the virtual tap's mirror sessions through the agent's control API "
		       "(/api/v1/sessions; the agent needs [tap] enable = yes). A session names "
		       "VMs by UUID or name, never hosts or ports. See docs/tap.md.",
	.subs = session_subs,
};
