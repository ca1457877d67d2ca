/* tap.h — the virtual tap engine: mirror sessions on VM ports.
 *
 * The agent (or the `vtap tap-run` harness) tells the engine which ports
 * belong to which VM and which sessions exist; the engine arms the ports
 * (tc eBPF programs on both directions, or AF_PACKET sockets), keeps the
 * kernel's session and port tables in step, carries the copies that need
 * user space (ring buffer -> segmentation -> encapsulation -> batched
 * sends or pcapng files), watches each destination's route (down: copies
 * are not made and counted; path MTU), and reports counters per session
 * and per port.
 *
 * Ordering guarantee for new ports: tap_port_arm() attaches the programs
 * and writes the port's entry before it returns; every frame that crosses
 * the port after that is seen. The agent calls it from its RTM_NEWLINK
 * handler, before a libvirt/qemu port is up (see docs/tap.md for the
 * measured arming time). A port armed after frames already crossed it is
 * reported (frames_before_arm), so a gap is never silent.
 *
 * Threading: one event loop thread; nothing here blocks except sends on a
 * full socket buffer (back-pressure that fills the ring, which the kernel
 * then counts as queue-full drops). */
#ifndef VT_TAP_H
#define VT_TAP_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/tap/tap_session.h"
#include "core/err.h"
#include "core/evloop.h"
#include "core/json.h"
#include "flow/flowrec.h"

enum tap_backend {
	TAP_BACKEND_EBPF = 0,      /* tc clsact programs + ring buffer */
	TAP_BACKEND_AFPACKET = 1,  /* TPACKET_V3 sockets, all work in user space */
};

struct tap_engine_opts {
	enum tap_backend backend;
	uint64_t ring_bytes;       /* eBPF ring buffer (power of 2); 0 = 16 MiB */
	uint64_t afp_block_bytes;  /* AF_PACKET ring per port; 0 = 4 MiB */
	const char *vx_name;       /* collect_md VXLAN device; NULL = "vtapvx0" */
	uint16_t vx_port;          /* its UDP port; 0 = 4789 */
	unsigned batch;            /* copies per sendmmsg; 0 = 64 */
	const char *host;          /* host name for pcapng descriptions; NULL = hostname */
	unsigned check_ms;         /* destination route check period; 0 = 1000 */
};

/* Counters of one session (wire packets). */
struct tap_counters {
	uint64_t matched, matched_bytes;
	uint64_t sent;             /* copies that left (kernel VXLAN + user space) */
	uint64_t sliced;           /* copies cut (slice length or path MTU) */
	uint64_t drop_queue_full;  /* ring / socket ring full */
	uint64_t drop_dest_down;
	uint64_t drop_too_big;
	uint64_t drop_rate;
	uint64_t drop_error;
	uint64_t sampled_out;
	uint64_t in_flight;        /* handed to user space, not yet accounted */
};

struct tap_engine;

/* tap_engine_new() : the engine on <ev> (not owned). For the eBPF backend
 * this loads (or adopts) the programs and the VXLAN device. NULL with
 * <err> set on failure. */
struct tap_engine *tap_engine_new(struct evloop *ev, const struct tap_engine_opts *o,
				  struct vt_err *err);
/* tap_engine_free() : flushes what is queued, disarms every port, removes
 * the VXLAN device, frees everything. Accepts NULL. */
void tap_engine_free(struct tap_engine *e);

/* tap_port_arm() : the port <ifindex> (named <ifname>) belongs to <vm>.
 * Arms it for the sessions that target the VM. Arming a port again (same
 * ifindex) updates its identity. A port re-created under the same name
 * and identity continues the counters of the old one. */
int tap_port_arm(struct tap_engine *e, uint32_t ifindex, const char *ifname,
		 const struct vm_ident *vm, struct vt_err *err);
/* tap_port_disarm() : stops tapping <ifindex>; when <gone> the link was
 * deleted (its filters went with it). Unknown ports: -ENOENT. */
int tap_port_disarm(struct tap_engine *e, uint32_t ifindex, bool gone);
/* tap_port_find() : the ifindex armed under <ifname>, 0 if none. */
uint32_t tap_port_find(const struct tap_engine *e, const char *ifname);
/* tap_engine_sweep() : after the initial ports are armed, removes what a
 * previous instance left on ports that are not armed now. */
int tap_engine_sweep(struct tap_engine *e);

/* tap_session_add() : copies <s> in and applies it to the armed ports.
 * Errors (duplicate id, destination unusable, pcap filter that does not
 * compile) name the session and the field. */
int tap_session_add(struct tap_engine *e, const struct tap_session_def *s, struct vt_err *err);
int tap_session_del(struct tap_engine *e, uint32_t id);
int tap_session_counters(struct tap_engine *e, uint32_t id, struct tap_counters *out);

/* tap_engine_stats_json() : {"sessions": [...], "ports": [...], "engine":
 * {...}} with every counter. */
void tap_engine_stats_json(struct tap_engine *e, struct jw *w);

/* tap_session_ports_json() : an array <key> of the ports session <id>
 * applies to now (armed or not), each with its direction and the port's
 * counters (all sessions of the port together: the kernel counts per
 * port). -ENOENT for an unknown session (nothing written). */
int tap_session_ports_json(struct tap_engine *e, uint32_t id, struct jw *w, const char *key);
/* tap_counters_json() : <c> as object <key>. */
void tap_counters_json(struct jw *w, const char *key, const struct tap_counters *c);
/* tap_engine_summary_json() : members of the object being written:
 * backend, adoption, armed ports, sessions by path (the agent's status). */
void tap_engine_summary_json(struct tap_engine *e, struct jw *w);

const char *tap_backend_name(enum tap_backend b);

#endif
