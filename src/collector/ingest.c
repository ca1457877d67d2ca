/* ingest.c — UDP ingest workers and the decode path they share with the
 * TCP thread (ingest.h).
 *
 * A worker never blocks on anything but poll(): the writer's queue is
 * bounded (a full one costs at most queue_wait, then the batch is counted
 * as dropped), template files are written with an atomic rename. Calls
 * from other threads (statistics of the decoder, which is not thread-safe)
 * are run by the worker itself between receive batches (ingest_each). */
#include "collector/ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "collector/busy.h"
#include "collector/enrich.h"
#include "collector/sink.h"
#include "collector/udpsock.h"
#include "core/bgsave.h"
#include "core/compiler.h"
#include "core/fileio.h"
#include "core/log.h"
#include "core/timeutil.h"

/* Statistics are written by one thread and read by others: a relaxed
 * atomic store of the new value is enough and costs a plain store. */
#define STAT_ADD(x, v) __atomic_store_n(&(x), (x) + (v), __ATOMIC_RELAXED)
#define STAT_GET(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* ---- the decode path ---------------------------------------------------- */

static void path_refresh_snap(struct ingest_path *p)
{
	uint64_t g;

	if (!p->en)
		return;
	g = enrich_generation(p->en);
	if (p->snap && g == p->snap_gen)
		return;
	if (p->snap)
		enrich_put(p->en, p->snap);
	p->snap = enrich_get(p->en);
	p->snap_gen = g;
}

void ingest_path_flush(struct ingest_path *p)
{
	struct sink_batch *b = p->b;
	size_t n;

	if (!b)
		return;
	p->b = NULL;
	n = b->n;
	if (sink_push(p->sink, b) < 0)
		STAT_ADD(p->st.rows_dropped, n);
	else
		STAT_ADD(p->st.rows_pushed, n);
}

/* The batch row the next record is decoded into (flowdec_ops.room): the
 * decoder builds it in place, path_record() then finds it there. */
static struct flow_rec *path_room(void *arg)
{
	struct ingest_path *p = arg;

	if (!p->b) {
		p->b = sink_batch_get(p->sink);
		if (!p->b)
			return NULL;
		p->b_born_ms = mono_ms();
	}
	return &p->b->rows[p->b->n].rec;
}

static void path_record(void *arg, const struct flow_rec *r, const struct flowdec_src *src)
{
	struct ingest_path *p = arg;
	struct flow_row *row;

	(void)src;
	STAT_ADD(p->st.records, 1);
	if (!path_room(p)) {
		STAT_ADD(p->st.rows_dropped, 1);
		return;
	}
	row = &p->b->rows[p->b->n++];
	if (r != &row->rec)
		row->rec = *r;
	enrich_flow(p->snap, &row->rec, &row->attr, NULL);
	if (p->b->n == p->b->cap)
		ingest_path_flush(p);
}

static const struct flowdec_ops path_ops = { .record = path_record, .room = path_room };

int ingest_path_init(struct ingest_path *p, const struct flowdec_conf *dc, struct sink *sink,
		     struct enrich *en, const char *tmpl_path, struct bgsave *saver,
		     uint64_t save_every_ms, uint64_t batch_delay_ms, struct vt_err *err)
{
	memset(p, 0, sizeof(*p));
	if (tmpl_path && !saver)
		return vt_err_set(err, -EINVAL, "template file %s: no saver", tmpl_path);
	p->sink = sink;
	p->saver = saver;
	p->en = en;
	p->save_every_ms = save_every_ms;
	p->batch_delay_ms = batch_delay_ms;
	p->fd = flowdec_new(dc, &path_ops, p);
	if (!p->fd)
		return vt_err_set(err, -errno, "flow decoder: %s", strerror(errno));
	if (tmpl_path && !(p->tmpl_path = strdup(tmpl_path))) {
		flowdec_free(p->fd);
		p->fd = NULL;
		return vt_err_set(err, -ENOMEM, "out of memory");
	}
	/* a crash during a save leaves its temporary file behind; no save
	 * of this path can be running yet */
	if (tmpl_path) {
		int k = file_atomic_clean(tmpl_path);
		if (k > 0)
			log_info("collector: removed %d temporary file(s) of %s left by an earlier run",
				 k, tmpl_path);
	}
	path_refresh_snap(p);
	return 0;
}

int ingest_path_load(struct ingest_path *p, const char *path)
{
	struct vt_err err = { 0 };
	int r = flowdec_templates_load(p->fd, path, wall_ms(), &err);

	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		log_warn("collector: templates not loaded: %s", err.msg);
		return r;
	}
	STAT_ADD(p->st.templates_loaded, (uint64_t)r);
	/* what was loaded is on disk already */
	p->saved_gen = flowdec_template_generation(p->fd);
	return r;
}

/* The saver's word on an image (its thread). A failed one is saved again
 * at the next tick that is due. */
static void path_saved(void *arg, int r, const struct vt_err *err)
{
	struct ingest_path *p = arg;

	if (r < 0) {
		__atomic_add_fetch(&p->st.template_save_errors, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&p->save_failed, true, __ATOMIC_RELEASE);
		log_ratelimited(LOG_LVL_ERR, "collector: %s", err->msg);
	} else {
		__atomic_add_fetch(&p->st.template_saves, 1, __ATOMIC_RELAXED);
	}
}

int ingest_path_save(struct ingest_path *p)
{
	struct vt_err err = { 0 };
	uint64_t gen;
	uint8_t *img;
	size_t len;
	int r;

	if (!p->tmpl_path || p->finished)
		return 0;
	gen = flowdec_template_generation(p->fd);
	p->last_save_ms = mono_ms();
	/* the image here (the decoder is this thread's), the file on the
	 * saver's thread (path_saved counts it): an fsync never holds up
	 * the socket */
	r = flowdec_templates_serialize(p->fd, &img, &len);
	if (r == 0)
		r = bgsave_submit(p->saver, p->tmpl_path, img, len, 0644, path_saved, p);
	if (r < 0) {
		vt_err_set(&err, r, "%s: %s", p->tmpl_path, strerror(-r));
		__atomic_add_fetch(&p->st.template_save_errors, 1, __ATOMIC_RELAXED);
		log_ratelimited(LOG_LVL_ERR, "collector: %s", err.msg);
		return r;
	}
	p->saved_gen = gen;
	return 0;
}

/* A handed-over image the saver could not write makes the templates due
 * again (the generation never equals its complement). */
static void resave_failed(struct ingest_path *p)
{
	if (__atomic_exchange_n(&p->save_failed, false, __ATOMIC_ACQ_REL))
		p->saved_gen = ~flowdec_template_generation(p->fd);
}

void ingest_path_input(struct ingest_path *p, const struct vt_addr *src, uint16_t port,
		       const uint8_t *buf, size_t len, uint64_t now_ms)
{
	STAT_ADD(p->st.datagrams, 1);
	STAT_ADD(p->st.bytes, len);
	if (flowdec_input(p->fd, src, port, now_ms, buf, len, 0) == -EBADMSG)
		STAT_ADD(p->st.rejected, 1);
}

void ingest_path_tick(struct ingest_path *p, uint64_t now_ms)
{
	uint64_t mono = mono_ms();

	if (p->b && mono - p->b_born_ms >= p->batch_delay_ms)
		ingest_path_flush(p);
	if (mono - p->last_expire_ms >= 1000) {
		flowdec_expire(p->fd, now_ms);
		p->last_expire_ms = mono;
	}
	resave_failed(p);
	if (p->tmpl_path && flowdec_template_generation(p->fd) != p->saved_gen &&
	    mono - p->last_save_ms >= p->save_every_ms)
		ingest_path_save(p);
	path_refresh_snap(p);
}

void ingest_path_finish(struct ingest_path *p)
{
	if (!p->fd)
		return;
	ingest_path_flush(p);
	/* an image still being written may yet fail: its outcome first */
	if (p->saver)
		bgsave_sync(p->saver);
	resave_failed(p);
	/* also an empty file: the set of files tells the next start which
	 * worker count wrote them */
	if (p->tmpl_path && (flowdec_template_generation(p->fd) != p->saved_gen ||
			     access(p->tmpl_path, F_OK) < 0))
		ingest_path_save(p);
	/* on disk before the caller goes on (and counts the errors); no
	 * save after this one (a last tick of the loop) */
	if (p->saver)
		bgsave_sync(p->saver);
	p->finished = true;
}

void ingest_path_free(struct ingest_path *p)
{
	/* the saver's callback must not outlive the path (a thread that
	 * ended without ingest_path_finish) */
	if (p->saver)
		bgsave_sync(p->saver);
	if (p->b)
		sink_batch_put(p->sink, p->b);
	p->b = NULL;
	flowdec_free(p->fd);
	p->fd = NULL;
	if (p->snap)
		enrich_put(p->en, p->snap);
	p->snap = NULL;
	free(p->tmpl_path);
	p->tmpl_path = NULL;
}

void ingest_path_get_stats(const struct ingest_path *p, struct ingest_path_stats *st)
{
	st->datagrams = STAT_GET(p->st.datagrams);
	st->bytes = STAT_GET(p->st.bytes);
	st->rejected = STAT_GET(p->st.rejected);
	st->records = STAT_GET(p->st.records);
	st->rows_pushed = STAT_GET(p->st.rows_pushed);
	st->rows_dropped = STAT_GET(p->st.rows_dropped);
	st->template_saves = STAT_GET(p->st.template_saves);
	st->template_save_errors = STAT_GET(p->st.template_save_errors);
	st->templates_loaded = STAT_GET(p->st.templates_loaded);
}

/* ---- UDP workers -------------------------------------------------------- */

struct worker {
	struct ingest *ig;
	unsigned idx;
	pthread_t th;
	int efd;                         /* wakes the worker: stop, calls */
	int fds[INGEST_MAX_LISTEN];
	struct udp_rx rx;
	struct ingest_path path;
	uint64_t call_seen;
	uint64_t truncated, wakeups, recv_calls, coalesced, spins, shared;
	uint64_t gro_msgs;                   /* receives that held a run of datagrams */
	uint64_t win_start_ns, win_dgrams;   /* arrival rate, for coalescing */
	uint64_t win_cpu_ns;                 /* ... the thread's CPU clock then */
	uint64_t win_spin_ns;                /* ... and time spent spinning since */
	uint64_t win_wait_ns;                /* ... its run-queue wait then */
	int sched_fd;                        /* /proc/thread-self/schedstat, or -1 */
	uint64_t hold_ns;                    /* the wait when coalescing */
	uint64_t hold_dgrams;                /* ... and what it waits for
					      * (coalesce_want, fixed at start) */
	bool coalesce;
	bool spin;                           /* busy: wait without sleeping */
	bool polite;                         /* spin yields the CPU at each turn */
	struct busy_state busy;              /* for the store (busy.h) */
	uint64_t busy_on;                    /* times it became busy */
};

struct ingest {
	struct ingest_conf c;
	struct worker *w;
	unsigned nw;
	bool started;
	bool stop;                       /* __atomic: set by ingest_stop() */
	bool stale_files;                /* template files of another worker count */
	uint64_t rcvbuf;
	struct xcall call;               /* ingest_each() */
};

static void tmpl_name(char *buf, size_t len, const char *dir, unsigned i, unsigned n)
{
	snprintf(buf, len, "%s/templates-udp-%u-of-%u.bin", dir, i, n);
}

/* Loads the templates of each worker: its own file when every template
 * file there was written with this worker count (the steering is the
 * same: each exporter comes back to the worker that saved it), else every
 * file into every worker (the steering changed; bounds apply, and each
 * worker's next save writes its own file under the new name). */
static void load_templates(struct ingest *ig)
{
	char path[4096];
	DIR *d;
	struct dirent *de;
	bool mixed = false;

	d = opendir(ig->c.state_dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		unsigned a, b;
		char tail[8];
		if (sscanf(de->d_name, "templates-udp-%u-of-%u.bi%1s", &a, &b, tail) == 3 &&
		    (b != ig->nw || a >= b))
			mixed = true;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		unsigned a, b;
		char tail[8];
		if (sscanf(de->d_name, "templates-udp-%u-of-%u.bi%1s", &a, &b, tail) != 3)
			continue;
		snprintf(path, sizeof(path), "%s/%s", ig->c.state_dir, de->d_name);
		/* the directory may have changed since the first pass: a file
		 * that did not take part in the decision is loaded the safe way */
		if (!mixed && b == ig->nw && a < b) {
			ingest_path_load(&ig->w[a].path, path);
			continue;
		}
		log_info("collector: worker count changed (%u -> %u): every worker loads %s", b,
			 ig->nw, de->d_name);
		for (unsigned i = 0; i < ig->nw; i++) {
			ingest_path_load(&ig->w[i].path, path);
			ig->w[i].path.saved_gen = UINT64_MAX;   /* save under the new name */
		}
	}
	closedir(d);
	ig->stale_files = mixed;
}

/* After a worker-count change, once every worker saved its own file, the
 * files of the old count go. */
static void remove_stale(struct ingest *ig)
{
	char path[4096];
	DIR *d;
	struct dirent *de;

	if (!ig->stale_files || !(d = opendir(ig->c.state_dir)))
		return;
	while ((de = readdir(d))) {
		unsigned a, b;
		char tail[8];
		if (sscanf(de->d_name, "templates-udp-%u-of-%u.bi%1s", &a, &b, tail) == 3 &&
		    b != ig->nw) {
			snprintf(path, sizeof(path), "%s/%s", ig->c.state_dir, de->d_name);
			unlink(path);
		}
	}
	closedir(d);
	ig->stale_files = false;
}

static uint64_t coalesce_want(unsigned batch, uint64_t rcvbuf);   /* interrupt moderation, below */

struct ingest *ingest_new(const struct ingest_conf *c, struct sink *sink, struct enrich *en,
			  struct vt_err *err)
{
	struct ingest *ig;
	char path[4096];

	if (!c->workers || c->workers > INGEST_MAX_WORKERS || !c->nlisten ||
	    c->nlisten > INGEST_MAX_LISTEN) {
		vt_err_set(err, -EINVAL, "ingest: %u workers (1-%d), %zu listeners (1-%d)",
			   c->workers, INGEST_MAX_WORKERS, c->nlisten, INGEST_MAX_LISTEN);
		errno = EINVAL;
		return NULL;
	}
	ig = calloc(1, sizeof(*ig));
	if (!ig || !(ig->w = calloc(c->workers, sizeof(*ig->w)))) {
		free(ig);
		vt_err_set(err, -ENOMEM, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	ig->c = *c;
	ig->nw = c->workers;
	xcall_init(&ig->call);
	for (unsigned i = 0; i < ig->nw; i++) {
		struct worker *w = &ig->w[i];
		w->ig = ig;
		w->idx = i;
		w->efd = -1;
		for (size_t k = 0; k < INGEST_MAX_LISTEN; k++)
			w->fds[k] = -1;
	}
	/* one reuseport group per address, socket i of each to worker i */
	bool gro_failed = false;
	for (size_t k = 0; k < c->nlisten; k++) {
		int fds[INGEST_MAX_WORKERS];
		uint64_t granted = 0;
		if (udp_group_open(&c->listen[k], ig->nw, c->rcvbuf, fds, &granted, err) < 0)
			goto fail;
		for (unsigned i = 0; i < ig->nw; i++) {
			ig->w[i].fds[k] = fds[i];
			int gr = c->gro && !gro_failed ? udp_sock_gro(fds[i]) : 0;
			if (gr < 0) {
				/* not fatal: datagrams then come one by one */
				log_warn("collector: UDP_GRO not available (%s): one receive per "
					 "datagram", strerror(-gr));
				gro_failed = true;
			}
		}
		ig->rcvbuf = granted;
		/* the kernel reports twice what it grants (bookkeeping overhead) */
		if (granted / 2 < c->rcvbuf)
			log_warn("collector: receive buffer of %llu bytes granted, %llu asked "
				 "(raise net.core.rmem_max or run with CAP_NET_ADMIN)",
				 (unsigned long long)granted / 2, (unsigned long long)c->rcvbuf);
	}
	for (unsigned i = 0; i < ig->nw; i++) {
		struct worker *w = &ig->w[i];
		w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->efd < 0 || udp_rx_init(&w->rx, c->recv_batch) < 0) {
			vt_err_set(err, -ENOMEM, "ingest worker %u: %s", i, strerror(errno ? errno : ENOMEM));
			goto fail;
		}
		w->hold_dgrams = coalesce_want(w->rx.batch, ig->rcvbuf);
		if (c->state_dir)
			tmpl_name(path, sizeof(path), c->state_dir, i, ig->nw);
		if (ingest_path_init(&w->path, &c->dec, sink, en, c->state_dir ? path : NULL,
				     c->saver, c->template_save_ms, c->batch_delay_ms, err) < 0)
			goto fail;
	}
	if (c->state_dir)
		load_templates(ig);
	return ig;
fail:
	ingest_free(ig);
	errno = -err->code;
	return NULL;
}

/* Receives from one socket until it is empty or <max> batches or the
 * datagrams of <max> batches went by (then the other sockets get their
 * turn; with UDP_GRO a message can hold a run of datagrams). Returns the
 * datagrams taken. */
static unsigned drain(struct worker *w, int fd, unsigned max)
{
	uint64_t budget = (uint64_t)max * w->rx.batch;
	unsigned got = 0;

	for (unsigned k = 0; k < max && got < budget; k++) {
		int n = udp_rx_recv(&w->rx, fd);
		uint64_t now = wall_ms();
		STAT_ADD(w->recv_calls, 1);
		if (n <= 0) {
			if (n < 0)
				log_ratelimited(LOG_LVL_WARN, "collector: recvmmsg: %s", strerror(-n));
			return got;
		}
		for (int i = 0; i < n; i++) {
			const struct udp_msg *m = &w->rx.msg[i];
			const uint8_t *d;
			size_t at = 0, len;
			if (m->truncated)
				STAT_ADD(w->truncated, 1);
			if (m->seg)
				STAT_ADD(w->gro_msgs, 1);
			while ((d = udp_msg_next(m, &at, &len))) {
				ingest_path_input(&w->path, &m->src, m->port, d, len, now);
				got++;
			}
		}
		/* a short batch emptied the socket: no recvmmsg() that would
		 * only say EAGAIN (at moderate rates that call was one of three
		 * per datagram) */
		if ((unsigned)n < w->rx.batch)
			return got;
	}
	return got;
}

/* Interrupt moderation, as NICs do it: when datagrams arrive faster
 * than RX_COALESCE_RATE per second, a worker that emptied its socket with
 * less than it wants per wake-up waits before it polls again, about as
 * long as that takes to arrive. It wants an eighth of the socket buffer
 * (RX_DGRAM_CHARGE bytes of it counted per datagram; a 1.5 KB datagram
 * costs the kernel ~2.3 KB of truesize), so a wait cannot turn into loss
 * below eight times the measured rate, and at most what one wake-up
 * drains (RX_DRAIN_BATCHES batches), so a wake-up that had to stop
 * draining does not wait. The wait is at most INGEST_COALESCE_MAX_MS;
 * the rate is measured over windows of RX_RATE_WINDOW_NS.
 *
 * Each wait is a timer wake-up on top of the datagram's (each a VM exit
 * here), so it pays from a few datagrams per wait: RX_COALESCE_RATE
 * leaves 8 per 4 ms wait. Below it the worker wakes per datagram.
 * Measured (collector on one core, 25 records per datagram): at 200 k
 * records/s the worker polled per datagram, 38,000 wake-ups per 2 M
 * records and 0.82 µs of CPU per record; 1 ms waits from 4,000
 * datagrams/s: 8,500 and 0.60 µs; waits for one recvmmsg() batch of up to
 * 4 ms from 2,000/s: 2,400 and 0.52 µs; waits for an eighth of a 4 MiB
 * buffer (128 datagrams) of up to 16 ms: 700 wake-ups, and in alternating
 * runs 0.250 -> 0.230 µs per record at 200 k/s, 0.205 -> 0.195 at 2 M/s
 * (each wake-up starts with cold caches). Records reach the writer at most
 * INGEST_COALESCE_MAX_MS later; the store's flusher runs that much earlier
 * (collector.c). */
#define RX_COALESCE_RATE 2000
#define RX_RATE_WINDOW_NS 20000000ull
#define RX_DGRAM_CHARGE 4096ull
#define RX_DRAIN_BATCHES 16

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The time the calling worker has waited on a run queue, runnable but
 * not running (ns; the second field of /proc/thread-self/schedstat,
 * opened by the worker itself), or 0 when the kernel does not say. */
static uint64_t thread_wait_ns(int fd)
{
	char buf[96];
	unsigned long long wait;
	ssize_t n;

	if (fd < 0 || (n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = 0;
	return sscanf(buf, "%*[0-9] %llu", &wait) == 1 ? wait : 0;
}

/* A busy worker does not sleep. Whatever puts a thread to sleep here (a
 * timer, or poll() woken by the next datagram), the hypervisor may run
 * the idle vCPU again only milliseconds later: of 500 timed sleeps, 18 %
 * woke more than 2 ms late and one 29 ms late (docs/collector.md). At
 * 3.5 M records/s a 4 MiB socket buffer holds about 7 ms of datagrams, so
 * near saturation late wake-ups, not CPU, decided the loss. A worker that
 * was busy at least RX_SPIN_BUSY_PCT % of the last rate window therefore
 * waits for the next datagram by polling its sockets without a timeout,
 * for at most RX_SPIN_MAX_NS at a time: while the load holds it spends
 * on that the idle (100 - RX_SPIN_BUSY_PCT) % of its CPU it had left;
 * when the load falls it spins until the next window (or a 2 ms gap) says
 * so, and then sleeps (and coalesces) as before. Busy is the thread's own
 * CPU time (CLOCK_THREAD_CPUTIME_ID) less the wall time it spun, against
 * the window's wall time: a worker that other threads or processes keep
 * off its CPU does not count as busy, so it does not spin on a crowded
 * machine (a spin cut short by preemption subtracts more than it cost,
 * which errs the same way). */
#define RX_SPIN_BUSY_PCT 70
#define RX_SPIN_HEADROOM_NS 10000000ull
#define RX_SPIN_SHARED_PCT 10
#define RX_SPIN_MAX_NS 2000000ull

/* The same measure tells the store when this worker is near its limit
 * (busy.h): RX_BUSY_ON windows in a row at RX_SPIN_BUSY_PCT (60 ms) and
 * the sink hears that it is busy (store_set_busy: the store then
 * compresses for speed, which on a shared core is CPU the worker gets
 * back); RX_BUSY_OFF_NS without such a window and it hears that it is
 * not. At 7 M v9 records/s on one core, lz4 blocks lost far fewer
 * records than zstd blocks (docs/collector.md). */
static void worker_window(struct worker *w, bool hot, uint64_t now)
{
	if (busy_window(&w->busy, hot, now)) {
		STAT_ADD(w->busy_on, 1);
		sink_set_busy(w->path.sink, true);
	}
}

/* Called every loop: a worker whose load fell stops being busy (the
 * clock is read only while it is). */
static void worker_expire(struct worker *w, bool stopping)
{
	if (w->busy.busy && busy_expire(&w->busy, mono_ns(), stopping))
		sink_set_busy(w->path.sink, false);
}

/* The datagrams a worker wants per wake-up, for recvmmsg() batches of
 * <batch> and a socket buffer of <rcvbuf> bytes as the kernel accounts it. */
static uint64_t coalesce_want(unsigned batch, uint64_t rcvbuf)
{
	uint64_t fit = rcvbuf / 8 / RX_DGRAM_CHARGE;

	return VT_MAX((uint64_t)1, VT_MIN(fit, (uint64_t)RX_DRAIN_BATCHES * batch));
}

/* The wait, in ns, for <want> datagrams when <dgrams> arrived in <dt_ns>
 * (> 0). */
static uint64_t coalesce_ns(uint64_t dgrams, uint64_t dt_ns, uint64_t want)
{
	uint64_t max = INGEST_COALESCE_MAX_MS * 1000000ull;

	if (!dgrams)
		return max;
	/* want datagrams at dgrams / dt_ns: want * dt_ns / dgrams ns */
	return VT_MIN(max, want * dt_ns / dgrams);
}

/* <got> datagrams taken: whether to wait before the next poll. The
 * rate that decides is of datagrams, not of receives, although a run
 * merged by UDP_GRO wakes the worker once: waiting pays there too
 * (200 k records/s in runs of 10 datagrams, 1,000 receives/s: 610
 * receives and 0.24 us per record when waiting as for the datagrams,
 * 9,960 and 0.32 us when the receive rate kept the worker from waiting). */
static bool coalesce_now(struct worker *w, unsigned got)
{
	uint64_t now = mono_ns(), dt = now - w->win_start_ns;

	w->win_dgrams += got;
	if (dt >= RX_RATE_WINDOW_NS) {
		w->coalesce = w->win_dgrams * 1000000000ull >= (uint64_t)RX_COALESCE_RATE * dt;
		w->hold_ns = coalesce_ns(w->win_dgrams, dt, w->hold_dgrams);
		uint64_t cpu = thread_cpu_ns();
		uint64_t used = cpu > w->win_cpu_ns ? cpu - w->win_cpu_ns : 0;
		used = used > w->win_spin_ns ? used - w->win_spin_ns : 0;
		bool hot = used * 100 >= RX_SPIN_BUSY_PCT * dt;
		/* or the socket buffer holds less than RX_SPIN_HEADROOM_NS of
		 * this window's arrivals, so that a late wake-up would overflow
		 * it, and the worker does not share its core: one that waited
		 * for it at least RX_SPIN_SHARED_PCT % of the window is better
		 * off asleep, as a sleeper's wake-up preempts the task that
		 * runs, whereas a spinner waits out that task's slice */
		uint64_t cap = VT_MAX(w->ig->rcvbuf / RX_DGRAM_CHARGE, (uint64_t)1);
		uint64_t waited = thread_wait_ns(w->sched_fd);
		uint64_t wait = waited > w->win_wait_ns ? waited - w->win_wait_ns : 0;
		bool shared = wait * 100 >= RX_SPIN_SHARED_PCT * dt;
		if (shared)
			STAT_ADD(w->shared, 1);
		w->spin = hot || (!shared && w->win_dgrams * RX_SPIN_HEADROOM_NS >= cap * dt);
		/* spinning for the rate alone, it yields the CPU at each turn */
		w->polite = !hot;
		w->win_wait_ns = waited;
		worker_window(w, hot, now);
		w->win_start_ns = now;
		w->win_dgrams = 0;
		w->win_cpu_ns = cpu;
		w->win_spin_ns = 0;
	}
	return !w->spin && w->coalesce && got && got < w->hold_dgrams;
}

/* poll() for the worker's sockets and eventfd: a spinning worker
 * (w->spin) asks without a timeout until something is ready or
 * RX_SPIN_MAX_NS passed, then (or when not spinning) waits up to 50 ms.
 * Spinning does not count as work. The spin yields the CPU at each turn
 * (sched_yield(), which returns at once when nothing else wants it) when
 * the worker spins for the arrival rate alone (w->polite: it was not busy
 * by CPU, so something else may run on its core) and while the writer
 * has batches queued: on a shared core a plain spin
 * took the time the writer needed to catch up, and its lag came back as
 * one long slice with nobody reading the socket (a stall of the store
 * at 4.8 M v9 records/s cost 0.8 M records); not spinning at all left
 * the worker asleep on an idle vCPU while the store was stalled. */
static int worker_poll(struct worker *w, struct pollfd *p, nfds_t n)
{
	if (w->spin) {
		uint64_t t0 = mono_ns(), t;
		int r;
		STAT_ADD(w->spins, 1);
		for (;;) {
			r = poll(p, n, 0);
			t = mono_ns();
			if (r != 0 || t - t0 >= RX_SPIN_MAX_NS)
				break;
			if (w->polite || sink_backlog(w->path.sink))
				sched_yield();
			else
				vt_cpu_relax();
		}
		w->win_spin_ns += t - t0;
		if (r != 0)
			return r;
		w->spin = false;   /* the load fell: sleep until the next window says */
	}
	return poll(p, n, 50);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct ingest *ig = w->ig;
	struct pollfd p[INGEST_MAX_LISTEN + 1];
	size_t n = ig->c.nlisten;
	char name[16];

	/* names for top -H, perf and /proc/PID/task/N/comm */
	snprintf(name, sizeof(name), "vtap-udp%u", w->idx);
	pthread_setname_np(pthread_self(), name);
	/* the first rate window starts now (from 0, it would span the
	 * machine's uptime) */
	w->win_start_ns = mono_ns();
	w->win_cpu_ns = thread_cpu_ns();
	w->sched_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	w->win_wait_ns = thread_wait_ns(w->sched_fd);
	for (size_t k = 0; k < n; k++)
		p[k] = (struct pollfd){ .fd = w->fds[k], .events = POLLIN };
	p[n] = (struct pollfd){ .fd = w->efd, .events = POLLIN };
	while (!__atomic_load_n(&ig->stop, __ATOMIC_ACQUIRE)) {
		int r = worker_poll(w, p, n + 1);
		STAT_ADD(w->wakeups, 1);
		if (r > 0) {
			unsigned got = 0;
			for (size_t k = 0; k < n; k++)
				if (p[k].revents & POLLIN)
					got += drain(w, w->fds[k], RX_DRAIN_BATCHES);
			if (p[n].revents & POLLIN) {
				uint64_t v;
				if (read(w->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					log_ratelimited(LOG_LVL_WARN, "collector: eventfd: %s", strerror(errno));
			}
			if (coalesce_now(w, got)) {
				struct timespec ts = { 0, (long)w->hold_ns };
				STAT_ADD(w->coalesced, 1);
				nanosleep(&ts, NULL);
			}
		}
		xcall_run(&w->ig->call, &w->call_seen, w->idx, w->path.fd);
		ingest_path_tick(&w->path, wall_ms());
		worker_expire(w, false);
	}
	/* what reached the sockets before the stop is ingested */
	for (size_t k = 0; k < n; k++)
		drain(w, w->fds[k], UINT32_MAX);
	xcall_run(&w->ig->call, &w->call_seen, w->idx, w->path.fd);
	worker_expire(w, true);
	ingest_path_finish(&w->path);
	if (w->sched_fd >= 0)
		close(w->sched_fd);
	return NULL;
}

static void wake_all(struct ingest *ig)
{
	uint64_t one = 1;

	for (unsigned i = 0; i < ig->nw; i++)
		if (ig->w[i].efd >= 0 && write(ig->w[i].efd, &one, sizeof(one)) < 0)
			log_warn("collector: eventfd: %s", strerror(errno));
}

int ingest_start(struct ingest *ig)
{
	for (unsigned i = 0; i < ig->nw; i++) {
		int r = pthread_create(&ig->w[i].th, NULL, worker_main, &ig->w[i]);
		if (r) {
			__atomic_store_n(&ig->stop, true, __ATOMIC_RELEASE);
			wake_all(ig);
			for (unsigned k = 0; k < i; k++)
				pthread_join(ig->w[k].th, NULL);
			__atomic_store_n(&ig->stop, false, __ATOMIC_RELEASE);
			return -r;
		}
	}
	ig->started = true;
	return 0;
}

void ingest_stop(struct ingest *ig)
{
	if (!ig || !ig->started)
		return;
	__atomic_store_n(&ig->stop, true, __ATOMIC_RELEASE);
	wake_all(ig);
	for (unsigned i = 0; i < ig->nw; i++)
		pthread_join(ig->w[i].th, NULL);
	ig->started = false;
	bool saved = true;
	for (unsigned i = 0; i < ig->nw; i++)
		saved &= STAT_GET(ig->w[i].path.st.template_save_errors) == 0;
	if (saved)
		remove_stale(ig);
}

void ingest_free(struct ingest *ig)
{
	if (!ig)
		return;
	ingest_stop(ig);
	for (unsigned i = 0; i < ig->nw; i++) {
		struct worker *w = &ig->w[i];
		for (size_t k = 0; k < INGEST_MAX_LISTEN; k++)
			if (w->fds[k] >= 0)
				close(w->fds[k]);
		if (w->efd >= 0)
			close(w->efd);
		udp_rx_free(&w->rx);
		ingest_path_free(&w->path);
	}
	xcall_destroy(&ig->call);
	free(ig->w);
	free(ig);
}

unsigned ingest_workers(const struct ingest *ig)
{
	return ig->nw;
}

size_t ingest_nlisten(const struct ingest *ig)
{
	return ig->c.nlisten;
}

const char *ingest_listen_addr(const struct ingest *ig, size_t i, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (i >= ig->c.nlisten || getsockname(ig->w[0].fds[i], (struct sockaddr *)&ss, &sl) < 0)
		return NULL;
	return udp_fmt_addr(&ss, buf, len);
}

uint64_t ingest_rcvbuf(const struct ingest *ig)
{
	return ig->rcvbuf;
}

void ingest_worker_stats(const struct ingest *ig, unsigned i, struct ingest_worker_stats *st)
{
	const struct worker *w = &ig->w[i];

	memset(st, 0, sizeof(*st));
	ingest_path_get_stats(&w->path, &st->path);
	st->truncated = STAT_GET(w->truncated);
	st->wakeups = STAT_GET(w->wakeups);
	st->recv_calls = STAT_GET(w->recv_calls);
	st->gro_msgs = STAT_GET(w->gro_msgs);
	st->coalesced = STAT_GET(w->coalesced);
	st->spins = STAT_GET(w->spins);
	st->shared = STAT_GET(w->shared);
	st->busy_on = STAT_GET(w->busy_on);
	st->busy = __atomic_load_n(&w->busy.busy, __ATOMIC_RELAXED);
	for (size_t k = 0; k < ig->c.nlisten; k++)
		st->kernel_drops += udp_sock_drops(w->fds[k]);
}

int ingest_each(struct ingest *ig, ingest_fn fn, void *arg, uint64_t timeout_ms)
{
	xcall_lock(&ig->call);
	if (!ig->started) {
		for (unsigned i = 0; i < ig->nw; i++)
			fn(i, ig->w[i].path.fd, arg);
		xcall_unlock(&ig->call);
		return 0;
	}
	xcall_post(&ig->call, fn, arg, XCALL_OWN_WORKER, ig->nw);
	wake_all(ig);
	return xcall_wait(&ig->call, timeout_ms);
}
