/* discard.c — the floor of the ingest benchmark: a UDP receiver that only
 * reads datagrams (recvmmsg, 64 at a time, the socket buffer of the
 * collector under test) and counts them. Its CPU time per record is what
 * the kernel's receive path costs any collector on this machine; the rate
 * the generator reaches against it is the most the bench can offer.
 * With "gro" it asks for UDP_GRO, as the collector does (udp_gro, on by
 * default): the kernel may then hand over a run of equal-sized datagrams
 * from one sender as one buffer, with their size in a control message.
 * Built and run by bench/collector/ingest.sh.
 *
 *   discard PORT RCVBUF [gro]   until SIGTERM; then prints "DATAGRAMS BYTES" */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define BATCH 64
#define DGRAM_MAX 65536

static volatile sig_atomic_t stop;

/* A decimal number in [1, max], or -1. */
static long number(const char *s, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= 1 && v <= max ? v : -1;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	static char buf[BATCH][DGRAM_MAX];
	struct mmsghdr m[BATCH];
	struct iovec v[BATCH];
	char ctl[BATCH][CMSG_SPACE(sizeof(int))];
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct sigaction sa = { .sa_handler = on_term };   /* no SA_RESTART */
	unsigned long long dgrams = 0, bytes = 0;
	int args = argc == 3 || (argc == 4 && !strcmp(argv[3], "gro"));
	long port = args ? number(argv[1], 65535) : -1;
	long rcv = args ? number(argv[2], 1l << 30) : -1;
	int fd, rcvbuf = (int)rcv, gro = argc == 4;

	if (port < 0 || rcv < 0) {
		fprintf(stderr, "usage: discard PORT RCVBUF [gro] (PORT 1-65535, RCVBUF bytes)\n");
		return 2;
	}
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) < 0 ||
	    (gro && setsockopt(fd, IPPROTO_UDP, UDP_GRO, &gro, sizeof(gro)) < 0) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("discard");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (int i = 0; i < BATCH; i++) {
		v[i] = (struct iovec){ buf[i], DGRAM_MAX };
		memset(&m[i], 0, sizeof(m[i]));
		m[i].msg_hdr.msg_iov = &v[i];
		m[i].msg_hdr.msg_iovlen = 1;
		if (gro)
			m[i].msg_hdr.msg_control = ctl[i];
	}
	while (!stop) {
		for (int i = 0; gro && i < BATCH; i++)
			m[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		int n = recvmmsg(fd, m, BATCH, 0, NULL);
		for (int i = 0; i < n; i++) {
			struct cmsghdr *c = gro ? CMSG_FIRSTHDR(&m[i].msg_hdr) : NULL;
			int seg = 0;
			if (c && c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO)
				memcpy(&seg, CMSG_DATA(c), sizeof(seg));
			dgrams += seg > 0 ? (m[i].msg_len + (unsigned)seg - 1) / (unsigned)seg : 1;
			bytes += m[i].msg_len;
		}
	}
	printf("%llu %llu\n", dgrams, bytes);
	return 0;
}
