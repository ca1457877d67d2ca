/* worker.c — capture threads: count once, decode, meter, hand records to
 * the control thread (see worker.h). */
#include "agent/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "pkt/pkt.h"

#define QS_IDLE UINT64_MAX
#define BATCH METER_BATCH_MAX
#define LEARNED_MAX 1024
#define RECORD_WAIT_MS 200     /* then a record is dropped (counted) */

enum cmd_type { CMD_ADD, CMD_DEL, CMD_IDENT };

struct cmd {
	enum cmd_type type;
	struct worker_port *wp;
	uint32_t slot;
	struct vm_ident vm;
};

/* Published statistics: written by the worker, read by anyone. */
struct pub {
	_Atomic uint64_t frames, ip_frames, non_ip, failed, packets, bytes, gso_frames;
	_Atomic uint64_t records, active, peak, created, evicted, ended[6], loops;
	_Atomic uint32_t ports;
};

struct worker {
	struct worker_cfg cfg;
	struct worker_shared *sh;
	pthread_t th;
	bool started;
	int epfd, cmd_fd;

	pthread_mutex_t mu;                 /* guards the queues below */
	struct cmd *cmds;
	size_t ncmds, capcmds;
	struct worker_port **removed;
	size_t nremoved, capremoved;
	uint32_t learned[LEARNED_MAX];
	unsigned nlearned;
	bool stop;
	_Atomic bool exited;

	/* the worker's own */
	struct worker_port **ports;
	size_t nports, capports;
	struct meter *meter;
	struct meter_ports *mports;
	struct co_mactab *tab;
	_Atomic uint64_t qs;

	/* records to the control thread (single producer, single consumer) */
	struct flow_rec *ring;
	uint32_t mask;
	_Atomic uint32_t head, tail;
	bool pushed;
	bool stuck;                         /* the last record was dropped on a full ring */
	uint32_t stuck_tail;                /* ... and the consumer was here */
	_Atomic uint64_t records_dropped, record_waits;

	/* the batch being assembled for meter_packets() */
	struct pkt_info pi[BATCH];
	struct meter_obs obs[BATCH];
	struct meter_pkt mp[BATCH];
	size_t nb;

	struct pub pub;
};

/* Single writer: a plain load and store, no locked instruction. */
static inline void ctr_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void ctr_set(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

static void notify(struct worker *w)
{
	uint64_t one = 1;

	if (write(w->sh->notify_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_LVL_ERR, "worker %u: notify: %s", w->cfg.index, strerror(errno));
}

/* emit() : a flow record from the meter goes into the ring. */
static void emit(void *arg, const struct flow_rec *r)
{
	struct worker *w = arg;
	uint64_t waited_since = 0;

	for (;;) {
		uint32_t head = atomic_load_explicit(&w->head, memory_order_relaxed);
		uint32_t tail = atomic_load_explicit(&w->tail, memory_order_acquire);
		if (head - tail <= w->mask) {
			w->ring[head & w->mask] = *r;
			atomic_store_explicit(&w->head, head + 1, memory_order_release);
			w->pushed = true;
			w->stuck = false;
			return;
		}
		/* full: the control thread is behind; let it catch up a little,
		 * but not again for every record while it has not moved at all */
		if (w->stuck && tail == w->stuck_tail) {
			atomic_fetch_add_explicit(&w->records_dropped, 1, memory_order_relaxed);
			return;
		}
		if (!waited_since) {
			waited_since = mono_ms();
			atomic_fetch_add_explicit(&w->record_waits, 1, memory_order_relaxed);
		} else if (mono_ms() - waited_since > RECORD_WAIT_MS) {
			atomic_fetch_add_explicit(&w->records_dropped, 1, memory_order_relaxed);
			w->stuck = true;
			w->stuck_tail = tail;
			log_ratelimited(LOG_LVL_WARN, "worker %u: record ring full for %d ms: a flow "
					"record was dropped", w->cfg.index, RECORD_WAIT_MS);
			return;
		}
		notify(w);
		struct timespec ts = { 0, 200000 };
		nanosleep(&ts, NULL);
	}
}

size_t worker_drain(struct worker *w, worker_rec_fn fn, void *arg)
{
	uint32_t tail = atomic_load_explicit(&w->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&w->head, memory_order_acquire);
	size_t n = 0;

	while (tail != head) {
		fn(arg, &w->ring[tail & w->mask]);
		tail++;
		n++;
		/* give the slot back now: a worker waiting for room goes on */
		atomic_store_explicit(&w->tail, tail, memory_order_release);
		if (tail == head)
			head = atomic_load_explicit(&w->head, memory_order_acquire);
	}
	return n;
}

/* ---- the per-frame path --------------------------------------------------- */

struct frame_ctx {
	struct worker *w;
	struct worker_port *wp;
};

static void flush_batch(struct worker *w)
{
	if (w->nb) {
		meter_packets(w->meter, w->mp, w->nb);
		w->nb = 0;
	}
}

/* A tag the kernel took off goes back in front of the decoded ones, so the
 * flow key sees the frame as it was on the wire. */
static void vlan_fixup(struct pkt_info *pi, const struct cap_frame *f)
{
	if (!f->vlan_valid)
		return;
	if (pi->nvlan >= PKT_MAX_VLANS)
		pi->nvlan = PKT_MAX_VLANS - 1;
	memmove(&pi->vlan[1], &pi->vlan[0], pi->nvlan * sizeof(pi->vlan[0]));
	pi->vlan[0] = f->vlan_tci & 0x0fff;
	pi->nvlan++;
}

static void on_frame(void *arg, const struct cap_frame *f)
{
	struct frame_ctx *c = arg;
	struct worker *w = c->w;
	struct port_ctr *pc = &c->wp->ctr;
	struct co_frame cf = { f->data, f->caplen, f->len, f->ts_ns, f->dir,
			       atomic_load_explicit(&c->wp->removing, memory_order_acquire) };
	struct co_result cr;
	uint64_t ts_ms = f->ts_ns / 1000000u;

	ctr_add(f->dir ? &pc->frames_out : &pc->frames_in, 1);
	if (VT_UNLIKELY(atomic_load_explicit(&pc->first_ms, memory_order_relaxed) == 0))
		ctr_set(&pc->first_ms, ts_ms);
	ctr_set(&pc->last_ms, ts_ms);
	co_classify(w->tab, w->sh->dedup, c->wp->slot,
		    atomic_load_explicit(&c->wp->vm_mac_known, memory_order_relaxed), &cf, &cr);
	if (VT_UNLIKELY(cr.learned)) {
		atomic_store_explicit(&c->wp->vm_mac_known, true, memory_order_relaxed);
		pthread_mutex_lock(&w->mu);
		if (w->nlearned < LEARNED_MAX)
			w->learned[w->nlearned++] = c->wp->slot;
		pthread_mutex_unlock(&w->mu);
		w->pushed = true;
	}
	if (cr.verdict != CO_COUNT) {
		ctr_add(&pc->skipped[cr.verdict], 1);
		return;
	}
	ctr_add(&pc->counted, 1);

	struct pkt_info *pi = &w->pi[w->nb];
	struct meter_obs *o = &w->obs[w->nb];
	int r = pkt_decode(pi, PKT_LINK_ETHERNET, f->data, f->caplen);
	vlan_fixup(pi, f);
	o->port = c->wp->slot;
	o->dir = cr.dir;
	o->scope = cr.scope;
	o->peer_port = cr.peer_slot;
	o->gso_size = cap_gso_size_for_meter(f);
	o->gso_segs = 0;
	if (r == 0) {
		uint64_t packets = 1, bytes = pi->ip_len;
		/* the meter's own rule, for the port's counters */
		if (o->gso_size && pi->has_l4 && pi->payload_off > pi->l3_off) {
			meter_gso_split(pi->ip_len, (uint32_t)(pi->payload_off - pi->l3_off), o->gso_size,
					0, &packets, &bytes);
			if (packets > 1)
				ctr_add(&pc->gso_frames, 1);
		}
		ctr_add(&pc->packets, packets);
		ctr_add(&pc->bytes, bytes);
	} else if (r > 0) {
		ctr_add(&pc->not_ip, 1);
	} else {
		ctr_add(&pc->bad, 1);
	}
	/* the meter counts non-IP and undecodable frames by reason too */
	w->mp[w->nb] = (struct meter_pkt){ pi, ts_ms, o };
	if (++w->nb == BATCH)
		flush_batch(w);
}

static void read_port(struct worker *w, struct worker_port *wp, unsigned budget)
{
	struct frame_ctx c = { w, wp };

	wp->ops->read(wp->cap, budget, on_frame, &c);
	flush_batch(w);
}

/* ---- commands ------------------------------------------------------------- */

static int queue_cmd(struct worker *w, const struct cmd *c)
{
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	if (w->ncmds == w->capcmds) {
		size_t cap = w->capcmds ? w->capcmds * 2 : 16;
		struct cmd *v = realloc(w->cmds, cap * sizeof(*v));
		if (!v) {
			pthread_mutex_unlock(&w->mu);
			return -ENOMEM;
		}
		w->cmds = v;
		w->capcmds = cap;
	}
	w->cmds[w->ncmds++] = *c;
	pthread_mutex_unlock(&w->mu);
	if (write(w->cmd_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int worker_add_port(struct worker *w, struct worker_port *wp)
{
	struct cmd c = { .type = CMD_ADD, .wp = wp, .slot = wp->slot };

	wp->worker = w->cfg.index;
	return queue_cmd(w, &c);
}

int worker_del_port(struct worker *w, struct worker_port *wp)
{
	struct cmd c = { .type = CMD_DEL, .wp = wp, .slot = wp->slot };

	/* first stop the learning, then forget: a frame the worker classified
	 * before the flag was seen may have re-taught a MAC to the slot */
	atomic_store_explicit(&wp->removing, true, memory_order_seq_cst);
	co_mac_forget_slot(atomic_load(&w->sh->macs), wp->slot);
	return queue_cmd(w, &c);
}

int worker_set_ident(struct worker *w, uint32_t slot, const struct vm_ident *vm)
{
	struct cmd c = { .type = CMD_IDENT, .slot = slot, .vm = *vm };
	return queue_cmd(w, &c);
}

static void give_back(struct worker *w, struct worker_port *wp)
{
	pthread_mutex_lock(&w->mu);
	if (w->nremoved == w->capremoved) {
		size_t cap = w->capremoved ? w->capremoved * 2 : 16;
		struct worker_port **v = realloc(w->removed, cap * sizeof(*v));
		if (!v) {
			/* cannot hand it back: leak the small struct rather than lose
			 * track of it while the control thread may still read it */
			pthread_mutex_unlock(&w->mu);
			log_err("worker %u: out of memory handing back port %s", w->cfg.index,
				wp->ifname);
			return;
		}
		w->removed = v;
		w->capremoved = cap;
	}
	w->removed[w->nremoved++] = wp;
	pthread_mutex_unlock(&w->mu);
	w->pushed = true;
}

static void port_detach(struct worker *w, size_t i)
{
	struct worker_port *wp = w->ports[i];
	struct cap_stats st;

	/* what the ring still holds belongs to the port's last flows */
	for (int k = 0; k < 1024 && wp->ops->read(wp->cap, 64, on_frame,
						  &(struct frame_ctx){ w, wp }) > 0; k++)
		flush_batch(w);
	flush_batch(w);
	if (wp->ops->stats(wp->cap, &st) == 0) {
		ctr_set(&wp->ctr.kernel_received, st.received);
		ctr_set(&wp->ctr.kernel_drops, st.drops);
	}
	meter_flush_port(w->meter, wp->slot);
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, wp->ops->fd(wp->cap), NULL);
	wp->ops->close(wp->cap);
	wp->cap = NULL;
	w->ports[i] = w->ports[--w->nports];
	atomic_store_explicit(&w->pub.ports, (uint32_t)w->nports, memory_order_relaxed);
	give_back(w, wp);
}

static void run_cmds(struct worker *w)
{
	struct cmd *cmds;
	size_t n;
	uint64_t v;

	if (read(w->cmd_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_LVL_ERR, "worker %u: command fd: %s", w->cfg.index, strerror(errno));
	pthread_mutex_lock(&w->mu);
	cmds = w->cmds;
	n = w->ncmds;
	w->cmds = NULL;
	w->ncmds = w->capcmds = 0;
	pthread_mutex_unlock(&w->mu);
	for (size_t i = 0; i < n; i++) {
		struct cmd *c = &cmds[i];
		switch (c->type) {
		case CMD_ADD: {
			struct worker_port *wp = c->wp;
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = wp };
			if (w->nports == w->capports) {
				size_t cap = w->capports ? w->capports * 2 : 16;
				struct worker_port **pv = realloc(w->ports, cap * sizeof(*pv));
				if (!pv) {
					log_err("worker %u: out of memory adding %s", w->cfg.index,
						wp->ifname);
					give_back(w, wp);
					break;
				}
				w->ports = pv;
				w->capports = cap;
			}
			if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, wp->ops->fd(wp->cap), &ev) < 0 &&
			    errno != EEXIST) {
				log_err("worker %u: epoll on %s: %s", w->cfg.index, wp->ifname,
					strerror(errno));
				give_back(w, wp);
				break;
			}
			w->ports[w->nports++] = wp;
			atomic_store_explicit(&w->pub.ports, (uint32_t)w->nports, memory_order_relaxed);
			/* frames queued between the open and now are read at once */
			read_port(w, wp, w->cfg.read_budget);
			break;
		}
		case CMD_DEL:
			for (size_t k = 0; k < w->nports; k++)
				if (w->ports[k] == c->wp) {
					port_detach(w, k);
					break;
				}
			break;
		case CMD_IDENT:
			if (meter_ports_set(w->mports, c->slot, &c->vm, NULL) < 0)
				log_ratelimited(LOG_LVL_ERR, "worker %u: identity of slot %u refused",
						w->cfg.index, c->slot);
			break;
		}
	}
	free(cmds);
}

/* ---- the thread ------------------------------------------------------------- */

static void publish(struct worker *w)
{
	const struct meter_stats *ms = meter_stats(w->meter);
	const struct ft_stats *fs = meter_ft_stats(w->meter);
	struct pub *p = &w->pub;

	ctr_set(&p->frames, ms->frames);
	ctr_set(&p->ip_frames, ms->ip_frames);
	ctr_set(&p->non_ip, ms->non_ip);
	ctr_set(&p->failed, ms->failed);
	ctr_set(&p->packets, ms->packets);
	ctr_set(&p->bytes, ms->bytes);
	ctr_set(&p->gso_frames, ms->gso_frames);
	ctr_set(&p->records, ms->records);
	ctr_set(&p->active, fs->active);
	ctr_set(&p->peak, fs->peak_active);
	ctr_set(&p->created, fs->created);
	ctr_set(&p->evicted, fs->evicted);
	for (int i = 0; i < 6; i++)
		ctr_set(&p->ended[i], fs->ended[i]);
}

static void port_stats(struct worker *w)
{
	for (size_t i = 0; i < w->nports; i++) {
		struct worker_port *wp = w->ports[i];
		struct cap_stats st;
		if (wp->ops->stats(wp->cap, &st) == 0) {
			ctr_set(&wp->ctr.kernel_received, st.received);
			ctr_set(&wp->ctr.kernel_drops, st.drops);
		}
	}
}

static void turn_begin(struct worker *w)
{
	/* announce the generation before loading the table it guards */
	atomic_store(&w->qs, atomic_load(&w->sh->mac_gen));
	w->tab = atomic_load(&w->sh->macs);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[64];
	uint64_t next_tick = mono_ms() + w->cfg.tick_ms, next_stats = mono_ms() + 1000;
	bool stop = false;
	char name[16];

	/* top -H, perf and the benchmark find the capture threads by name */
	snprintf(name, sizeof(name), "vtap-cap%u", w->cfg.index);
	pthread_setname_np(pthread_self(), name);

	while (!stop) {
		uint64_t now = mono_ms();
		int tmo = next_tick > now ? (int)(next_tick - now) : 0, n;

		if (w->pushed) {
			w->pushed = false;
			notify(w);
		}
		atomic_store(&w->qs, QS_IDLE);
		n = epoll_wait(w->epfd, evs, ARRAY_SIZE(evs), tmo);
		turn_begin(w);
		bool cmds = false;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				cmds = true;
			else
				read_port(w, evs[i].data.ptr, w->cfg.read_budget);
		}
		/* commands last: a removal hands the port back to the control
		 * thread, which frees it, and a later event of this batch must
		 * not name it any more */
		if (cmds)
			run_cmds(w);
		now = mono_ms();
		if (now >= next_tick) {
			meter_tick(w->meter, wall_ms());
			publish(w);
			next_tick = now + w->cfg.tick_ms;
		}
		if (now >= next_stats) {
			port_stats(w);
			next_stats = now + 1000;
		}
		ctr_add(&w->pub.loops, 1);
		pthread_mutex_lock(&w->mu);
		stop = w->stop;
		pthread_mutex_unlock(&w->mu);
	}
	/* shutdown: commands still queued, then every frame and every flow */
	turn_begin(w);
	run_cmds(w);
	while (w->nports)
		port_detach(w, w->nports - 1);
	meter_flush(w->meter, FLOW_END_FORCED);
	publish(w);
	atomic_store(&w->qs, QS_IDLE);
	notify(w);
	atomic_store(&w->exited, true);
	return NULL;
}

struct worker *worker_new(const struct worker_cfg *cfg, struct worker_shared *sh,
			  struct vt_err *err)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	uint32_t cap = 64;

	if (!w) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	w->cfg = *cfg;
	w->sh = sh;
	w->epfd = w->cmd_fd = -1;
	atomic_init(&w->qs, QS_IDLE);
	pthread_mutex_init(&w->mu, NULL);
	while (cap < cfg->ring_records)
		cap <<= 1;
	w->ring = calloc(cap, sizeof(*w->ring));
	w->mask = cap - 1;
	w->mports = meter_ports_new(cfg->max_ports);
	w->meter = w->mports ? meter_new(&cfg->meter, w->mports, emit, w) : NULL;
	if (!w->ring || !w->meter) {
		vt_err_set(err, -ENOMEM, "worker %u: cannot allocate its flow table (%u flows): %s",
			   cfg->index, cfg->meter.max_flows, strerror(errno));
		goto fail;
	}
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->cmd_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->epfd < 0 || w->cmd_fd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->cmd_fd, &ev) < 0) {
		vt_err_set(err, -errno, "worker %u: epoll: %s", cfg->index, strerror(errno));
		goto fail;
	}
	return w;
fail:
	worker_free(w);
	return NULL;
}

int worker_start(struct worker *w, struct vt_err *err)
{
	int r = pthread_create(&w->th, NULL, worker_main, w);

	if (r != 0)
		return vt_err_set(err, -r, "worker %u: cannot start its thread: %s", w->cfg.index,
				  strerror(r));
	w->started = true;
	return 0;
}

void worker_stop(struct worker *w)
{
	uint64_t one = 1;

	if (!w || !w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_mutex_unlock(&w->mu);
	if (write(w->cmd_fd, &one, sizeof(one)) < 0)
		log_err("worker %u: cannot wake it: %s", w->cfg.index, strerror(errno));
}

bool worker_exited(const struct worker *w)
{
	return !w->started || atomic_load(&w->exited);
}

void worker_join(struct worker *w)
{
	if (w && w->started) {
		pthread_join(w->th, NULL);
		w->started = false;
	}
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	worker_join(w);
	meter_free(w->meter);
	meter_ports_free(w->mports);
	for (size_t i = 0; i < w->nports; i++)
		if (w->ports[i]->cap)
			w->ports[i]->ops->close(w->ports[i]->cap);
	free(w->ports);
	free(w->cmds);
	free(w->removed);
	free(w->ring);
	if (w->epfd >= 0)
		close(w->epfd);
	if (w->cmd_fd >= 0)
		close(w->cmd_fd);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

struct worker_port *worker_take_removed(struct worker *w)
{
	struct worker_port *wp = NULL;

	pthread_mutex_lock(&w->mu);
	if (w->nremoved)
		wp = w->removed[--w->nremoved];
	pthread_mutex_unlock(&w->mu);
	return wp;
}

unsigned worker_take_learned(struct worker *w, uint32_t *slots, unsigned max)
{
	unsigned n;

	pthread_mutex_lock(&w->mu);
	n = VT_MIN(w->nlearned, max);
	memcpy(slots, w->learned, n * sizeof(*slots));
	memmove(w->learned, w->learned + n, (w->nlearned - n) * sizeof(*slots));
	w->nlearned -= n;
	pthread_mutex_unlock(&w->mu);
	return n;
}

bool worker_quiescent(const struct worker *w, uint64_t gen)
{
	uint64_t q = atomic_load(&w->qs);
	return q == QS_IDLE || q >= gen;
}

void worker_get_stats(const struct worker *w, struct worker_stats *st)
{
	const struct pub *p = &w->pub;

	memset(st, 0, sizeof(*st));
	st->frames = atomic_load_explicit(&p->frames, memory_order_relaxed);
	st->ip_frames = atomic_load_explicit(&p->ip_frames, memory_order_relaxed);
	st->non_ip = atomic_load_explicit(&p->non_ip, memory_order_relaxed);
	st->failed = atomic_load_explicit(&p->failed, memory_order_relaxed);
	st->packets = atomic_load_explicit(&p->packets, memory_order_relaxed);
	st->bytes = atomic_load_explicit(&p->bytes, memory_order_relaxed);
	st->gso_frames = atomic_load_explicit(&p->gso_frames, memory_order_relaxed);
	st->records = atomic_load_explicit(&p->records, memory_order_relaxed);
	st->records_dropped = atomic_load_explicit(&w->records_dropped, memory_order_relaxed);
	st->record_waits = atomic_load_explicit(&w->record_waits, memory_order_relaxed);
	st->active_flows = atomic_load_explicit(&p->active, memory_order_relaxed);
	st->peak_flows = atomic_load_explicit(&p->peak, memory_order_relaxed);
	st->flows_created = atomic_load_explicit(&p->created, memory_order_relaxed);
	st->evicted = atomic_load_explicit(&p->evicted, memory_order_relaxed);
	for (int i = 0; i < 6; i++)
		st->ended[i] = atomic_load_explicit(&p->ended[i], memory_order_relaxed);
	st->ports = atomic_load_explicit(&p->ports, memory_order_relaxed);
	st->loops = atomic_load_explicit(&p->loops, memory_order_relaxed);
}
