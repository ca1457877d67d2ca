/* evloop.h — the event loop every vtap daemon runs on.
 *
 * epoll for file descriptors, a binary min-heap of monotonic timers, and
 * signals delivered through signalfd as ordinary events. A loop belongs to
 * one thread. Callbacks must not block; long work is split and re-armed
 * with a zero timer so other events keep flowing (see conventions). */
#ifndef VT_EVLOOP_H
#define VT_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct evloop;
struct ev_io;
struct ev_timer;

typedef void (*ev_io_cb)(struct evloop *ev, struct ev_io *io, uint32_t events);
typedef void (*ev_timer_cb)(struct evloop *ev, struct ev_timer *t);
typedef void (*ev_signal_cb)(struct evloop *ev, int signo, void *arg);

/* Embedded in the caller's object; the loop never frees it. */
struct ev_io {
	int fd;
	uint32_t events;    /* EPOLLIN | EPOLLOUT ... as registered */
	ev_io_cb cb;
	void *arg;
};

struct ev_timer {
	uint64_t due_ns;    /* monotonic deadline */
	uint64_t period_ns; /* 0 for one-shot */
	ev_timer_cb cb;
	void *arg;
	uint32_t heap_idx;  /* position in the heap, UINT32_MAX when idle */
};

/* ev_new() : a loop with room for <max_timers> armed timers (a bound, like
 * every table in vtap). NULL with errno set on failure. */
struct evloop *ev_new(uint32_t max_timers);
/* ev_free() : closes the loop's own fds; registered fds stay open. */
void ev_free(struct evloop *ev);

int ev_io_add(struct evloop *ev, struct ev_io *io, int fd, uint32_t events,
	      ev_io_cb cb, void *arg);
int ev_io_mod(struct evloop *ev, struct ev_io *io, uint32_t events);
/* ev_io_del() : unregisters; safe to call from the io's own callback. The
 * struct must stay allocated until the current loop turn ends (a pending
 * event in the same batch is skipped because ->cb is cleared); do not
 * ev_io_add() the same struct again within that turn. */
int ev_io_del(struct evloop *ev, struct ev_io *io);

void ev_timer_init(struct ev_timer *t, ev_timer_cb cb, void *arg);
/* ev_timer_start() : (re)arms <t> to fire after <after_ms>, then every
 * <period_ms> if non-zero. -ENOSPC when the timer heap is full. */
int ev_timer_start(struct evloop *ev, struct ev_timer *t, uint64_t after_ms,
		   uint64_t period_ms);
void ev_timer_stop(struct evloop *ev, struct ev_timer *t);
static inline bool ev_timer_active(const struct ev_timer *t)
{
	return t->heap_idx != UINT32_MAX;
}

/* ev_signal() : blocks <signo> for the process and delivers it through the
 * loop. Call before starting threads so they inherit the mask. */
int ev_signal(struct evloop *ev, int signo, ev_signal_cb cb, void *arg);

/* ev_run() : dispatches until ev_stop(); returns 0 or a negative errno. */
int ev_run(struct evloop *ev);
/* ev_run_once() : one wait of at most <max_wait_ms> (-1: until an event),
 * then dispatch. Returns the number of callbacks run or a negative errno. */
int ev_run_once(struct evloop *ev, int max_wait_ms);
void ev_stop(struct evloop *ev);
uint64_t ev_now_ns(const struct evloop *ev); /* cached at each wake-up */

#endif
