/* udpsock.c — reuseport groups steered by exporter address, recvmmsg
 * batches, drop counters (udpsock.h). */
#include "collector/udpsock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/timeutil.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

#define STEER_MUL 0x9e3779b1u

/* The steering program. For UDP the kernel runs it with the data pointer
 * at the payload; the source address is read relative to the network
 * header (SKF_NET_OFF). IPv4: the source word; IPv6: the XOR of its four
 * words. Then a multiplicative hash, the high half, modulo the group size.
 * A result >= the group size (impossible here) would fall back to the
 * kernel's own hash. */
static int attach_steering(int fd, unsigned n)
{
	struct sock_filter prog[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (uint32_t)SKF_NET_OFF),
		/* 1 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),
		/* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 0, 11),
		/* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 8),
		/* 4 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
		/* 5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12),
		/* 6 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		/* 7 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
		/* 8 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 16),
		/* 9 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		/* 10 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
		/* 11 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 20),
		/* 12 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		/* 13 */ BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),
		/* 14 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12),
		/* 15 */ BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, STEER_MUL),
		/* 16 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		/* 17 */ BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
		/* 18 */ BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog fp = { .len = sizeof(prog) / sizeof(prog[0]), .filter = prog };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &fp, sizeof(fp)) < 0)
		return -errno;
	return 0;
}

unsigned udp_steer(const struct vt_addr *src, unsigned n)
{
	uint32_t a;

	if (n <= 1)
		return 0;
	if (addr_is_v4(src)) {
		a = addr_v4(src);
	} else {
		a = 0;
		for (int i = 0; i < 4; i++)
			a ^= (uint32_t)src->b[i * 4] << 24 | (uint32_t)src->b[i * 4 + 1] << 16 |
			     (uint32_t)src->b[i * 4 + 2] << 8 | src->b[i * 4 + 3];
	}
	return ((uint32_t)(a * STEER_MUL) >> 16) % n;
}

const char *udp_fmt_addr(const struct sockaddr_storage *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(s4->sin_port));
	}
	return buf;
}

int udp_parse_addr(const char *s, struct sockaddr_storage *sa, struct vt_err *err)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h = s;
	size_t hl;
	uint64_t port;

	memset(sa, 0, sizeof(*sa));
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':')
			goto bad;
		h = s + 1;
		hl = (size_t)(end - h);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			goto bad;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host) || parse_u64(colon + 1, 0, 65535, &port) < 0)
		goto bad;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (s[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
			goto bad;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
	}
	return 0;
bad:
	return vt_err_set(err, -EINVAL,
			  "'%s' is not ADDRESS:PORT (e.g. 0.0.0.0:4739 or [::]:4739)", s);
}

uint16_t udp_sock_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int udp_sock_gro(int fd)
{
	int one = 1;

	if (setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

uint64_t udp_sock_drops(int fd)
{
	uint32_t mi[SK_MEMINFO_VARS];
	socklen_t sl = sizeof(mi);

	memset(mi, 0, sizeof(mi));
	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &sl) < 0 || sl <= SK_MEMINFO_DROPS * 4)
		return 0;
	return mi[SK_MEMINFO_DROPS];
}

int udp_group_open(const struct sockaddr_storage *sa, unsigned n, uint64_t rcvbuf, int *fds,
		   uint64_t *granted, struct vt_err *err)
{
	struct sockaddr_storage bind_sa = *sa;
	socklen_t sl = sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
						 : sizeof(struct sockaddr_in);
	char ab[INET6_ADDRSTRLEN + 8];
	unsigned i;
	int one = 1, r;

	if (n == 0 || n > UDP_MAX_GROUP)
		return vt_err_set(err, -EINVAL, "%u sockets per address (1-%d)", n, UDP_MAX_GROUP);
	for (i = 0; i < n; i++)
		fds[i] = -1;
	for (i = 0; i < n; i++) {
		int fd = socket(sa->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int buf = rcvbuf > INT32_MAX / 2 ? INT32_MAX / 2 : (int)rcvbuf;
		if (fd < 0) {
			r = -errno;
			goto fail;
		}
		fds[i] = fd;
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
		    (sa->ss_family == AF_INET6 &&
		     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)) {
			r = -errno;
			goto fail;
		}
		/* beyond net.core.rmem_max only with CAP_NET_ADMIN */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
		if (bind(fd, (struct sockaddr *)&bind_sa, sl) < 0) {
			r = -errno;
			goto fail;
		}
		if (i == 0) {
			/* port 0: the rest of the group joins the port the kernel chose */
			uint16_t p = htons(udp_sock_port(fd));
			if (bind_sa.ss_family == AF_INET6)
				((struct sockaddr_in6 *)&bind_sa)->sin6_port = p;
			else
				((struct sockaddr_in *)&bind_sa)->sin_port = p;
		}
	}
	if (n > 1 && (r = attach_steering(fds[0], n)) < 0)
		goto fail;
	if (granted) {
		int got = 0;
		socklen_t gl = sizeof(got);
		getsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &got, &gl);
		*granted = (uint64_t)got;
	}
	return 0;
fail:
	for (unsigned k = 0; k < n; k++)
		if (fds[k] >= 0) {
			close(fds[k]);
			fds[k] = -1;
		}
	return vt_err_set(err, r, "UDP listener %s: %s", udp_fmt_addr(sa, ab, sizeof(ab)),
			  strerror(-r));
}

/* ---- recvmmsg batches --------------------------------------------------- */

#define UDP_CTL_SPACE CMSG_SPACE(sizeof(int))

int udp_rx_init(struct udp_rx *rx, unsigned batch)
{
	struct mmsghdr *h;
	struct iovec *iov;

	memset(rx, 0, sizeof(*rx));
	rx->batch = batch ? batch : 1;
	rx->buf = malloc((size_t)rx->batch * UDP_DGRAM_MAX);
	rx->hdrs = h = calloc(rx->batch, sizeof(struct mmsghdr));
	rx->iov = iov = calloc(rx->batch, sizeof(struct iovec));
	rx->names = calloc(rx->batch, sizeof(struct sockaddr_storage));
	rx->msg = calloc(rx->batch, sizeof(struct udp_msg));
	rx->ctl = calloc(rx->batch, UDP_CTL_SPACE);
	if (!rx->buf || !rx->hdrs || !rx->iov || !rx->names || !rx->msg || !rx->ctl) {
		udp_rx_free(rx);
		return -ENOMEM;
	}
	/* the kernel writes back msg_len, msg_namelen, msg_flags and
	 * msg_controllen: the rest is set once */
	for (unsigned i = 0; i < rx->batch; i++) {
		iov[i].iov_base = rx->buf + (size_t)i * UDP_DGRAM_MAX;
		iov[i].iov_len = UDP_DGRAM_MAX;
		h[i].msg_hdr.msg_iov = &iov[i];
		h[i].msg_hdr.msg_iovlen = 1;
		h[i].msg_hdr.msg_name = (struct sockaddr_storage *)rx->names + i;
		h[i].msg_hdr.msg_control = (char *)rx->ctl + (size_t)i * UDP_CTL_SPACE;
	}
	return 0;
}

void udp_rx_free(struct udp_rx *rx)
{
	free(rx->buf);
	free(rx->hdrs);
	free(rx->iov);
	free(rx->names);
	free(rx->msg);
	free(rx->ctl);
	memset(rx, 0, sizeof(*rx));
}

int udp_rx_recv(struct udp_rx *rx, int fd)
{
	struct mmsghdr *h = rx->hdrs;
	const struct sockaddr_storage *names = rx->names;
	int n;

	for (unsigned i = 0; i < rx->batch; i++) {
		h[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
		h[i].msg_hdr.msg_controllen = UDP_CTL_SPACE;
	}
	do
		n = recvmmsg(fd, h, rx->batch, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct udp_msg *m = &rx->msg[i];

		m->data = h[i].msg_hdr.msg_iov->iov_base;
		m->len = h[i].msg_len;
		m->truncated = (h[i].msg_hdr.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
		m->seg = 0;
		if (h[i].msg_hdr.msg_controllen) {
			/* only UDP_GRO is asked for; its int is the datagram size */
			struct cmsghdr *c = CMSG_FIRSTHDR(&h[i].msg_hdr);
			int seg;
			if (c && c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
			    c->cmsg_len >= CMSG_LEN(sizeof(seg))) {
				memcpy(&seg, CMSG_DATA(c), sizeof(seg));
				if (seg > 0 && seg < (int)m->len)
					m->seg = (uint16_t)seg;
			}
		}
		if (names[i].ss_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&names[i];
			addr_set_v6(&m->src, s6->sin6_addr.s6_addr);
			m->port = ntohs(s6->sin6_port);
		} else {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)&names[i];
			addr_set_v4(&m->src, (const uint8_t *)&s4->sin_addr);
			m->port = ntohs(s4->sin_port);
		}
	}
	return n;
}
