/* bgsave.c — see bgsave.h. */
#include "core/bgsave.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"

struct job {
	struct job *next;
	char *path;
	uint8_t *data;
	size_t len;
	unsigned mode;
	bgsave_done_fn done;
	void *arg;
};

struct bgsave {
	pthread_mutex_t mu;
	pthread_cond_t work, idle;
	struct job *head, *tail;        /* FIFO; none is being written */
	bool busy;                      /* the thread writes a job it took */
	bool stop;
	pthread_t th;
};

static void job_free(struct job *j)
{
	free(j->path);
	free(j->data);
	free(j);
}

static void *saver_main(void *arg)
{
	struct bgsave *bs = arg;

	pthread_setname_np(pthread_self(), "vtap-save");
	pthread_mutex_lock(&bs->mu);
	for (;;) {
		while (!bs->head && !bs->stop)
			pthread_cond_wait(&bs->work, &bs->mu);
		struct job *j = bs->head;
		if (!j)
			break;   /* stopping, nothing left */
		bs->head = j->next;
		if (!bs->head)
			bs->tail = NULL;
		bs->busy = true;
		pthread_mutex_unlock(&bs->mu);

		struct vt_err err = { 0 };
		int r = file_write_atomic(j->path, j->data, j->len, j->mode, &err);
		if (j->done)
			j->done(j->arg, r, &err);
		job_free(j);

		pthread_mutex_lock(&bs->mu);
		bs->busy = false;
		if (!bs->head)
			pthread_cond_broadcast(&bs->idle);
	}
	pthread_mutex_unlock(&bs->mu);
	return NULL;
}

struct bgsave *bgsave_new(void)
{
	struct bgsave *bs = calloc(1, sizeof(*bs));
	int r;

	if (!bs)
		return NULL;
	pthread_mutex_init(&bs->mu, NULL);
	pthread_cond_init(&bs->work, NULL);
	pthread_cond_init(&bs->idle, NULL);
	if ((r = pthread_create(&bs->th, NULL, saver_main, bs)) != 0) {
		pthread_mutex_destroy(&bs->mu);
		pthread_cond_destroy(&bs->work);
		pthread_cond_destroy(&bs->idle);
		free(bs);
		errno = r;
		return NULL;
	}
	return bs;
}

int bgsave_submit(struct bgsave *bs, const char *path, uint8_t *data, size_t len,
		  unsigned mode, bgsave_done_fn done, void *arg)
{
	struct job *j = calloc(1, sizeof(*j)), *same = NULL;
	char *p = strdup(path);
	int r = 0;

	if (!j || !p) {
		free(j);
		free(p);
		free(data);
		return -ENOMEM;
	}
	*j = (struct job){ NULL, p, data, len, mode, done, arg };
	pthread_mutex_lock(&bs->mu);
	for (struct job *k = bs->head; k && !same; k = k->next)
		if (strcmp(k->path, path) == 0)
			same = k;
	if (bs->stop) {
		r = -ESHUTDOWN;
	} else if (same) {
		/* not written yet: the newer image takes its place (and j,
		 * freed below, the older one) */
		struct job old = *same;
		*same = (struct job){ old.next, old.path, data, len, mode, done, arg };
		j->data = old.data;
	} else {
		if (bs->tail)
			bs->tail->next = j;
		else
			bs->head = j;
		bs->tail = j;
		j = NULL;
		pthread_cond_signal(&bs->work);
	}
	pthread_mutex_unlock(&bs->mu);
	if (j)
		job_free(j);
	return r;
}

void bgsave_sync(struct bgsave *bs)
{
	pthread_mutex_lock(&bs->mu);
	while (bs->head || bs->busy)
		pthread_cond_wait(&bs->idle, &bs->mu);
	pthread_mutex_unlock(&bs->mu);
}

void bgsave_free(struct bgsave *bs)
{
	if (!bs)
		return;
	pthread_mutex_lock(&bs->mu);
	bs->stop = true;   /* the thread empties the queue before it leaves */
	pthread_cond_signal(&bs->work);
	pthread_mutex_unlock(&bs->mu);
	pthread_join(bs->th, NULL);
	pthread_mutex_destroy(&bs->mu);
	pthread_cond_destroy(&bs->work);
	pthread_cond_destroy(&bs->idle);
	free(bs);
}
