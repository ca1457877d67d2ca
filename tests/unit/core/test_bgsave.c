/* Unit tests: lib/core/bgsave — images written whole on the saver's
 * thread, the latest of a path winning over one not yet written, the
 * outcome told, everything written by bgsave_sync() and bgsave_free(). */
#include "core/bgsave.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "vt_test.h"

struct outcome {
	pthread_mutex_t mu;
	unsigned ok, failed;
	int last_r;
	char last_msg[sizeof(((struct vt_err *)0)->msg) + 1];
	pthread_t thread;          /* the thread that told us */
	/* hold the saver in its first callback until released */
	bool hold, held;
	pthread_cond_t cv;
};

static void told(void *arg, int r, const struct vt_err *err)
{
	struct outcome *o = arg;

	pthread_mutex_lock(&o->mu);
	if (r < 0)
		o->failed++;
	else
		o->ok++;
	o->last_r = r;
	snprintf(o->last_msg, sizeof(o->last_msg), "%s", r < 0 ? err->msg : "");
	o->thread = pthread_self();
	o->held = true;
	pthread_cond_broadcast(&o->cv);
	while (o->hold)
		pthread_cond_wait(&o->cv, &o->mu);
	pthread_mutex_unlock(&o->mu);
}

static uint8_t *dupstr(const char *s)
{
	return (uint8_t *)strdup(s);
}

static char *slurp(const char *p)
{
	struct vbuf b;
	struct vt_err err = { 0 };
	char *s = NULL;

	if (file_read_all(p, 1 << 20, false, &b, &err) == 0)
		s = strdup(vbuf_str(&b));
	vbuf_free(&b);
	return s;
}

static void t_latest_wins(void)
{
	char dir[64] = "/tmp/vt-bgsave-XXXXXX", a[128], b[128];
	struct outcome o = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	struct bgsave *bs = bgsave_new();
	char *s;

	CHECK(bs != NULL);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	/* the saver is held in the callback of a's first image: what is
	 * submitted meanwhile queues up */
	o.hold = true;
	CHECK_EQ(bgsave_submit(bs, a, dupstr("a1"), 2, 0644, told, &o), 0);
	pthread_mutex_lock(&o.mu);
	while (!o.held)
		pthread_cond_wait(&o.cv, &o.mu);
	pthread_mutex_unlock(&o.mu);
	CHECK(!pthread_equal(o.thread, pthread_self()));   /* not the caller's thread */
	s = slurp(a);
	CHECK_STR(s ? s : "(none)", "a1");               /* written before the call */
	free(s);
	CHECK_EQ(bgsave_submit(bs, a, dupstr("a2"), 2, 0644, told, &o), 0);
	CHECK_EQ(bgsave_submit(bs, b, dupstr("b1"), 2, 0644, told, &o), 0);
	CHECK_EQ(bgsave_submit(bs, a, dupstr("a3"), 2, 0644, told, &o), 0);   /* replaces a2 */
	pthread_mutex_lock(&o.mu);
	o.hold = false;
	pthread_cond_broadcast(&o.cv);
	pthread_mutex_unlock(&o.mu);
	bgsave_sync(bs);
	CHECK_EQ(o.ok, 3);                                  /* a1, a3, b1: a2 never written */
	CHECK_EQ(o.failed, 0);
	s = slurp(a);
	CHECK_STR(s ? s : "(none)", "a3");
	free(s);
	s = slurp(b);
	CHECK_STR(s ? s : "(none)", "b1");
	free(s);
	/* a failure is told with the path */
	char bad[160];
	snprintf(bad, sizeof(bad), "%s/none/c", dir);
	CHECK_EQ(bgsave_submit(bs, bad, dupstr("c"), 1, 0644, told, &o), 0);
	bgsave_sync(bs);
	CHECK_EQ(o.failed, 1);
	CHECK_EQ(o.last_r, -ENOENT);
	CHECK(strncmp(o.last_msg, bad, strlen(bad)) == 0);
	/* bgsave_free() writes what is queued */
	CHECK_EQ(bgsave_submit(bs, b, dupstr("b2"), 2, 0644, NULL, NULL), 0);
	bgsave_free(bs);
	s = slurp(b);
	CHECK_STR(s ? s : "(none)", "b2");
	free(s);
	unlink(a);
	unlink(b);
	CHECK_EQ(rmdir(dir), 0);                            /* nothing else left */
}

VT_TEST_MAIN(VT_T(t_latest_wins))
