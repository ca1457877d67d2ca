/* tap_priv.h — what the two halves of the tap engine share: tap.c (the
 * session and port tables, liveness, counters, lifecycle) and tap_path.c
 * (the user-space copy path: admission, segmentation, encapsulation). Not
 * for use outside src/agent/tap. */
#ifndef VT_TAP_PRIV_H
#define VT_TAP_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/tap/tap.h"
#include "agent/tap/tap_afp.h"
#include "agent/tap/tap_out.h"
#include "agent/tap_config.h"
#include "bpf/bpf_config.h"
#include "bpf/tap_shared.h"
#include "core/evloop.h"
#include "nl/nlsock.h"
#if VTAP_HAVE_BPF_SKEL
#include "agent/tap/tap_bpf.h"
#endif
#if VTAP_HAVE_PCAP
#include <pcap/pcap.h>
#else
struct bpf_program {
	int unused;
};
#endif

#define RING_BUDGET 4096       /* records per wake-up: bounded work per loop turn */
#define RING_POLL_MS 2         /* drain period: the most a copy waits in the ring */
#define AFP_BUDGET 8           /* AF_PACKET blocks per wake-up */
#define FRAME_MAX (TAP_REC_MAX + 64)

/* Counters kept in user space (wire packets). */
struct user_ctr {
	uint64_t matched, matched_bytes, sliced;
	uint64_t drop_dest_down, drop_too_big, drop_rate, drop_error, drop_queue_full;
	uint64_t sampled_out;
	uint64_t handled;      /* ring copies accounted for (in_flight = queued - handled) */
	uint64_t queued_base;  /* the kernel's queued count when an adopted slot was
				* taken over: records of the previous process,
				* skipped as stale, not in flight */
	uint64_t sent_kernel;  /* AF_PACKET has no kernel path: unused there */
};

struct sess_rt {
	bool used;
	struct tap_session_def def;
	uint32_t slot;
	struct tap_out *out;
	struct tap_session ks;
	struct tap_rule kr[TAP_MAX_RULES];
	bool has_pcap;
	struct bpf_program pcap;
	bool dest_up;
	bool route_known;
	uint32_t path_mtu;
	uint32_t max_frame;        /* largest frame that fits, 0 = no limit */
	struct user_ctr u;
	uint64_t sample_ctr;
	uint64_t pkt_tokens, byte_tokens, rl_last_ns;
};

struct port_rt {
	bool used;                 /* the slot holds an identity (and counters) */
	bool armed;
	uint32_t ifindex;
	char ifname[VT_IFNAME_MAX];
	struct vm_ident vm;
	char uuid[VT_UUIDSTRLEN];
	uint64_t sess[2];
	uint64_t frames_before_arm;
	uint64_t armed_at_ms;
	struct tap_afp *afp;
	struct ev_io afp_io;
	struct tap_engine *eng;    /* back-pointer for the AF_PACKET callback */
	struct tap_port_ctr uc;    /* user-space counters (AF_PACKET backend) */
	uint64_t afp_drops;
};

struct tap_engine {
	struct evloop *ev;
	struct tap_engine_opts o;
	char host[64];
	char vx_name[16];
#if VTAP_HAVE_BPF_SKEL
	struct tap_bpf *bpf;
#endif
	struct ev_io ring_io;
	bool ring_io_on;
	struct ev_timer ring_t;    /* drains the ring every RING_POLL_MS */
	struct ev_timer check_t;
	struct nl_sock *nl;        /* rtnetlink: routes to destinations, ports */
	int64_t wall_off_ns;       /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint64_t records, afp_frames;
	struct sess_rt sess[TAP_MAX_SESSIONS];
	struct port_rt ports[TAP_MAX_PORTS];
	uint8_t vbuf[FRAME_MAX];   /* frame with its VLAN tag put back */
	uint8_t seg[FRAME_MAX];    /* one wire frame at a time */
};

/* A frame handed to the user-space path, from either backend. */
struct fmeta {
	uint64_t ts_ns;            /* wall clock */
	uint32_t ifindex, slot;
	uint8_t dir;
	uint32_t len, cap;
	uint32_t segs;
	uint64_t wire_bytes;
	struct tap_pkt pk;
	uint16_t gso_size;
	bool vlan;
	uint16_t vlan_tci, vlan_proto;
};

static inline bool tap_is_ebpf(const struct tap_engine *e)
{
	return e->o.backend == TAP_BACKEND_EBPF;
}

/* ---- tap_path.c -------------------------------------------------------- */

/* tap_path_flush() : sends what every session has queued. */
void tap_path_flush(struct tap_engine *e);
#if VTAP_HAVE_BPF_SKEL
/* tap_path_on_record() : a ring record (tap_bpf_rec_cb); <arg> the engine. */
void tap_path_on_record(void *arg, const struct tap_rec *r, const uint8_t *frame);
/* tap_path_on_ring() : the ring's fd is readable (ev_io_cb); arg the engine. */
void tap_path_on_ring(struct evloop *ev, struct ev_io *io, uint32_t events);
/* tap_path_on_ring_timer() : the periodic drain (ev_timer_cb); arg the engine. */
void tap_path_on_ring_timer(struct evloop *ev, struct ev_timer *t);
#endif
/* tap_path_on_afp() : a port's AF_PACKET socket is readable; arg the port. */
void tap_path_on_afp(struct evloop *ev, struct ev_io *io, uint32_t events);

#endif
