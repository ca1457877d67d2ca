/* tcp_ingest.c — IPFIX over TCP (RFC 7011 §10.4): one thread with its own
 * event loop, listeners, and a connection per exporter transport session.
 *
 * Messages are framed by the IPFIX length field (ipfix_stream_feed: at
 * most one partial message, < 64 KiB, buffered per connection) and decoded
 * by this thread's own decode path (ingest.h), keyed by the exporter's
 * address like UDP. A stream that loses framing is closed (the exporter
 * reconnects and starts with templates).
 *
 * Stopping loses nothing an exporter sent: the listeners close, every
 * connection gets a FIN (shutdown(SHUT_WR): "this collector is going
 * away") and is read until the exporter closes its side or close_grace
 * passes. An exporter that watches for the FIN (poll POLLRDHUP before a
 * write), stops writing, closes and reconnects has every message it wrote
 * decoded: what was in flight when the FIN was sent is still read. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "collector/ingest.h"
#include "collector/udpsock.h"
#include "core/compiler.h"
#include "core/evloop.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "wire/ipfix_dec.h"

#define STAT_ADD(x, v) __atomic_store_n(&(x), (x) + (v), __ATOMIC_RELAXED)
#define STAT_GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define READ_CHUNK 65536
#define READS_PER_WAKE 16      /* 1 MiB per connection per loop turn */

struct tconn {
	struct tcp_ingest *t;
	struct ev_io io;
	int fd;
	struct vt_addr peer;
	uint16_t port;
	struct ipfix_stream st;
	uint64_t last_rx_ms;        /* monotonic */
	struct tconn *prev, *next;
};

struct tlisten {
	struct tcp_ingest *t;
	struct ev_io io;
	int fd;
};

struct tcp_ingest {
	struct tcp_ingest_conf c;
	struct evloop *ev;
	struct tlisten l[INGEST_MAX_LISTEN];
	size_t nl;
	struct tconn *conns;
	uint64_t nconns;
	struct ingest_path path;
	uint8_t *rbuf;
	int efd;
	struct ev_io eio;
	struct ev_timer tick, grace;
	bool closing;
	pthread_t th;
	bool started;
	bool stop;           /* __atomic: set by tcp_ingest_stop() */
	struct tcp_ingest_stats st;
	struct xcall call;   /* tcp_ingest_each() */
	uint64_t call_seen;
};

static void conn_close(struct tcp_ingest *t, struct tconn *c, uint64_t *counter)
{
	ev_io_del(t->ev, &c->io);
	close(c->fd);
	ipfix_stream_free(&c->st);
	if (c->prev)
		c->prev->next = c->next;
	else
		t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	t->nconns--;
	STAT_ADD(t->st.active, (uint64_t)-1);
	if (counter)
		STAT_ADD(*counter, 1);
	free(c);
}

static void on_msg(void *arg, const uint8_t *msg, size_t len)
{
	struct tconn *c = arg;

	ingest_path_input(&c->t->path, &c->peer, c->port, msg, len, wall_ms());
}

/* Reads at most <max> chunks; returns false when the connection was closed. */
static bool conn_read(struct tcp_ingest *t, struct tconn *c, unsigned max)
{
	for (unsigned k = 0; k < max; k++) {
		ssize_t n = read(c->fd, t->rbuf, READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (n <= 0) {
			if (n < 0)
				log_ratelimited(LOG_LVL_INFO, "collector: TCP exporter: %s", strerror(errno));
			conn_close(t, c, n == 0 ? &t->st.closed_peer : &t->st.closed_error);
			return false;
		}
		STAT_ADD(t->st.bytes, (uint64_t)n);
		c->last_rx_ms = mono_ms();
		if (ipfix_stream_feed(&c->st, t->rbuf, (size_t)n, on_msg, c) < 0) {
			char ab[VT_ADDRSTRLEN];
			log_ratelimited(LOG_LVL_WARN,
					"collector: TCP exporter %s:%u: not an IPFIX stream (framing lost), closed",
					addr_fmt(&c->peer, ab, sizeof(ab)), c->port);
			conn_close(t, c, &t->st.desync);
			return false;
		}
	}
	return true;
}

static void finish_all(struct tcp_ingest *t);

static void on_conn(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct tconn *c = io->arg;
	struct tcp_ingest *t = c->t;

	(void)ev;
	(void)events;
	conn_read(t, c, READS_PER_WAKE);
	/* closing: the last exporter has said goodbye */
	if (t->closing && !t->conns) {
		ev_timer_stop(t->ev, &t->grace);
		finish_all(t);
	}
}

static void on_accept(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct tlisten *l = io->arg;
	struct tcp_ingest *t = l->t;

	(void)events;
	for (int k = 0; k < 64; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct tconn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_ratelimited(LOG_LVL_WARN, "collector: accept: %s", strerror(errno));
			return;
		}
		if (t->nconns >= t->c.max_conns || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			STAT_ADD(t->st.refused, 1);
			log_ratelimited(LOG_LVL_WARN, "collector: TCP connection refused: %llu open (max_connections)",
					(unsigned long long)t->nconns);
			continue;
		}
		c->t = t;
		c->fd = fd;
		if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
			addr_set_v6(&c->peer, s6->sin6_addr.s6_addr);
			c->port = ntohs(s6->sin6_port);
		} else {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
			addr_set_v4(&c->peer, (const uint8_t *)&s4->sin_addr);
			c->port = ntohs(s4->sin_port);
		}
		ipfix_stream_init(&c->st);
		c->last_rx_ms = mono_ms();
		if (ev_io_add(ev, &c->io, fd, EPOLLIN, on_conn, c) < 0) {
			close(fd);
			free(c);
			STAT_ADD(t->st.refused, 1);
			continue;
		}
		c->next = t->conns;
		if (t->conns)
			t->conns->prev = c;
		t->conns = c;
		t->nconns++;
		STAT_ADD(t->st.accepted, 1);
		STAT_ADD(t->st.active, 1);
	}
}

/* The end: whatever each connection still holds is decoded, then closed. */
static void finish_all(struct tcp_ingest *t)
{
	while (t->conns) {
		struct tconn *c = t->conns;
		if (conn_read(t, c, UINT32_MAX))
			conn_close(t, c, NULL);
	}
	xcall_run(&t->call, &t->call_seen, 0, t->path.fd);
	ingest_path_finish(&t->path);
	ev_stop(t->ev);
}

static void on_grace(struct evloop *ev, struct ev_timer *tm)
{
	(void)ev;
	finish_all(tm->arg);
}

/* Stop: no new connections; tell each exporter with a FIN and keep
 * reading until it closes (on_conn sees EOF) or the grace period ends. */
static void start_closing(struct tcp_ingest *t)
{
	if (t->closing)
		return;
	t->closing = true;
	for (size_t i = 0; i < t->nl; i++) {
		ev_io_del(t->ev, &t->l[i].io);
		close(t->l[i].fd);
		t->l[i].fd = -1;
	}
	for (struct tconn *c = t->conns; c; c = c->next)
		shutdown(c->fd, SHUT_WR);
	if (!t->conns || !t->c.close_grace_ms) {
		finish_all(t);
		return;
	}
	ev_timer_init(&t->grace, on_grace, t);
	ev_timer_start(t->ev, &t->grace, t->c.close_grace_ms, 0);
}

static void on_event(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct tcp_ingest *t = io->arg;
	uint64_t v;

	(void)ev;
	(void)events;
	if (read(t->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_LVL_WARN, "collector: eventfd: %s", strerror(errno));
	xcall_run(&t->call, &t->call_seen, 0, t->path.fd);
	if (__atomic_load_n(&t->stop, __ATOMIC_ACQUIRE))
		start_closing(t);
}

static void on_tick(struct evloop *ev, struct ev_timer *tm)
{
	struct tcp_ingest *t = tm->arg;
	uint64_t now = mono_ms();

	(void)ev;
	ingest_path_tick(&t->path, wall_ms());
	if (!t->c.idle_timeout_ms)
		return;
	for (struct tconn *c = t->conns, *n; c; c = n) {
		n = c->next;
		if (now - c->last_rx_ms >= t->c.idle_timeout_ms)
			conn_close(t, c, &t->st.closed_idle);
	}
}

static int listen_one(struct tcp_ingest *t, const struct sockaddr_storage *sa, struct vt_err *err)
{
	socklen_t sl = sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						 : sizeof(struct sockaddr_in);
	int one = 1, r;
	char ab[64];
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (sa->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)sa, sl) < 0 || listen(fd, 1024) < 0)
		goto fail;
	t->l[t->nl].t = t;
	t->l[t->nl].fd = fd;
	t->nl++;
	return 0;
fail:
	r = -errno;
	if (fd >= 0)
		close(fd);
	return vt_err_set(err, r, "TCP listener %s: %s", udp_fmt_addr(sa, ab, sizeof(ab)),
			  strerror(-r));
}

struct tcp_ingest *tcp_ingest_new(const struct tcp_ingest_conf *c, struct sink *sink,
				  struct enrich *en, struct vt_err *err)
{
	struct tcp_ingest *t;
	char path[4096];

	if (c->nlisten > INGEST_MAX_LISTEN || !c->max_conns) {
		vt_err_set(err, -EINVAL, "TCP ingest: at most %d listeners, max_connections >= 1",
			   INGEST_MAX_LISTEN);
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	t->c = *c;
	t->efd = -1;
	xcall_init(&t->call);
	t->rbuf = malloc(READ_CHUNK);
	t->ev = ev_new(8);
	t->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!t->rbuf || !t->ev || t->efd < 0) {
		vt_err_set(err, -ENOMEM, "TCP ingest: %s", strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < c->nlisten; i++)
		if (listen_one(t, &c->listen[i], err) < 0)
			goto fail;
	if (c->state_dir)
		snprintf(path, sizeof(path), "%s/templates-tcp.bin", c->state_dir);
	if (ingest_path_init(&t->path, &c->dec, sink, en, c->state_dir ? path : NULL, c->saver,
			     c->template_save_ms, c->batch_delay_ms, err) < 0)
		goto fail;
	if (c->state_dir)
		ingest_path_load(&t->path, path);
	for (size_t i = 0; i < t->nl; i++)
		if (ev_io_add(t->ev, &t->l[i].io, t->l[i].fd, EPOLLIN, on_accept, &t->l[i]) < 0) {
			vt_err_set(err, -errno, "TCP ingest: epoll: %s", strerror(errno));
			goto fail;
		}
	if (ev_io_add(t->ev, &t->eio, t->efd, EPOLLIN, on_event, t) < 0) {
		vt_err_set(err, -errno, "TCP ingest: epoll: %s", strerror(errno));
		goto fail;
	}
	ev_timer_init(&t->tick, on_tick, t);
	ev_timer_start(t->ev, &t->tick, 50, 50);
	return t;
fail:
	tcp_ingest_free(t);
	errno = -err->code;
	return NULL;
}

static void *tcp_main(void *arg)
{
	struct tcp_ingest *t = arg;
	int r;

	pthread_setname_np(pthread_self(), "vtap-tcp");
	r = ev_run(t->ev);

	if (r < 0)
		log_err("collector: TCP ingest loop: %s", strerror(-r));
	return NULL;
}

int tcp_ingest_start(struct tcp_ingest *t)
{
	int r = pthread_create(&t->th, NULL, tcp_main, t);

	if (r)
		return -r;
	t->started = true;
	return 0;
}

void tcp_ingest_stop(struct tcp_ingest *t)
{
	uint64_t one = 1;

	if (!t || !t->started)
		return;
	__atomic_store_n(&t->stop, true, __ATOMIC_RELEASE);
	if (write(t->efd, &one, sizeof(one)) < 0)
		log_warn("collector: eventfd: %s", strerror(errno));
	pthread_join(t->th, NULL);
	t->started = false;
}

void tcp_ingest_free(struct tcp_ingest *t)
{
	if (!t)
		return;
	tcp_ingest_stop(t);
	while (t->conns)
		conn_close(t, t->conns, NULL);
	for (size_t i = 0; i < t->nl; i++)
		if (t->l[i].fd >= 0)
			close(t->l[i].fd);
	if (t->path.fd)
		ingest_path_free(&t->path);
	if (t->efd >= 0)
		close(t->efd);
	ev_free(t->ev);
	free(t->rbuf);
	xcall_destroy(&t->call);
	free(t);
}

size_t tcp_ingest_nlisten(const struct tcp_ingest *t)
{
	return t->nl;
}

const char *tcp_ingest_listen_addr(const struct tcp_ingest *t, size_t i, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (i >= t->nl || t->l[i].fd < 0 ||
	    getsockname(t->l[i].fd, (struct sockaddr *)&ss, &sl) < 0)
		return NULL;
	return udp_fmt_addr(&ss, buf, len);
}

void tcp_ingest_get_stats(const struct tcp_ingest *t, struct tcp_ingest_stats *st)
{
	ingest_path_get_stats(&t->path, &st->path);
	st->accepted = STAT_GET(t->st.accepted);
	st->refused = STAT_GET(t->st.refused);
	st->active = STAT_GET(t->st.active);
	st->closed_idle = STAT_GET(t->st.closed_idle);
	st->closed_error = STAT_GET(t->st.closed_error);
	st->closed_peer = STAT_GET(t->st.closed_peer);
	st->desync = STAT_GET(t->st.desync);
	st->bytes = STAT_GET(t->st.bytes);
}

int tcp_ingest_each(struct tcp_ingest *t, unsigned worker, ingest_fn fn, void *arg,
		    uint64_t timeout_ms)
{
	uint64_t one = 1;

	xcall_lock(&t->call);
	if (!t->started) {
		fn(worker, t->path.fd, arg);
		xcall_unlock(&t->call);
		return 0;
	}
	xcall_post(&t->call, fn, arg, worker, 1);
	if (write(t->efd, &one, sizeof(one)) < 0)
		log_warn("collector: eventfd: %s", strerror(errno));
	return xcall_wait(&t->call, timeout_ms);
}
