/* api.h — the collector's HTTP JSON API and /metrics (lib/http).
 *
 *	GET /api/v1/status              daemon, ingest, writer, store, inventory
 *	GET /api/v1/flows               stored flows: filter, since, until,
 *	                                aggregate, sort, limit, oldest, format
 *	GET /api/v1/vms                 every VM with its statistics
 *	GET /api/v1/vms/{id}            one VM (name or UUID) with its time series
 *	GET /api/v1/exporters           per-exporter statistics (all workers)
 *	GET /api/v1/exporters/{addr}    one exporter with its templates
 *	GET /api/v1/zones               the zones and their rules' names
 *	GET /metrics                    Prometheus text format
 *
 * Handlers that read the store, walk every VM or ask the ingest threads
 * for their decoders' statistics run on a small pool of job threads
 * (http_defer), so the loop thread only parses and routes. Reference with
 * examples: docs/collector.md. */
#ifndef VT_COLLECTOR_API_H
#define VT_COLLECTOR_API_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/evloop.h"
#include "http/http_server.h"

struct collector_conf;
struct store;
struct vmstats;
struct zones;
struct enrich;
struct ingest;
struct tcp_ingest;
struct sink;

/* What the API reads; the pointers are owned by the daemon and outlive
 * the API. */
struct api_ctx {
	const struct collector_conf *conf;
	struct store *store;
	struct vmstats *vs;
	const struct zones *zones;
	struct enrich *en;
	struct ingest *ig;               /* NULL: no UDP */
	struct tcp_ingest *tcp;          /* NULL: no TCP */
	struct sink *sink;
	uint64_t started_ms;
	/* inventory status, set by the daemon (api_inventory_status) */
	pthread_mutex_t mu;
	uint64_t inv_loads, inv_errors, inv_vms, inv_loaded_ms;
	char inv_error[512];
};

void api_ctx_init(struct api_ctx *x);
void api_ctx_destroy(struct api_ctx *x);
/* api_inventory_status() : records a (re)load: <error> NULL when it
 * succeeded, <vms> the number of VMs it holds. Thread-safe. */
void api_inventory_status(struct api_ctx *x, const char *error, size_t vms);

struct api;

/* api_new() : an HTTP server on <ev> listening on conf->listen, with
 * its job threads. NULL with <err> naming the listen address. */
struct api *api_new(struct evloop *ev, const struct http_server_conf *conf, struct api_ctx *x,
		    struct vt_err *err);
/* api_addr() : bound address of listener <i> ("127.0.0.1:4740"). */
const char *api_addr(const struct api *a, unsigned i);
/* api_free() : stops the job threads (running jobs finish) and the
 * server. Accepts NULL. */
void api_free(struct api *a);

#endif
