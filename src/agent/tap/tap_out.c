/* tap_out.c — a session's destination when user space sends the copies:
 * batched tunnel sockets or a pcapng ring (see tap_out.h). */
#include "agent/tap/tap_out.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/log.h"
#include "wire/encap.h"
#include "wire/pcapng_wr.h"

#define ARENA_SIZE (1u << 20)   /* bytes of headers + frames per batch */

struct tap_out {
	enum tap_dest_type type;
	const struct encap_ops *ops;
	uint32_t id;
	uint8_t hw_id;
	uint32_t seq;              /* GRE sequence / TZSP count of the next copy */
	int fd;
	struct sockaddr_storage dst;   /* the analyzer (sendto: no connect, so an
					* ICMP error never fails a later copy) */
	socklen_t dst_len;
	char what[96];             /* "session 3 gre to 198.19.0.2" for logs */
	unsigned batch, n;
	struct mmsghdr *msgs;
	struct iovec *iov;
	uint8_t *arena;
	size_t used;
	struct pcapng_ring *pcap;
	int *ifids;                /* port slot -> pcapng interface, -1 = none */
	uint64_t pcap_errors;      /* copies refused before reaching the ring */
	struct tap_out_stats st;
};

static const enum encap_type encap_of[TAP_DEST__COUNT] = {
	[TAP_DEST_VXLAN] = ENCAP_VXLAN, [TAP_DEST_GRE] = ENCAP_L2GRE,
	[TAP_DEST_ERSPAN2] = ENCAP_ERSPAN2, [TAP_DEST_ERSPAN3] = ENCAP_ERSPAN3,
	[TAP_DEST_TZSP] = ENCAP_TZSP, [TAP_DEST_PCAPNG] = ENCAP__COUNT,
};

/* The socket only sends: a filter that accepts nothing keeps a raw GRE
 * socket from queueing every GRE packet the host receives. */
static void drop_all_input(int fd)
{
	struct sock_filter code[] = { BPF_STMT(BPF_RET | BPF_K, 0) };
	struct sock_fprog prog = { .len = 1, .filter = code };

	(void)setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
}

static int open_socket(struct tap_out *o, const struct tap_dest *d, struct vt_err *err)
{
	bool v4 = addr_is_v4(&d->remote);
	int udp = o->ops->ip_proto == IPPROTO_UDP;
	int fd, one = 1, pmtu, tos = d->tos, ttl = d->ttl ? d->ttl : 64, sz = 4 << 20;

	memset(&o->dst, 0, sizeof(o->dst));
	if (v4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&o->dst;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, d->remote.b + 12, 4);
		sin->sin_port = udp ? htons(d->port) : 0;
		o->dst_len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&o->dst;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, d->remote.b, 16);
		sin6->sin6_port = udp ? htons(d->port) : 0;
		o->dst_len = sizeof(*sin6);
	}
	fd = socket(v4 ? AF_INET : AF_INET6, (udp ? SOCK_DGRAM : SOCK_RAW) | SOCK_CLOEXEC,
		    udp ? IPPROTO_UDP : IPPROTO_GRE);
	if (fd < 0)
		return vt_err_set(err, -errno, "%s: socket: %s%s", o->what, strerror(errno),
				  errno == EPERM ? " (raw GRE sockets need CAP_NET_RAW)" : "");
	drop_all_input(fd);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	if (v4) {
		pmtu = IP_PMTUDISC_DO;   /* DF, and EMSGSIZE instead of fragments */
		if (setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu)) < 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) < 0 ||
		    setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl)) < 0)
			goto sockopt;
	} else {
		pmtu = IPV6_PMTUDISC_DO;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof(pmtu)) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_DONTFRAG, &one, sizeof(one)) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tos, sizeof(tos)) < 0 ||
		    setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl)) < 0)
			goto sockopt;
	}
	o->fd = fd;
	return 0;
sockopt:
	{
		int e = errno;
		close(fd);
		return vt_err_set(err, -e, "%s: socket option: %s", o->what, strerror(e));
	}
}

static int open_pcapng(struct tap_out *o, const struct tap_session_def *s, struct vt_err *err)
{
	struct utsname u;
	char os[200], app[64];
	struct pcapng_ring_opts po = {
		.dir = s->dest.dir, .prefix = s->dest.prefix, .file_size = s->dest.file_size,
		.file_count = s->dest.file_count, .os = os, .app = app,
	};

	if (uname(&u) == 0)
		snprintf(os, sizeof(os), "%s %s", u.sysname, u.release);
	else
		snprintf(os, sizeof(os), "Linux");
	snprintf(app, sizeof(app), "vtap %s", VTAP_VERSION);
	o->pcap = pcapng_ring_open(&po, err);
	if (!o->pcap)
		return err && err->code ? err->code : -EIO;
	o->ifids = malloc(sizeof(int) * TAP_MAX_PORTS);
	if (!o->ifids)
		return vt_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < TAP_MAX_PORTS; i++)
		o->ifids[i] = -1;
	return 0;
}

struct tap_out *tap_out_new(const struct tap_session_def *s, unsigned batch, struct vt_err *err)
{
	struct tap_out *o = calloc(1, sizeof(*o));
	char ra[VT_ADDRSTRLEN];
	int rc;

	if (!o) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	o->fd = -1;
	o->type = s->dest.type;
	o->id = s->dest.key;
	o->hw_id = s->dest.hw_id;
	if (o->type == TAP_DEST_PCAPNG) {
		snprintf(o->what, sizeof(o->what), "session %u pcapng in %s", s->id, s->dest.dir);
		rc = open_pcapng(o, s, err);
	} else {
		o->ops = encap_ops_get(encap_of[o->type]);
		snprintf(o->what, sizeof(o->what), "session %u %s to %s", s->id, o->ops->name,
			 addr_fmt(&s->dest.remote, ra, sizeof(ra)));
		o->batch = VT_MIN(VT_MAX(batch, 1u), 1024u);
		o->msgs = calloc(o->batch, sizeof(*o->msgs));
		o->iov = calloc(o->batch, sizeof(*o->iov));
		o->arena = malloc(ARENA_SIZE);
		rc = !o->msgs || !o->iov || !o->arena ? vt_err_set(err, -ENOMEM, "out of memory")
						      : open_socket(o, &s->dest, err);
	}
	if (rc) {
		tap_out_free(o);
		errno = -rc;
		return NULL;
	}
	return o;
}

void tap_out_free(struct tap_out *o)
{
	if (!o)
		return;
	tap_out_flush(o);
	if (o->fd >= 0)
		close(o->fd);
	pcapng_ring_close(o->pcap);
	free(o->ifids);
	free(o->msgs);
	free(o->iov);
	free(o->arena);
	free(o);
}

static void count_errno(struct tap_out *o, int e)
{
	o->st.last_errno = e;
	switch (e) {
	case EMSGSIZE:
		o->st.drop_too_big++;
		break;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
	case ECONNREFUSED:
	case EADDRNOTAVAIL:
		o->st.drop_dest_down++;
		break;
	default:
		o->st.drop_error++;
		log_ratelimited(LOG_LVL_WARN, "%s: send: %s", o->what, strerror(e));
		break;
	}
}

void tap_out_flush(struct tap_out *o)
{
	unsigned i = 0;

	if (o->pcap) {
		if (pcapng_ring_flush(o->pcap) == 0)
			o->st.batches++;
		return;
	}
	if (!o->n)
		return;
	o->st.batches++;
	while (i < o->n) {
		int r = sendmmsg(o->fd, o->msgs + i, o->n - i, 0);

		if (r > 0) {
			o->st.sent += (unsigned)r;
			i += (unsigned)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		/* message i failed; the rest still go */
		count_errno(o, r < 0 ? errno : EIO);
		i++;
	}
	o->n = 0;
	o->used = 0;
}

static int put_pcapng(struct tap_out *o, const struct tap_copy *c, const struct tap_out_port *port)
{
	int *ifid = c->port_slot < TAP_MAX_PORTS ? &o->ifids[c->port_slot] : NULL;
	int rc;

	if (!ifid) {
		o->pcap_errors++;
		return -EINVAL;
	}
	if (*ifid < 0) {
		char desc[256];
		struct pcapng_if ifc = { PCAPNG_LINKTYPE_ETHERNET, 0, NULL, desc };

		if (!port) {
			o->pcap_errors++;
			return -EINVAL;
		}
		ifc.name = port->vm_name && *port->vm_name ? port->vm_name : port->ifname;
		snprintf(desc, sizeof(desc), "uuid=%s host=%s port=%s", port->vm_uuid,
			 port->host, port->ifname);
		*ifid = pcapng_ring_add_if(o->pcap, &ifc);
		if (*ifid < 0) {
			o->pcap_errors++;
			rc = *ifid;
			*ifid = -1;
			return rc;
		}
	}
	/* the interface stands for the VM's NIC: what the VM sent is outbound */
	/* sent and lost copies are counted by the ring when it writes */
	rc = pcapng_ring_packet(o->pcap, (uint32_t)*ifid, c->ts_ns, c->data, c->caplen, c->wire_len,
				c->dir == TAP_DIR_FROM_VM ? PCAPNG_EPB_OUTBOUND : PCAPNG_EPB_INBOUND);
	if (rc)
		o->st.last_errno = -rc;
	return rc;
}

int tap_out_put(struct tap_out *o, const struct tap_copy *c, const struct tap_out_port *port)
{
	struct encap_meta m;
	struct vt_wr w;
	size_t need;
	struct mmsghdr *mh;

	if (o->pcap)
		return put_pcapng(o, c, port);
	need = o->ops->hdr_len + (size_t)c->caplen;
	if (o->n == o->batch || o->used + need > ARENA_SIZE)
		tap_out_flush(o);
	if (need > ARENA_SIZE) {
		o->st.drop_error++;
		return -ENOSPC;
	}
	memset(&m, 0, sizeof(m));
	m.id = o->id;
	m.seq = o->seq++;
	m.orig_len = c->wire_len;
	m.ts_ns = c->ts_ns;
	m.index = c->port_index;
	m.hw_id = o->hw_id;
	m.vlan = c->vlan;
	m.dir = c->dir;
	m.truncated = c->caplen < c->wire_len;
	w = wr_init(o->arena + o->used, need);
	if (o->ops->encode(&w, &m) != 0) {
		o->st.drop_error++;
		return -ENOSPC;
	}
	wr_bytes(&w, c->data, c->caplen);
	o->iov[o->n].iov_base = o->arena + o->used;
	o->iov[o->n].iov_len = wr_len(&w);
	mh = &o->msgs[o->n];
	memset(mh, 0, sizeof(*mh));
	mh->msg_hdr.msg_name = &o->dst;
	mh->msg_hdr.msg_namelen = o->dst_len;
	mh->msg_hdr.msg_iov = &o->iov[o->n];
	mh->msg_hdr.msg_iovlen = 1;
	o->used += (need + 7) & ~(size_t)7;
	o->n++;
	if (o->n == o->batch)
		tap_out_flush(o);
	return 0;
}

const struct tap_out_stats *tap_out_stats(struct tap_out *o)
{
	if (o->pcap) {   /* the ring counts what it wrote and what it lost */
		const struct pcapng_ring_stats *rs = pcapng_ring_stats(o->pcap);

		o->st.sent = rs->packets;
		o->st.drop_error = o->pcap_errors + rs->write_errors;
	}
	return &o->st;
}

unsigned tap_out_pending(const struct tap_out *o)
{
	return o->n;
}
