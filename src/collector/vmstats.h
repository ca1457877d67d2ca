/* vmstats.h — per-VM statistics maintained as flows arrive: traffic in
 * and out, a time series of rates, the L4 breakdown, peers, the split by
 * locality (same host, cross host, outside) and port profiling (services a
 * VM offers and consumes).
 *
 * The collector's writer thread adds every stored row (vmstats_add); the
 * count-once decision has been made by then (a duplicate observation is
 * only counted in the totals' duplicate counters). The API thread reads
 * (vmstats_json_*, vmstats_metrics). One mutex guards everything; adds
 * take it once per batch.
 *
 * Definitions (docs/collector.md has the full text):
 *  - in/out: a VM's "out" traffic is what it sent (it is the flow's
 *    source), "in" what it received (destination).
 *  - time series: fixed buckets of series_interval; a flow's bytes and
 *    packets are spread over the buckets its [first, last] interval
 *    overlaps, in proportion to the overlap, so sums stay exact.
 *  - server side of a flow (vmstats_role): TCP with SYN and without ACK:
 *    the source opened the connection (client); a connection whose
 *    opening was seen is remembered, so the answers and later records
 *    follow it; otherwise the port heuristic: of two ports, the one below
 *    the ephemeral range (32768) is the server's, else the lower one;
 *    equal ports decide nothing. Only TCP, UDP and SCTP have services.
 *  - a service is "answered" when the server sent something back: UDP any
 *    record from the server; TCP a record from the server that carries
 *    SYN, or does not end in a bare RST (a refused port answers RST).
 *  - every table is bounded (VMs, ports, peers, services per VM);
 *    entries beyond a bound are added to an "other" entry and counted. */
#ifndef VT_COLLECTOR_VMSTATS_H
#define VT_COLLECTOR_VMSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"
#include "flow/flowrec.h"

struct prom;
struct zones;

struct vmstats_conf {
	uint64_t max_vms;
	uint64_t series_interval_ms;
	uint64_t series_points;
	uint64_t max_ports;          /* L4 breakdown entries per VM */
	uint64_t max_peers;          /* per VM */
	uint64_t max_services;       /* offered, and consumed, per VM */
	uint64_t role_entries;       /* connections whose opening is remembered */
	uint64_t role_ttl_ms;
};

void vmstats_conf_defaults(struct vmstats_conf *c);

enum vm_role { ROLE_UNKNOWN = 0, ROLE_SRC_SERVER = 1, ROLE_DST_SERVER = 2 };
enum role_by { ROLE_BY_NONE = 0, ROLE_BY_SYN, ROLE_BY_CONN, ROLE_BY_PORT };

#define VMS_EPHEMERAL_MIN 32768

struct vmstats;

/* vmstats_new() : NULL with errno (EINVAL for a zero bound). */
struct vmstats *vmstats_new(const struct vmstats_conf *c);
void vmstats_free(struct vmstats *vs);

/* What the writer knows about one row besides the row itself. */
struct vmstats_hint {
	bool primary;                /* counts (enrich_is_primary) */
	const char *src_host, *dst_host;   /* where each VM runs; NULL unknown */
};

/* vmstats_begin() / vmstats_end() : hold the lock around a batch of adds. */
void vmstats_begin(struct vmstats *vs);
void vmstats_end(struct vmstats *vs);
/* vmstats_add() : accounts one stored row (<r> as received, <a> its
 * attribution) at wall time <now_ms> (which bounds how far in the future
 * a flow's times may lie). Call between begin and end. */
void vmstats_add(struct vmstats *vs, const struct flow_rec *r, const struct flow_attr *a,
		 const struct vmstats_hint *h, uint64_t now_ms);

/* Rows with no VM at either end (most of plain NetFlow), summed by the
 * caller over a batch (vmstats_plain_row) and added by
 * vmstats_add_plain(): the totals vmstats_add() of each would give,
 * without a call and the identity checks per row. */
struct vmstats_plain {
	uint64_t flows[3], bytes[3], packets[3];   /* by enum flow_locality */
};

/* vmstats_loc() : the row's enum flow_locality, an unknown one as outside. */
static inline unsigned vmstats_loc(const struct flow_attr *a)
{
	return a->locality < 3 ? a->locality : FLOW_LOC_OUTSIDE;
}

static inline void vmstats_plain_row(struct vmstats_plain *p, const struct flow_rec *r,
				     const struct flow_attr *a)
{
	unsigned loc = vmstats_loc(a);

	p->flows[loc]++;
	p->bytes[loc] += r->bytes;
	p->packets[loc] += r->packets;
}

/* vmstats_add_plain() : adds <p>'s rows to the totals (between begin and
 * end). */
void vmstats_add_plain(struct vmstats *vs, const struct vmstats_plain *p);

/* vmstats_role() : the server side of <r> (see above); <by> tells why.
 * Records the opening of TCP connections (takes the lock). */
enum vm_role vmstats_role(struct vmstats *vs, const struct flow_rec *r, enum role_by *by);

struct vmstats_totals {
	uint64_t rows;               /* rows seen */
	uint64_t flows, packets, bytes;              /* primary rows */
	uint64_t loc_flows[3], loc_bytes[3], loc_packets[3];   /* by enum flow_locality */
	uint64_t dup_flows, dup_bytes, dup_packets;  /* observations not counted again */
	uint64_t vm_flows;           /* primary rows with a VM at either end */
	uint64_t vms;                /* VMs tracked */
	uint64_t vms_untracked;      /* VM sides not tracked: max_vms reached */
	uint64_t ports_other, peers_other, services_other;   /* table overflows */
	uint64_t series_late;        /* flows older than the series window */
	uint64_t clock_skew;         /* flows ending in the future, clamped */
	uint64_t roles[4];           /* rows by enum role_by */
	uint64_t role_entries, role_evicted;
};

void vmstats_totals(struct vmstats *vs, struct vmstats_totals *t);

/* Listing options. */
enum vms_sort { VMS_SORT_BYTES = 0, VMS_SORT_NAME };

/* vmstats_json_list() : an array under <key> of every VM (totals, rates
 * over the last <rate_window_ms>, locality split, services offered). */
void vmstats_json_list(struct vmstats *vs, struct jw *w, const char *key,
		       const struct zones *zones, uint64_t now_ms, uint64_t rate_window_ms,
		       enum vms_sort sort, uint64_t limit);
/* vmstats_json_vm() : the detail of the VM named <id> (name or UUID) as an
 * object under <key>: everything of the list plus the time series, the L4
 * table, peers, services offered and consumed. -ENOENT when unknown. */
int vmstats_json_vm(struct vmstats *vs, struct jw *w, const char *key, const char *id,
		    const struct zones *zones, uint64_t now_ms, uint64_t rate_window_ms);
/* vmstats_json_totals() : the totals as an object under <key>. */
void vmstats_json_totals(struct vmstats *vs, struct jw *w, const char *key);
/* vmstats_metrics() : vtap_vm_* families (per VM bytes/packets/flows by
 * direction) and the totals. */
int vmstats_metrics(struct vmstats *vs, struct prom *p);

#endif
