/* tap_agent.c — the tap engine wired into `vtap agent` (see tap_agent.h):
 * port hooks, the session store and its state file, the sessions API.
 * Everything runs on the agent's event loop thread; handlers never block
 * except on the state file's write + fsync, which is what makes an
 * accepted session survive a crash. */
#include "agent/tap/tap_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/tap/tap.h"
#include "core/buf.h"
#include "core/compiler.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "http/http_server.h"

#define STATE_MAX (8u << 20)   /* 64 sessions of 64 targets and 64 rules fit */
#define ANSWER_MAX (16u << 20)

struct entry {
	bool used;
	bool active;                   /* applied to the engine */
	struct tap_session_def def;
	char error[VT_ERR_MSG_MAX];    /* why it is not active */
};

struct tap_agent {
	struct agent *a;
	struct tap_engine *eng;
	char *state;                   /* owned; NULL = no state file */
	struct entry e[TAP_MAX_SESSIONS];
};

/* ---- the store --------------------------------------------------------------- */

static struct entry *find(struct tap_agent *t, uint32_t id)
{
	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++)
		if (t->e[i].used && t->e[i].def.id == id)
			return &t->e[i];
	return NULL;
}

static struct entry *free_entry(struct tap_agent *t)
{
	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++)
		if (!t->e[i].used)
			return &t->e[i];
	return NULL;
}

static void entry_drop(struct entry *en)
{
	tap_session_free(&en->def);
	memset(en, 0, sizeof(*en));
}

/* Entries in id order, for listings and the state file. */
static size_t sorted(struct tap_agent *t, struct entry **out)
{
	size_t n = 0;

	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++)
		if (t->e[i].used)
			out[n++] = &t->e[i];
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j - 1]->def.id > out[j]->def.id; j--) {
			struct entry *x = out[j];
			out[j] = out[j - 1];
			out[j - 1] = x;
		}
	return n;
}

/* ---- the state file ------------------------------------------------------------ */

/* save() : every session into the state file, written whole
 * (file_write_atomic): a crash leaves either the old or the new file,
 * never half. */
static int save(struct tap_agent *t, struct vt_err *err)
{
	struct entry *v[TAP_MAX_SESSIONS];
	size_t n = sorted(t, v);
	char dirbuf[4200];
	struct vt_err e = { 0 };
	struct vbuf b;
	struct jw w;
	int rc = 0;

	if (!t->state)
		return 0;
	vbuf_init(&b, STATE_MAX);
	jw_init(&w, &b, true);
	jw_obj_open(&w, NULL);
	jw_arr_open(&w, "sessions");
	for (size_t i = 0; i < n; i++)
		tap_session_to_json(&w, NULL, &v[i]->def);
	jw_arr_close(&w);
	jw_obj_close(&w);
	if (w.err || vbuf_addc(&b, '\n') < 0) {
		rc = vt_err_set(err, -E2BIG, "state file %s: more than %u bytes", t->state, STATE_MAX);
		goto out;
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", t->state);
	/* the directory may not exist on a fresh host (/var/lib/vtap) */
	if (mkdir(dirname(dirbuf), 0755) < 0 && errno != EEXIST) {
		rc = vt_err_set(err, -errno, "state file %s: cannot create its directory: %s", t->state,
				strerror(errno));
		goto out;
	}
	if ((rc = file_write_atomic(t->state, b.data, b.len, 0600, &e)) < 0)
		vt_err_set(err, rc, "state file %s", e.msg);
out:
	vbuf_free(&b);
	return rc;
}

/* apply() : <en>'s definition into the engine; on failure the entry stays
 * inactive with the reason. */
static int apply(struct tap_agent *t, struct entry *en, struct vt_err *err)
{
	int rc = tap_session_add(t->eng, &en->def, err);

	en->active = rc == 0;
	if (rc)
		snprintf(en->error, sizeof(en->error), "%s", err->msg);
	else
		en->error[0] = '\0';
	return rc;
}

static int restore(struct tap_agent *t, struct vt_err *err)
{
	struct tap_session_def *v = NULL;
	struct vbuf b;
	struct vt_err rerr = { 0 };
	int n, rc, bad = 0;

	if (!t->state)
		return 0;
	/* save()'s temporary files a crash left behind (no save runs yet) */
	if ((n = file_atomic_clean(t->state)) > 0)
		log_info("tap: removed %d temporary file(s) of %s left by an earlier run", n, t->state);
	rc = file_read_all(t->state, STATE_MAX, false, &b, &rerr);
	if (rc == -ENOENT) {
		vbuf_free(&b);
		log_info("tap: no state file %s yet: no sessions", t->state);
		return 0;
	}
	if (rc) {
		vbuf_free(&b);
		return vt_err_set(err, rc, "[tap] state %s", rerr.msg);
	}
	/* an empty file is no sessions (a crash cannot make one: see save()) */
	n = b.len ? tap_sessions_parse((const char *)b.data, b.len, &v, err) : 0;
	vbuf_free(&b);
	if (n < 0) {
		char m[VT_ERR_MSG_MAX];
		snprintf(m, sizeof(m), "%s", err->msg);
		return vt_err_set(err, n, "[tap] state %s: %s (fix or remove the file)", t->state, m);
	}
	for (int i = 0; i < n; i++) {
		struct entry *en = free_entry(t);
		struct vt_err e = { 0 };

		if (!en) {      /* the file holds more sessions than a host may have */
			log_err("tap: state %s: more than %d sessions, session %u and later "
				  "not restored", t->state, TAP_MAX_SESSIONS, v[i].id);
			bad += n - i;
			break;
		}
		en->used = true;
		en->def = v[i];             /* moved: the strings now belong to the entry */
		memset(&v[i], 0, sizeof(v[i]));
		if (apply(t, en, &e) < 0) {
			bad++;
			log_err("tap: restoring session %u: %s (kept, inactive)", en->def.id, e.msg);
		}
	}
	tap_sessions_free(v, (size_t)n);
	log_info("tap: %d session%s restored from %s%s", n, n == 1 ? "" : "s", t->state,
		 bad ? " (some inactive: see above)" : "");
	return 0;
}

/* ---- answers ---------------------------------------------------------------------- */

static void entry_json(struct tap_agent *t, struct jw *w, struct entry *en, bool ports)
{
	struct tap_counters c;

	jw_obj_open(w, NULL);
	jw_uint(w, "id", en->def.id);
	jw_str(w, "name", en->def.name);
	jw_str(w, "type", tap_dest_name(en->def.dest.type));
	jw_bool(w, "active", en->active);
	if (!en->active)
		jw_str(w, "error", en->error);
	tap_session_to_json(w, "definition", &en->def);
	memset(&c, 0, sizeof(c));
	if (en->active)
		(void)tap_session_counters(t->eng, en->def.id, &c);
	tap_counters_json(w, "counters", &c);
	if (ports && (!en->active || tap_session_ports_json(t->eng, en->def.id, w, "ports") < 0)) {
		jw_arr_open(w, "ports");
		jw_arr_close(w);
	}
	jw_obj_close(w);
}

static void send_json(struct http_req *req, int status, struct vbuf *b, struct jw *w)
{
	if (w->err) {
		http_respond_error(req, 500, "internal server error", "answer larger than %u bytes",
				   ANSWER_MAX);
		return;
	}
	http_respond_json(req, status, b);
}

static void h_list(struct http_req *req, void *arg)
{
	struct tap_agent *t = arg;
	struct entry *v[TAP_MAX_SESSIONS];
	size_t n = sorted(t, v);
	struct vbuf b;
	struct jw w;

	vbuf_init(&b, ANSWER_MAX);
	jw_init(&w, &b, http_req_query(req, "pretty") != NULL);
	jw_obj_open(&w, NULL);
	jw_arr_open(&w, "sessions");
	for (size_t i = 0; i < n; i++)
		entry_json(t, &w, v[i], false);
	jw_arr_close(&w);
	jw_obj_close(&w);
	send_json(req, 200, &b, &w);
	vbuf_free(&b);
}

/* The {id} of the path; answers 400/404 itself when there is none. */
static struct entry *path_entry(struct tap_agent *t, struct http_req *req)
{
	const char *s = http_req_param(req, "id");
	struct entry *en;
	uint64_t id;

	if (!s || parse_u64(s, 1, UINT32_MAX, &id) < 0) {
		http_respond_error(req, 400, "bad session id",
				   "id: '%s' is not a session id (1..4294967295)", s ? s : "");
		return NULL;
	}
	en = find(t, (uint32_t)id);
	if (!en)
		http_respond_error(req, 404, "no such session", "id: no session %llu",
				   (unsigned long long)id);
	return en;
}

static void h_show(struct http_req *req, void *arg)
{
	struct tap_agent *t = arg;
	struct entry *en = path_entry(t, req);
	struct vbuf b;
	struct jw w;

	if (!en)
		return;
	vbuf_init(&b, ANSWER_MAX);
	jw_init(&w, &b, http_req_query(req, "pretty") != NULL);
	entry_json(t, &w, en, true);
	send_json(req, 200, &b, &w);
	vbuf_free(&b);
}

static void h_del(struct http_req *req, void *arg)
{
	struct tap_agent *t = arg;
	struct entry *en = path_entry(t, req);
	struct vt_err err = { 0 };
	char body[64];
	uint32_t id;
	int n;

	if (!en)
		return;
	id = en->def.id;
	if (en->active)
		(void)tap_session_del(t->eng, id);
	entry_drop(en);
	log_info("tap: session %u deleted through the control API (%s)", id, http_req_peer(req));
	if (save(t, &err) < 0) {
		log_err("tap: %s", err.msg);
		http_respond_error(req, 500, "state file not written",
				   "session %u is deleted, but %s: it comes back at the next start", id,
				   err.msg);
		return;
	}
	n = snprintf(body, sizeof(body), "{\"deleted\":%u}", id);
	http_respond(req, 200, "application/json", body, (size_t)n);
}

static void h_add(struct http_req *req, void *arg)
{
	struct tap_agent *t = arg;
	struct tap_session_def *v = NULL;
	struct entry *added[TAP_MAX_SESSIONS];
	struct vt_err err = { 0 };
	size_t len, nadded = 0, nfree = 0;
	const char *body = http_req_body(req, &len);
	struct vbuf b;
	struct jw w;
	int n, status = 400;
	const char *what = "invalid session";

	if (!body || !len) {
		http_respond_error(req, 400, "invalid session",
				   "session: missing: POST a session object as JSON (docs/tap.md)");
		return;
	}
	n = tap_sessions_parse(body, len, &v, &err);
	if (n < 0) {
		http_respond_error(req, 400, "invalid session", "%s", err.msg);
		return;
	}
	if (n == 0) {
		http_respond_error(req, 400, "invalid session", "sessions: the list is empty");
		goto out;
	}
	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++)
		nfree += !t->e[i].used;
	for (int i = 0; i < n; i++)
		if (find(t, v[i].id)) {
			http_respond_error(req, 409, "session exists", "session %u: id: already in use "
					   "(delete it first)", v[i].id);
			goto out;
		}
	if ((size_t)n > nfree) {
		http_respond_error(req, 400, "too many sessions", "sessions: at most %d on a host, %zu "
				   "free", TAP_MAX_SESSIONS, nfree);
		goto out;
	}
	/* all or nothing: a list is accepted whole or not at all */
	for (int i = 0; i < n; i++) {
		struct entry *en = free_entry(t);

		if (!en)        /* cannot happen: nfree was checked above */
			break;
		en->used = true;
		en->def = v[i];
		memset(&v[i], 0, sizeof(v[i]));
		added[nadded++] = en;
		if (apply(t, en, &err) < 0) {
			status = err.code == -ENOMEM ? 500 : 400;
			goto undo;
		}
	}
	if (save(t, &err) < 0) {
		status = 500;
		what = "state file not written";
		goto undo;
	}
	vbuf_init(&b, ANSWER_MAX);
	jw_init(&w, &b, http_req_query(req, "pretty") != NULL);
	jw_obj_open(&w, NULL);
	jw_arr_open(&w, "sessions");
	for (size_t i = 0; i < nadded; i++) {
		log_info("tap: session %u '%s' added through the control API (%s)", added[i]->def.id,
			 added[i]->def.name, http_req_peer(req));
		entry_json(t, &w, added[i], false);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	send_json(req, 201, &b, &w);
	vbuf_free(&b);
	goto out;
undo:
	for (size_t i = 0; i < nadded; i++) {
		if (added[i]->active)
			(void)tap_session_del(t->eng, added[i]->def.id);
		entry_drop(added[i]);
	}
	http_respond_error(req, status, what, "%s", err.msg);
out:
	tap_sessions_free(v, n > 0 ? (size_t)n : 0);
}

/* ---- port hooks ------------------------------------------------------------------------- */

static int hook_arm(void *ctx, uint32_t ifindex, const char *ifname, const struct vm_ident *vm)
{
	struct tap_agent *t = ctx;
	struct vt_err err = { 0 };
	int rc = tap_port_arm(t->eng, ifindex, ifname, vm, &err);

	if (rc < 0)
		log_err("tap: port %s not armed: %s", ifname, err.msg);
	return rc;
}

static void hook_disarm(void *ctx, uint32_t ifindex, bool gone)
{
	struct tap_agent *t = ctx;

	(void)tap_port_disarm(t->eng, ifindex, gone);
}

static void hook_status(void *ctx, struct jw *w)
{
	struct tap_agent *t = ctx;
	unsigned total = 0, inactive = 0;

	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++) {
		total += t->e[i].used;
		inactive += t->e[i].used && !t->e[i].active;
	}
	jw_obj_open(w, "tap");
	tap_engine_summary_json(t->eng, w);
	jw_uint(w, "sessions_defined", total);
	jw_uint(w, "sessions_inactive", inactive);
	jw_str(w, "state", t->state);
	jw_obj_close(w);
}

/* ---- life cycle ---------------------------------------------------------------------------- */

struct tap_agent *tap_agent_new(struct agent *a, const struct agent_conf *c, struct vt_err *err)
{
	struct tap_agent *t = calloc(1, sizeof(*t));
	struct tap_engine_opts eo = {
		.backend = (enum tap_backend)c->tap.backend,
		.ring_bytes = c->tap.ring_size,
		.afp_block_bytes = c->tap.ring_size,
		.vx_name = c->tap.vxlan_device,
		.vx_port = (uint16_t)c->tap.vxlan_port,
		.host = agent_host(a),
	};
	struct agent_port_hooks h;
	int rc;

	if (!t) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	t->a = a;
	if (c->tap.state && c->tap.state[0] && !(t->state = strdup(c->tap.state))) {
		vt_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	t->eng = tap_engine_new(agent_evloop(a), &eo, err);
	if (!t->eng) {
		char m[VT_ERR_MSG_MAX];
		snprintf(m, sizeof(m), "%s", err->msg);
		vt_err_set(err, err->code ? err->code : -EIO, "[tap]: %s", m);
		goto fail;
	}
	/* sessions before ports: a port armed next gets its sessions at once */
	if (restore(t, err) < 0)
		goto fail;
	if ((rc = agent_route(a, HTTP_POST, "/api/v1/sessions", h_add, t)) < 0 ||
	    (rc = agent_route(a, HTTP_GET, "/api/v1/sessions", h_list, t)) < 0 ||
	    (rc = agent_route(a, HTTP_GET, "/api/v1/sessions/{id}", h_show, t)) < 0 ||
	    (rc = agent_route(a, HTTP_DELETE, "/api/v1/sessions/{id}", h_del, t)) < 0) {
		vt_err_set(err, rc, "control API: cannot add the sessions routes");
		goto fail;
	}
	h = (struct agent_port_hooks){ t, hook_arm, hook_disarm, hook_status };
	agent_set_port_hooks(a, &h);   /* arms the ports found so far */
	(void)tap_engine_sweep(t->eng);
	log_info("tap: %s backend, %s", tap_backend_name(eo.backend),
		 t->state ? t->state : "sessions kept in memory only ([tap] state = \"\")");
	return t;
fail:
	tap_agent_free(t);
	return NULL;
}

void tap_agent_free(struct tap_agent *t)
{
	if (!t)
		return;
	if (t->eng) {
		struct agent_port_hooks none = { 0 };
		agent_set_port_hooks(t->a, &none);
	}
	tap_engine_free(t->eng);
	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++)
		if (t->e[i].used)
			tap_session_free(&t->e[i].def);
	free(t->state);
	free(t);
}
