/* tap_out.h — where a session's copies go when user space sends them:
 * a tunnel (VXLAN, L2GRE, ERSPAN II/III, TZSP) over a connected socket,
 * or a ring of pcapng files.
 *
 * Tunnels: the encoder of the type (lib/wire/encap) writes the header,
 * the kernel adds the outer IP (+ UDP) header. Sockets are not connected:
 * an ICMP error from the analyzer (it need not listen) never fails a later
 * copy. GRE and ERSPAN go through
 * a raw IPPROTO_GRE socket (this kernel has no GRE/ERSPAN tunnel modules,
 * and a raw socket needs none), VXLAN and TZSP through a UDP socket. Both
 * have path-MTU discovery set to "do": DF is set and a datagram too big
 * for the route fails with EMSGSIZE instead of being fragmented. Copies
 * are queued into a bounded batch and sent with one sendmmsg() per batch.
 * GRE sequence numbers and TZSP packet counts are per session and count
 * every copy put on the wire, so gaps at the analyzer are real loss.
 *
 * pcapng: one interface per VM port, added on the port's first copy, with
 * if_name = VM name and if_description = "uuid=... host=... port=...". */
#ifndef VT_TAP_OUT_H
#define VT_TAP_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/tap/tap_session.h"
#include "core/err.h"

/* One copy, already cut to its wire frame (and slice). */
struct tap_copy {
	const uint8_t *data;
	uint32_t caplen;         /* bytes in data */
	uint32_t wire_len;       /* the frame's length on the wire */
	uint64_t ts_ns;          /* wall clock */
	uint8_t dir;             /* TAP_DIR_* */
	uint16_t vlan;           /* VID of the frame's tag, 0 = none */
	uint32_t port_index;     /* ERSPAN II index: the port's ifindex */
	uint32_t port_slot;      /* pcapng: which interface */
};

/* The VM port a pcapng interface stands for. */
struct tap_out_port {
	const char *vm_name;
	const char *vm_uuid;     /* text */
	const char *host;
	const char *ifname;
};

struct tap_out_stats {
	uint64_t sent;           /* copies on the wire / in the file */
	uint64_t drop_dest_down; /* send failed: no route, unreachable, refused */
	uint64_t drop_too_big;   /* EMSGSIZE: bigger than the kernel's path MTU */
	uint64_t drop_error;     /* other send or write errors */
	uint64_t batches;        /* sendmmsg calls / pcapng flushes */
	int last_errno;
};

struct tap_out;

/* tap_out_new() : the destination of <s> (tunnel socket, or pcapng ring
 * in s->dest.dir). <batch> copies per sendmmsg (1..1024). NULL with <err>
 * naming the session and the cause. */
struct tap_out *tap_out_new(const struct tap_session_def *s, unsigned batch,
			    struct vt_err *err);
void tap_out_free(struct tap_out *o);

/* tap_out_put() : queues one copy (its bytes are copied); may send a full
 * batch. 0, or -ENOSPC when the batch buffer cannot take it even after a
 * flush (counted as an error). pcapng: <port> names the interface the
 * first time a port_slot is seen (may be NULL after). */
int tap_out_put(struct tap_out *o, const struct tap_copy *c, const struct tap_out_port *port);
/* tap_out_flush() : sends (writes) what is queued. */
void tap_out_flush(struct tap_out *o);
const struct tap_out_stats *tap_out_stats(struct tap_out *o);
/* tap_out_pending() : copies queued and not yet sent. */
unsigned tap_out_pending(const struct tap_out *o);

#endif
