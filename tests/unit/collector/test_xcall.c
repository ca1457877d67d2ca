/* Unit tests: src/collector/xcall — a call posted to N threads runs once
 * on each (with its own index or the one posted), the caller returns when
 * all ran, a thread that never wakes makes it time out, and a call that
 * timed out is withdrawn (a late thread does not run it). */
#include "collector/xcall.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

#include "core/compiler.h"
#include "vt_test.h"

#define NTH 3

struct rig {
	struct xcall c;
	atomic_bool stop;
	atomic_int runs[NTH];
	atomic_uint last_worker[NTH];
	atomic_bool asleep[NTH];  /* this thread does not look for calls */
	pthread_t th[NTH];
	unsigned idx[NTH];
};
static struct rig R;

/* which thread runs the call: its own slot, not the worker index the
 * call is given (that is what the tests check) */
static __thread unsigned my_slot;
static void trampoline(unsigned worker, struct flowdec *fd, void *arg)
{
	(void)fd;
	(void)arg;
	atomic_fetch_add(&R.runs[my_slot], 1);
	atomic_store(&R.last_worker[my_slot], worker);
}

static void *thread_main(void *arg)
{
	unsigned i = *(unsigned *)arg;
	uint64_t seen = 0;

	my_slot = i;
	while (!atomic_load(&R.stop)) {
		if (!atomic_load(&R.asleep[i])) {
			xcall_run(&R.c, &seen, i, NULL);
			xcall_run(&R.c, &seen, i, NULL);   /* a second wake-up: not again */
		}
		usleep(1000);
	}
	return NULL;
}

static void start(void)
{
	memset(&R, 0, sizeof(R));
	xcall_init(&R.c);
}

static void launch(void)
{
	for (unsigned i = 0; i < NTH; i++) {
		R.idx[i] = i;
		pthread_create(&R.th[i], NULL, thread_main, &R.idx[i]);
	}
}

static void finish(void)
{
	atomic_store(&R.stop, true);
	for (unsigned i = 0; i < NTH; i++)
		pthread_join(R.th[i], NULL);
	xcall_destroy(&R.c);
}

static void t_all_threads_once(void)
{
	static const struct {
		uint32_t worker;      /* posted */
		unsigned want[NTH];   /* worker index each thread's call saw */
	} cases[] = {
		{ XCALL_OWN_WORKER, { 0, 1, 2 } },
		{ 7, { 7, 7, 7 } },
	};

	start();
	launch();
	for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
		xcall_lock(&R.c);
		xcall_post(&R.c, trampoline, NULL, cases[k].worker, NTH);
		CHECK_EQ(xcall_wait(&R.c, 5000), 0);
		for (unsigned i = 0; i < NTH; i++) {
			CHECK_EQ(atomic_load(&R.runs[i]), (int)k + 1);
			CHECK_EQ(atomic_load(&R.last_worker[i]), cases[k].want[i]);
		}
	}
	finish();
}

static void t_timeout_withdraws(void)
{
	start();
	atomic_store(&R.asleep[2], true);
	launch();
	xcall_lock(&R.c);
	xcall_post(&R.c, trampoline, NULL, XCALL_OWN_WORKER, NTH);
	CHECK_EQ(xcall_wait(&R.c, 200), -ETIMEDOUT);
	CHECK_EQ(atomic_load(&R.runs[0]), 1);
	CHECK_EQ(atomic_load(&R.runs[1]), 1);
	atomic_store(&R.asleep[2], false);   /* wakes up late: the call is gone */
	usleep(50000);
	CHECK_EQ(atomic_load(&R.runs[2]), 0);
	finish();
}

VT_TEST_MAIN(VT_T(t_all_threads_once), VT_T(t_timeout_withdraws))
