/* nlsock.c — rtnetlink socket: requests, dumps, events (see nlsock.h).
 *
 * Only datagrams sent by the kernel (source port id 0) are parsed, and
 * replies are matched by sequence number, so a stale answer or another
 * process writing to our port cannot be mistaken for an ACK. */
#include "nl/nlsock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/compiler.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* How long a request may wait for its answer. The kernel answers
 * rtnetlink requests synchronously, so this only bounds a broken peer. */
#define NL_REPLY_TIMEOUT_MS 10000

struct nl_sock {
	int fd;
	uint32_t portid;
	uint32_t seq;
	uint64_t overruns;
	uint8_t *rx;                 /* NL_SOCK_RXBUF bytes, owned */
	char errmsg[256];
};

struct nl_sock *nl_sock_wrap(int fd, uint32_t groups)
{
	struct nl_sock *sk = calloc(1, sizeof(*sk));
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = groups };
	socklen_t salen = sizeof(sa);
	int one = 1, e;

	if (!sk || !(sk->rx = malloc(NL_SOCK_RXBUF))) {
		e = ENOMEM;
		goto fail;
	}
	sk->fd = fd;
	/* extended ACK text; ACKs without the echoed request; all optional */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &salen) < 0) {
		e = errno;
		goto fail;
	}
	sk->portid = sa.nl_pid;
	sk->seq = (uint32_t)time(NULL);
	return sk;
fail:
	if (sk)
		free(sk->rx);
	free(sk);
	close(fd);
	errno = e;
	return NULL;
}

struct nl_sock *nl_sock_open(uint32_t groups)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return NULL;
	return nl_sock_wrap(fd, groups);
}

void nl_sock_close(struct nl_sock *sk)
{
	if (!sk)
		return;
	close(sk->fd);
	free(sk->rx);
	free(sk);
}

int nl_sock_fd(const struct nl_sock *sk)
{
	return sk->fd;
}

int nl_sock_set_nonblock(struct nl_sock *sk, int on)
{
	int fl = fcntl(sk->fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(sk->fd, F_SETFL, fl) < 0 ? -errno : 0;
}

int nl_sock_set_rcvbuf(struct nl_sock *sk, int bytes)
{
	if (setsockopt(sk->fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) == 0)
		return 0;
	return setsockopt(sk->fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0 ? -errno : 0;
}

uint64_t nl_sock_overruns(const struct nl_sock *sk)
{
	return sk->overruns;
}

const char *nl_sock_errmsg(const struct nl_sock *sk)
{
	return sk->errmsg;
}

static int send_msg(struct nl_sock *sk, struct nlb *b, uint32_t *seq)
{
	struct sockaddr_nl kern = { .nl_family = AF_NETLINK };
	int len = nlb_finish(b);
	ssize_t n;

	if (len < 0)
		return len;
	*seq = ++sk->seq;
	nlb_set_seq(b, *seq, sk->portid);
	sk->errmsg[0] = '\0';
	do
		n = sendto(sk->fd, nlb_data(b), (size_t)len, 0, (struct sockaddr *)&kern,
			   sizeof(kern));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == len ? 0 : -EIO;
}

/* recv_dgram() : one datagram from the kernel into sk->rx; waits up to
 * <timeout_ms> (-1: do not wait on a non-blocking socket). Returns its
 * length or a negative errno. */
static ssize_t recv_dgram(struct nl_sock *sk, int timeout_ms)
{
	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = { sk->rx, NL_SOCK_RXBUF };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
				     .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(sk->fd, &mh, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				sk->overruns++;
				return -ENOBUFS;
			}
			if ((errno == EAGAIN || errno == EWOULDBLOCK) && timeout_ms >= 0) {
				struct pollfd pfd = { sk->fd, POLLIN, 0 };
				int r = poll(&pfd, 1, timeout_ms);
				if (r < 0 && errno != EINTR)
					return -errno;
				if (r == 0)
					return -ETIMEDOUT;
				continue;
			}
			return -errno;
		}
		if (mh.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (from.nl_pid != 0) /* not from the kernel: ignore */
			continue;
		return n;
	}
}

/* finish_msg() : handles an ERROR/DONE message of our request. Returns 1
 * when the exchange is over with *rc set, 0 otherwise. */
static int finish_msg(struct nl_sock *sk, const struct nlmsg *m, int *rc)
{
	int err = 0;

	if (m->type != NLMSG_ERROR && m->type != NLMSG_DONE)
		return 0;
	if (m->type == NLMSG_DONE && m->len < 4) {
		*rc = 0; /* old kernels: DONE without an error code */
		return 1;
	}
	if (nlmsg_error(m, &err, sk->errmsg, sizeof(sk->errmsg)) < 0) {
		*rc = -EBADMSG;
		return 1;
	}
	*rc = err;
	return 1;
}

static int exchange(struct nl_sock *sk, struct nlb *b, nl_msg_cb cb, void *arg)
{
	uint32_t seq;
	int rc = send_msg(sk, b, &seq), cb_rc = 0;
	bool intr = false;

	if (rc < 0)
		return rc;
	for (;;) {
		ssize_t n = recv_dgram(sk, NL_REPLY_TIMEOUT_MS);
		struct vt_rd r;
		struct nlmsg m;
		int k;

		if (n < 0)
			return (int)n;
		r = rd_init(sk->rx, (size_t)n);
		while ((k = nlmsg_next(&r, &m)) == 1) {
			if (m.seq != seq || m.portid != sk->portid)
				continue; /* stale answer or an event: not ours */
			if (m.flags & NLM_F_DUMP_INTR)
				intr = true;
			if (finish_msg(sk, &m, &rc)) {
				if (rc == 0 && cb_rc < 0)
					rc = cb_rc;
				if (rc == 0 && intr)
					rc = -EINTR;
				return rc;
			}
			if (cb && cb_rc == 0)
				cb_rc = cb(&m, arg);
		}
		if (k < 0)
			return -EBADMSG;
	}
}

int nl_sock_request(struct nl_sock *sk, struct nlb *b)
{
	if (b->w.p - b->w.start >= NLMSG_HDRLEN) {
		uint16_t fl;
		memcpy(&fl, b->w.start + 6, 2);
		fl |= NLM_F_ACK;
		memcpy(b->w.start + 6, &fl, 2);
	}
	return exchange(sk, b, NULL, NULL);
}

int nl_sock_dump(struct nl_sock *sk, struct nlb *b, nl_msg_cb cb, void *arg)
{
	return exchange(sk, b, cb, arg);
}

int nl_sock_read_events(struct nl_sock *sk, unsigned max_dgrams, nl_msg_cb cb,
			void *arg)
{
	int handled = 0;

	for (unsigned i = 0; i < max_dgrams; i++) {
		ssize_t n = recv_dgram(sk, -1);
		struct vt_rd r;
		struct nlmsg m;

		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return handled ? handled : -EAGAIN;
		if (n < 0)
			return (int)n;
		r = rd_init(sk->rx, (size_t)n);
		while (nlmsg_next(&r, &m) == 1) {
			handled++;
			if (cb(&m, arg) < 0)
				return handled;
		}
	}
	return handled;
}
