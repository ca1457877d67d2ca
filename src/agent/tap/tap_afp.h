/* tap_afp.h — the AF_PACKET backend of the tap engine, for hosts where
 * eBPF cannot be used: one TPACKET_V3 socket bound to each VM port, with
 * the virtio-net header so GSO super-frames come with their segment size.
 *
 * Direction comes from the packet type: frames the port received (sent by
 * the VM) and frames it transmitted (PACKET_OUTGOING: to the VM). The
 * kernel drops into a full ring without slowing the VM; those drops are
 * read from PACKET_STATISTICS and reported. */
#ifndef VT_TAP_AFP_H
#define VT_TAP_AFP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct tap_afp_frame {
	const uint8_t *data;
	uint32_t caplen, len;
	uint64_t ts_ns;          /* wall clock */
	uint8_t dir;             /* TAP_DIR_* */
	bool vlan;               /* a stripped tag: vlan_tci / vlan_tpid */
	uint16_t vlan_tci, vlan_tpid;
	uint16_t gso_size;       /* from the virtio-net header, 0 = not GSO */
};

struct tap_afp;

/* tap_afp_open() : a socket on <ifindex> with a ring of about <ring_bytes>.
 * NULL with <err> set. */
struct tap_afp *tap_afp_open(uint32_t ifindex, uint64_t ring_bytes, struct vt_err *err);
void tap_afp_close(struct tap_afp *a);
int tap_afp_fd(const struct tap_afp *a);
typedef void (*tap_afp_cb)(void *arg, const struct tap_afp_frame *f);
/* tap_afp_read() : hands the frames of at most <budget> ready blocks to
 * <cb> and returns the blocks to the kernel. Returns frames handed. */
int tap_afp_read(struct tap_afp *a, unsigned budget, tap_afp_cb cb, void *arg);
/* tap_afp_drops() : frames the kernel dropped into a full ring so far. */
uint64_t tap_afp_drops(struct tap_afp *a);

#endif
