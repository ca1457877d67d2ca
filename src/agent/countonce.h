/* countonce.h — which captured frames the agent counts, so that every packet
 * crossing this host's bridges is metered exactly once (ARCHITECTURE.md
 * decision 2, docs/agent.md "Count once").
 *
 * The agent taps every VM port in both directions, so a frame from one
 * local VM to another is seen twice (leaving the sender's port, entering
 * the bridge: "ingress"; delivered to the receiver's port: "egress"), a
 * flooded frame once per port it is flooded to. The rules:
 *
 *  - ingress (sent BY the VM): always counted, at the sender's port. Scope
 *    local with the peer's port when the destination MAC is a local VM's,
 *    remote otherwise (unknown for group destinations). Its source MAC is
 *    learned as local (the set of local MACs is identity MACs + learned).
 *  - egress (delivered TO the VM) from a local VM (source MAC local):
 *    skipped, the sender's port counted it.
 *  - egress from outside, unicast to this port's VM: counted (remote).
 *  - egress from outside, unicast to ANOTHER local VM's MAC: a flooded
 *    copy (the bridge did not know the MAC yet): skipped.
 *  - egress from outside, to a group address: the bridge flooded it to
 *    every port; the first copy (by kernel timestamp and content) is
 *    counted, the copies on other ports are not.
 *  - egress from outside, unicast to a MAC no local VM has: flooded too, to
 *    a VM that is not here (unknown unicast) — skipped on ports whose VM's
 *    MAC is known; on a port whose VM never spoke and has no identity MAC
 *    it may be for that VM, so it is counted once like a group frame.
 *
 * Thread model: the MAC table is read and written lock-free by the capture
 * threads (64-bit atomic entries, open addressing, tombstones) and edited
 * by the control thread; a full table is replaced by a compacted copy
 * (co_mactab_compact) that the owner publishes and reclaims once every
 * reader moved on. The flood de-duplication table takes a per-bucket spin
 * lock, only for the (rare) frames that need it. Nothing here allocates on
 * the packet path. */
#ifndef VT_AGENT_COUNTONCE_H
#define VT_AGENT_COUNTONCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CO_SLOT_NONE UINT32_MAX      /* = FT_PORT_NONE of the meter */
#define CO_MAX_SLOTS 65534u          /* slot + 1 must fit 16 bits */

/* ---- local MAC table -------------------------------------------------- */

struct co_mactab;

struct co_mactab_stats {
	uint32_t capacity;     /* entries */
	uint32_t live;         /* MACs mapped to a port */
	uint32_t used;         /* live + forgotten (tombstones) */
	uint64_t refused;      /* inserts refused: table at its load bound */
};

/* co_mactab_new() : a table of at least <capacity> entries (rounded up to
 * a power of two, at least 64); it accepts MACs up to 3/4 of that. NULL
 * with errno. */
struct co_mactab *co_mactab_new(uint32_t capacity);
void co_mactab_free(struct co_mactab *t);
/* co_mac_lookup() : the port slot of the local VM owning <mac>, or
 * CO_SLOT_NONE. Lock-free, safe from any thread. */
uint32_t co_mac_lookup(const struct co_mactab *t, const uint8_t mac[6]);
/* co_mac_set() : maps <mac> to <slot>. Returns 1 when the mapping changed,
 * 0 when it already was so, -EINVAL for a group, zero or out-of-range
 * argument, -ENOSPC when the table is at its bound (counted in refused).
 * Lock-free, safe from any thread. */
int co_mac_set(struct co_mactab *t, const uint8_t mac[6], uint32_t slot);
/* co_mac_forget() : <mac> is no longer local; 0 or -ENOENT. */
int co_mac_forget(struct co_mactab *t, const uint8_t mac[6]);
/* co_mac_forget_slot() : forgets every MAC mapped to <slot> (its port went
 * away); returns how many. O(capacity): control path only. */
unsigned co_mac_forget_slot(struct co_mactab *t, uint32_t slot);
/* co_mac_list() : up to <max> MACs mapped to <slot> into <out>; returns
 * how many there are (may exceed <max>). O(capacity). */
unsigned co_mac_list(const struct co_mactab *t, uint32_t slot, uint8_t (*out)[6],
		     unsigned max);
void co_mactab_get_stats(const struct co_mactab *t, struct co_mactab_stats *st);
/* co_mactab_crowded() : true when forgotten entries take so much room that
 * the table should be compacted. */
bool co_mactab_crowded(const struct co_mactab *t);
/* co_mactab_compact() : a new table of the same capacity holding only the
 * live entries of <t> (which is left untouched, and must stay readable
 * until no reader uses it any more). NULL with errno. */
struct co_mactab *co_mactab_compact(const struct co_mactab *t);

/* ---- flood de-duplication --------------------------------------------- */

struct co_dedup;

/* co_dedup_new() : <buckets> (rounded up to a power of two) remembering
 * recent flooded frames for <window_ns>. NULL with errno. */
struct co_dedup *co_dedup_new(uint32_t buckets, uint64_t window_ns);
void co_dedup_free(struct co_dedup *d);
/* co_dedup_first() : whether the frame with content hash <hash> seen at
 * kernel time <ts_ns> on port <slot> is the first copy of its flood (count
 * it) — false when a copy with the same hash was seen on another port
 * within the window. A second frame with the same hash on the SAME port is
 * a new frame, not a copy. Thread-safe. */
bool co_dedup_first(struct co_dedup *d, uint64_t hash, uint64_t ts_ns, uint32_t slot);
/* co_dedup_evicted() : how often a frame took the bucket of another frame
 * still inside its window (a later copy of that one is counted again). */
uint64_t co_dedup_evicted(const struct co_dedup *d);

/* ---- classification ----------------------------------------------------- */

enum co_dir { CO_INGRESS = 0, CO_EGRESS = 1 };   /* = enum flow_dir */

enum co_verdict {
	CO_COUNT = 0,
	CO_SKIP_LOCAL,   /* egress copy of a frame a local VM sent */
	CO_SKIP_FLOOD,   /* egress copy of unicast for another local VM */
	CO_SKIP_COPY,    /* another port's copy of a flooded frame was counted */
	CO_SKIP_RUNT,    /* shorter than an Ethernet header */
	CO_VERDICT__COUNT
};
const char *co_verdict_name(enum co_verdict v);

struct co_frame {
	const uint8_t *data;   /* from the Ethernet header */
	uint32_t caplen;       /* captured bytes */
	uint32_t len;          /* length on the wire (or of the super-frame) */
	uint64_t ts_ns;        /* kernel timestamp */
	uint8_t dir;           /* enum co_dir, relative to the VM */
	bool no_learn;         /* the port is going away: its MACs are not
				* learned (they would outlive it) */
};

struct co_result {
	uint8_t verdict;       /* enum co_verdict */
	uint8_t dir;           /* enum flow_dir */
	uint8_t scope;         /* enum flow_scope */
	bool learned;          /* ingress taught a new source MAC for the port */
	uint32_t peer_slot;    /* the local peer's port (scope local), else CO_SLOT_NONE */
};

/* co_classify() : applies the rules above to frame <f> seen on the port of
 * slot <slot>; <knows_mac> says whether a MAC of that port's VM is known
 * (identity or learned). Ingress frames teach their (unicast) source MAC
 * to <macs>, unless f->no_learn. <dd> may be NULL (then every flooded copy is counted). */
void co_classify(struct co_mactab *macs, struct co_dedup *dd, uint32_t slot, bool knows_mac,
		 const struct co_frame *f, struct co_result *out);

/* co_flood_hash() : the content hash used for flooded copies: the bytes
 * after the Ethernet header and any VLAN tags (ports may tag differently),
 * at most 128 of them, and the frame length without that header. */
uint64_t co_flood_hash(const uint8_t *data, uint32_t caplen, uint32_t len);

static inline bool co_mac_is_group(const uint8_t mac[6])
{
	return mac[0] & 1;
}

#endif
