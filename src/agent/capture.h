/* capture.h — the agent's live capture backends behind one ops table.
 *
 * A backend taps one VM port in both directions without making anything
 * promiscuous and hands frames to the capture thread that owns the port:
 * headers only (a snap length), the length on the wire, the kernel's
 * timestamp, the direction relative to the VM, a VLAN tag the kernel
 * took off, and the virtio-net header of GSO/TSO super-frames so one
 * captured frame can be counted as the wire packets it stands for.
 *
 *  - afpacket (cap_afpacket.c): a TPACKET_V3 ring per port, PACKET_VNET_HDR,
 *    a one-instruction BPF filter as snap length, PACKET_STATISTICS for
 *    the kernel's drops.
 *  - ebpf (later): tc clsact programs on the port writing to a ring shared
 *    by the ports of a thread. It fits the same table: open() attaches
 *    and returns a handle whose fd() is the shared ring's (the thread
 *    registers an fd once), read() drains the ring for every port and
 *    tags each frame with its ifindex, stats() reads per-port counters.
 *
 * open() runs on the control thread (so a new port is tapped before its
 * first frame can pass: the ring keeps frames until the capture thread
 * reads them), read() and stats() on the capture thread that owns the
 * handle, close() on whichever owns it then. */
#ifndef VT_AGENT_CAPTURE_H
#define VT_AGENT_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

/* virtio-net header (include/uapi/linux/virtio_net.h), little-endian on
 * the hosts we run on, 10 bytes: flags u8 | gso_type u8 | hdr_len le16 |
 * gso_size le16 | csum_start le16 | csum_offset le16. */
#define CAP_VNET_HDR_LEN 10
enum {
	CAP_GSO_NONE = 0,
	CAP_GSO_TCPV4 = 1,
	CAP_GSO_UDP = 3,       /* UFO: IP fragments, not segments */
	CAP_GSO_TCPV6 = 4,
	CAP_GSO_UDP_L4 = 5,    /* USO: UDP segments */
	CAP_GSO_ECN = 0x80,
};

struct cap_frame {
	const uint8_t *data;   /* from the Ethernet header; valid during the callback */
	uint32_t caplen;       /* bytes in data (snap length applied) */
	uint32_t len;          /* frame length (of the super-frame for GSO) */
	uint64_t ts_ns;        /* kernel timestamp, wall clock */
	uint32_t ifindex;      /* the port it was seen on */
	uint8_t dir;           /* enum co_dir: 0 sent by the VM, 1 delivered to it */
	bool vlan_valid;       /* the kernel took a tag off: vlan_tci/vlan_tpid */
	uint16_t vlan_tci, vlan_tpid;
	uint8_t gso_type;      /* CAP_GSO_* without the ECN bit */
	uint16_t gso_size;     /* payload bytes per segment (0: not GSO) */
	uint16_t hdr_len;      /* headers before the payload, as the stack said */
};

/* cap_vnet_parse() : reads a virtio-net header (<n> bytes at <h>) into the
 * GSO fields of <f>. Returns 0, or -EINVAL when <n> is too short or the
 * header describes GSO without a segment size (then <f> says "not GSO"). */
int cap_vnet_parse(const uint8_t *h, size_t n, struct cap_frame *f);
/* cap_gso_size_for_meter() : the segment size the meter should split
 * <f> by, 0 when the frame is one wire packet: TCP and UDP-L4 super-frames
 * are cut into segments that each repeat the headers; UFO super-frames are
 * IP-fragmented instead and counted as the single datagram they are. */
uint32_t cap_gso_size_for_meter(const struct cap_frame *f);

struct cap_port_cfg {
	uint32_t ifindex;
	const char *ifname;       /* for messages */
	uint64_t ring_bytes;      /* kernel ring per port */
	uint32_t block_bytes;     /* ring block (>= 64 KiB + headers for super-frames) */
	uint32_t snaplen;         /* bytes of each frame kept */
	uint32_t block_timeout_ms;/* a partly filled block is handed over after this */
};

/* Cumulative per-port counters from the kernel. */
struct cap_stats {
	uint64_t received;        /* frames put in the ring */
	uint64_t drops;           /* frames dropped: ring full */
};

typedef void (*cap_frame_fn)(void *arg, const struct cap_frame *f);

struct cap_port;

struct cap_ops {
	const char *name;
	/* open() : taps port <c->ifindex>; NULL with <err> set. */
	struct cap_port *(*open)(const struct cap_port_cfg *c, struct vt_err *err);
	void (*close)(struct cap_port *p);
	/* fd() : pollable, EPOLLIN when frames wait. */
	int (*fd)(const struct cap_port *p);
	/* read() : hands waiting frames to <fn>, at most <budget> ring blocks
	 * (or records); returns the frames handed, or a negative errno. */
	int (*read)(struct cap_port *p, unsigned budget, cap_frame_fn fn, void *arg);
	/* stats() : cumulative counters (reading the kernel's). */
	int (*stats)(struct cap_port *p, struct cap_stats *st);
};

extern const struct cap_ops cap_afpacket_ops;

/* cap_backend() : the ops of backend <name> ("afpacket"), or NULL. */
const struct cap_ops *cap_backend(const char *name);

#endif
