/* worker.h — the agent's capture threads.
 *
 * A few threads (at most one per core) share the VM ports; each owns the
 * capture handles of its ports and its own meter (a flow-table shard) and
 * runs the per-frame path with no lock: count-once classification against
 * the lock-free MAC table, decode, meter. Finished flow records go to the
 * control thread through a bounded single-producer/single-consumer ring
 * per worker (the control thread owns the exporter); if the control
 * thread falls behind, the worker waits a little (its kernel rings absorb
 * the burst, and what they cannot hold is counted as drops), then drops
 * the record and counts it — never silently.
 *
 * The control thread talks to a worker through a small command queue
 * (port added, port removed, identity of a slot changed, stop) and gets
 * back removals done and MACs learned. Every port's counters live in its
 * struct worker_port, written by the owning worker only (relaxed atomics)
 * and read by the control thread for the status API.
 *
 * The MAC table is published through struct worker_shared: workers load
 * the current table once per loop turn and announce which generation they
 * use (or that they sleep), so the control thread can replace a crowded
 * table and free the old one once no worker can still read it. */
#ifndef VT_AGENT_WORKER_H
#define VT_AGENT_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/capture.h"
#include "agent/countonce.h"
#include "core/err.h"
#include "flow/flowrec.h"
#include "flow/meter.h"

/* Counters of one port. Written by its worker, read by anyone. */
struct port_ctr {
	_Atomic uint64_t frames_in;        /* captured, sent by the VM */
	_Atomic uint64_t frames_out;       /* captured, delivered to the VM */
	_Atomic uint64_t counted;          /* frames metered here (count once) */
	_Atomic uint64_t packets;          /* wire packets metered (GSO split) */
	_Atomic uint64_t bytes;            /* IP bytes metered */
	_Atomic uint64_t gso_frames;       /* super-frames among them */
	_Atomic uint64_t skipped[CO_VERDICT__COUNT];  /* by count-once verdict */
	_Atomic uint64_t not_ip;           /* counted frames that are not IP */
	_Atomic uint64_t bad;              /* counted frames the decoder refused */
	_Atomic uint64_t kernel_received;  /* frames the kernel put in the ring */
	_Atomic uint64_t kernel_drops;     /* frames the kernel dropped: ring full */
	_Atomic uint64_t first_ms;         /* wall time of the first frame, 0 none */
	_Atomic uint64_t last_ms;          /* ... of the latest */
};

/* A tapped port, shared between the control thread (which allocates it,
 * opens the capture handle and frees it after the removal is done) and
 * the worker that captures on it. */
struct worker_port {
	uint32_t slot;
	uint32_t ifindex;
	char ifname[16];
	const struct cap_ops *ops;
	struct cap_port *cap;              /* owned by the worker once added */
	struct port_ctr ctr;
	_Atomic bool vm_mac_known;         /* a MAC of its VM is known (identity or
					    * learned): frames for other MACs are floods */
	_Atomic bool removing;             /* worker_del_port() was called: frames
					    * still read are metered but teach no MAC */
	unsigned worker;                   /* index of the owning worker */
	void *owner;                       /* the control thread's */
};

/* What the workers share with the control thread. */
struct worker_shared {
	_Atomic(struct co_mactab *) macs;  /* the current local MAC table */
	_Atomic uint64_t mac_gen;          /* bumped after each replacement */
	struct co_dedup *dedup;            /* flooded-copy de-duplication */
	int notify_fd;                     /* eventfd: records or news for the control thread */
};

struct worker_cfg {
	unsigned index;
	struct meter_cfg meter;            /* this worker's shard */
	uint32_t max_ports;                /* slot bound (meter port table) */
	uint32_t ring_records;             /* records queued to the control thread */
	uint32_t read_budget;              /* ring blocks per port per turn */
	uint64_t tick_ms;                  /* expiry sweep / stats period */
};

struct worker_stats {
	uint64_t frames, ip_frames, non_ip, failed, packets, bytes, gso_frames;
	uint64_t records;                  /* flow records produced */
	uint64_t records_dropped;          /* ... lost: the control thread fell behind */
	uint64_t record_waits;             /* times the worker had to wait for room */
	uint64_t active_flows, peak_flows, flows_created, evicted;
	uint64_t ended[6];                 /* by flowEndReason */
	uint32_t ports;
	uint64_t loops;
};

struct worker;

/* worker_new() : a stopped worker. NULL with <err> set. */
struct worker *worker_new(const struct worker_cfg *cfg, struct worker_shared *sh,
			  struct vt_err *err);
/* worker_start() : starts its thread. */
int worker_start(struct worker *w, struct vt_err *err);
/* worker_stop() : asks the worker to end: it reads what its rings hold,
 * exports every flow (reason "forced end") into its record ring (waiting
 * for room: keep draining with worker_drain() until worker_exited()),
 * hands back its ports as removed and exits. Does not wait. */
void worker_stop(struct worker *w);
bool worker_exited(const struct worker *w);
/* worker_join() : waits for the thread (after worker_exited()). */
void worker_join(struct worker *w);
/* worker_free() : joins if needed and frees. Accepts NULL. */
void worker_free(struct worker *w);

/* Commands (control thread). */
int worker_add_port(struct worker *w, struct worker_port *wp);
/* worker_del_port() : the worker reads what is left in the port's ring,
 * exports the port's flows at once (flowEndReason 4), closes the handle
 * and hands <wp> back through worker_take_removed(). From this call on,
 * frames of the port no longer teach MACs, and the MACs mapped to its slot
 * are forgotten (here, once more after any the worker learned meanwhile):
 * a MAC left mapped to a dead slot would make later frames from that VM,
 * moved elsewhere, look like local copies and go uncounted. */
int worker_del_port(struct worker *w, struct worker_port *wp);
/* worker_set_ident() : the identity exported for flows of <slot> (also as
 * the peer of local flows, so every worker gets every slot). */
int worker_set_ident(struct worker *w, uint32_t slot, const struct vm_ident *vm);

/* Results (control thread). */
typedef void (*worker_rec_fn)(void *arg, const struct flow_rec *r);
/* worker_drain() : hands queued flow records to <fn>; returns how many. */
size_t worker_drain(struct worker *w, worker_rec_fn fn, void *arg);
/* worker_take_removed() : a port whose removal is done (its handle is
 * closed), or NULL. The caller frees it. */
struct worker_port *worker_take_removed(struct worker *w);
/* worker_take_learned() : slots that learned a new MAC since the last
 * call (at most <max>); returns how many. */
unsigned worker_take_learned(struct worker *w, uint32_t *slots, unsigned max);
/* worker_quiescent() : whether the worker no longer uses MAC tables of a
 * generation below <gen> (it moved to <gen> or sleeps). */
bool worker_quiescent(const struct worker *w, uint64_t gen);
void worker_get_stats(const struct worker *w, struct worker_stats *st);

#endif
