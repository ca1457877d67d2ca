/* udpsock.h — the collector's UDP receive sockets.
 *
 * One SO_REUSEPORT group per listen address, one socket per ingest
 * worker. Which socket a datagram goes to is decided by a classic BPF
 * program attached to the group (SO_ATTACH_REUSEPORT_CBPF) that hashes the
 * exporter's source ADDRESS — not the kernel's default 4-tuple hash —
 * so an exporter lands on the same worker whatever its source port: after
 * it restarts with a new port, and after the collector restarts (the
 * sockets are bound in worker order, so index i is worker i). Per-exporter
 * decoder state therefore lives in one worker without locks, and each
 * worker's persisted templates belong to the exporters it will see again.
 * udp_steer() is the same hash in C (tests check the two agree).
 *
 * Receive: recvmmsg() batches. Optionally UDP_GRO (udp_sock_gro()): the
 * kernel then hands over a run of equal-sized datagrams from one sender
 * (merged by the NIC's GRO, or sent with UDP GSO over loopback) as one
 * buffer, and says their size in a control message, which it writes for
 * such runs only; single datagrams cost nothing extra. No other control
 * messages (each costs the kernel a put_cmsg per datagram);
 * udp_sock_drops() reads the socket's drop counter (SO_MEMINFO).
 * Buffers: SO_RCVBUFFORCE (root) or SO_RCVBUF, the size the kernel
 * granted is reported. */
#ifndef VT_COLLECTOR_UDPSOCK_H
#define VT_COLLECTOR_UDPSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/err.h"
#include "flow/addr.h"

#define UDP_MAX_GROUP 64          /* sockets (workers) per address */
#define UDP_DGRAM_MAX 65536       /* receive buffer per datagram */

/* udp_group_open() : <n> sockets bound to <sa> with SO_REUSEPORT and the
 * steering program (n > 1), receive buffers of <rcvbuf> bytes, IPv6
 * sockets IPv6-only. Stores the fds in <fds> (the caller owns them) and
 * the granted buffer size in *<granted>. Port 0 picks a free port for the
 * whole group. 0 or -errno with a message naming the address. */
int udp_group_open(const struct sockaddr_storage *sa, unsigned n, uint64_t rcvbuf, int *fds,
		   uint64_t *granted, struct vt_err *err);
/* udp_steer() : the worker index the program gives datagrams from <src>. */
unsigned udp_steer(const struct vt_addr *src, unsigned n);
/* udp_sock_gro() : asks <fd> for merged datagram runs (UDP_GRO). 0 or
 * -errno (-ENOPROTOOPT: the kernel has no UDP_GRO, before Linux 5.0). */
int udp_sock_gro(int fd);
/* udp_sock_port() : the bound port of <fd> (host order), 0 on error. */
uint16_t udp_sock_port(int fd);
/* udp_sock_drops() : receives the kernel dropped on <fd> (its receive
 * buffer was full): datagrams, or with UDP_GRO runs of them, each once;
 * 0 when unknown. */
uint64_t udp_sock_drops(int fd);
/* udp_parse_addr() : "ADDR:PORT" or "[V6]:PORT" into <sa>. */
int udp_parse_addr(const char *s, struct sockaddr_storage *sa, struct vt_err *err);
/* udp_fmt_addr() : "198.51.100.1:4739" / "[2001:db8::1]:4739". */
const char *udp_fmt_addr(const struct sockaddr_storage *sa, char *buf, size_t len);

/* A recvmmsg() batch. */
struct udp_msg {
	const uint8_t *data;
	size_t len;
	struct vt_addr src;
	uint16_t port;
	int truncated;            /* cut: larger than UDP_DGRAM_MAX, or its
				   * UDP_GRO size lost (MSG_CTRUNC) */
	uint16_t seg;             /* UDP_GRO: datagrams of <seg> bytes each, the
				   * last one shorter or equal; 0: one datagram */
};

/* udp_msg_next() : the datagrams of <m> one by one. *<at> starts at 0;
 * sets *<len> and returns the next datagram, or NULL after the last (the
 * one that takes what is left; an empty datagram comes out once). */
static inline const uint8_t *udp_msg_next(const struct udp_msg *m, size_t *at, size_t *len)
{
	const uint8_t *d;
	size_t left;

	if (*at == SIZE_MAX)
		return NULL;
	d = m->data + *at;
	left = m->len - *at;
	*len = m->seg && m->seg < left ? m->seg : left;
	*at = *len == left ? SIZE_MAX : *at + *len;
	return d;
}

struct udp_rx {
	unsigned batch;
	uint8_t *buf;             /* batch * UDP_DGRAM_MAX */
	void *hdrs;               /* struct mmsghdr[batch] */
	void *iov;                /* struct iovec[batch] */
	void *names;              /* struct sockaddr_storage[batch] */
	void *ctl;                /* a UDP_GRO control message per datagram */
	struct udp_msg *msg;      /* results */
};

/* udp_rx_init() : room for <batch> datagrams. 0 or -ENOMEM. */
int udp_rx_init(struct udp_rx *rx, unsigned batch);
void udp_rx_free(struct udp_rx *rx);
/* udp_rx_recv() : one non-blocking recvmmsg(); returns the number of
 * datagrams in rx->msg, 0 when none is waiting, or -errno. */
int udp_rx_recv(struct udp_rx *rx, int fd);

#endif
