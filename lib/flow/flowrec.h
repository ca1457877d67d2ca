/* flowrec.h — the normalized flow record that moves through vtap.
 *
 * The agent's meter produces it, the IPFIX / NetFlow v9 encoders write it,
 * the collector's decoders (v5, v9, IPFIX, sFlow) produce it, the store
 * keeps it and queries return it. One struct on both sides of the wire
 * keeps "what we export" and "what we store" the same thing.
 *
 * Units: timestamps are absolute milliseconds since the Unix epoch; bytes
 * count IP bytes (header + payload) as IPFIX octetDeltaCount does; packets
 * count wire packets (a GSO super-frame counts as its segments). */
#ifndef VT_FLOWREC_H
#define VT_FLOWREC_H

#include <stdbool.h>
#include <stdint.h>

#include "flow/addr.h"

#define VT_NAME_MAX 64   /* VM names, interface names (incl. NUL) */
#define VT_IFNAME_MAX 16

/* flowEndReason (IPFIX IE 136) */
enum flow_end {
	FLOW_END_UNKNOWN = 0,
	FLOW_END_IDLE = 1,
	FLOW_END_ACTIVE = 2,
	FLOW_END_EOF = 3,        /* FIN/RST seen */
	FLOW_END_FORCED = 4,     /* port removed, shutdown, end of file */
	FLOW_END_RESOURCES = 5,  /* evicted early by the memory bound */
};

/* flowDirection (IPFIX IE 61), relative to the observation point = the
 * VM's port on the host bridge: ingress = frame sent BY the VM (entering
 * the bridge), egress = frame delivered TO the VM. */
enum flow_dir {
	FLOW_DIR_INGRESS = 0,
	FLOW_DIR_EGRESS = 1,
	FLOW_DIR_UNKNOWN = 0xff,
};

/* Where the other end of a VM's flow is, as the agent saw it. */
enum flow_scope {
	FLOW_SCOPE_UNKNOWN = 0,
	FLOW_SCOPE_LOCAL = 1,    /* both VMs on this host: exported once */
	FLOW_SCOPE_REMOTE = 2,   /* the peer is beyond the uplink (other host or outside) */
};

/* The identity of a VM (virtual station) as IPFIX IEs 347-350 carry it. */
struct vm_ident {
	uint8_t uuid[16];                  /* virtualStationUUID (349); nil = unknown */
	char name[VT_NAME_MAX];            /* virtualStationName (350); "" = unknown */
	char ifname[VT_IFNAME_MAX];        /* virtualStationInterfaceName (348): host port */
	uint32_t ifindex;                  /* host ifindex of the port (347 holds it as 4 bytes) */
};

struct flow_rec {
	/* ---- time ---- */
	uint64_t first_ms, last_ms;        /* flowStart/EndMilliseconds (152/153) */
	/* ---- key ---- */
	struct vt_addr src, dst;           /* IPv4 mapped; see addr.h */
	uint16_t sport, dport;             /* ICMP: sport 0, dport type<<8|code (nfdump) */
	uint8_t proto;
	uint8_t ipver;                     /* 4 or 6 */
	uint16_t vlan;                     /* vlanId (58), 0 = none */
	uint32_t in_if, out_if;            /* ingressInterface (10) / egressInterface (14) */
	/* ---- counters ---- */
	uint64_t bytes, packets;           /* octetDeltaCount (1) / packetDeltaCount (2) */
	uint8_t tcp_flags;                 /* union of flags (6) */
	uint8_t tos;                       /* ipClassOfService (5) */
	uint8_t end_reason;                /* enum flow_end (136) */
	uint8_t direction;                 /* enum flow_dir (61) */
	/* ---- L2 ---- */
	uint8_t src_mac[6], dst_mac[6];    /* sourceMacAddress (56) / destinationMacAddress (80) */
	/* ---- routing (collector side, from other exporters) ---- */
	struct vt_addr nexthop;            /* ipNextHopIPv4/6Address (15/62) */
	uint32_t src_as, dst_as;           /* bgpSource/DestinationAsNumber (16/17) */
	uint8_t src_mask, dst_mask;        /* source/destinationIPv4/6PrefixLength */
	/* ---- virtualization ---- */
	uint8_t scope;                     /* enum flow_scope */
	struct vm_ident vm;                /* the VM whose port observed the flow */
	struct vm_ident peer;              /* the peer VM when it is local (scope LOCAL) */
	/* ---- provenance (collector side) ---- */
	struct vt_addr exporter;           /* source address of the export packet */
	uint32_t obs_domain;               /* observationDomainId */
	uint32_t sampling;                 /* 1-in-N already applied to the counters; 0/1 = none */
	uint8_t exp_version;               /* 5, 9, 10 (IPFIX), 5 + 100 = sFlow v5 */
	/* ---- appended by the collector's decoders (lib/wire/ie_table.h) ---- */
	uint8_t dec_flags;                 /* FLOWREC_F_*: biflow reverse half,
					    * estimated/swapped times, held data */
};

/* flow_rec.dec_flags (set by the collector's decoders; 0 from the meter). */
#define FLOWREC_F_REVERSE        0x01  /* reverse half of an RFC 5103 biflow */
#define FLOWREC_F_TIME_ESTIMATED 0x02  /* a time was missing or relative with no
					* reference: derived from the export time */
#define FLOWREC_F_TIME_SWAPPED   0x04  /* the flow ended before it started: start
					* and end were swapped */
#define FLOWREC_F_LATE           0x08  /* held until its template arrived */

/* Attribution computed by the collector (not carried on the wire). */
struct flow_attr {
	struct vm_ident src_vm, dst_vm;    /* nil uuid = not a known VM */
	uint16_t src_zone, dst_zone;       /* zone index + 1; 0 = "outside"/none */
	uint8_t locality;                  /* enum flow_locality */
	uint8_t dup;                       /* 1: a duplicate observation the
					    * count-once rule did not count
					    * (the store's `dup` column) */
	uint8_t nil_vms;                   /* FLOWATTR_NIL_*: identities known to
					    * be nil (vm_ident_nil), so the
					    * store's writer need not read them;
					    * 0 = not known (not stored) */
};

#define FLOWATTR_NIL_VM   0x01   /* rec.vm */
#define FLOWATTR_NIL_PEER 0x02   /* rec.peer */
#define FLOWATTR_NIL_SRC  0x04   /* attr.src_vm */
#define FLOWATTR_NIL_DST  0x08   /* attr.dst_vm */

/* vm_ident_nil() : nothing at all of an identity is set (what the store
 * keeps as its nil entry). */
static inline bool vm_ident_nil(const struct vm_ident *v)
{
	return !v->name[0] && !v->ifname[0] && !v->ifindex && uuid_is_nil(v->uuid);
}

enum flow_locality {
	FLOW_LOC_OUTSIDE = 0,      /* at most one end is a VM */
	FLOW_LOC_SAME_HOST = 1,    /* VM to VM on one host */
	FLOW_LOC_CROSS_HOST = 2,   /* VM to VM on different hosts */
};

#endif
