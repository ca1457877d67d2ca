/* Unit tests: lib/core/evloop — timers, fds and signals. */
#include "core/evloop.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "core/timeutil.h"
#include "vt_test.h"

static char order[32];
static size_t norder;

static void on_timer(struct evloop *ev, struct ev_timer *t)
{
	(void)ev;
	order[norder++] = *(const char *)t->arg;
}

static void t_timer_order(void)
{
	struct evloop *ev = ev_new(8);
	struct ev_timer t[4];
	static const char names[] = "abcd";
	static const uint64_t after[] = { 30, 10, 20, 0 };

	norder = 0;
	for (int i = 0; i < 4; i++) {
		ev_timer_init(&t[i], on_timer, (void *)&names[i]);
		CHECK_EQ(ev_timer_start(ev, &t[i], after[i], 0), 0);
	}
	ev_timer_stop(ev, &t[2]); /* 'c' never fires */
	CHECK(!ev_timer_active(&t[2]));
	uint64_t start = mono_ms();
	while (norder < 3 && mono_ms() - start < 2000)
		ev_run_once(ev, 100);
	order[norder] = 0;
	CHECK_STR(order, "dba");
	CHECK(mono_ms() - start >= 30);
	ev_free(ev);
}

static void t_timer_bound(void)
{
	struct evloop *ev = ev_new(2);
	struct ev_timer t[3];

	for (int i = 0; i < 3; i++)
		ev_timer_init(&t[i], on_timer, (void *)"x");
	CHECK_EQ(ev_timer_start(ev, &t[0], 100, 0), 0);
	CHECK_EQ(ev_timer_start(ev, &t[1], 100, 0), 0);
	CHECK_EQ(ev_timer_start(ev, &t[2], 100, 0), -ENOSPC);
	/* re-arming an armed timer does not take a second slot */
	CHECK_EQ(ev_timer_start(ev, &t[0], 50, 0), 0);
	ev_free(ev);
}

static int ticks;
static void on_tick(struct evloop *ev, struct ev_timer *t)
{
	(void)t;
	if (++ticks == 3)
		ev_stop(ev);
}

static void t_periodic(void)
{
	struct evloop *ev = ev_new(4);
	struct ev_timer t;

	ticks = 0;
	ev_timer_init(&t, on_tick, NULL);
	CHECK_EQ(ev_timer_start(ev, &t, 5, 5), 0);
	uint64_t start = mono_ms();
	CHECK_EQ(ev_run(ev), 0);
	CHECK_EQ(ticks, 3);
	CHECK(mono_ms() - start >= 14);
	CHECK(ev_timer_active(&t));
	ev_free(ev);
}

static int reads;
static void on_readable(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	char buf[16];
	CHECK(events & EPOLLIN);
	CHECK_EQ(read(io->fd, buf, sizeof(buf)), 3);
	reads++;
	ev_io_del(ev, io);
	ev_stop(ev);
}

static void t_io(void)
{
	struct evloop *ev = ev_new(4);
	struct ev_io io;
	int p[2];

	reads = 0;
	CHECK_EQ(pipe(p), 0);
	CHECK_EQ(ev_io_add(ev, &io, p[0], EPOLLIN, on_readable, NULL), 0);
	CHECK_EQ(ev_run_once(ev, 0), 0); /* nothing ready yet */
	CHECK_EQ(write(p[1], "abc", 3), 3);
	CHECK_EQ(ev_run(ev), 0);
	CHECK_EQ(reads, 1);
	close(p[0]);
	close(p[1]);
	ev_free(ev);
}

static int got_sig;
static void on_sig(struct evloop *ev, int signo, void *arg)
{
	(void)arg;
	got_sig = signo;
	ev_stop(ev);
}

static void t_signal(void)
{
	struct evloop *ev = ev_new(4);

	got_sig = 0;
	CHECK_EQ(ev_signal(ev, SIGUSR1, on_sig, NULL), 0);
	CHECK_EQ(ev_signal(ev, SIGUSR2, on_sig, NULL), 0);
	kill(getpid(), SIGUSR2);
	CHECK_EQ(ev_run(ev), 0);
	CHECK_EQ(got_sig, SIGUSR2);
	ev_free(ev);
}

VT_TEST_MAIN(VT_T(t_timer_order), VT_T(t_timer_bound), VT_T(t_periodic), VT_T(t_io),
	     VT_T(t_signal))
