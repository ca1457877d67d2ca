/* http_defer.c — see http_defer.h. One mutex per hub protects every token
 * of that hub: producers touch a token a few times per response, so one
 * lock is simpler than one per token and never contended for long. The
 * eventfd is written only when the news list goes from empty to non-empty,
 * so a busy producer costs one wake-up per loop turn, not one per write. */
#include "http/http_defer.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/json.h"
#include "core/log.h"

struct http_dhub {
	pthread_mutex_t mu;
	pthread_cond_t room;        /* queue space freed (broadcast) */
	pthread_t loop;
	int efd;
	int refs;                   /* the server + one per live token */
	bool closed;
	struct http_defer *news;    /* tokens with news, via news_next */
};

struct http_defer {
	struct http_dhub *hub;
	void *owner;                /* loop thread only; NULL once detached */
	int refs;                   /* under hub->mu */
	bool begun, ended, head_taken, in_news, full;
	bool cancelled;             /* written under mu, read atomically */
	int status;
	int end_err;
	char ctype[128];
	char *body;                 /* full answer */
	size_t body_len;
	struct vbuf q;              /* streamed bytes not yet taken */
	struct http_defer *news_next;
};

struct http_dhub *http_dhub_new(void)
{
	struct http_dhub *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->efd < 0) {
		int e = errno;
		free(h);
		errno = e;
		return NULL;
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->room, NULL);
	h->loop = pthread_self();
	h->refs = 1;
	return h;
}

int http_dhub_fd(const struct http_dhub *h)
{
	return h->efd;
}

/* Drops one hub reference; the caller does not hold the lock. */
static void hub_put(struct http_dhub *h)
{
	bool last;

	pthread_mutex_lock(&h->mu);
	last = --h->refs == 0;
	pthread_mutex_unlock(&h->mu);
	if (!last)
		return;
	close(h->efd);
	pthread_cond_destroy(&h->room);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

void http_dhub_close(struct http_dhub *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->closed = true;
	pthread_cond_broadcast(&h->room);
	pthread_mutex_unlock(&h->mu);
	hub_put(h);
}

/* Drops one token reference under the lock; returns the token when it must
 * be freed (after unlocking, with token_free). */
static struct http_defer *put_locked(struct http_defer *d)
{
	return --d->refs == 0 ? d : NULL;
}

static void token_free(struct http_defer *d)
{
	struct http_dhub *h;

	if (!d)
		return;
	h = d->hub;
	free(d->body);
	vbuf_free(&d->q);
	free(d);
	hub_put(h);
}

/* Queues <d> for the loop; the caller holds the lock. */
static void notify_locked(struct http_defer *d)
{
	struct http_dhub *h = d->hub;
	bool was_empty = h->news == NULL;
	uint64_t one = 1;

	if (d->in_news || h->closed)
		return;
	d->in_news = true;
	d->refs++; /* the news list's */
	d->news_next = h->news;
	h->news = d;
	if (was_empty && write(h->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_LVL_ERR, "http: cannot wake the event loop: %s", strerror(errno));
}

void http_dhub_drain(struct http_dhub *h, void (*fn)(void *owner, void *ctx), void *ctx)
{
	struct http_defer *list, *d, *next;
	uint64_t v;

	if (read(h->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_LVL_ERR, "http: eventfd read: %s", strerror(errno));
	pthread_mutex_lock(&h->mu);
	list = h->news;
	h->news = NULL;
	for (d = list; d; d = d->news_next)
		d->in_news = false;
	pthread_mutex_unlock(&h->mu);
	for (d = list; d; d = next) {
		struct http_defer *dead;
		next = d->news_next;
		/* owner is written only on this thread: no lock needed */
		if (d->owner)
			fn(d->owner, ctx);
		pthread_mutex_lock(&h->mu);
		dead = put_locked(d);
		pthread_mutex_unlock(&h->mu);
		token_free(dead);
	}
}

struct http_defer *http_defer_new(struct http_dhub *h, void *owner, size_t qmax)
{
	struct http_defer *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->hub = h;
	d->owner = owner;
	d->refs = 2;
	vbuf_init(&d->q, qmax);
	pthread_mutex_lock(&h->mu);
	h->refs++;
	pthread_mutex_unlock(&h->mu);
	return d;
}

bool http_defer_cancelled(const struct http_defer *d)
{
	return __atomic_load_n(&d->cancelled, __ATOMIC_ACQUIRE);
}

static void cancel_locked(struct http_defer *d)
{
	__atomic_store_n(&d->cancelled, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&d->hub->room);
}

/* ---- producer side ------------------------------------------------------ */

int http_defer_respond(struct http_defer *d, int status, const char *ctype, const void *body,
		       size_t len)
{
	struct http_dhub *h = d->hub;
	struct http_defer *dead;
	char *copy = NULL;
	int r = 0;

	if (len) {
		copy = malloc(len);
		if (!copy)
			return http_defer_end(d, -ENOMEM);
		memcpy(copy, body, len);
	}
	pthread_mutex_lock(&h->mu);
	if (d->begun || d->ended) {
		r = -EALREADY;
	} else if (d->cancelled || h->closed) {
		r = -EPIPE;
	} else {
		d->status = status;
		snprintf(d->ctype, sizeof(d->ctype), "%s", ctype ? ctype : "");
		d->body = copy;
		d->body_len = len;
		copy = NULL;
		d->full = d->begun = d->ended = true;
		notify_locked(d);
	}
	dead = put_locked(d);
	pthread_mutex_unlock(&h->mu);
	free(copy);
	token_free(dead);
	return r;
}

int http_defer_error(struct http_defer *d, int status, const char *error, const char *fmt, ...)
{
	struct vbuf b, det;
	struct jw w;
	va_list ap;
	int r;

	vbuf_init(&b, 64 << 10);
	vbuf_init(&det, 16 << 10);
	jw_init(&w, &b, false);
	jw_obj_open(&w, NULL);
	jw_str(&w, "error", error);
	if (fmt) {
		va_start(ap, fmt);
		(void)vbuf_vprintf(&det, fmt, ap);
		va_end(ap);
		jw_str(&w, "detail", vbuf_str(&det));
	}
	jw_obj_close(&w);
	(void)vbuf_addc(&b, '\n');
	r = http_defer_respond(d, status, "application/json", b.data, b.len);
	vbuf_free(&b);
	vbuf_free(&det);
	return r;
}

int http_defer_stream_begin(struct http_defer *d, int status, const char *ctype)
{
	struct http_dhub *h = d->hub;
	int r = 0;

	pthread_mutex_lock(&h->mu);
	if (d->begun || d->ended) {
		r = -EALREADY;
	} else if (d->cancelled || h->closed) {
		r = -EPIPE;
	} else {
		d->status = status;
		snprintf(d->ctype, sizeof(d->ctype), "%s", ctype ? ctype : "");
		d->begun = true;
		notify_locked(d);
	}
	pthread_mutex_unlock(&h->mu);
	return r;
}

int http_defer_write(struct http_defer *d, const void *p, size_t n)
{
	struct http_dhub *h = d->hub;
	bool on_loop = pthread_equal(pthread_self(), h->loop);
	const char *s = p;
	int r = 0;

	pthread_mutex_lock(&h->mu);
	if (!d->begun || d->ended || d->full) {
		r = -EINVAL;
	} else if (on_loop && d->q.max - d->q.len < n) {
		r = d->cancelled ? -EPIPE : -EWOULDBLOCK;
	}
	while (!r && n) {
		size_t room, k;
		if (d->cancelled || h->closed) {
			r = -EPIPE;
			break;
		}
		room = d->q.max - d->q.len;
		if (!room) {
			pthread_cond_wait(&h->room, &h->mu);
			continue;
		}
		k = VT_MIN(room, n);
		r = vbuf_add(&d->q, s, k);
		s += k;
		n -= k;
		notify_locked(d);
	}
	pthread_mutex_unlock(&h->mu);
	return r;
}

int http_defer_end(struct http_defer *d, int err)
{
	struct http_dhub *h = d->hub;
	struct http_defer *dead;
	int r = 0;

	pthread_mutex_lock(&h->mu);
	if (d->ended) {
		r = -EALREADY;
	} else {
		d->ended = true;
		d->end_err = err;
		if (d->cancelled)
			r = -EPIPE;
		notify_locked(d);
	}
	dead = put_locked(d);
	pthread_mutex_unlock(&h->mu);
	token_free(dead);
	return r;
}

/* ---- loop side ---------------------------------------------------------- */

bool http_defer_head_take(struct http_defer *d, struct http_defer_head *out)
{
	struct http_dhub *h = d->hub;
	bool r = false;

	pthread_mutex_lock(&h->mu);
	if (!d->head_taken && (d->begun || d->ended)) {
		d->head_taken = true;
		r = true;
		memset(out, 0, sizeof(*out));
		if (!d->begun) {
			/* ended without an answer */
			static const char msg[] =
				"{\"error\":\"internal error\",\"detail\":\"the handler ended without an answer\"}\n";
			out->status = 500;
			snprintf(out->ctype, sizeof(out->ctype), "application/json");
			out->full = true;
			out->body = malloc(sizeof(msg) - 1);
			if (out->body) {
				memcpy(out->body, msg, sizeof(msg) - 1);
				out->body_len = sizeof(msg) - 1;
			}
		} else {
			out->status = d->status;
			snprintf(out->ctype, sizeof(out->ctype), "%s", d->ctype);
			out->full = d->full;
			out->body = d->body;
			out->body_len = d->body_len;
			d->body = NULL;
		}
	}
	pthread_mutex_unlock(&h->mu);
	return r;
}

size_t http_defer_avail(struct http_defer *d)
{
	size_t n;

	pthread_mutex_lock(&d->hub->mu);
	n = d->q.len;
	pthread_mutex_unlock(&d->hub->mu);
	return n;
}

int http_defer_take(struct http_defer *d, struct vbuf *dst, size_t n)
{
	struct http_dhub *h = d->hub;
	int r = 0;

	pthread_mutex_lock(&h->mu);
	if (n > d->q.len)
		n = d->q.len;
	if (dst)
		r = vbuf_add(dst, d->q.data, n);
	if (!r && n) {
		vbuf_consume(&d->q, n);
		pthread_cond_broadcast(&h->room);
	}
	pthread_mutex_unlock(&h->mu);
	return r;
}

bool http_defer_finished(struct http_defer *d, int *err)
{
	bool r;

	pthread_mutex_lock(&d->hub->mu);
	r = d->ended && d->head_taken && d->q.len == 0;
	*err = d->end_err;
	pthread_mutex_unlock(&d->hub->mu);
	return r;
}

void http_defer_cancel(struct http_defer *d)
{
	pthread_mutex_lock(&d->hub->mu);
	cancel_locked(d);
	pthread_mutex_unlock(&d->hub->mu);
}

void http_defer_detach(struct http_defer *d)
{
	struct http_defer *dead;

	if (!d)
		return;
	d->owner = NULL;
	pthread_mutex_lock(&d->hub->mu);
	if (!d->ended)
		cancel_locked(d);
	dead = put_locked(d);
	pthread_mutex_unlock(&d->hub->mu);
	token_free(dead);
}
