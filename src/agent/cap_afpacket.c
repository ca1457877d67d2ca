/* cap_afpacket.c — the AF_PACKET TPACKET_V3 capture backend (capture.h).
 *
 * One socket per VM port, bound to its ifindex: both directions are seen
 * (frames the port received were sent by the VM; PACKET_OUTGOING ones are
 * delivered to it) and nothing is made promiscuous. The socket is created
 * with protocol 0, so no frame of another interface can be queued before
 * bind(); PACKET_VNET_HDR puts the virtio-net header of each frame in
 * front of it (GSO super-frames keep their segment size); a one-statement
 * classic BPF program returning the snap length is the kernel's way to
 * copy only the headers into the ring; PACKET_STATISTICS gives the frames
 * the kernel dropped because the ring was full. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/capture.h"
#include "core/be.h"
#include "core/compiler.h"

int cap_vnet_parse(const uint8_t *h, size_t n, struct cap_frame *f)
{
	uint8_t type;
	uint16_t size;

	f->gso_type = CAP_GSO_NONE;
	f->gso_size = 0;
	f->hdr_len = 0;
	if (n < CAP_VNET_HDR_LEN)
		return -EINVAL;
	type = h[1] & (uint8_t)~CAP_GSO_ECN;
	size = ld_le16(h + 4);
	if (type == CAP_GSO_NONE)
		return 0;
	if (size == 0)
		return -EINVAL;
	f->gso_type = type;
	f->gso_size = size;
	f->hdr_len = ld_le16(h + 2);
	return 0;
}

uint32_t cap_gso_size_for_meter(const struct cap_frame *f)
{
	switch (f->gso_type) {
	case CAP_GSO_TCPV4:
	case CAP_GSO_TCPV6:
	case CAP_GSO_UDP_L4:
		return f->gso_size;
	default:
		return 0;
	}
}

struct cap_port {
	int fd;
	uint8_t *map;
	size_t map_len;
	uint32_t block_size, nblocks, next;
	uint32_t ifindex;
	struct cap_stats st;
};

static void afp_close(struct cap_port *p)
{
	if (!p)
		return;
	if (p->map)
		munmap(p->map, p->map_len);
	if (p->fd >= 0)
		close(p->fd);
	free(p);
}

static struct cap_port *afp_open(const struct cap_port_cfg *c, struct vt_err *err)
{
	struct cap_port *p = calloc(1, sizeof(*p));
	int ver = TPACKET_V3, one = 1;
	struct sock_filter snap = BPF_STMT(BPF_RET | BPF_K, c->snaplen);
	struct sock_fprog prog = { 1, &snap };
	struct tpacket_req3 req;
	struct sockaddr_ll sll;
	const char *what;
	uint32_t bs = 1u << 16;
	long page = sysconf(_SC_PAGESIZE);

	if (!p) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	p->ifindex = c->ifindex;
	/* protocol 0: nothing is queued until bind() names the port */
	p->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (p->fd < 0) {
		what = "socket";
		goto sys_fail;
	}
	/* the virtio-net header has to be asked for before the ring exists */
	what = "PACKET_VERSION";
	if (setsockopt(p->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) < 0)
		goto sys_fail;
	what = "PACKET_VNET_HDR";
	if (setsockopt(p->fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0)
		goto sys_fail;
	what = "SO_ATTACH_FILTER (snap length)";
	if (setsockopt(p->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		goto sys_fail;
	/* a block holds many snapped frames; it must hold at least one whole
	 * snapped frame with its headers and be a multiple of the page size */
	while (bs < c->snaplen + 256 || bs < c->block_bytes)
		bs <<= 1;
	if (page > 0 && bs % (uint32_t)page)
		bs = (uint32_t)page * (bs / (uint32_t)page + 1);
	p->block_size = bs;
	p->nblocks = (uint32_t)VT_MAX(c->ring_bytes / bs, (uint64_t)2);
	memset(&req, 0, sizeof(req));
	req.tp_block_size = bs;
	req.tp_block_nr = p->nblocks;
	req.tp_frame_size = TPACKET_ALIGNMENT << 7;   /* 2 KiB: a hint for V3 */
	req.tp_frame_nr = (bs / req.tp_frame_size) * p->nblocks;
	req.tp_retire_blk_tov = c->block_timeout_ms ? c->block_timeout_ms : 10;
	what = "PACKET_RX_RING";
	if (setsockopt(p->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0)
		goto sys_fail;
	p->map_len = (size_t)bs * p->nblocks;
	p->map = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, p->fd, 0);
	if (p->map == MAP_FAILED) {
		p->map = NULL;
		what = "mmap of the ring";
		goto sys_fail;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)c->ifindex;
	what = "bind";
	if (bind(p->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto sys_fail;
	return p;
sys_fail:
	vt_err_set(err, -errno, "afpacket on %s (ifindex %u): %s: %s",
		   c->ifname ? c->ifname : "?", c->ifindex, what, strerror(errno));
	afp_close(p);
	return NULL;
}

static int afp_fd(const struct cap_port *p)
{
	return p->fd;
}

/* frame() : one record of a block at <off>; false when its offsets do not
 * fit the block (never trusted past the block, even from the kernel). */
static bool frame(const struct cap_port *p, const uint8_t *blk, uint32_t off, struct cap_frame *f,
		  uint32_t *next)
{
	struct tpacket3_hdr h;
	struct sockaddr_ll sll;
	/* 64-bit sums: <off> is a running sum of the kernel's next offsets */
	uint64_t sll_off = (uint64_t)off + TPACKET_ALIGN(sizeof(struct tpacket3_hdr));

	if (sll_off + sizeof(sll) > p->block_size)
		return false;
	memcpy(&h, blk + off, sizeof(h));
	memcpy(&sll, blk + sll_off, sizeof(sll));
	if (h.tp_mac < CAP_VNET_HDR_LEN || (uint64_t)off + h.tp_mac + h.tp_snaplen > p->block_size ||
	    (uint64_t)off + h.tp_mac < sll_off + sizeof(sll))
		return false;
	memset(f, 0, sizeof(*f));
	f->data = blk + off + h.tp_mac;
	f->caplen = h.tp_snaplen;
	f->len = h.tp_len;
	f->ts_ns = (uint64_t)h.tp_sec * 1000000000ull + h.tp_nsec;
	f->ifindex = p->ifindex;
	f->dir = sll.sll_pkttype == PACKET_OUTGOING ? 1 : 0;
	if (h.tp_status & TP_STATUS_VLAN_VALID) {
		f->vlan_valid = true;
		f->vlan_tci = (uint16_t)h.hv1.tp_vlan_tci;
		f->vlan_tpid = (h.tp_status & TP_STATUS_VLAN_TPID_VALID) ? (uint16_t)h.hv1.tp_vlan_tpid :
									  ETH_P_8021Q;
	}
	(void)cap_vnet_parse(blk + off + h.tp_mac - CAP_VNET_HDR_LEN, CAP_VNET_HDR_LEN, f);
	*next = h.tp_next_offset;
	return true;
}

static int afp_read(struct cap_port *p, unsigned budget, cap_frame_fn fn, void *arg)
{
	int frames = 0;

	for (unsigned b = 0; b < budget; b++) {
		uint8_t *blk = p->map + (size_t)p->next * p->block_size;
		struct tpacket_block_desc *bd = (struct tpacket_block_desc *)(void *)blk;
		uint32_t n, off;

		if (!(__atomic_load_n(&bd->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			break;
		n = bd->hdr.bh1.num_pkts;
		off = bd->hdr.bh1.offset_to_first_pkt;
		for (uint32_t i = 0; i < n; i++) {
			struct cap_frame f;
			uint32_t next;
			if (!frame(p, blk, off, &f, &next))
				break;
			fn(arg, &f);
			frames++;
			if (next == 0 || next > p->block_size - off)
				break;
			off += next;
		}
		__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		p->next = (p->next + 1) % p->nblocks;
	}
	return frames;
}

static int afp_stats(struct cap_port *p, struct cap_stats *st)
{
	struct tpacket_stats_v3 ks;
	socklen_t l = sizeof(ks);

	/* the kernel resets its counters at each read: accumulate */
	if (getsockopt(p->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &l) < 0)
		return -errno;
	p->st.drops += ks.tp_drops;
	p->st.received += ks.tp_packets >= ks.tp_drops ? ks.tp_packets - ks.tp_drops : 0;
	*st = p->st;
	return 0;
}

const struct cap_ops cap_afpacket_ops = {
	.name = "afpacket",
	.open = afp_open,
	.close = afp_close,
	.fd = afp_fd,
	.read = afp_read,
	.stats = afp_stats,
};

const struct cap_ops *cap_backend(const char *name)
{
	if (strcmp(name, "afpacket") == 0)
		return &cap_afpacket_ops;
	return NULL;
}
