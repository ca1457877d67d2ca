/* evloop.c — see evloop.h. */
#include "core/evloop.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/timeutil.h"

#define EV_MAX_SIGNALS 8
#define EV_BATCH 64

struct ev_sig {
	int signo;
	ev_signal_cb cb;
	void *arg;
};

struct evloop {
	int epfd;
	bool stop;
	uint64_t now_ns;
	struct ev_timer **heap;
	uint32_t nheap;
	uint32_t max_timers;
	int sigfd;
	sigset_t sigmask;
	struct ev_io sigio;
	struct ev_sig sigs[EV_MAX_SIGNALS];
	unsigned nsigs;
};

struct evloop *ev_new(uint32_t max_timers)
{
	struct evloop *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	ev->heap = calloc(max_timers ? max_timers : 1, sizeof(*ev->heap));
	if (!ev->heap)
		goto err;
	ev->max_timers = max_timers;
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->epfd < 0)
		goto err;
	ev->sigfd = -1;
	sigemptyset(&ev->sigmask);
	ev->now_ns = mono_ns();
	return ev;
err:
	free(ev->heap);
	free(ev);
	return NULL;
}

void ev_free(struct evloop *ev)
{
	if (!ev)
		return;
	if (ev->sigfd >= 0)
		close(ev->sigfd);
	close(ev->epfd);
	free(ev->heap);
	free(ev);
}

int ev_io_add(struct evloop *ev, struct ev_io *io, int fd, uint32_t events,
	      ev_io_cb cb, void *arg)
{
	struct epoll_event ee = { .events = events, .data.ptr = io };

	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->arg = arg;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &ee) < 0)
		return -errno;
	return 0;
}

int ev_io_mod(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct epoll_event ee = { .events = events, .data.ptr = io };

	if (io->events == events)
		return 0;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_MOD, io->fd, &ee) < 0)
		return -errno;
	io->events = events;
	return 0;
}

int ev_io_del(struct evloop *ev, struct ev_io *io)
{
	int r = 0;

	if (io->fd >= 0 && epoll_ctl(ev->epfd, EPOLL_CTL_DEL, io->fd, NULL) < 0)
		r = -errno;
	io->cb = NULL; /* a pending event for it in this batch is skipped */
	return r;
}

/* ---- timers: binary min-heap on due_ns -------------------------------- */

static void heap_swap(struct evloop *ev, uint32_t a, uint32_t b)
{
	struct ev_timer *t = ev->heap[a];

	ev->heap[a] = ev->heap[b];
	ev->heap[b] = t;
	ev->heap[a]->heap_idx = a;
	ev->heap[b]->heap_idx = b;
}

static void heap_up(struct evloop *ev, uint32_t i)
{
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (ev->heap[p]->due_ns <= ev->heap[i]->due_ns)
			break;
		heap_swap(ev, p, i);
		i = p;
	}
}

static void heap_down(struct evloop *ev, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < ev->nheap && ev->heap[l]->due_ns < ev->heap[m]->due_ns)
			m = l;
		if (r < ev->nheap && ev->heap[r]->due_ns < ev->heap[m]->due_ns)
			m = r;
		if (m == i)
			break;
		heap_swap(ev, i, m);
		i = m;
	}
}

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *arg)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
	t->heap_idx = UINT32_MAX;
}

void ev_timer_stop(struct evloop *ev, struct ev_timer *t)
{
	uint32_t i = t->heap_idx;

	if (i == UINT32_MAX)
		return;
	BUG_ON(i >= ev->nheap || ev->heap[i] != t);
	ev->nheap--;
	if (i != ev->nheap) {
		ev->heap[i] = ev->heap[ev->nheap];
		ev->heap[i]->heap_idx = i;
		heap_down(ev, i);
		heap_up(ev, i);
	}
	t->heap_idx = UINT32_MAX;
}

int ev_timer_start(struct evloop *ev, struct ev_timer *t, uint64_t after_ms,
		   uint64_t period_ms)
{
	ev_timer_stop(ev, t);
	if (ev->nheap >= ev->max_timers)
		return -ENOSPC;
	t->due_ns = mono_ns() + after_ms * 1000000ull;
	t->period_ns = period_ms * 1000000ull;
	t->heap_idx = ev->nheap;
	ev->heap[ev->nheap++] = t;
	heap_up(ev, t->heap_idx);
	return 0;
}

static int run_timers(struct evloop *ev)
{
	int n = 0;
	/* Bound the work: timers that re-arm at 0 ms run again next turn. */
	uint32_t budget = ev->nheap;

	while (ev->nheap && budget--) {
		struct ev_timer *t = ev->heap[0];
		if (t->due_ns > ev->now_ns)
			break;
		ev_timer_stop(ev, t);
		if (t->period_ns) {
			t->due_ns += t->period_ns;
			if (t->due_ns <= ev->now_ns) /* we fell behind: skip ticks */
				t->due_ns = ev->now_ns + t->period_ns;
			t->heap_idx = ev->nheap;
			ev->heap[ev->nheap++] = t;
			heap_up(ev, t->heap_idx);
		}
		t->cb(ev, t);
		n++;
	}
	return n;
}

/* ---- signals ----------------------------------------------------------- */

static void on_signalfd(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct signalfd_siginfo si;
	(void)events;

	while (read(io->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		for (unsigned i = 0; i < ev->nsigs; i++)
			if (ev->sigs[i].signo == (int)si.ssi_signo)
				ev->sigs[i].cb(ev, (int)si.ssi_signo, ev->sigs[i].arg);
	}
}

int ev_signal(struct evloop *ev, int signo, ev_signal_cb cb, void *arg)
{
	int fd;

	sigset_t one, old;
	int r;

	if (ev->nsigs >= EV_MAX_SIGNALS)
		return -ENOSPC;
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, &old) < 0)
		return -errno;
	sigaddset(&ev->sigmask, signo);
	fd = signalfd(ev->sigfd, &ev->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto undo;
	}
	if (ev->sigfd < 0) {
		r = ev_io_add(ev, &ev->sigio, fd, EPOLLIN, on_signalfd, NULL);
		if (r < 0) {
			close(fd);
			goto undo;
		}
		ev->sigfd = fd;
	}
	ev->sigs[ev->nsigs++] = (struct ev_sig){ signo, cb, arg };
	return 0;
undo:
	/* leave neither the signal blocked nor in our mask without a handler */
	sigdelset(&ev->sigmask, signo);
	if (!sigismember(&old, signo))
		sigprocmask(SIG_UNBLOCK, &one, NULL);
	return r;
}

/* ---- dispatch ---------------------------------------------------------- */

int ev_run_once(struct evloop *ev, int max_wait_ms)
{
	struct epoll_event evs[EV_BATCH];
	int timeout = max_wait_ms, n, ran;

	ev->now_ns = mono_ns();
	if (ev->nheap) {
		uint64_t due = ev->heap[0]->due_ns;
		int64_t ms = due <= ev->now_ns ? 0 :
			(int64_t)((due - ev->now_ns + 999999) / 1000000);
		if (timeout < 0 || ms < timeout)
			timeout = (int)VT_MIN(ms, (int64_t)INT32_MAX);
	}
	n = epoll_wait(ev->epfd, evs, EV_BATCH, timeout);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return -errno;
	}
	ev->now_ns = mono_ns();
	ran = n;
	for (int i = 0; i < n; i++) {
		struct ev_io *io = evs[i].data.ptr;
		/* A callback earlier in this batch may have deleted this io
		 * (cb cleared) — but not freed it: owners free after the
		 * loop turn or keep the struct alive, see ev_io_del(). */
		if (io->cb)
			io->cb(ev, io, evs[i].events);
	}
	ran += run_timers(ev);
	return ran;
}

int ev_run(struct evloop *ev)
{
	ev->stop = false;
	while (!ev->stop) {
		int r = ev_run_once(ev, -1);
		if (r < 0)
			return r;
	}
	return 0;
}

void ev_stop(struct evloop *ev)
{
	ev->stop = true;
}

uint64_t ev_now_ns(const struct evloop *ev)
{
	return ev->now_ns;
}
