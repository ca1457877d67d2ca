/* tun.h — TAP devices through /dev/net/tun, the way qemu creates a VM's
 * port: IFF_TAP | IFF_NO_PI, optionally IFF_VNET_HDR so GSO super-frames
 * and checksum offload cross the fd with their virtio-net header.
 *
 * A TAP belongs to the namespace in which /dev/net/tun was opened; with
 * <in_ns> that happens inside <nsfd> (the fd may then be used anywhere).
 * A non-persistent TAP lives as long as its fd (its "process" owns it); a
 * persistent one survives and a later open with the same name and flags
 * attaches to it. */
#ifndef VT_NL_TUN_H
#define VT_NL_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

struct nl_tap_opts {
	const char *name;        /* NULL or "": the kernel picks tapN */
	bool vnet_hdr;           /* frames carry a virtio_net_hdr */
	int vnet_hdr_sz;         /* 0: kernel default (10); 12 as qemu with
				  * mergeable rx buffers */
	unsigned offloads;       /* TUN_F_CSUM | TUN_F_TSO4 ...: what the fd
				  * accepts from the kernel (TUNSETOFFLOAD) */
	bool persist;            /* survive the fd (TUNSETPERSIST) */
	int64_t owner;           /* uid allowed to attach; -1: leave */
	bool nonblock;
	bool in_ns;              /* create inside <nsfd> */
	int nsfd;
};
#define NL_TAP_OPTS_INIT { .owner = -1 }

/* nl_tap_open() : creates (or attaches to a persistent) TAP device and
 * returns its fd (O_CLOEXEC; owned by the caller) or a negative errno.
 * <name_out> (IFNAMSIZ bytes, may be NULL) gets the device's name. */
int nl_tap_open(const struct nl_tap_opts *o, char *name_out);
/* nl_tap_set_persist() : makes the device behind <fd> (non-)persistent;
 * a non-persistent device disappears when its last fd closes. */
int nl_tap_set_persist(int fd, bool on);

#endif
