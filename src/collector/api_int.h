/* api_int.h — what api.c (jobs, routing, status, flows, VMs, inventory,
 * zones) and api_exporters.c (exporters and /metrics) share. Not for
 * other modules: they use api.h. */
#ifndef VT_COLLECTOR_API_INT_H
#define VT_COLLECTOR_API_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "collector/api.h"
#include "core/out.h"
#include "query/query.h"

#define API_THREADS 2
#define API_QUEUE 32
#define API_BODY_MAX (256u << 20)
#define CALL_TIMEOUT_MS 10000
#define JSON_CT "application/json"

struct job;
typedef void (*job_fn)(struct api *a, struct job *j);

struct job {
	job_fn fn;
	struct http_defer *d;
	char id[128];                    /* route parameter */
	struct query q;                  /* /flows */
	struct filter *filter;
	enum out_fmt fmt;
	uint64_t limit, window_ms;
	int sort;
	bool pretty;
	struct job *next;
};

struct api {
	struct api_ctx *x;
	struct http_router *router;
	struct http_server *srv;
	pthread_t th[API_THREADS];
	unsigned nth;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, *tail;
	unsigned queued;
	bool stop;
	uint64_t jobs_run, jobs_refused;
};

/* api_job_new() : a job running <fn> on a job thread for <req>; NULL on ENOMEM. */
struct job *api_job_new(job_fn fn, struct http_req *req);
void api_job_free(struct job *j);
/* api_submit() : queues <j> (owned afterwards); answers 503 itself when
 * the queue is full. */
void api_submit(struct api *a, struct http_req *req, struct job *j);
/* api_respond_vbuf() : answers the job's deferred request with <b> (freed). */
void api_respond_vbuf(struct job *j, int status, const char *ct, struct vbuf *b);
/* api_param_u64() : query parameter <key> in [min, max] (else <def>);
 * answers 400 naming it and returns -EINVAL when it is not. */
int api_param_u64(struct http_req *req, const char *key, uint64_t min, uint64_t max,
		  uint64_t def, uint64_t *out);

/* api_exporters.c */
void api_h_exporters(struct http_req *req, void *arg);
void api_h_exporter(struct http_req *req, void *arg);
void api_h_metrics(struct http_req *req, void *arg);

#endif
