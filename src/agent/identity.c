/* identity.c — identity snapshots, the resolution order, interface aliases
 * and the identity thread (see identity.h). The source parsers live in
 * id_inventory.c and id_libvirt.c. */
#include "agent/identity.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "flow/addr.h"

static const char *const src_names[ID_SRC__COUNT] = {
	[ID_SRC_NONE] = "unknown",
	[ID_SRC_LIBVIRT] = "libvirt",
	[ID_SRC_INVENTORY] = "inventory",
	[ID_SRC_ALIAS] = "alias",
};

const char *id_source_name(enum id_source s)
{
	return (unsigned)s < ID_SRC__COUNT ? src_names[s] : "?";
}

/* ---- sets ----------------------------------------------------------------- */

void id_set_init(struct id_set *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max ? max : ID_SET_MAX_DEFAULT;
}

void id_set_free(struct id_set *s)
{
	size_t max = s->max;

	free(s->v);
	id_set_init(s, max);
}

int id_set_add(struct id_set *s, const struct id_entry *e)
{
	if (s->n >= s->max)
		return -ENOSPC;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct id_entry *v;
		if (cap > s->max)
			cap = s->max;
		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = *e;
	return 0;
}

/* ---- interface alias ------------------------------------------------------- */

int id_parse_alias(const char *alias, struct id_entry *out, struct vt_err *err)
{
	const char *p = alias;
	bool named = false;

	memset(out, 0, sizeof(*out));
	if (!alias)
		return -ENOENT;
	while (*p) {
		char key[16], val[VT_NAME_MAX + 2];
		size_t kn = 0, vn = 0;
		bool quoted = false;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (*p && *p != '=' && *p != ' ' && *p != '\t') {
			if (kn < sizeof(key) - 1)
				key[kn] = *p;
			kn++;
			p++;
		}
		key[VT_MIN(kn, sizeof(key) - 1)] = '\0';
		if (*p != '=') {
			/* a bare word: not a key=value pair, ignored */
			continue;
		}
		p++;
		if (*p == '"') {
			quoted = true;
			p++;
		}
		while (*p && (quoted ? *p != '"' : (*p != ' ' && *p != '\t'))) {
			if (vn < sizeof(val) - 1)
				val[vn] = *p;
			vn++;
			p++;
		}
		if (quoted) {
			if (*p != '"')
				return vt_err_set(err, -EINVAL, "alias '%s': unterminated quote", alias);
			p++;
		}
		val[VT_MIN(vn, sizeof(val) - 1)] = '\0';
		if (kn >= sizeof(key))
			continue;
		if (strcmp(key, "vm") == 0 || strcmp(key, "name") == 0) {
			named = true;
			if (vn == 0 || vn >= VT_NAME_MAX)
				return vt_err_set(err, -EINVAL, "alias '%s': VM name must be 1-%d bytes",
						  alias, VT_NAME_MAX - 1);
			for (size_t i = 0; i < vn; i++)
				if ((unsigned char)val[i] < 0x20 || val[i] == 0x7f)
					return vt_err_set(err, -EINVAL,
							  "alias '%s': control character in the VM name",
							  alias);
			memcpy(out->name, val, vn + 1);
		} else if (strcmp(key, "uuid") == 0) {
			named = true;
			if (vn >= sizeof(val) - 1 || uuid_parse(val, out->uuid) < 0 ||
			    uuid_is_nil(out->uuid))
				return vt_err_set(err, -EINVAL, "alias '%s': '%s' is not a UUID", alias,
						  val);
		}
	}
	return named ? 0 : -ENOENT;
}

/* ---- resolution ------------------------------------------------------------- */

/* match() : 2 when <e> names the port, 1 when a MAC ties them, else 0. */
static int match(const struct id_entry *e, const struct id_port *p)
{
	if (e->port[0] && p->ifname && strcmp(e->port, p->ifname) == 0)
		return 2;
	if (!e->has_mac)
		return 0;
	for (size_t i = 0; i < p->nvm_macs; i++)
		if (memcmp(p->vm_macs[i], e->mac, 6) == 0)
			return 1;
	/* libvirt gives a TAP port the guest's MAC with 0xfe first, so the
	 * host's own frames never carry the guest's address */
	if (p->link_mac && p->link_mac[0] == 0xfe && memcmp(p->link_mac + 1, e->mac + 1, 5) == 0)
		return 1;
	return 0;
}

static const struct id_entry *search(const struct id_set *s, const struct id_port *p)
{
	const struct id_entry *best = NULL;
	int bq = 0;

	if (!s)
		return NULL;
	for (size_t i = 0; i < s->n; i++) {
		int q = match(&s->v[i], p);
		if (q > bq) {
			bq = q;
			best = &s->v[i];
			if (q == 2)
				break;
		}
	}
	return best;
}

enum id_source id_resolve(const struct id_sources *src, const struct id_port *p,
			  struct id_entry *out)
{
	const struct id_entry *e;

	memset(out, 0, sizeof(*out));
	if ((e = search(src->libvirt, p))) {
		*out = *e;
		return ID_SRC_LIBVIRT;
	}
	if ((e = search(src->inventory, p))) {
		*out = *e;
		return ID_SRC_INVENTORY;
	}
	if (src->alias && p->alias && p->alias[0]) {
		struct vt_err err = { 0 };
		int r = id_parse_alias(p->alias, out, &err);
		if (r == 0)
			return ID_SRC_ALIAS;
		if (r == -EINVAL)
			log_ratelimited(LOG_LVL_WARN, "port %s: %s", p->ifname ? p->ifname : "?",
					err.msg);
		memset(out, 0, sizeof(*out));
	}
	return ID_SRC_NONE;
}

/* ---- the identity thread -------------------------------------------------- */

struct src_state {
	const char *what;               /* "libvirt" / "inventory" */
	char *where;                    /* URI / path (owned); NULL = off */
	const char *file;               /* a file to watch (into <where>), or NULL */
	struct id_set cur;              /* in use (loop thread) */
	bool have;                      /* cur was loaded at least once */
	/* filled by the thread under <mu>, taken by the loop */
	struct id_set fresh;
	bool fresh_ready;
	int fresh_err;
	char fresh_msg[VT_ERR_MSG_MAX];
	/* status (loop thread) */
	uint64_t loads, errors, last_ok_ms, last_err_ms;
	char last_err[VT_ERR_MSG_MAX];
	/* file watch (loop thread) */
	struct stat st;
	bool st_valid;
};

struct identity {
	struct evloop *ev;
	identity_cb cb;
	void *arg;
	bool alias;
	uint64_t refresh_ms, watch_ms, debounce_ms;
	size_t max_entries;

	pthread_t th;
	bool th_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	uint64_t req_gen, done_gen;     /* under mu */

	int efd;
	struct ev_io io;
	struct ev_timer t_refresh, t_watch, t_debounce;
	struct src_state lv, inv;
	struct id_sources srcs;
	uint64_t loads;
};

static void load_one(struct identity *id, struct src_state *s, bool libvirt)
{
	struct id_set set;
	struct vt_err err = { 0 };
	int r;

	if (!s->where)
		return;
	id_set_init(&set, id->max_entries);
	r = libvirt ? id_load_libvirt(s->where, &set, &err) : id_load_inventory(s->where, &set, &err);
	pthread_mutex_lock(&id->mu);
	id_set_free(&s->fresh);
	if (r < 0) {
		id_set_free(&set);
		s->fresh_err = r;
		snprintf(s->fresh_msg, sizeof(s->fresh_msg), "%s", err.msg);
	} else {
		s->fresh = set;
		s->fresh_err = 0;
		s->fresh_msg[0] = '\0';
	}
	s->fresh_ready = true;
	pthread_mutex_unlock(&id->mu);
}

static void *identity_main(void *arg)
{
	struct identity *id = arg;

	pthread_setname_np(pthread_self(), "vtap-ident");
	pthread_mutex_lock(&id->mu);
	for (;;) {
		while (!id->stop && id->req_gen == id->done_gen)
			pthread_cond_wait(&id->cv, &id->mu);
		if (id->stop)
			break;
		uint64_t gen = id->req_gen;
		pthread_mutex_unlock(&id->mu);
		load_one(id, &id->lv, true);
		load_one(id, &id->inv, false);
		pthread_mutex_lock(&id->mu);
		id->done_gen = gen;
		uint64_t one = 1;
		if (write(id->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_err("identity: eventfd: %s", strerror(errno));
	}
	pthread_mutex_unlock(&id->mu);
	return NULL;
}

static void watch_stat(struct src_state *s, bool *changed)
{
	struct stat st;

	if (!s->file)
		return;
	if (stat(s->file, &st) < 0) {
		if (s->st_valid)
			*changed = true;
		s->st_valid = false;
		return;
	}
	if (!s->st_valid || st.st_ino != s->st.st_ino || st.st_size != s->st.st_size ||
	    st.st_mtim.tv_sec != s->st.st_mtim.tv_sec ||
	    st.st_mtim.tv_nsec != s->st.st_mtim.tv_nsec)
		*changed = true;
	s->st = st;
	s->st_valid = true;
}

/* take() : installs what the thread loaded for <s>; false when nothing new. */
static bool take(struct identity *id, struct src_state *s)
{
	uint64_t now = wall_ms();

	if (!s->fresh_ready)
		return false;
	s->fresh_ready = false;
	if (s->fresh_err < 0) {
		s->errors++;
		s->last_err_ms = now;
		/* log a new error once; the previous snapshot stays in use */
		if (strcmp(s->last_err, s->fresh_msg) != 0)
			log_warn("identity: %s: %s (keeping the previous %zu entries)", s->what,
				 s->fresh_msg, s->cur.n);
		snprintf(s->last_err, sizeof(s->last_err), "%s", s->fresh_msg);
		return false;
	}
	if (s->last_err[0])
		log_info("identity: %s %s loaded again (%zu entries)", s->what, s->where, s->fresh.n);
	s->last_err[0] = '\0';
	id_set_free(&s->cur);
	s->cur = s->fresh;
	id_set_init(&s->fresh, id->max_entries);
	s->have = true;
	s->loads++;
	s->last_ok_ms = now;
	return true;
}

static void on_loaded(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct identity *id = io->arg;
	uint64_t v;

	(void)ev;
	(void)events;
	if (read(id->efd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&id->mu);
	take(id, &id->lv);
	take(id, &id->inv);
	pthread_mutex_unlock(&id->mu);
	id->srcs.libvirt = id->lv.have ? &id->lv.cur : NULL;
	id->srcs.inventory = id->inv.have ? &id->inv.cur : NULL;
	id->loads++;
	if (id->cb)
		id->cb(id->arg);
}

static void request(struct identity *id)
{
	pthread_mutex_lock(&id->mu);
	id->req_gen++;
	pthread_cond_signal(&id->cv);
	pthread_mutex_unlock(&id->mu);
}

static void on_refresh_timer(struct evloop *ev, struct ev_timer *t)
{
	(void)ev;
	request(t->arg);
}

static void on_watch_timer(struct evloop *ev, struct ev_timer *t)
{
	struct identity *id = t->arg;
	bool changed = false;

	(void)ev;
	watch_stat(&id->lv, &changed);
	watch_stat(&id->inv, &changed);
	if (changed) {
		log_debug("identity: a source file changed, reloading");
		request(id);
	}
}

void identity_refresh(struct identity *id, bool now)
{
	if (!id)
		return;
	if (now || id->debounce_ms == 0) {
		ev_timer_stop(id->ev, &id->t_debounce);
		request(id);
		return;
	}
	if (!ev_timer_active(&id->t_debounce))
		(void)ev_timer_start(id->ev, &id->t_debounce, id->debounce_ms, 0);
}

const struct id_sources *identity_sources(const struct identity *id)
{
	return &id->srcs;
}

uint64_t identity_loads(const struct identity *id)
{
	return id->loads;
}

static void src_init(struct src_state *s, const char *what, const char *where, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->what = what;
	id_set_init(&s->cur, max);
	id_set_init(&s->fresh, max);
	if (where && where[0])
		s->where = strdup(where);
}

struct identity *identity_new(struct evloop *ev, const struct identity_cfg *cfg, identity_cb cb,
			      void *arg, struct vt_err *err)
{
	struct identity *id = calloc(1, sizeof(*id));
	bool dummy = false;

	if (!id) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	id->ev = ev;
	id->cb = cb;
	id->arg = arg;
	id->alias = cfg->alias;
	id->srcs.alias = cfg->alias;
	id->refresh_ms = cfg->refresh_ms;
	id->watch_ms = cfg->watch_ms;
	id->debounce_ms = cfg->debounce_ms;
	id->max_entries = cfg->max_entries ? cfg->max_entries : ID_SET_MAX_DEFAULT;
	id->efd = -1;
	pthread_mutex_init(&id->mu, NULL);
	pthread_cond_init(&id->cv, NULL);
	src_init(&id->lv, "libvirt", cfg->libvirt_uri, id->max_entries);
	src_init(&id->inv, "inventory", cfg->inventory, id->max_entries);
	if ((cfg->libvirt_uri && cfg->libvirt_uri[0] && !id->lv.where) ||
	    (cfg->inventory && cfg->inventory[0] && !id->inv.where)) {
		vt_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	id->lv.file = id->lv.where ? id_libvirt_file(id->lv.where) : NULL;
	id->inv.file = id->inv.where;
	watch_stat(&id->lv, &dummy);
	watch_stat(&id->inv, &dummy);
	id->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (id->efd < 0) {
		vt_err_set(err, -errno, "identity: eventfd: %s", strerror(errno));
		goto fail;
	}
	if (ev_io_add(ev, &id->io, id->efd, EPOLLIN, on_loaded, id) < 0) {
		vt_err_set(err, -EIO, "identity: cannot register with the event loop");
		goto fail;
	}
	ev_timer_init(&id->t_refresh, on_refresh_timer, id);
	ev_timer_init(&id->t_watch, on_watch_timer, id);
	ev_timer_init(&id->t_debounce, on_refresh_timer, id);
	if ((id->refresh_ms && ev_timer_start(ev, &id->t_refresh, id->refresh_ms, id->refresh_ms) < 0) ||
	    (id->watch_ms && (id->lv.file || id->inv.file) &&
	     ev_timer_start(ev, &id->t_watch, id->watch_ms, id->watch_ms) < 0)) {
		vt_err_set(err, -ENOSPC, "identity: no timer slot");
		goto fail;
	}
	if (pthread_create(&id->th, NULL, identity_main, id) != 0) {
		vt_err_set(err, -EAGAIN, "identity: cannot start its thread");
		goto fail;
	}
	id->th_started = true;
	request(id);
	return id;
fail:
	identity_free(id);
	return NULL;
}

static void src_free(struct src_state *s)
{
	id_set_free(&s->cur);
	id_set_free(&s->fresh);
	free(s->where);
	s->where = NULL;
}

void identity_free(struct identity *id)
{
	if (!id)
		return;
	if (id->th_started) {
		pthread_mutex_lock(&id->mu);
		id->stop = true;
		pthread_cond_signal(&id->cv);
		pthread_mutex_unlock(&id->mu);
		pthread_join(id->th, NULL);
	}
	if (id->efd >= 0) {
		ev_io_del(id->ev, &id->io);
		close(id->efd);
	}
	ev_timer_stop(id->ev, &id->t_refresh);
	ev_timer_stop(id->ev, &id->t_watch);
	ev_timer_stop(id->ev, &id->t_debounce);
	src_free(&id->lv);
	src_free(&id->inv);
	pthread_mutex_destroy(&id->mu);
	pthread_cond_destroy(&id->cv);
	free(id);
}

static void src_json(const struct src_state *s, struct jw *w)
{
	jw_obj_open(w, s->what);
	jw_bool(w, "configured", s->where != NULL);
	if (s->where)
		jw_str(w, s->what[0] == 'l' ? "uri" : "path", s->where);
	jw_bool(w, "loaded", s->have);
	jw_uint(w, "entries", s->cur.n);
	jw_uint(w, "loads", s->loads);
	jw_uint(w, "errors", s->errors);
	if (s->last_ok_ms)
		jw_uint(w, "last_load_ms", s->last_ok_ms);
	if (s->last_err[0]) {
		jw_str(w, "last_error", s->last_err);
		jw_uint(w, "last_error_ms", s->last_err_ms);
	}
	jw_obj_close(w);
}

void identity_status_json(const struct identity *id, struct jw *w)
{
	src_json(&id->lv, w);
	src_json(&id->inv, w);
	jw_obj_open(w, "alias");
	jw_bool(w, "configured", id->alias);
	jw_obj_close(w);
	jw_str(w, "order", "libvirt, inventory, alias");
}
