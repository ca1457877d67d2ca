/* encap.h — tunnel encapsulations for mirrored frames: VXLAN, L2GRE,
 * ERSPAN type II and type III, TZSP.
 *
 * The encoders sit behind one ops table: the tap's user-space mirror path
 * picks an ops per session and asks it for the header that goes between
 * the outer IP (and UDP) header and the mirrored Ethernet frame; the
 * kernel (raw GRE socket or UDP socket) adds the outer IP header. Every
 * header has a fixed length per type, so the path-MTU arithmetic is exact.
 *
 * The decoders take the same headers apart again. They serve the unit
 * tests (the corpus' real tunnel captures), the fuzz target and the
 * analyzer side of the integration tests. They never read past <len> and
 * report a reason (enum encap_err) for anything they refuse.
 *
 * Standards: VXLAN RFC 7348; GRE RFC 2784 / RFC 2890 (key, sequence);
 * L2GRE = GRE protocol 0x6558 (transparent Ethernet bridging); ERSPAN
 * draft-foschiano-erspan-03 and Linux include/net/erspan.h; TZSP after
 * the Tazmen/MikroTik format as Wireshark dissects it. */
#ifndef VT_ENCAP_H
#define VT_ENCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/be.h"
#include "core/compiler.h"

enum encap_type {
	ENCAP_VXLAN = 0,
	ENCAP_L2GRE,
	ENCAP_ERSPAN2,
	ENCAP_ERSPAN3,
	ENCAP_TZSP,
	ENCAP__COUNT,
	ENCAP_ERSPAN1 = ENCAP__COUNT, /* decode only: GRE 0x88BE without a header */
};

/* Direction of a mirrored frame relative to the VM (see flowrec.h: the
 * observation point is the VM's port; "from VM" is ingress on the port). */
enum encap_dir {
	ENCAP_DIR_FROM_VM = 0,
	ENCAP_DIR_TO_VM = 1,
};

#define VXLAN_UDP_PORT 4789
#define TZSP_UDP_PORT 37008
#define GRE_PROTO_TEB 0x6558      /* transparent Ethernet bridging */
#define GRE_PROTO_ERSPAN2 0x88BE  /* also type I (no ERSPAN header) */
#define GRE_PROTO_ERSPAN3 0x22EB

/* GRE flag bits (first 16 bits of the header, RFC 2784/2890). */
#define GRE_F_CSUM 0x8000
#define GRE_F_KEY 0x2000
#define GRE_F_SEQ 0x1000

/* ERSPAN III timestamp granularity (gra field). */
#define ERSPAN_GRA_100US 0
#define ERSPAN_GRA_100NS 1
#define ERSPAN_GRA_IEEE1588 2

/* TZSP tags we write (and decode by name). */
#define TZSP_TAG_PAD 0
#define TZSP_TAG_END 1
#define TZSP_TAG_PACKET_COUNT 40   /* 4 bytes */
#define TZSP_TAG_ORIG_LENGTH 41    /* 2 bytes: frame length before slicing */
#define TZSP_TYPE_RX 0             /* "received tag list" */
#define TZSP_TYPE_TX 1             /* "packet for transmit" */
#define TZSP_ENCAP_ETHERNET 1

/* What an encoder needs to know about one mirrored copy. */
struct encap_meta {
	uint32_t id;          /* VNI (24 bits) / GRE key (32) / ERSPAN session id (10) */
	uint32_t seq;         /* GRE sequence number; TZSP packet count */
	uint32_t orig_len;    /* frame length before slicing */
	uint64_t ts_ns;       /* wall-clock time the frame was seen, ns since the epoch */
	uint32_t index;       /* ERSPAN II port index (20 bits) */
	uint8_t hw_id;        /* ERSPAN III hardware id (6 bits) */
	uint16_t vlan;        /* ERSPAN VLAN field: VID of the mirrored frame, 0 = none */
	uint8_t cos;          /* ERSPAN class of service (3 bits) */
	uint8_t dir;          /* enum encap_dir */
	bool truncated;       /* the copy was sliced */
};

struct encap_ops {
	const char *name;     /* "vxlan", "gre", "erspan2", "erspan3", "tzsp" */
	enum encap_type type;
	uint8_t ip_proto;     /* 17 (UDP) or 47 (GRE): what carries the header */
	uint16_t udp_port;    /* default destination port of UDP encapsulations */
	uint16_t hdr_len;     /* bytes encode() writes, after outer IP (+ UDP) */
	bool trunc_mark;      /* a sliced copy is marked in-band (ERSPAN T bit,
			       * TZSP original length); VXLAN and GRE have none */
	/* encode() : appends the header for one copy to <w>; 0, or -ENOSPC
	 * when <w> has less than hdr_len bytes of room (nothing is written). */
	int (*encode)(struct vt_wr *w, const struct encap_meta *m);
};

/* encap_ops_get() : the ops of <t> (< ENCAP__COUNT), or NULL. */
const struct encap_ops *encap_ops_get(enum encap_type t);
/* encap_ops_by_name() : "vxlan", "gre", "erspan2", "erspan3", "tzsp"; NULL
 * when unknown. */
const struct encap_ops *encap_ops_by_name(const char *name);
/* encap_overhead() : bytes a copy grows by on the wire: outer IPv4 (20) or
 * IPv6 (40) header, UDP (8) when UDP-carried, and the tunnel header. A copy
 * of an L2 frame of F bytes needs a path MTU of F + encap_overhead(). */
unsigned encap_overhead(const struct encap_ops *ops, bool ipv6);

/* ---- decoders ------------------------------------------------------- */

/* Why a decoder refused its input. Order is API (counters index it). */
enum encap_err {
	ENCAP_OK = 0,
	ENCAP_ERR_TRUNC,           /* input ends inside a header */
	ENCAP_ERR_VXLAN_FLAGS,     /* VXLAN I flag not set */
	ENCAP_ERR_GRE_VERSION,     /* GRE version != 0 (PPTP's enhanced GRE) */
	ENCAP_ERR_GRE_ROUTING,     /* GRE routing bit (RFC 1701) present */
	ENCAP_ERR_GRE_PROTO,       /* GRE protocol that carries no mirrored frame */
	ENCAP_ERR_ERSPAN_VERSION,  /* ERSPAN version does not match the GRE type */
	ENCAP_ERR_TZSP_VERSION,    /* TZSP version != 1 */
	ENCAP_ERR_TZSP_TYPE,       /* TZSP control message (no frame) */
	ENCAP_ERR_TZSP_ENCAP,      /* TZSP encapsulation other than Ethernet */
	ENCAP_ERR_TZSP_TAGS,       /* tag list runs past the data or has no END */
	ENCAP_ERR_OUTER_LINK,      /* outer link type not Ethernet or raw IP */
	ENCAP_ERR_OUTER_IP,        /* outer IP header malformed */
	ENCAP_ERR_OUTER_FRAG,      /* outer IP packet is a fragment */
	ENCAP_ERR_NOT_TUNNEL,      /* not GRE, nor UDP to a tunnel port */
	ENCAP_ERR__COUNT
};
const char *encap_err_name(enum encap_err e);

/* One decoded tunnel packet. <inner> points into the caller's buffer. */
struct encap_info {
	enum encap_type type;
	enum encap_err err;
	uint32_t id;               /* VNI / GRE key / ERSPAN session id */
	bool has_id;
	uint32_t seq;              /* GRE sequence number / TZSP packet count */
	bool has_seq;
	uint8_t dir;               /* ERSPAN III D bit / TZSP type (enum encap_dir) */
	bool has_dir;
	bool truncated;            /* ERSPAN T bit, or TZSP original length > frame */
	uint32_t orig_len;         /* TZSP original length tag */
	bool has_orig_len;
	uint16_t gre_flags, gre_proto;
	/* ERSPAN fields */
	uint8_t version;           /* ERSPAN ver: 1 = type II, 2 = type III */
	uint16_t vlan;
	uint8_t cos, en_bso, gra, ft, hw_id;
	uint32_t index;            /* type II port index */
	uint32_t timestamp;        /* type III */
	uint16_t sgt;
	bool p_bit, o_bit;
	uint8_t platform_id;       /* type III platform sub-header (o_bit) */
	uint64_t platform;         /* its remaining 58 bits, raw */
	/* outer headers (encap_decode_frame only) */
	uint8_t outer_ipver;
	bool outer_df;
	uint16_t outer_sport, outer_dport;
	uint32_t outer_ip_len;     /* outer IP packet length per its header */
	/* payload */
	const uint8_t *inner;      /* the mirrored frame (Ethernet) */
	size_t inner_len;
};

/* Each decoder starts at its own header: encap_decode_vxlan() at the 8-byte
 * VXLAN header, encap_decode_gre() at the GRE header (L2GRE, ERSPAN I, II,
 * III), encap_decode_tzsp() at the TZSP header. 0 on success, -1 with
 * ->err set otherwise. */
int encap_decode_vxlan(const uint8_t *p, size_t len, struct encap_info *ei);
int encap_decode_gre(const uint8_t *p, size_t len, struct encap_info *ei);
int encap_decode_tzsp(const uint8_t *p, size_t len, struct encap_info *ei);

/* UDP ports the frame decoder treats as tunnels. */
struct encap_ports {
	uint16_t vxlan;            /* 0 = VXLAN_UDP_PORT */
	uint16_t tzsp;             /* 0 = TZSP_UDP_PORT */
};

/* encap_decode_frame() : from a captured outer frame of pcap link type
 * <link> (1 Ethernet with up to 2 VLAN tags, 101 raw IPv4/IPv6): outer IP
 * (IPv6 extension headers skipped), then GRE or UDP to a tunnel port.
 * <ports> may be NULL for the defaults. 0 or -1 with ->err. */
int encap_decode_frame(const uint8_t *p, size_t len, int link,
		       const struct encap_ports *ports, struct encap_info *ei);

#endif
