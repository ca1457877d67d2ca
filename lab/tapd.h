/* tapd.h — the TAP relay behind a TAP-attached lab VM (`vtap lab tapd`).
 *
 * It plays qemu's part: the VM's NIC is a TAP device `eth0` inside the VM
 * namespace (persistent, so the VM keeps its configuration across
 * migrations), and its port on the host is a second TAP device `tp-vmK` on
 * the host's bridge, owned by this process (it vanishes when the process
 * ends, as a qemu tap does). Frames are copied between the two fds with
 * their virtio-net header (IFF_VNET_HDR on both, 12-byte headers as qemu
 * with mergeable rx buffers), so GSO super-frames and partial checksums
 * cross unchanged, as they do through vhost-net. */
#ifndef VT_LAB_TAPD_H
#define VT_LAB_TAPD_H

#include <stddef.h>
#include <stdint.h>

#define TAPD_VNET_HDR_SZ 12
#define TAPD_BATCH 64               /* frames per direction per wake-up */
#define TAPD_BUF (256 * 1024)       /* larger than any GSO frame (64 KiB + header) */

enum { TAPD_TO_HOST = 0, TAPD_TO_VM = 1 };

struct tapd_stats {
	uint64_t frames[2], bytes[2];
	uint64_t gso[2];            /* frames whose vnet header carried a GSO type */
	uint64_t drops[2];          /* the other side refused the write */
	uint64_t truncated[2];      /* a read filled the whole buffer: dropped */
};

/* A relay between fd[0] (the VM's NIC) and fd[1] (its host port). The
 * fds are not owned. */
struct tapd_relay {
	int fd[2];
	uint8_t *buf;               /* <cap> bytes, owned by the caller */
	size_t cap;
	struct tapd_stats st;
};

/* tapd_pump() : copies up to <max> frames readable on fd[from] to the
 * other fd (direction TAPD_TO_HOST when from == 0). Returns the number of
 * frames read, 0 when none was pending, or a negative errno when the
 * source failed for good (its device is gone). */
int tapd_pump(struct tapd_relay *r, int from, unsigned max);

struct tapd_opts {
	const char *prefix;
	const char *vm;             /* "vm3" */
	const char *host;           /* "h1" */
	const char *bridge;         /* "br0" */
	uint64_t ready_fd;          /* 0: none; receives "ready\n" */
};
/* tapd_main() : the `vtap lab tapd` process; returns its exit code. */
int tapd_main(const struct tapd_opts *o);

#endif
