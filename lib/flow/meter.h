/* meter.h — packet accounting: decoded packets in, flow records out.
 *
 * A meter owns one flow table (flowtable.h) and belongs to one thread. For
 * every frame the capture side passes the decoded fields (struct pkt_info)
 * and what it knows about where the frame was seen (struct meter_obs: the
 * observation port, the direction relative to the VM, whether the other
 * end is a VM on this host and which port it is on, GSO segmentation).
 * The meter builds the flow key, counts wire packets and IP bytes, applies
 * the count-once rule (ARCHITECTURE.md decision 2) and, when a flow ends,
 * turns it into a struct flow_rec carrying the VM identities looked up in
 * a port table, and hands it to the caller's emit function.
 *
 * Key rules (see docs/meter.md):
 *  - observation port, VLAN = VID of the outermost tag (0 untagged),
 *    source and destination address, IP protocol (after IPv6 extension
 *    headers), ports for TCP/UDP/SCTP, for ICMP/ICMPv6 sport 0 and
 *    dport type<<8|code, and 0/0 for non-first fragments and for every
 *    other protocol (and when the transport header was not captured).
 *  - bytes are IP bytes from the IP header (pkt_info.ip_len), packets are
 *    wire packets: a GSO super-frame counts as its segments, each with its
 *    own IP and transport header.
 *  - count once: a frame delivered TO a VM (egress) whose sender is a VM
 *    on this host (scope local) was already counted at the sender's port:
 *    it is skipped and counted in local_dup. */
#ifndef VT_METER_H
#define VT_METER_H

#include <stdbool.h>
#include <stdint.h>

#include "flow/flowrec.h"
#include "flow/flowtable.h"
#include "pkt/pkt.h"

/* ---- port table: observation port -> VM identity ------------------------ */

struct meter_ports;

/* meter_ports_new() : an empty table for port ids < <max_ports>. NULL with
 * errno on failure. */
struct meter_ports *meter_ports_new(uint32_t max_ports);
void meter_ports_free(struct meter_ports *p);
/* meter_ports_set() : the identity of <port> (copied) and, when <mac> is
 * not NULL, the VM's MAC so meter_ports_by_mac() finds the port. -ERANGE
 * past max_ports, -EEXIST when another port has that MAC. Not safe while
 * a meter using the table runs on another thread: the agent flushes a
 * port's flows, then changes it. */
int meter_ports_set(struct meter_ports *p, uint32_t port, const struct vm_ident *vm,
		    const uint8_t mac[6]);
/* meter_ports_del() : forgets <port>; 0 or -ENOENT. */
int meter_ports_del(struct meter_ports *p, uint32_t port);
/* meter_ports_vm() : the identity of <port> or NULL when unknown. The
 * pointer is valid until the port is changed. */
const struct vm_ident *meter_ports_vm(const struct meter_ports *p, uint32_t port);
/* meter_ports_by_mac() : the port whose VM has <mac>, or FT_PORT_NONE. */
uint32_t meter_ports_by_mac(const struct meter_ports *p, const uint8_t mac[6]);
uint32_t meter_ports_count(const struct meter_ports *p);

/* ---- the meter ----------------------------------------------------------- */

struct meter_cfg {
	uint64_t active_ms;      /* default 60 s */
	uint64_t idle_ms;        /* default 15 s */
	uint64_t fin_ms;         /* silence after FIN/RST before export; default 0 */
	uint32_t max_flows;      /* memory bound */
	uint32_t sweep_budget;   /* flows exported per sweep call (0 = 1024) */
	uint64_t seed;           /* hash seed; 0 = random */
};

/* What the capture side knows about one frame. */
struct meter_obs {
	uint32_t port;           /* observation port id */
	uint8_t dir;             /* enum flow_dir */
	uint8_t scope;           /* enum flow_scope */
	uint32_t peer_port;      /* port of the local peer VM, FT_PORT_NONE otherwise */
	uint32_t gso_size;       /* virtio-net gso_size; 0 = not a GSO super-frame */
	uint32_t gso_segs;       /* segments if known (0 = derive from gso_size) */
};

struct meter_stats {
	uint64_t frames;                      /* every frame given to meter_packet() */
	uint64_t non_ip;                      /* decoded fine, not IP (ARP, LLDP, ...) */
	uint64_t ip_frames;                   /* frames with an IP header, metered */
	uint64_t packets, bytes;              /* wire packets / IP bytes metered */
	uint64_t gso_frames;                  /* super-frames split into segments */
	uint64_t local_dup;                   /* count-once skips (frames) */
	uint64_t errors[PKT_ERR__COUNT];      /* frames by decode error (index 0 unused) */
	uint64_t failed;                      /* frames that failed before an IP header */
	uint64_t records;                     /* flow records emitted */
};

typedef void (*meter_emit_fn)(void *arg, const struct flow_rec *r);

struct meter;

/* meter_new() : a meter using <ports> (borrowed, may be NULL; must outlive
 * the meter) that calls <emit> for each finished flow. NULL with errno. */
struct meter *meter_new(const struct meter_cfg *cfg, const struct meter_ports *ports,
			meter_emit_fn emit, void *arg);
/* meter_free() : frees without exporting; call meter_flush() first. */
void meter_free(struct meter *m);

/* meter_packet() : accounts one decoded frame seen at <ts_ms> (the clock:
 * packet time offline, wall time live). <obs> may be NULL (port 0,
 * direction unknown, one packet per frame). Runs a bounded expiry sweep
 * when one is due. Returns 0 when metered, 1 when not (not IP, failed
 * decoding, count-once skip). */
int meter_packet(struct meter *m, const struct pkt_info *pi, uint64_t ts_ms,
		 const struct meter_obs *obs);
/* One frame of a batch for meter_packets(). */
struct meter_pkt {
	const struct pkt_info *pi;
	uint64_t ts_ms;
	const struct meter_obs *obs;   /* may be NULL, as for meter_packet() */
};
#define METER_BATCH_MAX 64

/* meter_packets() : meter_packet() for <n> frames, in order, with the
 * flow-table lookups of each group of METER_BATCH_MAX overlapped (the
 * packet path is bound by cache misses). Returns the frames metered. */
size_t meter_packets(struct meter *m, const struct meter_pkt *p, size_t n);
/* meter_tick() : expiry at <now_ms> without a packet (live timer). Bounded
 * by sweep_budget; returns the number of flows exported. */
uint32_t meter_tick(struct meter *m, uint64_t now_ms);
/* meter_flush() : exports every flow with <reason> (end of file: forced). */
void meter_flush(struct meter *m, enum flow_end reason);
/* meter_flush_port() : exports the flows of a port that went away. */
void meter_flush_port(struct meter *m, uint32_t port);

/* meter_gso_split() : wire packets and IP bytes of a super-frame of
 * <ip_len> IP bytes whose IP + transport headers take <hdr_len> bytes,
 * cut into segments of <gso_size> payload bytes (or <segs> segments when
 * non-zero). Exposed for tests and for the agent's drop accounting. */
void meter_gso_split(uint32_t ip_len, uint32_t hdr_len, uint32_t gso_size, uint32_t segs,
		     uint64_t *packets, uint64_t *bytes);

const struct meter_stats *meter_stats(const struct meter *m);
const struct ft_stats *meter_ft_stats(const struct meter *m);
uint64_t meter_now(const struct meter *m);

#endif
