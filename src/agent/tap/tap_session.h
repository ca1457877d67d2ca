/* tap_session.h — mirror session definitions: what to copy (target VMs,
 * direction, ordered filter rules or a pcap-filter expression, slice,
 * sampling, rate limit) and where to (VXLAN, L2GRE, ERSPAN II/III, TZSP,
 * pcapng files).
 *
 * A definition names VMs by UUID or name, never hosts or ports, so the
 * manager can place it wherever the VM runs. It is read from JSON with
 * every error naming the field ("destination.vni: ..."), written back to
 * JSON (the control API's `session show`), and compiled into the entries
 * the eBPF program reads (struct tap_session, struct tap_rule in
 * bpf/tap_shared.h). */
#ifndef VT_TAP_SESSION_H
#define VT_TAP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/tap_shared.h"
#include "core/err.h"
#include "core/json.h"
#include "flow/addr.h"
#include "flow/flowrec.h"

#define TAP_SESS_NAME_MAX 64
#define TAP_MAX_TARGETS 64        /* VMs named in one session */
#define TAP_PCAP_FILTER_MAX 1024

/* Which frames, relative to the VM. */
#define TAP_DIRECTION_FROM_VM 1
#define TAP_DIRECTION_TO_VM 2
#define TAP_DIRECTION_BOTH 3

enum tap_dest_type {
	TAP_DEST_VXLAN = 0,
	TAP_DEST_GRE,
	TAP_DEST_ERSPAN2,
	TAP_DEST_ERSPAN3,
	TAP_DEST_TZSP,
	TAP_DEST_PCAPNG,
	TAP_DEST__COUNT
};
const char *tap_dest_name(enum tap_dest_type t);

/* One filter rule as the user wrote it. */
struct tap_rule_def {
	uint8_t action;                /* TAP_ACT_ACCEPT / TAP_ACT_REJECT */
	uint8_t proto;                 /* 0 = any */
	uint8_t ipver;                 /* 0 = any */
	bool bidir;                    /* also match with the ends swapped */
	bool has_src, has_dst;
	struct vt_addr src, dst;
	unsigned src_plen, dst_plen;   /* on the 128-bit form */
	bool has_sport, has_dport;
	uint16_t sport_lo, sport_hi, dport_lo, dport_hi;
};

struct tap_dest {
	enum tap_dest_type type;
	struct vt_addr remote;         /* tunnels: the analyzer */
	uint16_t port;                 /* UDP port (VXLAN 4789, TZSP 37008) */
	uint32_t key;                  /* VNI / GRE key / ERSPAN session id */
	uint32_t mtu;                  /* path MTU; 0 = from the route, at start */
	uint8_t mtu_policy;            /* TAP_MTU_* */
	uint8_t tos, ttl;              /* outer header; ttl 0 = 64 */
	uint8_t hw_id;                 /* ERSPAN III */
	bool user_space;               /* VXLAN: encapsulate in user space */
	/* pcapng */
	char *dir;
	char *prefix;                  /* default: the session name */
	uint64_t file_size;
	uint32_t file_count;
};

struct tap_session_def {
	uint32_t id;
	char name[TAP_SESS_NAME_MAX];
	bool all_vms;                  /* every VM of the host */
	size_t ntargets;
	char targets[TAP_MAX_TARGETS][VT_NAME_MAX];   /* VM UUIDs or names */
	uint8_t direction;             /* TAP_DIRECTION_* */
	size_t nrules;
	struct tap_rule_def rules[TAP_MAX_RULES];
	uint8_t dflt;                  /* when no rule matches */
	char *pcap_filter;             /* owned; NULL = rules */
	uint32_t slice;                /* 0 = whole frames */
	uint32_t sample;               /* 1-in-N; 0/1 = all */
	uint64_t rate_pps, rate_bps;   /* 0 = unlimited; bps in bits/s */
	uint64_t burst_pkts, burst_bytes;
	struct tap_dest dest;
};

/* tap_session_from_json() : fills <s> from one JSON object. On error
 * returns -EINVAL with a message naming the field in <err>; <s> is then
 * freed. The caller frees a good <s> with tap_session_free(). */
int tap_session_from_json(const struct json_val *v, struct tap_session_def *s,
			  struct vt_err *err);
/* tap_sessions_parse() : a JSON document holding one session object, an
 * array of them, or {"sessions": [...]}. Returns the number parsed (>= 0)
 * and an array in *out (free with tap_sessions_free) or -errno with
 * <err>. Ids must be unique. */
int tap_sessions_parse(const char *text, size_t len, struct tap_session_def **out,
		       struct vt_err *err);
void tap_sessions_free(struct tap_session_def *v, size_t n);
/* tap_session_copy() : deep copy (the strings are duplicated). */
int tap_session_copy(struct tap_session_def *dst, const struct tap_session_def *src);
void tap_session_free(struct tap_session_def *s);
/* tap_session_to_json() : the definition as tap_session_from_json reads it. */
void tap_session_to_json(struct jw *w, const char *key, const struct tap_session_def *s);

/* tap_session_targets() : whether <vm> is one of the session's VMs (by
 * UUID or by name). */
bool tap_session_targets(const struct tap_session_def *s, const struct vm_ident *vm);

/* tap_session_compile() : the static part of the map entries for slot use:
 * flags, kind, rules, default, slice, sampling, rate (bits/s turned into
 * bytes/s, default bursts), VXLAN VNI, remote and outer fields. The
 * engine adds vx_ifindex and max_frame. <kr> has room for TAP_MAX_RULES. */
void tap_session_compile(const struct tap_session_def *s, struct tap_session *ks,
			 struct tap_rule *kr);
/* tap_rule_compile() : one rule into its map entry (pre-masked words). */
void tap_rule_compile(const struct tap_rule_def *d, struct tap_rule *r);

/* Encapsulation overhead on the wire for the destination (0 for pcapng). */
unsigned tap_dest_overhead(const struct tap_dest *d);

#endif
