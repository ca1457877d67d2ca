/* tapd.c — TAP relay for TAP-attached lab VMs (see tapd.h). */
#include "lab/tapd.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/evloop.h"
#include "core/log.h"
#include "lab/labstate.h"
#include "nl/link.h"
#include "nl/netns.h"
#include "nl/tun.h"

int tapd_pump(struct tapd_relay *r, int from, unsigned max)
{
	int to = !from, dir = from == 0 ? TAPD_TO_HOST : TAPD_TO_VM;
	unsigned n = 0;

	while (n < max) {
		ssize_t len = read(r->fd[from], r->buf, r->cap);

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -errno;
		}
		if (len == 0)
			return n ? (int)n : -EPIPE;
		n++;
		if ((size_t)len >= r->cap) { /* cannot tell whether it was cut */
			r->st.truncated[dir]++;
			continue;
		}
		/* virtio_net_hdr: flags(1) gso_type(1) ... */
		if (len >= 2 && r->buf[1] != VIRTIO_NET_HDR_GSO_NONE)
			r->st.gso[dir]++;
		if (write(r->fd[to], r->buf, (size_t)len) != len) {
			r->st.drops[dir]++;
			continue;
		}
		r->st.frames[dir]++;
		r->st.bytes[dir] += (uint64_t)len;
	}
	return (int)n;
}

struct tapd {
	struct evloop *ev;
	struct tapd_relay relay;
	struct ev_io io[2];
	int rc;
	const char *vm;
};

static void on_io(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct tapd *t = io->arg;
	int from = io == &t->io[0] ? 0 : 1;
	int r;

	(void)events;
	r = tapd_pump(&t->relay, from, TAPD_BATCH);
	if (r < 0) {
		/* the device went away: the VM or the host namespace was removed */
		log_info("tapd %s: %s side closed (%s), exiting", t->vm, from ? "host" : "VM",
			 strerror(-r));
		t->rc = 0;
		ev_stop(ev);
	}
}

static void on_signal(struct evloop *ev, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	ev_stop(ev);
}

static int open_ns(const char *prefix, const char *role)
{
	char name[64];

	if (lab_ns_name(name, sizeof(name), prefix, role) < 0)
		return -EINVAL;
	return nl_netns_open(name);
}

int tapd_main(const struct tapd_opts *o)
{
	struct tapd t;
	struct nl_tap_opts to = NL_TAP_OPTS_INIT;
	struct nl_sock *sk = NULL;
	struct nl_link_mod m = NL_LINK_MOD_INIT;
	char port[IFNAMSIZ];
	uint8_t mac[6] = { 0xfe, 0x54, 0x00, 0x18, 0, 0 };
	int vmfd = -1, hostfd = -1, r;
	unsigned k = 0;

	memset(&t, 0, sizeof(t));
	t.relay.fd[0] = t.relay.fd[1] = -1;
	t.vm = o->vm;
	t.rc = 1;
	if (!lab_prefix_ok(o->prefix) || sscanf(o->vm, "vm%u", &k) != 1 || k == 0 ||
	    k > LAB_MAX_VMS) {
		log_err("tapd: bad --prefix or --vm");
		return 2;
	}
	snprintf(port, sizeof(port), "tp-%s", o->vm);
	mac[4] = (uint8_t)(k >> 8);
	mac[5] = (uint8_t)k;
	vmfd = open_ns(o->prefix, o->vm);
	hostfd = open_ns(o->prefix, o->host);
	if (vmfd < 0 || hostfd < 0) {
		log_err("tapd %s: namespace %s missing", o->vm, vmfd < 0 ? o->vm : o->host);
		goto out;
	}
	to.vnet_hdr = true;
	to.vnet_hdr_sz = TAPD_VNET_HDR_SZ;
	/* the stacks on both sides may hand us TSO/USO super-frames and
	 * partially checksummed frames: the vnet header carries them */
	to.offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
	to.nonblock = true;
	to.in_ns = true;
	/* the VM's NIC: attach to its persistent eth0 */
	to.name = "eth0";
	to.nsfd = vmfd;
	t.relay.fd[0] = nl_tap_open(&to, NULL);
	if (t.relay.fd[0] < 0) {
		log_err("tapd %s: cannot attach to eth0 in the VM: %s", o->vm,
			strerror(-t.relay.fd[0]));
		goto out;
	}
	/* its port on the host: ours, gone when we are */
	to.name = port;
	to.nsfd = hostfd;
	t.relay.fd[1] = nl_tap_open(&to, NULL);
	if (t.relay.fd[1] < 0) {
		log_err("tapd %s: cannot create %s on %s: %s", o->vm, port, o->host,
			strerror(-t.relay.fd[1]));
		goto out;
	}
	sk = nl_netns_sock_open(hostfd, 0);
	if (!sk) {
		log_err("tapd %s: netlink: %s", o->vm, strerror(errno));
		goto out;
	}
	/* as libvirt does: the VM's MAC with fe: first, so the bridge never
	 * takes a port's address as its own */
	r = nl_link_index(sk, o->bridge);
	if (r < 0) {
		log_err("tapd %s: no bridge %s on %s", o->vm, o->bridge, o->host);
		goto out;
	}
	m.name = port;
	m.mac = mac;
	m.master = r;
	m.up = 1;
	r = nl_link_mod(sk, &m);
	if (r < 0) {
		log_err("tapd %s: cannot plug %s into %s: %s %s", o->vm, port, o->bridge,
			strerror(-r), nl_sock_errmsg(sk));
		goto out;
	}
	t.relay.buf = malloc(TAPD_BUF);
	t.relay.cap = TAPD_BUF;
	t.ev = ev_new(4);
	if (!t.relay.buf || !t.ev) {
		log_err("tapd %s: out of memory", o->vm);
		goto out;
	}
	if (ev_io_add(t.ev, &t.io[0], t.relay.fd[0], EPOLLIN, on_io, &t) < 0 ||
	    ev_io_add(t.ev, &t.io[1], t.relay.fd[1], EPOLLIN, on_io, &t) < 0 ||
	    ev_signal(t.ev, SIGTERM, on_signal, NULL) < 0 ||
	    ev_signal(t.ev, SIGINT, on_signal, NULL) < 0) {
		log_err("tapd %s: event loop setup failed", o->vm);
		goto out;
	}
	if (o->ready_fd) {
		int fd = (int)o->ready_fd;
		if (write(fd, "ready\n", 6) != 6)
			log_warn("tapd %s: could not report readiness", o->vm);
		close(fd);
	}
	log_info("tapd %s: relaying eth0 <-> %s on %s/%s", o->vm, port, o->host, o->bridge);
	t.rc = 0;
	ev_run(t.ev);
	log_info("tapd %s: to host %" PRIu64 " frames %" PRIu64 " bytes (%" PRIu64 " GSO, %"
		 PRIu64 " dropped); to VM %" PRIu64 " frames %" PRIu64 " bytes (%" PRIu64
		 " GSO, %" PRIu64 " dropped)", o->vm,
		 t.relay.st.frames[0], t.relay.st.bytes[0], t.relay.st.gso[0], t.relay.st.drops[0],
		 t.relay.st.frames[1], t.relay.st.bytes[1], t.relay.st.gso[1], t.relay.st.drops[1]);
out:
	ev_free(t.ev);
	free(t.relay.buf);
	nl_sock_close(sk);
	if (t.relay.fd[0] >= 0)
		close(t.relay.fd[0]);
	if (t.relay.fd[1] >= 0)
		close(t.relay.fd[1]);
	if (vmfd >= 0)
		close(vmfd);
	if (hostfd >= 0)
		close(hostfd);
	return t.rc;
}
