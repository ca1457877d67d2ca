/* xcall.h — running a function on the threads that own the decoders and
 * waiting until they did: the UDP workers (ingest_each) and the IPFIX/TCP
 * thread (tcp_ingest_each) save and restore templates this way, because a
 * decoder is not thread-safe.
 *
 * Caller: xcall_lock(); either run the function itself (threads not
 * started) and xcall_unlock(), or xcall_post(), wake the threads their own
 * way, and xcall_wait() (which unlocks). Thread: xcall_run() whenever it
 * wakes; it runs each posted call once. */
#ifndef VT_COLLECTOR_XCALL_H
#define VT_COLLECTOR_XCALL_H

#include <pthread.h>
#include <stdint.h>

struct flowdec;
typedef void (*ingest_fn)(unsigned worker, struct flowdec *fd, void *arg);

#define XCALL_OWN_WORKER UINT32_MAX   /* each thread passes its own index */

struct xcall {
	pthread_mutex_t call_mu;   /* one call at a time */
	pthread_mutex_t mu;        /* the fields below */
	pthread_cond_t done;
	ingest_fn fn;              /* NULL: nothing posted */
	void *arg;
	uint32_t worker;           /* given to fn, or XCALL_OWN_WORKER */
	uint64_t gen;
	unsigned pending;          /* threads still to run it */
};

void xcall_init(struct xcall *c);
void xcall_destroy(struct xcall *c);
void xcall_lock(struct xcall *c);
void xcall_unlock(struct xcall *c);
/* xcall_post() : publishes <fn>(worker, decoder, arg) for <nthreads>. */
void xcall_post(struct xcall *c, ingest_fn fn, void *arg, uint32_t worker, unsigned nthreads);
/* xcall_wait() : 0 once every thread ran it, -ETIMEDOUT after <timeout_ms>
 * (a late thread then skips it: the call is withdrawn); unlocks. */
int xcall_wait(struct xcall *c, uint64_t timeout_ms);
/* xcall_run() : on a thread: runs the posted call unless this thread (its
 * <seen> generation) already did. */
void xcall_run(struct xcall *c, uint64_t *seen, unsigned own, struct flowdec *fd);

#endif
