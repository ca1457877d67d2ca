/* tap_bpf.h — the eBPF backend of the tap engine: loads bpf/tap.bpf.c
 * (libbpf skeleton), owns its maps, attaches the programs to both clsact
 * hooks of VM ports and to the egress hook of the collect_md VXLAN device,
 * and consumes the ring buffer.
 *
 * Restart without a gap: the programs keep running when the process dies
 * (the tc filters hold them). The next start finds our filters in its
 * network namespace — clsact filters with handle TAP_TC_HANDLE at
 * priority TAP_TC_PRIO whose program is named vtap_* — and adopts the maps
 * those programs use (counters, ring, session and port tables), so counts
 * continue; it then replaces the programs in place (BPF_TC_F_REPLACE: the
 * hook never goes without a program) and, once the caller has armed what
 * it wants, sweeps filters and port entries nobody armed. Nothing is
 * pinned in bpffs. */
#ifndef VT_TAP_BPF_H
#define VT_TAP_BPF_H

#include <stdbool.h>
#include <stdint.h>

#include "bpf/tap_shared.h"
#include "core/err.h"
#include "nl/nlsock.h"

#define TAP_TC_HANDLE 0x7674u   /* "vt" */
#define TAP_TC_PRIO 1u          /* first, so no other filter hides frames */

struct tap_bpf_opts {
	uint64_t ring_bytes;     /* ring buffer size (power of 2, >= page) */
	const char *vx_name;     /* collect_md VXLAN device name */
	uint16_t vx_port;        /* its UDP port */
	struct nl_sock *nl;      /* rtnetlink socket, the engine's (outlives us) */
};

struct tap_bpf;

/* tap_bpf_open() : loads the programs (adopting a previous instance's maps
 * when its programs are attached in this netns), ensures the VXLAN device
 * and attaches vtap_vx_xmit to it. NULL with <err> on failure. */
struct tap_bpf *tap_bpf_open(const struct tap_bpf_opts *o, struct vt_err *err);
/* tap_bpf_close() : detaches from every port it attached and, when it
 * created or adopted the VXLAN device, deletes it; frees everything.
 * Accepts NULL. */
void tap_bpf_close(struct tap_bpf *b);

/* Ports. */
int tap_bpf_attach(struct tap_bpf *b, uint32_t ifindex, struct vt_err *err);
int tap_bpf_detach(struct tap_bpf *b, uint32_t ifindex);
int tap_bpf_port_set(struct tap_bpf *b, uint32_t ifindex, const struct tap_port *p);
int tap_bpf_port_del(struct tap_bpf *b, uint32_t ifindex);
/* tap_bpf_port_old_slot() : the slot the adopted ports map had for
 * <ifindex>, -1 if none. */
int tap_bpf_port_old_slot(const struct tap_bpf *b, uint32_t ifindex);
/* tap_bpf_sweep() : detaches our filters from links that <armed> says are
 * not armed, and removes their port entries. Returns how many. */
int tap_bpf_sweep(struct tap_bpf *b, bool (*armed)(void *arg, uint32_t ifindex), void *arg);

/* Sessions (slot = index into the session maps). */
int tap_bpf_session_set(struct tap_bpf *b, uint32_t slot, const struct tap_session *ks,
			const struct tap_rule *kr);
int tap_bpf_live_set(struct tap_bpf *b, uint32_t slot, bool up);
/* tap_bpf_session_old_slot() : the slot that held session <id> in the
 * adopted maps, -1 if none. */
int tap_bpf_session_old_slot(const struct tap_bpf *b, uint32_t id);
/* tap_bpf_session_old_id() : the id an adopted slot held, 0 if none. */
uint32_t tap_bpf_session_old_id(const struct tap_bpf *b, uint32_t slot);
/* Zero a slot's counters and limiter state (before reuse by another). */
void tap_bpf_session_reset(struct tap_bpf *b, uint32_t slot);
void tap_bpf_port_reset(struct tap_bpf *b, uint32_t slot);

/* Counters, summed over CPUs. */
int tap_bpf_session_ctr(struct tap_bpf *b, uint32_t slot, struct tap_sess_ctr *out);
int tap_bpf_port_ctr(struct tap_bpf *b, uint32_t slot, struct tap_port_ctr *out);

uint32_t tap_bpf_vx_ifindex(const struct tap_bpf *b);
bool tap_bpf_adopted(const struct tap_bpf *b);

/* The ring. tap_bpf_ring_fd() is pollable: EPOLLIN once 1/16 of the ring
 * is used (the program wakes user space only then); drain it on a short
 * timer as well, so a trickle of records is not held back. */
int tap_bpf_ring_fd(const struct tap_bpf *b);
typedef void (*tap_bpf_rec_cb)(void *arg, const struct tap_rec *r, const uint8_t *frame);
/* tap_bpf_ring_consume() : hands at most <budget> records to <cb> (records
 * written before an adoption are skipped and counted) and releases them.
 * Returns the number handed over. */
int tap_bpf_ring_consume(struct tap_bpf *b, unsigned budget, tap_bpf_rec_cb cb, void *arg);
/* Records dropped as stale after an adoption. */
uint64_t tap_bpf_stale_records(const struct tap_bpf *b);

#endif
