/* ingest.h — the collector's receive side: UDP workers (this file's
 * ingest_*), the IPFIX-over-TCP thread (tcp_ingest.c), and the decode
 * path both share (ingest_path_*).
 *
 * UDP: N worker threads; worker i owns socket i of every listen address's
 * reuseport group (udpsock.h steers each exporter address to one worker),
 * its own flow decoder (templates, held data, sequence numbers of the
 * exporters it sees) and its own template file. A worker polls its
 * sockets, drains them with recvmmsg batches, decodes, attributes each
 * record (enrich_flow) and fills a batch of rows that goes to the writer
 * (sink.h) when full or batch_delay old.
 *
 * The decode path keeps its template file up to date: when the decoder's
 * template generation changed, at most every template_save, and at stop.
 * At start each path loads its own file; when the worker count changed
 * since the files were written, every worker loads every old UDP file
 * (the steering changed; bounds apply) and the old files are replaced at
 * the next save. */
#ifndef VT_COLLECTOR_INGEST_H
#define VT_COLLECTOR_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "collector/xcall.h"
#include "core/err.h"
#include "flow/addr.h"
#include "wire/flowdec.h"

struct sink;
struct sink_batch;
struct enrich;
struct enrich_snap;

#define INGEST_MAX_LISTEN 16
#define INGEST_MAX_WORKERS 64
/* A UDP worker may leave datagrams in its socket this long to find more
 * at its next wake-up (interrupt moderation, ingest.c). */
#define INGEST_COALESCE_MAX_MS 16

/* ---- the decode path ---------------------------------------------------- */

struct ingest_path_stats {
	uint64_t datagrams, bytes;       /* messages handed to the decoder */
	uint64_t rejected;               /* messages the decoder refused whole */
	uint64_t records;                /* records decoded */
	uint64_t rows_pushed;            /* rows handed to the writer */
	uint64_t rows_dropped;           /* the writer's queue stayed full, or no memory */
	uint64_t template_saves, template_save_errors;
	uint64_t templates_loaded;
};

struct bgsave;

struct ingest_path {
	struct flowdec *fd;
	struct sink *sink;
	struct enrich *en;
	struct enrich_snap *snap;
	uint64_t snap_gen;
	struct sink_batch *b;
	uint64_t b_born_ms;              /* monotonic, first row of the batch */
	uint64_t batch_delay_ms;
	char *tmpl_path;                 /* NULL: no persistence */
	struct bgsave *saver;            /* writes the template file (with tmpl_path) */
	bool save_failed;                /* the saver says the last image failed (atomic) */
	bool finished;                   /* ingest_path_finish() ran: no more saves */
	uint64_t save_every_ms, saved_gen, last_save_ms, last_expire_ms;
	/* written by the owning thread only, but for template_saves and
	 * template_save_errors (the saver's, atomic) */
	struct ingest_path_stats st;
};

/* ingest_path_init() : a decoder with bounds <dc>, rows to <sink>,
 * attribution from <en> (may be NULL), templates kept in <tmpl_path>
 * (copied; NULL: none), written by <saver> (required with a path: the
 * caller's thread never waits for the disk). Does not load the file
 * (ingest_path_load). */
int ingest_path_init(struct ingest_path *p, const struct flowdec_conf *dc, struct sink *sink,
		     struct enrich *en, const char *tmpl_path, struct bgsave *saver,
		     uint64_t save_every_ms, uint64_t batch_delay_ms, struct vt_err *err);
/* ingest_path_load() : loads templates from <path>; the number loaded,
 * 0 when the file does not exist, -errno (logged) when it is damaged. */
int ingest_path_load(struct ingest_path *p, const char *path);
/* ingest_path_input() : one datagram / TCP message from <src>:<port>. */
void ingest_path_input(struct ingest_path *p, const struct vt_addr *src, uint16_t port,
		       const uint8_t *buf, size_t len, uint64_t now_ms);
/* ingest_path_tick() : periodic work (call every few ms to 100 ms): hands
 * over a batch older than batch_delay, expires held data once a second,
 * saves templates when due, follows inventory reloads. */
void ingest_path_tick(struct ingest_path *p, uint64_t now_ms);
/* ingest_path_flush() : hands over the batch being filled now. */
void ingest_path_flush(struct ingest_path *p);
/* ingest_path_save() : hands the templates' image to the saver now (if
 * persistence is on and the path is not finished). */
int ingest_path_save(struct ingest_path *p);
/* ingest_path_finish() : hands over the last batch, saves the templates
 * (again when a handed-over image failed) and waits until they are on
 * disk; saves nothing after. */
void ingest_path_finish(struct ingest_path *p);
/* ingest_path_free() : waits for the saver first (its callback points at
 * the path), then frees. */
void ingest_path_free(struct ingest_path *p);
/* ingest_path_get_stats() : a snapshot readable from another thread. */
void ingest_path_get_stats(const struct ingest_path *p, struct ingest_path_stats *st);

/* ---- UDP ---------------------------------------------------------------- */

struct ingest_conf {
	struct sockaddr_storage listen[INGEST_MAX_LISTEN];
	size_t nlisten;
	unsigned workers;
	uint64_t rcvbuf;
	unsigned recv_batch;             /* datagrams per recvmmsg() */
	bool gro;                        /* UDP_GRO on the UDP sockets */
	uint64_t batch_delay_ms;
	const char *state_dir;           /* NULL: templates are not kept */
	struct bgsave *saver;            /* writes them (required with state_dir) */
	uint64_t template_save_ms;
	struct flowdec_conf dec;
};

struct ingest_worker_stats {
	struct ingest_path_stats path;
	uint64_t truncated;              /* receives cut (udp_msg.truncated) */
	uint64_t kernel_drops;           /* all its sockets (SO_MEMINFO) */
	uint64_t wakeups, recv_calls;    /* poll() returns, recvmmsg() calls */
	uint64_t gro_msgs;               /* receives that held a run of datagrams (UDP_GRO) */
	uint64_t coalesced;              /* waits for more datagrams (RX_COALESCE) */
	uint64_t spins;                  /* waits by polling without sleeping (busy) */
	uint64_t shared;                 /* rate windows it waited for its CPU */
	uint64_t busy_on;                /* times it told the store it was busy */
	bool busy;                       /* ... and is now */
};

struct ingest;

/* ingest_new() : opens every listener (fds owned), creates the workers'
 * decoders and loads their templates. NULL with <err> set. */
struct ingest *ingest_new(const struct ingest_conf *c, struct sink *sink, struct enrich *en,
			  struct vt_err *err);
int ingest_start(struct ingest *ig);
/* ingest_stop() : each worker drains what its sockets hold, hands over its
 * last batch and saves its templates, then exits. */
void ingest_stop(struct ingest *ig);
void ingest_free(struct ingest *ig);

unsigned ingest_workers(const struct ingest *ig);
size_t ingest_nlisten(const struct ingest *ig);
/* ingest_listen_addr() : listener <i> as bound ("0.0.0.0:4739"). */
const char *ingest_listen_addr(const struct ingest *ig, size_t i, char *buf, size_t len);
uint64_t ingest_rcvbuf(const struct ingest *ig);
void ingest_worker_stats(const struct ingest *ig, unsigned w, struct ingest_worker_stats *st);

/* ingest_each() : runs <fn>(worker, decoder, arg) on every worker's own
 * thread (the decoder is not thread-safe) and returns when all have run:
 * 0, or -ETIMEDOUT after <timeout_ms> (a worker stuck; <fn> may still run
 * later, so <arg> must stay valid: callers pass long-lived state). Calls
 * are serialised. Before ingest_start() it runs them on the caller. */
int ingest_each(struct ingest *ig, ingest_fn fn, void *arg, uint64_t timeout_ms);

/* ---- TCP (tcp_ingest.c) -------------------------------------------------- */

struct tcp_ingest_conf {
	struct sockaddr_storage listen[INGEST_MAX_LISTEN];
	size_t nlisten;
	uint64_t max_conns;
	uint64_t idle_timeout_ms;        /* a silent connection is closed */
	uint64_t close_grace_ms;         /* at stop: wait for exporters to close */
	uint64_t batch_delay_ms;
	const char *state_dir;
	struct bgsave *saver;            /* writes the templates (required with state_dir) */
	uint64_t template_save_ms;
	struct flowdec_conf dec;
};

struct tcp_ingest_stats {
	struct ingest_path_stats path;
	uint64_t accepted, refused, active, closed_idle, closed_error, closed_peer;
	uint64_t desync;                 /* streams that lost message framing */
	uint64_t bytes;
};

struct tcp_ingest;

struct tcp_ingest *tcp_ingest_new(const struct tcp_ingest_conf *c, struct sink *sink,
				  struct enrich *en, struct vt_err *err);
int tcp_ingest_start(struct tcp_ingest *t);
/* tcp_ingest_stop() : stops accepting, sends every exporter a FIN, reads
 * until each closes its side (or close_grace passes), decodes it all,
 * saves templates, closes. */
void tcp_ingest_stop(struct tcp_ingest *t);
void tcp_ingest_free(struct tcp_ingest *t);
size_t tcp_ingest_nlisten(const struct tcp_ingest *t);
const char *tcp_ingest_listen_addr(const struct tcp_ingest *t, size_t i, char *buf, size_t len);
void tcp_ingest_get_stats(const struct tcp_ingest *t, struct tcp_ingest_stats *st);
/* tcp_ingest_each() : as ingest_each() for the TCP thread's decoder
 * (worker number = the UDP worker count, passed by the caller). */
int tcp_ingest_each(struct tcp_ingest *t, unsigned worker, ingest_fn fn, void *arg,
		    uint64_t timeout_ms);

#endif
