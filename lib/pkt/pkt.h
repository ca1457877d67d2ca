/* pkt.h — the packet decoder: one captured frame in, the fields flow
 * metering, filtering and mirroring need out.
 *
 * pkt_decode() walks link layer -> VLAN/QinQ/MPLS/PPPoE -> IPv4/IPv6 (with
 * options, extension-header chains and fragments) -> TCP/UDP/ICMP/ICMPv6/
 * SCTP. Every length is checked against the captured bytes; a frame that
 * cannot be decoded to the end stops at the last good layer with a reason
 * in ->err (counted by the caller, never fatal). The decoder keeps no state
 * and allocates nothing, so it is safe on any thread and on any input. */
#ifndef VT_PKT_H
#define VT_PKT_H

#include <stdbool.h>
#include <stdint.h>

#include "flow/addr.h"

/* Link types we decode: the LINKTYPE_* numbers of pcap/pcapng. */
enum pkt_link {
	PKT_LINK_NULL = 0,        /* BSD loopback, host-order AF header */
	PKT_LINK_ETHERNET = 1,
	PKT_LINK_RAW_BSD = 12,    /* DLT_RAW as some writers store it */
	PKT_LINK_RAW_OPENBSD = 14,
	PKT_LINK_RAW = 101,       /* raw IPv4/IPv6 */
	PKT_LINK_LOOP = 108,      /* OpenBSD loopback, network-order AF */
	PKT_LINK_LINUX_SLL = 113,
	PKT_LINK_IPV4 = 228,
	PKT_LINK_IPV6 = 229,
	PKT_LINK_NFLOG = 239,
	PKT_LINK_LINUX_SLL2 = 276,
};

/* Why decoding stopped early. Order is API (counters are indexed by it). */
enum pkt_err {
	PKT_OK = 0,
	PKT_ERR_LINK_UNSUPPORTED,   /* link type we do not decode */
	PKT_ERR_L2_TRUNC,           /* frame shorter than its link header(s) */
	PKT_ERR_VLAN_DEPTH,         /* more stacked tags/labels than we follow */
	PKT_ERR_IPV4_TRUNC,         /* captured bytes end inside the IPv4 header
				     * (in its options: the fixed part is decoded) */
	PKT_ERR_IPV4_IHL,           /* IHL < 5 */
	PKT_ERR_IPV4_LEN,           /* total length < IHL*4 */
	PKT_ERR_IPV4_VERSION,       /* version field != 4 where IPv4 was expected */
	PKT_ERR_IPV6_TRUNC,
	PKT_ERR_IPV6_VERSION,
	PKT_ERR_IPV6_EXT,           /* extension header chain truncated/malformed */
	PKT_ERR_IPV6_JUMBO,         /* jumbo payload option inconsistent */
	PKT_ERR_L4_TRUNC,           /* transport header not fully captured */
	PKT_ERR_TCP_DOFF,           /* TCP data offset < 5, or beyond the IP packet */
	/* added after the first release of the enum (append only) */
	PKT_ERR_L2_BAD,             /* link header inconsistent (NFLOG TLV length...) */
	PKT_ERR_IP_VERSION,         /* raw-IP link whose version nibble is not 4 or 6 */
	PKT_ERR_IP_WIRELEN,         /* IP length exceeds the frame on the wire:
				     * ip_len clamped to the frame */
	PKT_ERR_UDP_LEN,            /* UDP length < 8 or beyond the IP packet */
	PKT_ERR__COUNT
};
const char *pkt_err_name(enum pkt_err e);   /* "ipv4_ihl", for counters/API */

#define PKT_MAX_VLANS 4      /* 802.1Q/802.1ad tags followed */
#define PKT_MAX_MPLS 16      /* MPLS labels followed */
#define PKT_MAX_L2_LAYERS 24 /* link sub-headers (tags, labels, SNAP, PPPoE...) */
#define PKT_MAX_IPV6_EXT 16  /* IPv6 extension headers followed (and IPv4 AH) */

/* What the decoder found. Fields past the layer where decoding stopped
 * are zero. Offsets are from the start of the captured data. */
struct pkt_info {
	/* ---- L2 ---- */
	bool has_eth;                 /* Ethernet (or SLL with a MAC) present */
	uint8_t src_mac[6], dst_mac[6];
	uint16_t ethertype;           /* after VLAN tags; 0 when not Ethernet */
	uint8_t nvlan;                /* tags seen (802.1Q and 802.1ad) */
	uint16_t vlan[PKT_MAX_VLANS]; /* VIDs, outermost first */
	uint8_t nmpls;                /* MPLS labels skipped */
	/* ---- L3 ---- */
	uint8_t ipver;                /* 4, 6, or 0 when not IP */
	uint16_t l3_off;
	struct vt_addr src, dst;
	uint8_t proto;                /* upper-layer protocol after IPv6 ext headers */
	uint8_t tos;                  /* IPv4 TOS / IPv6 traffic class */
	uint8_t ttl;                  /* TTL / hop limit */
	uint32_t ip_len;              /* bytes of the IP packet on the wire (header
				       * + payload) per the header: IPv4 total length,
				       * IPv6 40 + payload length (or jumbo length) */
	bool ip_len_from_frame;       /* the length field was 0 (TSO / BIG TCP
				       * capture): ip_len is the frame's bytes
				       * from l3_off (wirelen-based if known) */
	bool is_frag;                 /* a fragment: MF set or offset != 0 (an
				       * IPv6 atomic fragment is not one) */
	bool frag_first;              /* ... and it is the first one (offset 0) */
	uint32_t frag_id;
	uint16_t frag_off;            /* in bytes */
	/* ---- L4 (only for unfragmented packets and first fragments) ---- */
	bool has_l4;                  /* ports / ICMP type were decoded */
	uint16_t l4_off;
	uint16_t sport, dport;        /* TCP/UDP/SCTP ports */
	uint8_t tcp_flags;            /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80 */
	uint8_t icmp_type, icmp_code; /* ICMP and ICMPv6 */
	uint16_t payload_off;         /* start of the transport payload (<= caplen) */
	/* ---- status ---- */
	enum pkt_err err;
};

/* pkt_decode() : decodes <caplen> captured bytes of a frame of link type
 * <link>. Returns 0 when an IP header was decoded (even if a later layer
 * failed: see ->err), 1 when the frame is not IP (ARP, LLDP, IPX...; ->err
 * is PKT_OK), or -1 when decoding failed before an IP header (->err says
 * why). Never reads beyond data[caplen - 1].
 *
 * With a return of 0 the L3 fields are valid whatever ->err says, and the
 * L4 fields are valid when ->has_l4 is set (->err may still name a later
 * inconsistency such as PKT_ERR_UDP_LEN or PKT_ERR_TCP_DOFF: the ports and
 * flags were read, the header lies about a length). Meter such a packet
 * and count the reason. docs/decoder.md has the full rules for ip_len. */
int pkt_decode(struct pkt_info *pi, int link, const uint8_t *data, uint32_t caplen);

/* pkt_decode_frame() : pkt_decode() knowing the frame's length on the wire
 * <wirelen> (pcap orig_len; 0 = unknown). Only ip_len uses it: a length
 * field of 0 (TSO) becomes wirelen - l3_off instead of caplen - l3_off, and
 * an IP length beyond the wire frame is clamped (PKT_ERR_IP_WIRELEN). */
int pkt_decode_frame(struct pkt_info *pi, int link, const uint8_t *data,
		     uint32_t caplen, uint32_t wirelen);

/* pkt_decode_l3() : decodes from an IP header (sFlow samples, tunnels):
 * the version nibble picks IPv4 or IPv6 (else -1, PKT_ERR_IP_VERSION). */
int pkt_decode_l3(struct pkt_info *pi, const uint8_t *data, uint32_t caplen);

/* pkt_link_name() : "ethernet", "linux_sll", ... or NULL when <link> is
 * not a link type pkt_decode() knows. */
const char *pkt_link_name(int link);

#endif
