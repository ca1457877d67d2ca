/* xcall.c — see xcall.h. */
#include "collector/xcall.h"

#include <errno.h>

#include "core/timeutil.h"

void xcall_init(struct xcall *c)
{
	pthread_mutex_init(&c->call_mu, NULL);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->done, NULL);
	c->fn = NULL;
	c->arg = NULL;
	c->gen = 0;
	c->pending = 0;
}

void xcall_destroy(struct xcall *c)
{
	pthread_mutex_destroy(&c->call_mu);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->done);
}

void xcall_lock(struct xcall *c)
{
	pthread_mutex_lock(&c->call_mu);
}

void xcall_unlock(struct xcall *c)
{
	pthread_mutex_unlock(&c->call_mu);
}

void xcall_post(struct xcall *c, ingest_fn fn, void *arg, uint32_t worker, unsigned nthreads)
{
	pthread_mutex_lock(&c->mu);
	c->fn = fn;
	c->arg = arg;
	c->worker = worker;
	c->gen++;
	c->pending = nthreads;
	pthread_mutex_unlock(&c->mu);
}

int xcall_wait(struct xcall *c, uint64_t timeout_ms)
{
	struct timespec dl = deadline_after_ms(CLOCK_REALTIME, timeout_ms);
	int r = 0;

	pthread_mutex_lock(&c->mu);
	while (c->pending && r == 0)
		if (pthread_cond_timedwait(&c->done, &c->mu, &dl) == ETIMEDOUT)
			r = -ETIMEDOUT;
	/* a late thread must not run a call whose caller has gone */
	c->fn = NULL;
	pthread_mutex_unlock(&c->mu);
	pthread_mutex_unlock(&c->call_mu);
	return r;
}

void xcall_run(struct xcall *c, uint64_t *seen, unsigned own, struct flowdec *fd)
{
	ingest_fn fn;
	void *arg;
	uint32_t worker;
	uint64_t gen;

	pthread_mutex_lock(&c->mu);
	fn = c->fn;
	arg = c->arg;
	worker = c->worker;
	gen = c->gen;
	pthread_mutex_unlock(&c->mu);
	if (!fn || gen == *seen)
		return;
	*seen = gen;
	fn(worker == XCALL_OWN_WORKER ? own : worker, fd, arg);
	pthread_mutex_lock(&c->mu);
	if (gen == c->gen && c->pending) {
		c->pending--;
		pthread_cond_broadcast(&c->done);
	}
	pthread_mutex_unlock(&c->mu);
}
