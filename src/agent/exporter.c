/* exporter.c — see exporter.h.
 *
 * Per collector: a build buffer holding the open message, a ring of
 * finished messages (slot buffers allocated on first use and reused, so
 * the bound is queue_max x msg_cap bytes), a token bucket for UDP pacing
 * and, for TCP, a connection state machine with exponential back-off and
 * a template message that goes first on every new connection. */
#include "agent/exporter.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "wire/ipfix_enc.h"
#include "wire/nfv9_enc.h"

#define EXP_MAX_COLLECTORS 16
#define EXP_TCP_MSG 8192          /* bytes per IPFIX message over TCP */
#define EXP_BLOCK_MAX_MS 10000    /* blocking mode: longest wait for one slot */
#define EXP_BACKOFF_MIN_MS 250
#define EXP_BACKOFF_MAX_MS 30000
#define EXP_URL_MAX 256

struct qmsg {
	uint8_t *buf;          /* msg_cap bytes, owned, reused */
	uint32_t len;
	uint32_t seq;          /* header sequence number */
	uint32_t flows;
	uint64_t packets, octets;
};

enum cstate { C_DOWN, C_CONNECTING, C_UP };

struct coll {
	char url[EXP_URL_MAX];
	bool tcp;
	struct sockaddr_storage sa;
	socklen_t salen;
	int fd;
	enum cstate state;
	uint64_t next_try_ms, backoff_ms;   /* TCP, monotonic */
	size_t cap;
	/* the open message */
	uint8_t *build;
	struct fe_msg msg;
	bool open;
	uint32_t open_seq;
	uint64_t opened_ms;
	/* sequence counters: data records (IPFIX) / export packets (v9) */
	uint32_t seq_recs, seq_pkts;
	/* schedules, on the export clock */
	bool tmpl_ever;
	uint64_t last_tmpl_ms;
	uint32_t since_tmpl;
	uint64_t last_stats_ms;
	bool stats_due_now;
	/* TCP: templates first on each connection */
	uint8_t *tbuf;
	uint32_t tlen, toff;
	bool tpending;
	/* finished messages */
	struct qmsg *q;
	uint32_t qmax, qhead, qlen;
	uint32_t off;                       /* TCP: bytes of the head already sent */
	/* UDP pacing */
	double tokens, burst;
	uint64_t tok_ns;
	struct exp_coll_stats st;
};

struct exporter {
	struct exporter_cfg cfg;
	const struct flowenc_ops *ops;
	struct coll *c[EXP_MAX_COLLECTORS];
	size_t n;
	uint64_t boot_ms;
	bool boot_set;
	bool clock_set;
	uint64_t ignored;
};

/* ---- setup ----------------------------------------------------------- */

struct exporter *exporter_new(const struct exporter_cfg *cfg, struct vt_err *err)
{
	struct exporter *e;

	if (cfg->format != EXP_FMT_IPFIX && cfg->format != EXP_FMT_NFV9) {
		vt_err_set(err, -EINVAL, "export format must be ipfix or nfv9");
		errno = EINVAL;
		return NULL;
	}
	if (cfg->mtu < 1280 || cfg->mtu > 65535) {
		vt_err_set(err, -EINVAL, "export MTU %u is out of range [1280, 65535]", cfg->mtu);
		errno = EINVAL;
		return NULL;
	}
	if (cfg->queue_max == 0) {
		vt_err_set(err, -EINVAL, "export queue must hold at least one message");
		errno = EINVAL;
		return NULL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	e->cfg = *cfg;
	e->ops = cfg->format == EXP_FMT_NFV9 ? &nfv9_enc_ops : &ipfix_enc_ops;
	return e;
}

/* parse_url() : "udp://HOST:PORT" / "tcp://HOST:PORT", HOST may be
 * "[v6]". */
static int parse_url(const char *url, bool *tcp, struct sockaddr_storage *sa, socklen_t *salen,
		     struct vt_err *err)
{
	char host[EXP_URL_MAX];
	const char *h, *colon;
	size_t hl;
	struct addrinfo hints, *res = NULL;
	int r;

	if (strncmp(url, "udp://", 6) == 0)
		*tcp = false;
	else if (strncmp(url, "tcp://", 6) == 0)
		*tcp = true;
	else
		return vt_err_set(err, -EINVAL,
				  "collector '%s': expected udp://HOST:PORT or tcp://HOST:PORT", url);
	h = url + 6;
	if (*h == '[') {
		const char *rb = strchr(h, ']');
		if (!rb || rb[1] != ':')
			return vt_err_set(err, -EINVAL, "collector '%s': bad [IPv6]:PORT", url);
		hl = (size_t)(rb - h - 1);
		h++;
		colon = rb + 1;
	} else {
		colon = strrchr(h, ':');
		if (!colon)
			return vt_err_set(err, -EINVAL, "collector '%s': missing :PORT", url);
		hl = (size_t)(colon - h);
	}
	if (hl == 0 || hl >= sizeof(host))
		return vt_err_set(err, -EINVAL, "collector '%s': missing host", url);
	memcpy(host, h, hl);
	host[hl] = '\0';
	{
		uint64_t port;
		if (parse_u64(colon + 1, 1, 65535, &port) < 0)
			return vt_err_set(err, -EINVAL, "collector '%s': port must be 1-65535", url);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = *tcp ? SOCK_STREAM : SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV;
	r = getaddrinfo(host, colon + 1, &hints, &res);
	if (r != 0 || !res)
		return vt_err_set(err, -EINVAL, "collector '%s': cannot resolve '%s': %s", url, host,
				  gai_strerror(r));
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void tcp_fail(struct coll *c, const char *why, int e)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->state == C_UP || c->backoff_ms == EXP_BACKOFF_MIN_MS)
		log_ratelimited(LOG_LVL_WARN, "collector %s: %s: %s", c->url, why, strerror(e));
	c->state = C_DOWN;
	c->next_try_ms = mono_ms() + c->backoff_ms;
	c->backoff_ms = VT_MIN(c->backoff_ms * 2, (uint64_t)EXP_BACKOFF_MAX_MS);
	c->tpending = false;
	c->off = 0;
	c->st.up = false;
}

static void tcp_connected(struct exporter *e, struct coll *c)
{
	struct fe_msg m;
	struct fe_hdr h = { .now_ms = e->clock_set ? c->msg.now_ms : wall_ms(),
			    .domain = e->cfg.domain, .boot_ms = e->boot_ms };

	c->state = C_UP;
	c->st.up = true;
	c->st.connects++;
	c->backoff_ms = EXP_BACKOFF_MIN_MS;
	c->off = 0;
	/* A new transport session: templates first (RFC 7011 §8.1). It holds
	 * no data records, so its sequence number is that of what follows. */
	h.seq = c->qlen ? c->q[c->qhead].seq : (c->open ? c->open_seq : c->seq_recs);
	e->ops->begin(&m, c->tbuf, c->cap, &h);
	if (e->ops->templates(&m) == 0) {
		c->tlen = (uint32_t)e->ops->end(&m);
		c->toff = 0;
		c->tpending = true;
		c->st.templates++;
	}
	log_info("collector %s: connected", c->url);
}

static void tcp_start(struct exporter *e, struct coll *c)
{
	int fd = socket(c->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		tcp_fail(c, "socket", errno);
		return;
	}
	c->fd = fd;
	if (connect(fd, (struct sockaddr *)&c->sa, c->salen) == 0) {
		tcp_connected(e, c);
	} else if (errno == EINPROGRESS) {
		c->state = C_CONNECTING;
	} else {
		tcp_fail(c, "connect", errno);
	}
}

/* tcp_progress() : a pending connect finished? */
static void tcp_progress(struct exporter *e, struct coll *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLOUT };
	int soerr = 0;
	socklen_t sl = sizeof(soerr);

	if (poll(&p, 1, 0) <= 0 || !p.revents)
		return;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
		soerr = errno;
	if (soerr)
		tcp_fail(c, "connect", soerr);
	else
		tcp_connected(e, c);
}

int exporter_add(struct exporter *e, const char *url, struct vt_err *err)
{
	struct coll *c;
	int r;

	if (e->n >= EXP_MAX_COLLECTORS)
		return vt_err_set(err, -E2BIG, "at most %d collectors", EXP_MAX_COLLECTORS);
	if (strlen(url) >= EXP_URL_MAX)
		return vt_err_set(err, -EINVAL, "collector URL too long");
	c = calloc(1, sizeof(*c));
	if (!c)
		return vt_err_set(err, -ENOMEM, "out of memory");
	c->fd = -1;
	r = parse_url(url, &c->tcp, &c->sa, &c->salen, err);
	if (r < 0)
		goto fail;
	if (c->tcp && e->cfg.format == EXP_FMT_NFV9) {
		r = vt_err_set(err, -EINVAL, "collector '%s': NetFlow v9 is exported over UDP only", url);
		goto fail;
	}
	snprintf(c->url, sizeof(c->url), "%s", url);
	c->st.url = c->url;
	c->st.tcp = c->tcp;
	c->qmax = e->cfg.queue_max;
	if (c->tcp) {
		c->cap = EXP_TCP_MSG;
	} else {
		/* IP and UDP headers come out of the MTU */
		c->cap = e->cfg.mtu - (c->sa.ss_family == AF_INET6 ? 40 : 20) - 8;
	}
	c->st.msg_cap = (uint32_t)c->cap;
	c->build = malloc(c->cap);
	c->tbuf = c->tcp ? malloc(c->cap) : NULL;
	c->q = calloc(c->qmax, sizeof(*c->q));
	if (!c->build || !c->q || (c->tcp && !c->tbuf)) {
		r = vt_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	c->burst = e->cfg.rate ? VT_MAX(1.0, VT_MIN((double)e->cfg.rate / 10, 64.0)) : 0;
	c->tokens = c->burst;
	c->tok_ns = mono_ns();
	c->backoff_ms = EXP_BACKOFF_MIN_MS;
	c->st.c.active_timeout_s = e->cfg.active_timeout_s;
	c->st.c.idle_timeout_s = e->cfg.idle_timeout_s;
	if (c->tcp) {
		tcp_start(e, c);
	} else {
		int fd = socket(c->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&c->sa, c->salen) < 0) {
			r = vt_err_set(err, -errno, "collector '%s': %s", url, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		c->fd = fd;
		c->state = C_UP;
		c->st.up = true;
	}
	e->c[e->n++] = c;
	return 0;
fail:
	free(c->build);
	free(c->tbuf);
	free(c->q);
	free(c);
	return r;
}

/* v9_boot() : a sysUpTime origin for times from <ms> on: a whole second
 * (so unix_secs*1000 - sysUpTime is exact) and one second earlier, so the
 * first flow's FIRST_SWITCHED is not 0 (which some collectors read as
 * "no time"). */
static uint64_t v9_boot(uint64_t ms)
{
	ms = ms / 1000 * 1000;
	return ms >= 1000 ? ms - 1000 : 0;
}

void exporter_set_boot(struct exporter *e, uint64_t boot_ms)
{
	e->boot_ms = v9_boot(boot_ms);
	e->boot_set = true;
}

void exporter_set_ignored(struct exporter *e, uint64_t packets)
{
	e->ignored = packets;
}

/* ---- sending ---------------------------------------------------------- */

static void count_dropped(struct coll *c, const struct qmsg *m)
{
	c->st.dropped_messages++;
	c->st.c.notsent_flows += m->flows;
	c->st.c.notsent_packets += m->packets;
	c->st.c.notsent_octets += m->octets;
}

static void count_sent(struct coll *c, const struct qmsg *m)
{
	c->st.c.messages++;
	c->st.c.records += m->flows;
	c->st.c.octets += m->len;
}

static void q_pop(struct coll *c)
{
	c->qhead = (c->qhead + 1) % c->qmax;
	c->qlen--;
	c->off = 0;
}

static void refill(struct exporter *e, struct coll *c)
{
	uint64_t now = mono_ns();

	if (!e->cfg.rate)
		return;
	c->tokens += (double)(now - c->tok_ns) * (double)e->cfg.rate / 1e9;
	if (c->tokens > c->burst)
		c->tokens = c->burst;
	c->tok_ns = now;
}

static void drain_udp(struct exporter *e, struct coll *c)
{
	while (c->qlen) {
		struct qmsg *m = &c->q[c->qhead];
		ssize_t n;
		if (e->cfg.rate) {
			refill(e, c);
			if (c->tokens < 1.0)
				return;
		}
		n = send(c->fd, m->buf, m->len, MSG_DONTWAIT);
		if (n < 0 && errno == ECONNREFUSED) {
			/* the ICMP error of an earlier datagram, reported now:
			 * this one was not sent; try it once more */
			c->st.send_errors++;
			n = send(c->fd, m->buf, m->len, MSG_DONTWAIT);
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
				return;
			c->st.send_errors++;
			log_ratelimited(LOG_LVL_WARN, "collector %s: send: %s", c->url, strerror(errno));
			count_dropped(c, m);
		} else {
			count_sent(c, m);
		}
		if (e->cfg.rate)
			c->tokens -= 1.0;
		q_pop(c);
	}
}

/* tcp_write() : sends from <buf> at *<off>; true when all of it went. */
static bool tcp_write(struct coll *c, const uint8_t *buf, uint32_t len, uint32_t *off)
{
	while (*off < len) {
		ssize_t n = send(c->fd, buf + *off, len - *off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return false;
			c->st.send_errors++;
			tcp_fail(c, "send", errno);
			return false;
		}
		*off += (uint32_t)n;
	}
	return true;
}

/* peer_closed() : the collector sent a FIN (it is stopping; vtap collector
 * then reads on for tcp_close_grace and discards what comes later). A
 * collector never sends us data, so any readable state means the end. */
static bool peer_closed(const struct coll *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN | POLLRDHUP };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
}

static void drain_tcp(struct exporter *e, struct coll *c)
{
	if (c->state == C_DOWN && mono_ms() >= c->next_try_ms)
		tcp_start(e, c);
	if (c->state == C_CONNECTING)
		tcp_progress(e, c);
	if (c->state != C_UP)
		return;
	/* Writing on into a connection the collector is closing loses what
	 * it no longer reads: close ours now, so everything written so far
	 * is read, and resend the head message (whole: its start, if sent,
	 * is an incomplete message the collector drops) on a new connection. */
	if (peer_closed(c)) {
		tcp_fail(c, "connection closed by the collector", ESHUTDOWN);
		return;
	}
	if (c->tpending) {
		if (!tcp_write(c, c->tbuf, c->tlen, &c->toff))
			return;
		c->tpending = false;
		c->st.c.messages++;
		c->st.c.octets += c->tlen;
	}
	while (c->qlen && c->state == C_UP) {
		struct qmsg *m = &c->q[c->qhead];
		if (!tcp_write(c, m->buf, m->len, &c->off))
			return;
		count_sent(c, m);
		q_pop(c);
	}
}

static void drain(struct exporter *e, struct coll *c)
{
	if (c->tcp)
		drain_tcp(e, c);
	else
		drain_udp(e, c);
	c->st.queued = c->qlen;
}

static bool idle_queue(const struct coll *c)
{
	return c->qlen == 0 && !c->tpending;
}

/* given_up() : a TCP collector that refused three connections in a row
 * is down: exporter_flush() does not wait for it any longer. */
static bool given_up(const struct coll *c)
{
	return c->tcp && c->state == C_DOWN && c->backoff_ms >= 4 * EXP_BACKOFF_MIN_MS;
}

/* wait_progress() : blocks until <c> may make progress or <until_ms>
 * (monotonic) passes: a pacing token, socket room, a connect result. */
static void wait_progress(struct exporter *e, struct coll *c, uint64_t until_ms)
{
	uint64_t now = mono_ms();
	int tmo;

	if (now >= until_ms)
		return;
	tmo = (int)VT_MIN(until_ms - now, (uint64_t)100);
	if (!c->tcp && e->cfg.rate && c->tokens < 1.0) {
		/* wait for half a burst rather than one token: fewer wake-ups,
		 * the same average rate */
		double need_ns = (c->burst / 2 + 1.0 - c->tokens) * 1e9 / (double)e->cfg.rate;
		struct timespec ts;
		if (need_ns > tmo * 1e6)
			need_ns = tmo * 1e6;
		ts.tv_sec = (time_t)(need_ns / 1e9);
		ts.tv_nsec = (long)(need_ns - (double)ts.tv_sec * 1e9);
		nanosleep(&ts, NULL);
		return;
	}
	if (c->tcp && c->state == C_DOWN) {
		uint64_t until = VT_MIN(until_ms, c->next_try_ms);
		struct timespec ts = { 0, 0 };
		if (until > now) {
			ts.tv_sec = (time_t)((until - now) / 1000);
			ts.tv_nsec = (long)((until - now) % 1000) * 1000000;
			nanosleep(&ts, NULL);
		}
		return;
	}
	{
		struct pollfd p = { .fd = c->fd, .events = POLLOUT };
		(void)poll(&p, 1, tmo);
	}
}

/* enqueue() : copies the finished message into the ring, or drops it. */
static void enqueue(struct exporter *e, struct coll *c, const struct qmsg *src)
{
	struct qmsg *m;
	uint32_t tail;

	if (c->qlen == c->qmax && e->cfg.blocking) {
		/* offline: wait for a collector that is up but slower than us;
		 * never for one that is down */
		uint64_t t0 = mono_ms(), until = t0 + EXP_BLOCK_MAX_MS;
		while (c->qlen == c->qmax && mono_ms() < until && !(c->tcp && c->state == C_DOWN)) {
			wait_progress(e, c, until);
			drain(e, c);
		}
		c->st.waits_ms += mono_ms() - t0;
	}
	if (c->qlen == c->qmax) {
		count_dropped(c, src);
		log_ratelimited(LOG_LVL_WARN, "collector %s: queue full (%u messages), message dropped",
				c->url, c->qmax);
		return;
	}
	tail = (c->qhead + c->qlen) % c->qmax;
	m = &c->q[tail];
	if (!m->buf) {
		m->buf = malloc(c->cap);
		if (!m->buf) {
			count_dropped(c, src);
			return;
		}
	}
	memcpy(m->buf, src->buf, src->len);
	m->len = src->len;
	m->seq = src->seq;
	m->flows = src->flows;
	m->packets = src->packets;
	m->octets = src->octets;
	c->qlen++;
	if (c->qlen > c->st.queue_peak)
		c->st.queue_peak = c->qlen;
}

/* ---- building --------------------------------------------------------- */

static bool stats_due(const struct exporter *e, const struct coll *c, uint64_t now)
{
	return c->stats_due_now ||
	       (e->cfg.stats_interval_ms && now >= c->last_stats_ms + e->cfg.stats_interval_ms);
}

static bool tmpl_due(const struct exporter *e, const struct coll *c, uint64_t now)
{
	if (c->tcp)
		return false; /* sent once per connection instead */
	return !c->tmpl_ever ||
	       (e->cfg.tmpl_interval_ms && now >= c->last_tmpl_ms + e->cfg.tmpl_interval_ms) ||
	       (e->cfg.tmpl_every && c->since_tmpl >= e->cfg.tmpl_every);
}

static void add_stats(struct exporter *e, struct coll *c, uint64_t now)
{
	c->st.c.ignored_packets = e->ignored;
	if (e->ops->options(&c->msg, &c->st.c, e->cfg.domain) == 0) {
		c->last_stats_ms = now;
		c->stats_due_now = false;
		c->st.options++;
	}
}

static void coll_begin(struct exporter *e, struct coll *c, uint64_t now)
{
	struct fe_hdr h = { .now_ms = now, .domain = e->cfg.domain, .boot_ms = e->boot_ms };

	h.seq = e->cfg.format == EXP_FMT_NFV9 ? c->seq_pkts : c->seq_recs;
	e->ops->begin(&c->msg, c->build, c->cap, &h);
	c->open = true;
	c->open_seq = h.seq;
	c->opened_ms = now;
	if (tmpl_due(e, c, now) && e->ops->templates(&c->msg) == 0) {
		c->tmpl_ever = true;
		c->last_tmpl_ms = now;
		c->since_tmpl = 0;
		c->st.templates++;
	}
	if (stats_due(e, c, now))
		add_stats(e, c, now);
}

static void coll_finish(struct exporter *e, struct coll *c)
{
	struct qmsg m;

	if (!c->open)
		return;
	c->open = false;
	if (fe_msg_empty(&c->msg))
		return;
	m.buf = c->build;
	m.len = (uint32_t)e->ops->end(&c->msg);
	m.seq = c->open_seq;
	m.flows = c->msg.flows;
	m.packets = c->msg.packets;
	m.octets = c->msg.octets;
	c->seq_recs += c->msg.data_records;
	c->seq_pkts++;
	c->since_tmpl++;
	enqueue(e, c, &m);
	drain(e, c);
}

static void clock_seen(struct exporter *e, const struct flow_rec *r, uint64_t now)
{
	if (!e->boot_set)
		exporter_set_boot(e, r && r->first_ms < now ? r->first_ms : now);
	if (!e->clock_set) {
		e->clock_set = true;
		for (size_t i = 0; i < e->n; i++)
			e->c[i]->last_stats_ms = now;
	}
}

void exporter_flow(struct exporter *e, const struct flow_rec *r, uint64_t now_ms)
{
	clock_seen(e, r, now_ms);
	for (size_t i = 0; i < e->n; i++) {
		struct coll *c = e->c[i];
		if (c->open && (now_ms >= c->opened_ms + e->cfg.flush_ms || tmpl_due(e, c, now_ms) ||
				stats_due(e, c, now_ms)))
			coll_finish(e, c);
		if (!c->open)
			coll_begin(e, c, now_ms);
		if (e->ops->time_ok && !e->ops->time_ok(&c->msg, r)) {
			/* v9: the times do not fit 32 bits of ms after this
			 * message's origin: "reboot" to one that fits */
			coll_finish(e, c);
			e->boot_ms = v9_boot(r->first_ms);
			c->st.v9_reboots++;
			coll_begin(e, c, now_ms);
			if (!e->ops->time_ok(&c->msg, r))
				c->st.v9_clamped++; /* longer than 49.7 days */
		}
		if (e->ops->flow(&c->msg, r) == 0)
			continue;
		coll_finish(e, c);
		coll_begin(e, c, now_ms);
		if (e->ops->flow(&c->msg, r) != 0) {
			/* cannot happen with MTU >= 1280 (records are < 400
			 * bytes); counted rather than trusted */
			struct qmsg m = { .flows = 1, .packets = r->packets, .octets = r->bytes };
			count_dropped(c, &m);
		}
	}
}

void exporter_poll(struct exporter *e, uint64_t now_ms)
{
	clock_seen(e, NULL, now_ms);
	for (size_t i = 0; i < e->n; i++) {
		struct coll *c = e->c[i];
		if (c->open && now_ms >= c->opened_ms + e->cfg.flush_ms)
			coll_finish(e, c);
		if (stats_due(e, c, now_ms)) {
			coll_finish(e, c);
			coll_begin(e, c, now_ms);
			coll_finish(e, c);
		}
		drain(e, c);
	}
}

int exporter_flush(struct exporter *e, uint64_t now_ms, uint64_t timeout_ms)
{
	uint64_t until = mono_ms() + timeout_ms;
	int r = 0;

	clock_seen(e, NULL, now_ms);
	for (size_t i = 0; i < e->n; i++) {
		struct coll *c = e->c[i];
		coll_finish(e, c);
		c->stats_due_now = true; /* the final totals */
		coll_begin(e, c, now_ms);
		coll_finish(e, c);
	}
	for (;;) {
		bool busy = false;
		for (size_t i = 0; i < e->n; i++) {
			drain(e, e->c[i]);
			busy |= !idle_queue(e->c[i]) && !given_up(e->c[i]);
		}
		if (!busy || mono_ms() >= until)
			break;
		for (size_t i = 0; i < e->n; i++)
			if (!idle_queue(e->c[i]) && !given_up(e->c[i])) {
				wait_progress(e, e->c[i], VT_MIN(until, mono_ms() + 20));
				break;
			}
	}
	for (size_t i = 0; i < e->n; i++) {
		struct coll *c = e->c[i];
		while (c->qlen) {
			count_dropped(c, &c->q[c->qhead]);
			q_pop(c);
			r = -ETIMEDOUT;
		}
		c->tpending = false;
		c->st.queued = 0;
	}
	return r;
}

size_t exporter_ncollectors(const struct exporter *e)
{
	return e->n;
}

const struct exp_coll_stats *exporter_collector(const struct exporter *e, size_t i)
{
	return i < e->n ? &e->c[i]->st : NULL;
}

const struct flowenc_ops *exporter_ops(const struct exporter *e)
{
	return e->ops;
}

void exporter_free(struct exporter *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->n; i++) {
		struct coll *c = e->c[i];
		if (c->fd >= 0)
			close(c->fd);
		for (uint32_t j = 0; j < c->qmax; j++)
			free(c->q[j].buf);
		free(c->q);
		free(c->build);
		free(c->tbuf);
		free(c);
	}
	free(e);
}
