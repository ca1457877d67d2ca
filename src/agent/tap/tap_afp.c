/* tap_afp.c — AF_PACKET TPACKET_V3 capture on a VM port (see tap_afp.h). */
#include "agent/tap/tap_afp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bpf/tap_shared.h"
#include "core/compiler.h"

#define BLOCK_SIZE (1u << 20)     /* a block holds a 64 KiB super-frame many times */
#define FRAME_SIZE 2048u          /* tp_frame_size: a hint for V3 */

struct tap_afp {
	int fd;
	uint8_t *map;
	size_t map_len;
	unsigned nblocks, next;
	uint64_t drops;
};

struct tap_afp *tap_afp_open(uint32_t ifindex, uint64_t ring_bytes, struct vt_err *err)
{
	struct tap_afp *a = calloc(1, sizeof(*a));
	int v = TPACKET_V3, one = 1;
	struct tpacket_req3 req;
	struct sockaddr_ll sll;

	if (!a) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	a->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (a->fd < 0) {
		vt_err_set(err, -errno, "AF_PACKET socket: %s", strerror(errno));
		goto fail;
	}
	/* the virtio-net header must be asked for before the ring exists */
	if (setsockopt(a->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0 ||
	    setsockopt(a->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
		vt_err_set(err, -errno, "AF_PACKET options on ifindex %u: %s", ifindex, strerror(errno));
		goto fail;
	}
	memset(&req, 0, sizeof(req));
	a->nblocks = (unsigned)VT_MAX(ring_bytes / BLOCK_SIZE, 2);
	req.tp_block_size = BLOCK_SIZE;
	req.tp_block_nr = a->nblocks;
	req.tp_frame_size = FRAME_SIZE;
	req.tp_frame_nr = (BLOCK_SIZE / FRAME_SIZE) * a->nblocks;
	req.tp_retire_blk_tov = 10;   /* ms: hand over a partly filled block */
	if (setsockopt(a->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		vt_err_set(err, -errno, "AF_PACKET ring on ifindex %u: %s", ifindex, strerror(errno));
		goto fail;
	}
	a->map_len = (size_t)BLOCK_SIZE * a->nblocks;
	a->map = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, a->fd, 0);
	if (a->map == MAP_FAILED)
		a->map = mmap(NULL, a->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd, 0);
	if (a->map == MAP_FAILED) {
		a->map = NULL;
		vt_err_set(err, -errno, "AF_PACKET mmap: %s", strerror(errno));
		goto fail;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)ifindex;
	if (bind(a->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		vt_err_set(err, -errno, "AF_PACKET bind to ifindex %u: %s", ifindex, strerror(errno));
		goto fail;
	}
	return a;
fail:
	tap_afp_close(a);
	return NULL;
}

void tap_afp_close(struct tap_afp *a)
{
	if (!a)
		return;
	if (a->map)
		munmap(a->map, a->map_len);
	if (a->fd >= 0)
		close(a->fd);
	free(a);
}

int tap_afp_fd(const struct tap_afp *a)
{
	return a->fd;
}

uint64_t tap_afp_drops(struct tap_afp *a)
{
	struct tpacket_stats_v3 st;
	socklen_t l = sizeof(st);

	/* reading resets the kernel's counters: accumulate */
	if (getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &st, &l) == 0)
		a->drops += st.tp_drops;
	return a->drops;
}

int tap_afp_read(struct tap_afp *a, unsigned budget, tap_afp_cb cb, void *arg)
{
	int frames = 0;

	for (unsigned b = 0; b < budget; b++) {
		struct tpacket_block_desc *bd =
			(struct tpacket_block_desc *)(void *)(a->map + (size_t)a->next * BLOCK_SIZE);
		struct tpacket3_hdr *h;
		uint32_t n;

		if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			break;
		n = bd->hdr.bh1.num_pkts;
		h = (struct tpacket3_hdr *)(void *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
		for (uint32_t i = 0; i < n; i++) {
			const struct sockaddr_ll *sll = (const void *)((uint8_t *)h +
				TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
			const struct virtio_net_hdr *vh = (const void *)((uint8_t *)h + h->tp_mac -
									  sizeof(*vh));
			struct tap_afp_frame f;

			if ((uint8_t *)h + h->tp_mac + h->tp_snaplen > (uint8_t *)bd + BLOCK_SIZE)
				break;   /* never trust an offset past the block */
			memset(&f, 0, sizeof(f));
			f.data = (const uint8_t *)h + h->tp_mac;
			f.caplen = h->tp_snaplen;
			f.len = h->tp_len;
			f.ts_ns = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec;
			f.dir = sll->sll_pkttype == PACKET_OUTGOING ? TAP_DIR_TO_VM : TAP_DIR_FROM_VM;
			if (h->tp_status & TP_STATUS_VLAN_VALID) {
				f.vlan = true;
				f.vlan_tci = (uint16_t)h->hv1.tp_vlan_tci;
				f.vlan_tpid = (h->tp_status & TP_STATUS_VLAN_TPID_VALID) ?
						      (uint16_t)h->hv1.tp_vlan_tpid : ETH_P_8021Q;
			}
			if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE)
				f.gso_size = vh->gso_size;   /* little-endian host */
			cb(arg, &f);
			frames++;
			if (!h->tp_next_offset)
				break;
			h = (struct tpacket3_hdr *)(void *)((uint8_t *)h + h->tp_next_offset);
		}
		__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		a->next = (a->next + 1) % a->nblocks;
	}
	return frames;
}
