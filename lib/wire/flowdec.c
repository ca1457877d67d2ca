/* flowdec.c — dispatch of flow-export datagrams to the per-version
 * decoders, and the per-exporter state they share: the exporter table,
 * data held until its template arrives, sampling rates from options
 * records, sequence tracking and statistics (see flowdec.h). */
#include "wire/flowdec.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/be.h"
#include "core/compiler.h"
#include "core/hash.h"
#include "core/log.h"
#include "wire/ipfix_dec.h"
#include "wire/nfv5_dec.h"
#include "wire/nfv9_dec.h"
#include "wire/sflow_dec.h"
#include "wire/tmpl_cache.h"

static const char *const err_names[FD_ERR__COUNT] = {
	[FD_ERR_SHORT] = "short",
	[FD_ERR_VERSION] = "version",
	[FD_ERR_V5_LENGTH] = "v5_length",
	[FD_ERR_MSG_LENGTH] = "msg_length",
	[FD_ERR_SET_LENGTH] = "set_length",
	[FD_ERR_SET_ID] = "set_id",
	[FD_ERR_TMPL_LENGTH] = "template_length",
	[FD_ERR_TMPL_INVALID] = "template_invalid",
	[FD_ERR_TMPL_LIMIT] = "template_limit",
	[FD_ERR_RECORD_LENGTH] = "record_length",
	[FD_ERR_SFLOW_HEADER] = "sflow_header",
	[FD_ERR_SFLOW_SAMPLE] = "sflow_sample",
	[FD_ERR_SFLOW_RECORD] = "sflow_record",
	[FD_ERR_SFLOW_PACKET] = "sflow_packet",
};

const char *flowdec_err_name(enum fd_err e)
{
	return (unsigned)e < FD_ERR__COUNT ? err_names[e] : "unknown";
}

#define FD_MAX_SAMPLERS 16

enum { SAMP_SAMPLER = 1, SAMP_SELECTOR, SAMP_IF };

struct fd_sampler {
	uint64_t id;
	uint32_t rate;
	uint8_t kind;
};

/* State of one (protocol version, observation domain) of an exporter. */
struct fd_domain {
	uint32_t domain;
	uint8_t version;
	bool seq_valid, seq_uncounted;
	int8_t seq_style;              /* < 0 RFC counting proven, > 0 softflowd's */
	uint16_t seq_port;             /* transport session of seq_last */
	uint32_t seq_last, seq_count;
	uint32_t seq_count_flows;      /* seq_count without options records */
	uint64_t used_ms;
	uint64_t sys_init_ms;          /* systemInitTimeMilliseconds (options) */
	uint32_t default_rate;         /* sampling without sampler/selector id */
	uint8_t nsamplers;
	struct fd_sampler samplers[FD_MAX_SAMPLERS];
};

/* A data set waiting for its template. */
struct fd_held {
	struct fd_held *enext, *eprev;   /* exporter's list, oldest first */
	struct fd_held *gnext, *gprev;   /* global list, oldest first */
	struct fd_exporter *ex;
	uint64_t arrived_ms, tag;
	struct ie_time_ctx tc;
	uint32_t domain;
	uint16_t set_id, set_index;
	uint8_t version;
	uint32_t len;
	uint8_t data[];
};

struct fd_exporter {
	struct tmpl_owner owner;         /* owner.addr is the exporter address */
	struct fd_exporter *hnext;
	struct fd_exporter *lprev, *lnext;  /* LRU by last datagram */
	struct fd_exporter_stats st;
	struct fd_domain *dom;
	uint16_t ndom, capdom;
	struct fd_held *hhead, *htail;
	struct sflow_ifcounters *ifc;    /* FD_MAX_IFCOUNTERS when allocated */
	uint32_t nifc;
};

struct flowdec {
	struct flowdec_conf conf;
	const struct flowdec_ops *ops;
	void *arg;
	struct tmpl_cache *cache;
	struct fd_exporter **bucket;
	size_t nbucket;
	uint64_t seed;
	struct fd_exporter *head, *tail;   /* LRU */
	uint64_t nexp, evicted;
	struct fd_held *ghead, *gtail;
	uint64_t held_sets, held_bytes;
	uint64_t datagrams, records;
	uint64_t tmpl_gen;
};

#define CK(name, type, field, min, max, def, help)                              \
	{ name, type, offsetof(struct flowdec_conf, field), min, max, def, help,    \
	  NULL, NULL, NULL, false }

const struct conf_key flowdec_conf_keys[] = {
	CK("max_exporters", CONF_UINT, max_exporters, 1, 10000000, "16384",
	   "exporters tracked at once; the least recently seen is forgotten (with its "
	   "templates) when a new one arrives at the bound"),
	CK("max_templates", CONF_UINT, max_templates, 1, 100000000, "262144",
	   "templates kept, all exporters; the least recently used goes first"),
	CK("max_templates_per_exporter", CONF_UINT, max_templates_per_exporter, 1, 65536, "256",
	   "templates kept per exporter address"),
	CK("template_memory", CONF_SIZE, max_template_bytes, 4096, 1ull << 40, "256M",
	   "memory for templates, all exporters"),
	CK("template_memory_per_exporter", CONF_SIZE, max_template_bytes_per_exporter, 4096,
	   1ull << 32, "128k", "memory for one exporter's templates"),
	CK("hold_time", CONF_DURATION, hold_ms, 0, 86400000, "30s",
	   "how long data that arrived before its template waits for it; then it is "
	   "counted as no-template"),
	CK("hold_memory_per_exporter", CONF_SIZE, hold_bytes_per_exporter, 0, 1ull << 32, "256k",
	   "memory for data held for missing templates (the sets and their "
	   "bookkeeping), per exporter; the oldest is dropped and counted as no-template"),
	CK("hold_memory", CONF_SIZE, hold_bytes_total, 0, 1ull << 40, "64M",
	   "memory for data held for missing templates, all exporters"),
	CK("max_domains_per_exporter", CONF_UINT, max_domains_per_exporter, 1, 4096, "16",
	   "observation domains (v9 source ids, sFlow sub-agents) with their own "
	   "sequence numbers and sampling tables, per exporter"),
};
const size_t flowdec_conf_nkeys = ARRAY_SIZE(flowdec_conf_keys);

void flowdec_conf_defaults(struct flowdec_conf *c)
{
	c->max_exporters = 16384;
	c->max_templates = 262144;
	c->max_templates_per_exporter = 256;
	c->max_template_bytes = 256u << 20;
	c->max_template_bytes_per_exporter = 128u << 10;
	c->hold_ms = 30000;
	c->hold_bytes_per_exporter = 256u << 10;
	c->hold_bytes_total = 64u << 20;
	c->max_domains_per_exporter = 16;
}

struct flowdec *flowdec_new(const struct flowdec_conf *conf, const struct flowdec_ops *ops,
			    void *arg)
{
	struct flowdec *fd;

	if (!conf->max_exporters || !conf->max_domains_per_exporter ||
	    conf->max_domains_per_exporter > 4096 || conf->max_templates > UINT32_MAX ||
	    conf->max_templates_per_exporter > UINT32_MAX || !ops || !ops->record) {
		errno = EINVAL;
		return NULL;
	}
	fd = calloc(1, sizeof(*fd));
	if (!fd)
		return NULL;
	fd->conf = *conf;
	fd->ops = ops;
	fd->arg = arg;
	struct tmpl_cache_conf tc = {
		.max_total = (uint32_t)conf->max_templates,
		.max_per_owner = (uint32_t)conf->max_templates_per_exporter,
		.max_bytes_total = conf->max_template_bytes,
		.max_bytes_per_owner = conf->max_template_bytes_per_exporter,
	};
	fd->cache = tmpl_cache_new(&tc);
	fd->nbucket = 64;
	fd->bucket = calloc(fd->nbucket, sizeof(*fd->bucket));
	if (!fd->cache || !fd->bucket) {
		int e = errno ? errno : ENOMEM;
		tmpl_cache_free(fd->cache);
		free(fd->bucket);
		free(fd);
		errno = e;
		return NULL;
	}
	fd->seed = vt_hash_seed();
	return fd;
}

/* ---- held data ------------------------------------------------------------ */

/* What a held set costs against the hold bounds: its bytes and its
 * bookkeeping, so that many tiny (or empty) sets are bounded too. */
static size_t held_cost(size_t len)
{
	return sizeof(struct fd_held) + len;
}

static void held_unlink(struct flowdec *fd, struct fd_held *h)
{
	struct fd_exporter *ex = h->ex;

	if (h->eprev)
		h->eprev->enext = h->enext;
	else
		ex->hhead = h->enext;
	if (h->enext)
		h->enext->eprev = h->eprev;
	else
		ex->htail = h->eprev;
	if (h->gprev)
		h->gprev->gnext = h->gnext;
	else
		fd->ghead = h->gnext;
	if (h->gnext)
		h->gnext->gprev = h->gprev;
	else
		fd->gtail = h->gprev;
	ex->st.held_now--;
	ex->st.held_bytes_now -= held_cost(h->len);
	fd->held_sets--;
	fd->held_bytes -= held_cost(h->len);
}

/* Drops a held set whose template never came: "no template", not an error. */
static void held_drop(struct flowdec *fd, struct fd_held *h)
{
	held_unlink(fd, h);
	h->ex->st.no_template_sets++;
	h->ex->st.no_template_bytes += h->len;
	free(h);
}

static void hold(struct fd_msg *m, uint16_t set_id, const uint8_t *body, size_t len)
{
	struct flowdec *fd = m->fd;
	struct fd_exporter *ex = m->ex;
	struct fd_held *h;
	size_t cost = held_cost(len);

	ex->st.held_sets++;
	if (cost > fd->conf.hold_bytes_per_exporter || cost > fd->conf.hold_bytes_total) {
		ex->st.no_template_sets++;
		ex->st.no_template_bytes += len;
		return;
	}
	/* the exporter's own oldest first, then the oldest of anyone */
	while (ex->hhead && ex->st.held_bytes_now + cost > fd->conf.hold_bytes_per_exporter)
		held_drop(fd, ex->hhead);
	while (fd->ghead && fd->held_bytes + cost > fd->conf.hold_bytes_total)
		held_drop(fd, fd->ghead);
	h = malloc(sizeof(*h) + len);
	if (!h) {
		ex->st.no_template_sets++;
		ex->st.no_template_bytes += len;
		return;
	}
	memset(h, 0, sizeof(*h));
	h->ex = ex;
	h->arrived_ms = m->now_ms;
	h->tag = m->tag;
	h->tc = m->tc;
	h->domain = m->domain;
	h->set_id = set_id;
	h->set_index = m->set_index;
	h->version = m->version;
	h->len = (uint32_t)len;
	memcpy(h->data, body, len);
	h->eprev = ex->htail;
	if (ex->htail)
		ex->htail->enext = h;
	else
		ex->hhead = h;
	ex->htail = h;
	h->gprev = fd->gtail;
	if (fd->gtail)
		fd->gtail->gnext = h;
	else
		fd->ghead = h;
	fd->gtail = h;
	ex->st.held_now++;
	ex->st.held_bytes_now += cost;
	fd->held_sets++;
	fd->held_bytes += cost;
}

void flowdec_expire(struct flowdec *fd, uint64_t now_ms)
{
	while (fd->ghead && (now_ms == UINT64_MAX ||
			     fd->ghead->arrived_ms + fd->conf.hold_ms <= now_ms))
		held_drop(fd, fd->ghead);
}

/* ---- exporters ------------------------------------------------------------ */

static size_t exp_bucket(const struct flowdec *fd, const struct vt_addr *a)
{
	return (size_t)vt_hash(a->b, 16, fd->seed) & (fd->nbucket - 1);
}

static struct fd_exporter *exp_find(const struct flowdec *fd, const struct vt_addr *a)
{
	struct fd_exporter *ex = fd->bucket[exp_bucket(fd, a)];

	while (ex && addr_cmp(&ex->owner.addr, a) != 0)
		ex = ex->hnext;
	return ex;
}

static void lru_unlink(struct flowdec *fd, struct fd_exporter *ex)
{
	if (ex->lprev)
		ex->lprev->lnext = ex->lnext;
	else
		fd->head = ex->lnext;
	if (ex->lnext)
		ex->lnext->lprev = ex->lprev;
	else
		fd->tail = ex->lprev;
	ex->lprev = ex->lnext = NULL;
}

static void lru_push(struct flowdec *fd, struct fd_exporter *ex)
{
	ex->lnext = fd->head;
	if (fd->head)
		fd->head->lprev = ex;
	fd->head = ex;
	if (!fd->tail)
		fd->tail = ex;
}

static void exp_free(struct flowdec *fd, struct fd_exporter *ex)
{
	struct fd_exporter **pp = &fd->bucket[exp_bucket(fd, &ex->owner.addr)];

	while (*pp != ex)
		pp = &(*pp)->hnext;
	*pp = ex->hnext;
	lru_unlink(fd, ex);
	while (ex->hhead) {
		struct fd_held *h = ex->hhead;
		held_unlink(fd, h);
		free(h);
	}
	if (ex->owner.ntmpl)
		fd->tmpl_gen++;
	tmpl_cache_drop_owner(fd->cache, &ex->owner);
	free(ex->dom);
	free(ex->ifc);
	free(ex);
	fd->nexp--;
}

static void exp_grow(struct flowdec *fd)
{
	size_t n = fd->nbucket * 2;
	struct fd_exporter **nb;

	if (fd->nexp < fd->nbucket || fd->nbucket >= ((size_t)1 << 24))
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	struct fd_exporter **old = fd->bucket;
	size_t oldn = fd->nbucket;
	fd->bucket = nb;
	fd->nbucket = n;
	for (size_t i = 0; i < oldn; i++) {
		struct fd_exporter *ex = old[i], *next;
		for (; ex; ex = next) {
			next = ex->hnext;
			size_t b = exp_bucket(fd, &ex->owner.addr);
			ex->hnext = nb[b];
			nb[b] = ex;
		}
	}
	free(old);
}

/* The exporter of <a>, created (evicting the least recently seen one at
 * the bound) when new. NULL only when out of memory. */
static struct fd_exporter *exp_get(struct flowdec *fd, const struct vt_addr *a, uint64_t now_ms)
{
	struct fd_exporter *ex = exp_find(fd, a);

	if (ex) {
		if (fd->head != ex) {
			lru_unlink(fd, ex);
			lru_push(fd, ex);
		}
		return ex;
	}
	if (fd->nexp >= fd->conf.max_exporters && fd->tail) {
		exp_free(fd, fd->tail);
		fd->evicted++;
	}
	ex = calloc(1, sizeof(*ex));
	if (!ex)
		return NULL;
	ex->owner.addr = *a;
	ex->st.addr = *a;
	ex->st.first_seen_ms = now_ms;
	ex->st.sampling = 1;
	size_t b = exp_bucket(fd, a);
	ex->hnext = fd->bucket[b];
	fd->bucket[b] = ex;
	lru_push(fd, ex);
	fd->nexp++;
	exp_grow(fd);
	return ex;
}

static struct fd_domain *dom_find(struct flowdec *fd, struct fd_exporter *ex, uint8_t version,
				   uint32_t domain, uint64_t now_ms)
{
	struct fd_domain *d;

	for (uint16_t i = 0; i < ex->ndom; i++) {
		d = &ex->dom[i];
		if (d->domain == domain && d->version == version) {
			d->used_ms = now_ms;
			return d;
		}
	}
	if (ex->ndom == ex->capdom && ex->capdom < fd->conf.max_domains_per_exporter) {
		uint16_t cap = ex->capdom ? (uint16_t)(ex->capdom * 2) : 1;
		if (cap > fd->conf.max_domains_per_exporter)
			cap = (uint16_t)fd->conf.max_domains_per_exporter;
		struct fd_domain *nd = realloc(ex->dom, cap * sizeof(*nd));
		if (nd) {
			ex->dom = nd;
			ex->capdom = cap;
		}
	}
	if (ex->ndom < ex->capdom) {
		d = &ex->dom[ex->ndom++];
	} else if (ex->ndom) {
		/* at the bound: reuse the least recently used domain */
		ex->st.domains_dropped++;
		d = &ex->dom[0];
		for (uint16_t i = 1; i < ex->ndom; i++)
			if (ex->dom[i].used_ms < d->used_ms)
				d = &ex->dom[i];
	} else {
		return NULL;
	}
	memset(d, 0, sizeof(*d));
	d->domain = domain;
	d->version = version;
	d->used_ms = now_ms;
	return d;
}

static struct fd_domain *dom_get(struct fd_msg *m)
{
	return dom_find(m->fd, m->ex, m->version, m->domain, m->now_ms);
}

/* ---- decoder interface -------------------------------------------------- */

void fd_error(struct fd_msg *m, enum fd_err e)
{
	m->bad = true;
	m->ex->st.errors++;
	m->ex->st.error[e]++;
	log_ratelimited(LOG_LVL_DEBUG, "flowdec: %s from exporter: %s",
			m->version == 105 ? "sFlow" : "datagram", flowdec_err_name(e));
}

static uint64_t mul_sat(uint64_t a, uint32_t b)
{
	return a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

struct flow_rec *fd_room(struct fd_msg *m, struct flow_rec *fallback)
{
	const struct flowdec_ops *ops = m->fd->ops;
	struct flow_rec *r = ops->room ? ops->room(m->fd->arg) : NULL;

	return r ? r : fallback;
}

void fd_emit(struct fd_msg *m, struct flow_rec *r, uint32_t sampling, uint16_t rec_index)
{
	struct flowdec_src src = { m->tag, m->set_index, rec_index };

	r->exporter = m->ex->owner.addr;
	r->obs_domain = m->domain;
	r->exp_version = m->version;
	if (sampling > 1) {
		r->bytes = mul_sat(r->bytes, sampling);
		r->packets = mul_sat(r->packets, sampling);
	} else {
		sampling = 1;
	}
	r->sampling = sampling;
	if (m->late)
		r->dec_flags |= FLOWREC_F_LATE;
	m->ex->st.records++;
	m->ex->st.sampling = sampling;
	m->fd->records++;
	m->emitted++;
	m->fd->ops->record(m->fd->arg, r, &src);
}

/* The rate an options or data record states itself, or 0. */
static uint32_t acc_rate(const struct ie_acc *a)
{
	uint64_t r = 0;

	if (ie_has(a, IEM_SAMPLING_INTERVAL) && a->samp_interval)
		r = a->samp_interval;
	else if (ie_has(a, IEM_SAMPLER_RANDOM_INTERVAL) && a->samp_random)
		r = a->samp_random;
	else if (ie_has(a, IEM_SAMPLING_PKT_INTERVAL) && a->samp_pkt_interval)
		/* RFC 5477: select <interval> packets, skip <space> */
		r = (a->samp_pkt_interval + a->samp_pkt_space) / a->samp_pkt_interval;
	else if (ie_has(a, IEM_SAMPLING_SIZE) && a->samp_size && a->samp_population)
		r = a->samp_population / a->samp_size;
	return r > UINT32_MAX ? UINT32_MAX : (uint32_t)r;
}

static void set_sampler(struct fd_exporter *ex, struct fd_domain *d, uint8_t kind, uint64_t id,
			uint32_t rate)
{
	struct fd_sampler *s = NULL;

	for (uint8_t i = 0; i < d->nsamplers; i++)
		if (d->samplers[i].kind == kind && d->samplers[i].id == id)
			s = &d->samplers[i];
	if (!s) {
		/* bounded: the oldest entry makes room (re-announced periodically) */
		if (d->nsamplers == FD_MAX_SAMPLERS) {
			memmove(&d->samplers[0], &d->samplers[1],
				(FD_MAX_SAMPLERS - 1) * sizeof(d->samplers[0]));
			d->nsamplers--;
			ex->st.samplers_dropped++;
		}
		s = &d->samplers[d->nsamplers++];
	}
	s->kind = kind;
	s->id = id;
	s->rate = rate;
}

static uint32_t get_sampler(const struct fd_domain *d, uint8_t kind, uint64_t id)
{
	for (uint8_t i = 0; i < d->nsamplers; i++)
		if (d->samplers[i].kind == kind && d->samplers[i].id == id)
			return d->samplers[i].rate;
	return 0;
}

static void options_record(struct fd_msg *m, struct fd_domain *d, const struct ie_acc *a)
{
	uint32_t rate = acc_rate(a);

	m->ex->st.options_records++;
	if (!d)
		return;
	if (ie_has(a, IEM_SYS_INIT_MS) && a->sys_init_ms) {
		d->sys_init_ms = a->sys_init_ms;
		m->tc.sys_init_ms = a->sys_init_ms;
	}
	if (!rate)
		return;
	if (ie_has(a, IEM_SAMPLER_ID))
		set_sampler(m->ex, d, SAMP_SAMPLER, a->sampler_id, rate);
	else if (ie_has(a, IEM_SELECTOR_ID))
		set_sampler(m->ex, d, SAMP_SELECTOR, a->selector_id, rate);
	else if (ie_has(a, IEM_SCOPE_IF))
		set_sampler(m->ex, d, SAMP_IF, a->scope_if, rate);
	else
		d->default_rate = rate;
}

/* The sampling rate of a data record (docs: "Sampling"). */
static uint32_t data_rate(const struct fd_domain *d, const struct ie_acc *a, uint32_t in_if)
{
	uint32_t r = acc_rate(a);

	if (r || !d)
		return r;
	if (ie_has(a, IEM_SAMPLER_ID) && (r = get_sampler(d, SAMP_SAMPLER, a->sampler_id)))
		return r;
	if (ie_has(a, IEM_SELECTOR_ID) && (r = get_sampler(d, SAMP_SELECTOR, a->selector_id)))
		return r;
	if ((r = get_sampler(d, SAMP_IF, in_if)))
		return r;
	return d->default_rate;
}

static void decode_set(struct fd_msg *m, const struct tmpl *t, const uint8_t *body, size_t len)
{
	struct vt_rd r = rd_init(body, len);
	struct fd_domain *d = dom_get(m);
	uint16_t idx = 0;
	struct ie_acc acc;

	if (d && d->sys_init_ms && !m->tc.sys_init_ms)
		m->tc.sys_init_ms = d->sys_init_ms;
	/* RFC 7011 §3.3.1: what is left after the last record that is shorter
	 * than the shortest record is padding */
	ie_acc_init(&acc);
	while (rd_left(&r) >= t->min_len) {
		if (!t->reuse_acc)
			ie_acc_init(&acc);
		if (tmpl_decode_record(t, &r, &acc) < 0) {
			fd_error(m, FD_ERR_RECORD_LENGTH);
			return;
		}
		if (idx < UINT16_MAX)
			idx++;
		m->data_records++;
		if (t->options) {
			m->options_records++;
			options_record(m, d, &acc);
			continue;
		}
		struct flow_rec out[2], *f = fd_room(m, &out[0]);
		int n = ie_finish(&acc, &m->tc, f, &out[1]);
		uint32_t rate = data_rate(d, &acc, acc.f.in_if);
		fd_emit(m, f, rate, idx);
		if (n == 2)
			fd_emit(m, &out[1], rate, idx);
	}
}

void fd_data_set(struct fd_msg *m, uint16_t set_id, const uint8_t *body, size_t len)
{
	struct tmpl *t = tmpl_cache_get(m->fd->cache, &m->ex->owner, m->version, m->domain,
					set_id, m->now_ms);

	if (!t) {
		m->uncounted = true;
		hold(m, set_id, body, len);
		return;
	}
	decode_set(m, t, body, len);
}

/* Decodes the data held for template <t>, oldest first. */
static void replay(struct fd_msg *m, const struct tmpl *t)
{
	struct fd_held *h = m->ex->hhead, *next;

	for (; h; h = next) {
		next = h->enext;
		if (h->version != t->version || h->domain != t->domain || h->set_id != t->id)
			continue;
		held_unlink(m->fd, h);
		struct fd_msg late = {
			.fd = m->fd, .ex = m->ex, .now_ms = m->now_ms, .tag = h->tag,
			.version = h->version, .domain = h->domain, .tc = h->tc,
			.set_index = h->set_index, .late = true,
		};
		decode_set(&late, t, h->data, h->len);
		m->ex->st.late_sets++;
		m->emitted += late.emitted;
		free(h);
		/* decode_set() cannot free other held sets: <next> stays valid */
	}
}

void fd_template(struct fd_msg *m, struct tmpl *t)
{
	uint16_t id = t->id;
	uint8_t version = t->version;
	uint32_t domain = t->domain;
	int r = tmpl_cache_put(m->fd->cache, &m->ex->owner, t);

	if (r < 0) {
		fd_error(m, FD_ERR_TMPL_LIMIT);
		return;
	}
	m->ex->st.templates_defined++;
	if (r == 2)
		m->ex->st.templates_redefined++;
	if (r != 1)
		m->fd->tmpl_gen++;
	if (!m->ex->hhead)
		return;
	t = tmpl_cache_get(m->fd->cache, &m->ex->owner, version, domain, id, m->now_ms);
	if (t)
		replay(m, t);
}

void fd_withdraw(struct fd_msg *m, uint16_t id, bool all, int options)
{
	unsigned n;

	if (all)
		n = tmpl_cache_del_all(m->fd->cache, &m->ex->owner, m->version, m->domain, options);
	else
		n = tmpl_cache_del(m->fd->cache, &m->ex->owner, m->version, m->domain, id) == 0;
	m->ex->st.templates_withdrawn += n;
	if (n)
		m->fd->tmpl_gen++;
}

void fd_sequence(struct fd_msg *m, uint32_t seq, uint32_t count)
{
	struct fd_domain *d = dom_get(m);
	struct fd_exporter_stats *st = &m->ex->st;

	if (!d)
		return;
	if (d->seq_valid && d->seq_port != m->port) {
		/* a new transport session: the exporter restarted (new socket),
		 * its counter starts over; not loss */
		st->seq_resets++;
	} else if (d->seq_valid && !d->seq_uncounted) {
		/* RFC counting: this message's number = last + last's count.
		 * softflowd 1.1.0 (IPFIX) counts the message's own records
		 * (REFERENCES.md): number = last + this message's count. Either
		 * count may leave options data records out (softflowd's does).
		 * When the two rules disagree the one that holds is remembered,
		 * so a real gap that happens to match the other is not hidden
		 * once the exporter's style is known. */
		uint32_t flows = count - (m->version == 10 ? m->options_records : 0);
		bool rfc = seq == d->seq_last + d->seq_count ||
			   seq == d->seq_last + d->seq_count_flows;
		bool quirk = m->version == 10 &&
			     (seq == d->seq_last + count || seq == d->seq_last + flows);

		if (rfc && !quirk && d->seq_style > -4)
			d->seq_style--;
		if (!rfc && quirk && d->seq_style >= 0) {
			st->seq_quirks++;
			if (d->seq_style < 4)
				d->seq_style++;
		} else if (!rfc) {
			uint32_t expect = d->seq_last + (d->seq_style > 0 ? count : d->seq_count);
			int32_t diff = (int32_t)(seq - expect);
			if (diff > 0) {
				st->seq_gaps++;
				st->seq_lost += (uint32_t)diff;
			} else if (diff < 0) {
				st->seq_resets++;
			}
		}
	}
	d->seq_valid = true;
	d->seq_port = m->port;
	d->seq_last = seq;
	d->seq_count = count;
	d->seq_count_flows = count - (m->version == 10 ? m->options_records : 0);
	/* an IPFIX message with held data advanced the counter by an unknown
	 * number of records: resynchronise on the next one */
	d->seq_uncounted = m->version == 10 && m->uncounted;
}

void fd_sflow_sample(struct fd_msg *m, bool counter)
{
	if (counter)
		m->ex->st.sflow_counter_samples++;
	else
		m->ex->st.sflow_flow_samples++;
}

void fd_sflow_counters(struct fd_msg *m, const struct sflow_ifcounters *c)
{
	struct fd_exporter *ex = m->ex;
	struct sflow_ifcounters *slot = NULL;

	if (m->fd->ops->ifcounters)
		m->fd->ops->ifcounters(m->fd->arg, &ex->owner.addr, c);
	for (uint32_t i = 0; i < ex->nifc; i++)
		if (ex->ifc[i].source_id == c->source_id && ex->ifc[i].ifindex == c->ifindex)
			slot = &ex->ifc[i];
	if (!slot) {
		if (!ex->ifc)
			ex->ifc = calloc(FD_MAX_IFCOUNTERS, sizeof(*ex->ifc));
		if (!ex->ifc || ex->nifc == FD_MAX_IFCOUNTERS) {
			ex->st.ifcounters_dropped++;
			return;
		}
		slot = &ex->ifc[ex->nifc++];
	}
	*slot = *c;
	slot->seen_ms = m->now_ms;
}

/* ---- entry point -------------------------------------------------------- */

int flowdec_input(struct flowdec *fd, const struct vt_addr *exporter, uint16_t port,
		  uint64_t now_ms, const uint8_t *buf, size_t len, uint64_t tag)
{
	struct fd_exporter *ex = exp_get(fd, exporter, now_ms);
	int r;

	if (!ex)
		return -ENOMEM;
	fd->datagrams++;
	ex->st.packets++;
	ex->st.bytes += len;
	ex->st.last_seen_ms = now_ms;
	struct fd_msg m = { .fd = fd, .ex = ex, .now_ms = now_ms, .tag = tag, .port = port };
	if (len < 4) {
		fd_error(&m, FD_ERR_SHORT);
		return -EBADMSG;
	}
	uint16_t v = ld_be16(buf);
	if (v == 5) {
		ex->st.packets_v5++;
		r = nfv5_decode(&m, buf, len);
	} else if (v == 9) {
		ex->st.packets_v9++;
		r = nfv9_decode(&m, buf, len);
	} else if (v == 10) {
		ex->st.packets_ipfix++;
		r = ipfix_decode(&m, buf, len);
	} else if (ld_be32(buf) == 5) {
		ex->st.packets_sflow++;
		r = sflow_decode(&m, buf, len);
	} else {
		fd_error(&m, FD_ERR_VERSION);
		return -EBADMSG;
	}
	return r < 0 ? -EBADMSG : m.emitted;
}

size_t flowdec_frame_len(const uint8_t *buf, size_t len)
{
	if (len < 4)
		return len;
	uint16_t v = ld_be16(buf);
	size_t n = len;
	if (v == 5 && len >= 24)
		n = 24 + (size_t)ld_be16(buf + 2) * 48;
	else if (v == 10)
		n = ld_be16(buf + 2);
	return n >= 4 && n <= len ? n : len;
}

/* ---- queries ------------------------------------------------------------ */

static void fill_stats(const struct fd_exporter *ex, struct fd_exporter_stats *st)
{
	*st = ex->st;
	st->templates = ex->owner.ntmpl;
	st->templates_evicted = ex->owner.evicted;
	st->ifcounters = ex->nifc;
}

void flowdec_foreach_exporter(const struct flowdec *fd,
			      void (*cb)(void *arg, const struct fd_exporter_stats *st),
			      void *arg)
{
	struct fd_exporter_stats st;

	for (const struct fd_exporter *ex = fd->head; ex; ex = ex->lnext) {
		fill_stats(ex, &st);
		cb(arg, &st);
	}
}

int flowdec_exporter_stats(const struct flowdec *fd, const struct vt_addr *exporter,
			   struct fd_exporter_stats *st)
{
	const struct fd_exporter *ex = exp_find(fd, exporter);

	if (!ex)
		return -ENOENT;
	fill_stats(ex, st);
	return 0;
}

size_t flowdec_exporter_templates(const struct flowdec *fd, const struct vt_addr *exporter,
				  struct flowdec_tmpl_info *out, size_t max)
{
	const struct fd_exporter *ex = exp_find(fd, exporter);
	size_t n = 0;

	if (!ex)
		return 0;
	for (const struct tmpl *t = ex->owner.head; t; t = t->onext, n++)
		if (n < max)
			out[n] = (struct flowdec_tmpl_info){ t->version, t->options, t->id,
							     t->domain, t->nfields };
	return n;
}

size_t flowdec_exporter_ifcounters(const struct flowdec *fd, const struct vt_addr *exporter,
				   struct sflow_ifcounters *out, size_t max)
{
	const struct fd_exporter *ex = exp_find(fd, exporter);

	if (!ex)
		return 0;
	for (uint32_t i = 0; i < ex->nifc && i < max; i++)
		out[i] = ex->ifc[i];
	return ex->nifc;
}

void flowdec_stats(const struct flowdec *fd, struct flowdec_stats *st)
{
	struct tmpl_cache_stats cs;

	tmpl_cache_stats(fd->cache, &cs);
	memset(st, 0, sizeof(*st));
	st->exporters = fd->nexp;
	st->exporters_evicted = fd->evicted;
	st->templates = cs.templates;
	st->template_bytes = cs.bytes;
	st->templates_evicted = cs.evicted_owner + cs.evicted_total;
	st->held_sets_now = fd->held_sets;
	st->held_bytes_now = fd->held_bytes;
	st->datagrams = fd->datagrams;
	st->records = fd->records;
}

uint64_t flowdec_template_generation(const struct flowdec *fd)
{
	return fd->tmpl_gen;
}

/* The template file also carries each domain's sampling table and
 * systemInitTime (entry kind 2), so a sampled exporter's data keeps its
 * rate across a restart:
 *   address (16) | version u8 | domain u32 | sysinit ms u64 |
 *   default rate u32 | sampler count u8 | { kind u8 | id u64 | rate u32 } * count */
#define ENTRY_DOMAIN 2
#define DOMAIN_ENTRY_LEN (16 + 1 + 4 + 8 + 4 + 1)

struct file_ctx {
	struct flowdec *fd;
	uint64_t now_ms;
};

static int put_u(struct vbuf *b, uint64_t v, size_t n)
{
	uint8_t x[8];
	struct vt_wr w = wr_init(x, sizeof(x));

	wr_uint(&w, v, n);
	return vbuf_add(b, x, n);
}

static int ext_save(void *arg, struct vbuf *b)
{
	const struct file_ctx *fc = arg;
	int n = 0, r = 0;

	for (const struct fd_exporter *ex = fc->fd->tail; ex; ex = ex->lprev) {
		for (uint16_t i = 0; i < ex->ndom; i++) {
			const struct fd_domain *d = &ex->dom[i];
			if (!d->sys_init_ms && !d->default_rate && !d->nsamplers)
				continue;
			size_t at = tmpl_file_entry_begin(b, ENTRY_DOMAIN);
			r |= vbuf_add(b, ex->owner.addr.b, 16);
			r |= put_u(b, d->version, 1);
			r |= put_u(b, d->domain, 4);
			r |= put_u(b, d->sys_init_ms, 8);
			r |= put_u(b, d->default_rate, 4);
			r |= put_u(b, d->nsamplers, 1);
			for (uint8_t k = 0; k < d->nsamplers; k++) {
				r |= put_u(b, d->samplers[k].kind, 1);
				r |= put_u(b, d->samplers[k].id, 8);
				r |= put_u(b, d->samplers[k].rate, 4);
			}
			r |= tmpl_file_entry_end(b, at);
			if (r)
				return -ENOSPC;
			n++;
		}
	}
	return n;
}

static int ext_load(void *arg, uint8_t kind, const uint8_t *body, size_t len, bool apply)
{
	struct file_ctx *fc = arg;
	struct vt_rd r = rd_init(body, len);
	struct vt_addr a;

	if (kind != ENTRY_DOMAIN)
		return 0;   /* a newer kind: ignored */
	rd_copy(&r, a.b, 16);
	uint8_t version = rd_u8(&r);
	uint32_t domain = rd_u32(&r);
	uint64_t sys_init = rd_u64(&r);
	uint32_t def = rd_u32(&r);
	uint8_t n = rd_u8(&r);
	if (rd_failed(&r) || n > FD_MAX_SAMPLERS || len != DOMAIN_ENTRY_LEN + (size_t)n * 13 ||
	    (version != 5 && version != 9 && version != 10 && version != 105))
		return -EBADMSG;
	struct fd_sampler s[FD_MAX_SAMPLERS];
	for (uint8_t k = 0; k < n; k++) {
		s[k].kind = rd_u8(&r);
		s[k].id = rd_u64(&r);
		s[k].rate = rd_u32(&r);
		if (s[k].kind < SAMP_SAMPLER || s[k].kind > SAMP_IF || !s[k].rate)
			return -EBADMSG;
	}
	if (!apply)
		return 0;
	struct fd_exporter *ex = exp_get(fc->fd, &a, fc->now_ms);
	struct fd_domain *d = ex ? dom_find(fc->fd, ex, version, domain, fc->now_ms) : NULL;
	if (!d)
		return 0;
	d->sys_init_ms = sys_init;
	d->default_rate = def;
	d->nsamplers = n;
	memcpy(d->samplers, s, n * sizeof(s[0]));
	return 0;
}

int flowdec_templates_save(const struct flowdec *fd, const char *path, struct vt_err *err)
{
	struct file_ctx fc = { (struct flowdec *)fd, 0 };
	struct tmpl_file_ext ext = { ext_save, ext_load, &fc };

	return tmpl_cache_save(fd->cache, path, &ext, err);
}

static struct tmpl_owner *load_owner(void *arg, const struct vt_addr *a)
{
	struct file_ctx *fc = arg;
	struct fd_exporter *ex = exp_get(fc->fd, a, fc->now_ms);

	return ex ? &ex->owner : NULL;
}

int flowdec_templates_load(struct flowdec *fd, const char *path, uint64_t now_ms,
			   struct vt_err *err)
{
	struct file_ctx fc = { fd, now_ms };
	struct tmpl_file_ext ext = { ext_save, ext_load, &fc };
	int r = tmpl_cache_load(fd->cache, path, load_owner, &fc, &ext, now_ms, err);

	if (r > 0)
		fd->tmpl_gen++;
	return r;
}

int flowdec_templates_load_mem(struct flowdec *fd, const uint8_t *buf, size_t len,
			       uint64_t now_ms, struct vt_err *err)
{
	struct file_ctx fc = { fd, now_ms };
	struct tmpl_file_ext ext = { ext_save, ext_load, &fc };
	int r = tmpl_cache_load_mem(fd->cache, buf, len, load_owner, &fc, &ext, now_ms, err);

	if (r > 0)
		fd->tmpl_gen++;
	return r;
}

int flowdec_templates_serialize(const struct flowdec *fd, uint8_t **out, size_t *len)
{
	struct file_ctx fc = { (struct flowdec *)fd, 0 };
	struct tmpl_file_ext ext = { ext_save, ext_load, &fc };

	return tmpl_cache_serialize(fd->cache, &ext, out, len);
}

void flowdec_free(struct flowdec *fd)
{
	if (!fd)
		return;
	while (fd->head)
		exp_free(fd, fd->head);
	tmpl_cache_free(fd->cache);
	free(fd->bucket);
	free(fd);
}
