/* collector.h — `vtap collector`: the daemon that receives NetFlow /
 * IPFIX / sFlow from many exporters, attributes flows to VMs and zones,
 * stores them and keeps per-VM statistics, with an HTTP API.
 *
 *	UDP workers (SO_REUSEPORT, steered by exporter) ─┐
 *	TCP thread (IPFIX over TCP) ─────────────────────┤ decode, attribute
 *	                                                 ▼
 *	             bounded queue of row batches ─► writer thread
 *	                                                 ├─ count once, per-VM statistics
 *	                                                 └─ store (flushes every flush_interval)
 *	main thread: event loop, HTTP API (queries run on job threads),
 *	             inventory reloads, signals
 *
 * This header holds the configuration (one struct per section, the
 * schema `vtap config-keys collector` prints) and the entry point. The
 * threading, attribution and statistics rules are in docs/collector.md. */
#ifndef VT_COLLECTOR_COLLECTOR_H
#define VT_COLLECTOR_COLLECTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "collector/enrich.h"
#include "collector/ingest.h"
#include "collector/sink.h"
#include "collector/vmstats.h"
#include "core/conf.h"
#include "http/http_server.h"
#include "store/store.h"
#include "wire/flowdec.h"

#define COLL_DEFAULT_PORT 4739
#define COLL_DEFAULT_API "127.0.0.1:4740"
#define COLL_MAX_INVENTORIES 16

/* A list of ADDRESS:PORT (a CONF_CUSTOM value). */
struct addr_list {
	struct sockaddr_storage a[INGEST_MAX_LISTEN];
	size_t n;
};

struct coll_main_conf {             /* [collector] */
	struct addr_list listen;        /* UDP */
	struct addr_list tcp_listen;    /* IPFIX over TCP */
	uint64_t workers;
	uint64_t rcvbuf;
	uint64_t recv_batch;
	bool gro;                       /* udp_gro */
	uint64_t batch_rows;
	uint64_t batch_delay_ms;
	uint64_t queue_batches;
	uint64_t queue_reserve;
	uint64_t queue_wait_ms;
	char *state_dir;
	uint64_t template_save_ms;
	uint64_t tcp_max_conns;
	uint64_t tcp_idle_ms;
	uint64_t tcp_close_grace_ms;
	uint64_t metrics_exporters;     /* per-exporter series in /metrics */
	int log_level;
};

struct coll_inv_conf {              /* [inventory] */
	struct conf_strlist file;
	struct conf_strlist libvirt;    /* [HOST=]URI */
	uint64_t reload_ms;
	uint64_t libvirt_refresh_ms;
	uint64_t max_vms;
	uint64_t metered_ttl_ms;
	uint64_t dedup_delay_ms;
	uint64_t dedup_hold_rows;
};

struct collector_conf {
	struct coll_main_conf main;
	struct coll_inv_conf inv;
	struct vmstats_conf stats;
	struct flowdec_conf dec;
	struct store_conf store;
	struct http_server_conf api;
	struct zone_conf zones[ZONE_MAX];
	size_t nzones;
};

extern const struct conf_schema collector_conf_schema;

/* collector_conf_load() : defaults, then <path> (NULL: defaults only),
 * then each "section.key=value" of <overrides>. The result is heap
 * allocated (collector_conf_free). NULL with <err> set. */
struct collector_conf *collector_conf_load(const char *path, const char *const *overrides,
					   size_t n, struct vt_err *err);
void collector_conf_free(struct collector_conf *c);

/* collector_run() : runs the daemon until SIGTERM/SIGINT (SIGHUP reloads
 * the inventory). <ready_file> (may be NULL) receives a JSON object with
 * the bound addresses once everything listens. Returns the exit code. */
int collector_run(struct collector_conf *c, const char *ready_file);

#endif
