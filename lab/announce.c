/* announce.c — gratuitous ARP and unsolicited NA (see announce.h). */
#include "lab/announce.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/be.h"
#include "nl/netns.h"

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
/* ff02::1 (all nodes) and its Ethernet multicast address 33:33:00:00:00:01 */
static const uint8_t all_nodes[16] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };

size_t announce_garp(uint8_t *buf, size_t cap, const uint8_t mac[6],
		     const struct vt_addr *ip4)
{
	struct vt_wr w = wr_init(buf, cap);

	if (!addr_is_v4(ip4))
		return 0;
	wr_bytes(&w, bcast, 6);
	wr_bytes(&w, mac, 6);
	wr_u16(&w, 0x0806);          /* ARP */
	wr_u16(&w, 1);               /* hardware: Ethernet */
	wr_u16(&w, 0x0800);          /* protocol: IPv4 */
	wr_u8(&w, 6);
	wr_u8(&w, 4);
	wr_u16(&w, 1);               /* request: what Linux `arping -U` sends */
	wr_bytes(&w, mac, 6);        /* sender: us */
	wr_bytes(&w, ip4->b + 12, 4);
	wr_zero(&w, 6);              /* target MAC: unknown */
	wr_bytes(&w, ip4->b + 12, 4); /* target IP: ourselves (gratuitous) */
	wr_zero(&w, 60 - 42);        /* Ethernet minimum frame without FCS */
	return wr_failed(&w) ? 0 : wr_len(&w);
}

/* Internet checksum over the IPv6 pseudo-header and the ICMPv6 message
 * (RFC 4443 §2.3). */
static uint16_t icmp6_csum(const uint8_t src[16], const uint8_t dst[16], const uint8_t *msg,
			   size_t len)
{
	uint32_t sum = 0;

	for (int i = 0; i < 16; i += 2)
		sum += ld_be16(src + i) + ld_be16(dst + i);
	sum += (uint32_t)len;
	sum += 58;                   /* next header: ICMPv6 */
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += ld_be16(msg + i);
	if (len & 1)
		sum += (uint32_t)msg[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t announce_una(uint8_t *buf, size_t cap, const uint8_t mac[6],
		    const struct vt_addr *ip6)
{
	struct vt_wr w = wr_init(buf, cap);
	uint8_t *icmp;
	const size_t icmp_len = 32;  /* type..flags 8, target 16, TLLA option 8 */

	if (addr_is_v4(ip6))
		return 0;
	wr_bytes(&w, all_nodes_mac, 6);
	wr_bytes(&w, mac, 6);
	wr_u16(&w, 0x86dd);
	wr_u32(&w, 0x60000000);      /* version 6, no class, no flow label */
	wr_u16(&w, (uint16_t)icmp_len);
	wr_u8(&w, 58);               /* ICMPv6 */
	wr_u8(&w, 255);              /* hop limit: ND requires 255 */
	wr_bytes(&w, ip6->b, 16);
	wr_bytes(&w, all_nodes, 16);
	icmp = wr_reserve(&w, icmp_len);
	if (!icmp)
		return 0;
	{
		struct vt_wr m = wr_init(icmp, icmp_len);
		wr_u8(&m, 136);          /* neighbour advertisement */
		wr_u8(&m, 0);
		wr_u16(&m, 0);           /* checksum, below */
		wr_u32(&m, 0x20000000);  /* R=0 S=0 O=1: replace cached entries */
		wr_bytes(&m, ip6->b, 16);
		wr_u8(&m, 2);            /* option: target link-layer address */
		wr_u8(&m, 1);            /* length in units of 8 bytes */
		wr_bytes(&m, mac, 6);
		st_be16(icmp + 2, icmp6_csum(ip6->b, all_nodes, icmp, icmp_len));
	}
	return wr_failed(&w) ? 0 : wr_len(&w);
}

int announce_send(int nsfd, const char *ifname, const uint8_t mac[6],
		  const struct vt_addr *ip4, const struct vt_addr *ip6, unsigned rounds,
		  unsigned interval_ms)
{
	uint8_t garp[ANNOUNCE_FRAME_MAX], una[ANNOUNCE_FRAME_MAX];
	size_t glen = announce_garp(garp, sizeof(garp), mac, ip4);
	size_t ulen = ip6 ? announce_una(una, sizeof(una), mac, ip6) : 0;
	struct sockaddr_ll sll;
	struct ifreq ifr;
	int fd, sent = 0, r = 0;

	if (!glen || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	/* the socket (and the interface lookup) belong to the VM's namespace */
	fd = nl_netns_socket(nsfd, AF_PACKET, SOCK_RAW, 0);
	if (fd < 0)
		return fd;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		r = -errno;
		goto out;
	}
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = ifr.ifr_ifindex;
	sll.sll_halen = 6;
	for (unsigned i = 0; i < rounds; i++) {
		if (i && interval_ms) {
			struct timespec ts = { interval_ms / 1000, (long)(interval_ms % 1000) * 1000000L };
			nanosleep(&ts, NULL);
		}
		if (sendto(fd, garp, glen, 0, (struct sockaddr *)&sll, sizeof(sll)) == (ssize_t)glen)
			sent++;
		else
			r = -errno;
		if (ulen) {
			if (sendto(fd, una, ulen, 0, (struct sockaddr *)&sll, sizeof(sll)) == (ssize_t)ulen)
				sent++;
			else
				r = -errno;
		}
	}
out:
	close(fd);
	return sent ? sent : r;
}
