/* flowtable.h — the flow cache of the meter: one table per metering thread.
 *
 * An open-addressing hash index (8-byte slots: 32-bit hash + entry index,
 * linear probing, backward-shift deletion) over entries kept in fixed-size
 * chunks that never move, so a lookup costs one index probe and one entry
 * compare and a packet never allocates. Expiry is a timing wheel: every
 * flow sits in the slot of the time it may next expire (idle, active or
 * FIN/RST linger deadline); packets only move counters, the sweep
 * re-files flows whose deadline moved (lazy rescheduling) and exports the
 * others, a bounded number per call. When the table holds max_flows flows
 * the flow closest to expiry is exported early with flowEndReason 5
 * ("lack of resources") and counted: a flow is never dropped silently.
 *
 * Not thread-safe by design: the agent shards ports over threads and gives
 * each thread its own table (no lock on the packet path). Time is whatever
 * clock the caller passes (packet time offline, wall time live); the
 * table's clock only moves forward. */
#ifndef VT_FLOWTABLE_H
#define VT_FLOWTABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/hash.h"
#include "flow/addr.h"
#include "flow/flowrec.h"

/* The flow key (44 bytes, no padding: hashed and compared as bytes). */
struct ft_key {
	struct vt_addr src, dst;
	uint32_t port;          /* observation port id (pcapng interface id offline) */
	uint16_t sport, dport;  /* ICMP: 0 and type<<8|code; non-first fragments: 0, 0 */
	uint16_t vlan;          /* VID of the outermost tag, 0 = untagged */
	uint8_t proto;
	uint8_t zero;           /* must be 0 */
};

/* One flow. Counters are updated in place by the caller of ft_get(). */
struct ft_flow {
	struct ft_key key;
	uint32_t hash;               /* ft_hash(key), kept for rehashing */
	uint64_t first_ms, last_ms;
	uint64_t bytes, packets;
	uint32_t peer_port;          /* FT_PORT_NONE unless scope is local */
	uint32_t next, prev;         /* wheel links (entry indices, 0 = none) */
	uint8_t tcp_flags, tos;
	uint8_t dir, scope;          /* enum flow_dir / enum flow_scope of the first packet */
	uint8_t src_mac[6], dst_mac[6];
	uint8_t closing;             /* FIN or RST seen: ends after fin_ms idle */
	uint8_t ipver;               /* 4 or 6 */
	uint16_t wpos;               /* wheel position it is filed in */
};

#define FT_PORT_NONE UINT32_MAX

struct ft_cfg {
	uint64_t active_ms;   /* export a long flow after this much time (0 = never) */
	uint64_t idle_ms;     /* ... or after this much silence */
	uint64_t fin_ms;      /* ... or this much silence after FIN/RST (0 = at once) */
	uint32_t max_flows;   /* memory bound (>= 1) */
	uint64_t seed;        /* hash seed; 0 = a random per-process seed */
};

struct ft_stats {
	uint64_t created;
	uint64_t ended[6];        /* by enum flow_end (1..5) */
	uint64_t evicted;         /* = ended[FLOW_END_RESOURCES] */
	uint32_t active;
	uint32_t peak_active;
	uint32_t index_slots;     /* current hash index capacity */
	uint64_t rehashes;
	uint64_t bytes_alloc;     /* entry chunks + index + wheel */
};

/* Called for every flow leaving the table; <f> is valid only during the
 * call (the entry is reused afterwards). */
typedef void (*ft_emit_fn)(void *arg, const struct ft_flow *f, enum flow_end reason);

struct flowtable;

/* ft_new() : an empty table. <emit> receives every exported flow. NULL with
 * errno (EINVAL for a bad config, ENOMEM). */
struct flowtable *ft_new(const struct ft_cfg *cfg, ft_emit_fn emit, void *arg);
/* ft_free() : frees the table WITHOUT exporting (call ft_flush first). */
void ft_free(struct flowtable *ft);

/* ft_hash() : the hash of <k> for ft_get(); the caller may compute it
 * ahead (e.g. while prefetching). ft_hash_seeded() is the same with the
 * table's seed (ft_seed()) cached by the caller, inlined on the packet
 * path. */
uint32_t ft_hash(const struct flowtable *ft, const struct ft_key *k);
uint64_t ft_seed(const struct flowtable *ft);
static inline uint32_t ft_hash_seeded(const struct ft_key *k, uint64_t seed)
{
	return (uint32_t)vt_hash(k, sizeof(*k), seed);
}

/* ft_get() : the flow for <k>, created at <ts_ms> (zero counters, first_ms
 * = last_ms = ts_ms, *created = true) when absent — exporting the flow
 * closest to expiry first if the table is full. Advances the table clock
 * to <ts_ms>. Never NULL. The pointer is valid until the next call into
 * the table. */
struct ft_flow *ft_get(struct flowtable *ft, const struct ft_key *k, uint32_t hash,
		       uint64_t ts_ms, bool *created);
/* ft_prefetch_slots() / ft_prefetch_entries() : memory hints for a batch
 * of upcoming lookups (the packet path is bound by cache misses): first
 * the index slots of <n> hashes, then, once those have arrived, the
 * entries they point to. Only hints: nothing changes. */
void ft_prefetch_slots(const struct flowtable *ft, const uint32_t *hash, size_t n);
void ft_prefetch_entries(const struct flowtable *ft, const uint32_t *hash, size_t n);
/* ft_close() : FIN/RST seen: the flow ends after fin_ms without packets
 * (at the next ft_expire() when fin_ms is 0). */
void ft_close(struct flowtable *ft, struct ft_flow *f);
/* ft_expire() : advances the clock to <now_ms> and exports flows whose
 * deadline passed, at most <budget> per call (0 = no bound). Returns the
 * number exported; call again when it returns <budget>. */
uint32_t ft_expire(struct flowtable *ft, uint64_t now_ms, uint32_t budget);
/* ft_sweep_due() : whether ft_expire() would have work at <now_ms>.
 * ft_sweep_at() : the clock value from which it would (0 before the first
 * packet); it changes only in ft_expire(), so the packet path can cache
 * it and compare inline. */
bool ft_sweep_due(const struct flowtable *ft, uint64_t now_ms);
uint64_t ft_sweep_at(const struct flowtable *ft);
/* ft_flush() : exports every flow with <reason> (end of file, shutdown). */
void ft_flush(struct flowtable *ft, enum flow_end reason);
/* ft_flush_port() : exports every flow observed on <port> with <reason>
 * (a port that went away). O(table size). */
void ft_flush_port(struct flowtable *ft, uint32_t port, enum flow_end reason);
uint64_t ft_now(const struct flowtable *ft);
const struct ft_stats *ft_stats(const struct flowtable *ft);

#endif
