/* labnet.c — the lab's network: build, inspect, migrate, remove (see
 * labnet.h and docs/lab.md for the topology).
 *
 * Every step goes through a netlink socket opened inside the namespace it
 * changes; veth pairs are created in one lab namespace with the peer placed
 * directly in another, so nothing ever exists in the root namespace, not
 * even for a moment. Failures name the namespace, the link and the
 * kernel's own explanation. */
#include "lab/labnet.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/if.h>
#include <linux/if_bridge.h>
#include <linux/rtnetlink.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "lab/announce.h"
#include "lab/tapd.h"
#include "nl/link.h"
#include "nl/netns.h"
#include "nl/route.h"
#include "nl/tun.h"

/* The network in one place while building or changing it. */
struct net {
	struct lab *lab;
	struct lab_ns fabric, ext, mgmt, analyzer;
	struct lab_ns hosts[LAB_MAX_HOSTS + 1];   /* 1-based */
	struct lab_ns vms[LAB_MAX_VMS];           /* parallel to lab->vms */
};

static const uint8_t ext_mac[6] = { 0x52, 0x54, 0x00, 0x18, 0xff, 0x01 };

/* fail() : fills <err> with "<ns>: <what>: <strerror> (<kernel text>)". */
static int fail(struct vt_err *err, int r, const struct lab_ns *n, const char *fmt, ...)
	VT_PRINTF(4, 5);
static int fail(struct vt_err *err, int r, const struct lab_ns *n, const char *fmt, ...)
{
	char what[256];
	const char *km = n && n->sk ? nl_sock_errmsg(n->sk) : "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return vt_err_set(err, r, "%s: %s: %s%s%s%s", n ? n->name : "lab", what, strerror(-r),
			  *km ? " (" : "", km, *km ? ")" : "");
}

static void ns_init(struct lab_ns *n)
{
	n->name[0] = '\0';
	n->fd = -1;
	n->sk = NULL;
}

static int ns_attach(struct lab_ns *n)
{
	n->fd = nl_netns_open(n->name);
	if (n->fd < 0)
		return n->fd;
	n->sk = nl_netns_sock_open(n->fd, 0);
	if (!n->sk) {
		int e = -errno;
		close(n->fd);
		n->fd = -1;
		return e;
	}
	return 0;
}

int labnet_ns_open(struct lab_ns *n, const char *prefix, const char *role)
{
	ns_init(n);
	if (lab_ns_name(n->name, sizeof(n->name), prefix, role) < 0)
		return -EINVAL;
	return ns_attach(n);
}

void labnet_ns_close(struct lab_ns *n)
{
	nl_sock_close(n->sk);
	n->sk = NULL;
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

static void net_init(struct net *net, struct lab *lab)
{
	net->lab = lab;
	ns_init(&net->fabric);
	ns_init(&net->ext);
	ns_init(&net->mgmt);
	ns_init(&net->analyzer);
	for (unsigned h = 0; h <= LAB_MAX_HOSTS; h++)
		ns_init(&net->hosts[h]);
	for (unsigned i = 0; i < LAB_MAX_VMS; i++)
		ns_init(&net->vms[i]);
}

static void net_close(struct net *net)
{
	labnet_ns_close(&net->fabric);
	labnet_ns_close(&net->ext);
	labnet_ns_close(&net->mgmt);
	labnet_ns_close(&net->analyzer);
	for (unsigned h = 0; h <= LAB_MAX_HOSTS; h++)
		labnet_ns_close(&net->hosts[h]);
	for (unsigned i = 0; i < LAB_MAX_VMS; i++)
		labnet_ns_close(&net->vms[i]);
}

/* ---- building blocks --------------------------------------------------- */

static int ns_create(struct lab_ns *n, const char *prefix, const char *role,
		     struct vt_err *err)
{
	int r;

	ns_init(n);
	lab_ns_name(n->name, sizeof(n->name), prefix, role);
	r = nl_netns_create(n->name);
	if (r == -EEXIST)
		return vt_err_set(err, r, "namespace %s already exists: another lab '%s' is up "
				  "(or left over: run 'vtap lab down --prefix %s')", n->name,
				  prefix, prefix);
	if (r < 0)
		return fail(err, r, n, "creating the namespace");
	r = ns_attach(n);
	return r < 0 ? fail(err, r, n, "opening the namespace") : 0;
}

static int sysctl(struct lab_ns *n, const char *key, const char *val, bool optional,
		  struct vt_err *err)
{
	int r = nl_netns_sysctl(n->fd, key, val);

	if (r == -ENOENT && optional)
		return 0;
	return r < 0 ? fail(err, r, n, "sysctl %s=%s", key, val) : 0;
}

/* ns_base() : loopback up and the namespace's sysctls. Infrastructure
 * namespaces (fabric, hosts, mgmt, analyzer) have no IPv6 at all, so
 * their bridges and ports never send router solicitations or MLD reports
 * that agents would meter as VM traffic; bridged frames skip iptables when
 * br_netfilter is loaded. VMs and ext have IPv6 without DAD (addresses are
 * usable at once), without router solicitations, and keep their addresses
 * while their port is down during a migration. */
static int ns_base(struct lab_ns *n, bool ipv6, struct vt_err *err)
{
	static const char *const no6[] = { "net.ipv6.conf.all.disable_ipv6",
					   "net.ipv6.conf.default.disable_ipv6" };
	static const char *const v6[][2] = {
		{ "net.ipv6.conf.all.accept_dad", "0" },
		{ "net.ipv6.conf.default.accept_dad", "0" },
		{ "net.ipv6.conf.all.dad_transmits", "0" },
		{ "net.ipv6.conf.default.dad_transmits", "0" },
		{ "net.ipv6.conf.all.router_solicitations", "0" },
		{ "net.ipv6.conf.default.router_solicitations", "0" },
		{ "net.ipv6.conf.all.keep_addr_on_down", "1" },
		{ "net.ipv6.conf.default.keep_addr_on_down", "1" },
	};
	static const char *const brnf[] = { "net.bridge.bridge-nf-call-iptables",
					     "net.bridge.bridge-nf-call-ip6tables",
					     "net.bridge.bridge-nf-call-arptables" };
	int r;

	if (ipv6) {
		for (size_t i = 0; i < ARRAY_SIZE(v6); i++)
			if ((r = sysctl(n, v6[i][0], v6[i][1], false, err)) < 0)
				return r;
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(no6); i++)
			if ((r = sysctl(n, no6[i], "1", false, err)) < 0)
				return r;
	}
	for (size_t i = 0; i < ARRAY_SIZE(brnf); i++)
		if ((r = sysctl(n, brnf[i], "0", true, err)) < 0)
			return r;
	r = nl_link_set_up(n->sk, "lo", true);
	return r < 0 ? fail(err, r, n, "bringing lo up") : 0;
}

static int bridge(struct lab_ns *n, const char *name, uint32_t mtu, struct vt_err *err)
{
	struct nl_link_new l = { .name = name, .kind = NL_LINK_BRIDGE, .mtu = mtu, .up = true };
	int r;

	/* no snooping: without a querier it would only make IPv6 neighbour
	 * discovery depend on MLD timing after a migration */
	l.u.bridge.mcast_snooping = 0;
	r = nl_link_add(n->sk, &l);
	return r < 0 ? fail(err, r, n, "creating bridge %s", name) : 0;
}

/* veth() : <a_name> in <a> (enslaved to <a_master> when not NULL, up) and
 * <b_name> in <b> (MTU set, left down). */
static int veth(struct lab_ns *a, const char *a_name, const char *a_master,
		struct lab_ns *b, const char *b_name, const uint8_t *b_mac, uint32_t mtu,
		struct vt_err *err)
{
	struct nl_link_new l = { .name = a_name, .kind = NL_LINK_VETH, .up = true, .mtu = mtu };
	int r;

	l.u.veth.peer = b_name;
	l.u.veth.peer_in_ns = true;
	l.u.veth.peer_nsfd = b->fd;
	l.u.veth.peer_mac = b_mac;
	if (a_master) {
		r = nl_link_index(a->sk, a_master);
		if (r < 0)
			return fail(err, r, a, "looking up %s", a_master);
		l.master = (uint32_t)r;
	}
	r = nl_link_add(a->sk, &l);
	if (r < 0)
		return fail(err, r, a, "creating veth %s (peer %s in %s)", a_name, b_name, b->name);
	if (mtu && (r = nl_link_set_mtu(b->sk, b_name, mtu)) < 0)
		return fail(err, r, b, "setting the MTU of %s", b_name);
	return 0;
}

static int addr(struct lab_ns *n, const char *ifname, const char *cidr, struct vt_err *err)
{
	int r = nl_addr_add_str(n->sk, ifname, cidr, NL_ADDR_NODAD);

	return r < 0 ? fail(err, r, n, "adding %s to %s", cidr, ifname) : 0;
}

static int up(struct lab_ns *n, const char *ifname, struct vt_err *err)
{
	int r = nl_link_set_up(n->sk, ifname, true);

	return r < 0 ? fail(err, r, n, "bringing %s up", ifname) : 0;
}

/* default_route() : via <gw> on <ifname>, on-link so it does not depend
 * on the link's carrier being up yet (a TAP before its relay attaches). */
static int default_route(struct lab_ns *n, const char *ifname, const char *gw,
			 struct vt_err *err)
{
	struct nl_route rt = { 0 };
	int r = nl_link_index(n->sk, ifname);

	if (r < 0)
		return fail(err, r, n, "looking up %s", ifname);
	rt.oif = (uint32_t)r;
	rt.onlink = true;
	addr_parse(gw, &rt.gw);
	r = nl_route_add(n->sk, &rt);
	return r < 0 ? fail(err, r, n, "adding the default route via %s", gw) : 0;
}

static int local_route(struct lab_ns *n, const char *net, unsigned plen, struct vt_err *err)
{
	struct nl_route rt = { 0 };

	addr_parse(net, &rt.dst);
	rt.plen = plen;
	rt.type = RTN_LOCAL;
	rt.oif = 1; /* lo */
	int r = nl_route_add(n->sk, &rt);
	return r < 0 ? fail(err, r, n, "adding local route %s/%u", net, plen) : 0;
}

/* ---- hosts, VMs, the rest ---------------------------------------------- */

static int build_fabric(struct net *net, struct vt_err *err)
{
	int r;

	if ((r = ns_create(&net->fabric, net->lab->prefix, "fabric", err)) < 0 ||
	    (r = ns_base(&net->fabric, false, err)) < 0 ||
	    (r = bridge(&net->fabric, "vmnet", 0, err)) < 0 ||
	    (r = bridge(&net->fabric, "mgmt", net->lab->monitor_mtu, err)) < 0)
		return r;
	return 0;
}

static int build_host(struct net *net, unsigned h, struct vt_err *err)
{
	struct lab_ns *n = &net->hosts[h];
	char role[16], up_name[IFNAMSIZ], mg_name[IFNAMSIZ], ip[32];
	uint32_t mtu = net->lab->monitor_mtu;
	int r;

	snprintf(role, sizeof(role), "h%u", h);
	snprintf(up_name, sizeof(up_name), "h%u-up", h);
	snprintf(mg_name, sizeof(mg_name), "h%u-mg", h);
	if ((r = ns_create(n, net->lab->prefix, role, err)) < 0 ||
	    (r = ns_base(n, false, err)) < 0 ||
	    (r = bridge(n, "br0", 0, err)) < 0)
		return r;
	/* uplink: the host's bridge joins the VM network that spans hosts */
	if ((r = veth(&net->fabric, up_name, "vmnet", n, "up0", NULL, 0, err)) < 0)
		return r;
	if ((r = nl_link_set_master(n->sk, "up0", "br0")) < 0)
		return fail(err, r, n, "adding up0 to br0");
	if ((r = up(n, "up0", err)) < 0)
		return r;
	/* management: where agents export flows and mirror copies */
	if ((r = veth(&net->fabric, mg_name, "mgmt", n, "mgmt0", NULL, mtu, err)) < 0 ||
	    (r = up(n, "mgmt0", err)) < 0)
		return r;
	lab_host_mgmt_ip(h, ip, sizeof(ip));
	snprintf(ip + strlen(ip), sizeof(ip) - strlen(ip), "/%d", LAB_MGMT_PLEN);
	return addr(n, "mgmt0", ip, err);
}

/* vm_config() : the VM's own side: MAC, addresses, routes on eth0. */
static int vm_config(struct net *net, struct lab_vm *vm, struct lab_ns *n, struct vt_err *err)
{
	char cidr[64], a[VT_ADDRSTRLEN];
	int r;

	if ((r = nl_link_set_mac(n->sk, "eth0", vm->mac)) < 0)
		return fail(err, r, n, "setting the MAC of eth0");
	if ((r = up(n, "eth0", err)) < 0)
		return r;
	snprintf(cidr, sizeof(cidr), "%s/%d", addr_fmt(&vm->ip4, a, sizeof(a)), LAB_VM_PLEN4);
	if ((r = addr(n, "eth0", cidr, err)) < 0 ||
	    (r = default_route(n, "eth0", LAB_EXT_IP4, err)) < 0)
		return r;
	if (net->lab->ipv6) {
		snprintf(cidr, sizeof(cidr), "%s/%d", addr_fmt(&vm->ip6, a, sizeof(a)), LAB_VM_PLEN6);
		if ((r = addr(n, "eth0", cidr, err)) < 0 ||
		    (r = default_route(n, "eth0", LAB_EXT_IP6, err)) < 0)
			return r;
	}
	return 0;
}

static int build_vm(struct net *net, unsigned i, const char *exe, struct vt_err *err)
{
	struct lab_vm *vm = &net->lab->vms[i];
	struct lab_ns *n = &net->vms[i], *host = &net->hosts[vm->host];
	int r;

	if ((r = ns_create(n, net->lab->prefix, vm->name, err)) < 0 ||
	    (r = ns_base(n, net->lab->ipv6, err)) < 0)
		return r;
	if (vm->port_type == LAB_PORT_VETH) {
		/* as a container runtime: the host end is a bridge port */
		if ((r = veth(host, vm->port, "br0", n, "eth0", vm->mac, 0, err)) < 0)
			return r;
		return vm_config(net, vm, n, err);
	}
	/* as qemu: the VM's NIC is a TAP (persistent: it outlives relays,
	 * like a guest NIC outlives the host-side tap in a migration) */
	{
		struct nl_tap_opts to = NL_TAP_OPTS_INIT;
		to.name = "eth0";
		to.vnet_hdr = true;
		to.vnet_hdr_sz = TAPD_VNET_HDR_SZ;
		to.offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
		to.persist = true;
		to.in_ns = true;
		to.nsfd = n->fd;
		r = nl_tap_open(&to, NULL);
		if (r < 0)
			return fail(err, r, n, "creating TAP eth0");
		close(r);
	}
	if ((r = vm_config(net, vm, n, err)) < 0)
		return r;
	return labnet_spawn_tapd(net->lab, vm, exe, err);
}

static int build_ext(struct net *net, struct vt_err *err)
{
	struct lab_ns *n = &net->ext;
	bool v6 = net->lab->ipv6;
	int r;

	if ((r = ns_create(n, net->lab->prefix, "ext", err)) < 0 ||
	    (r = ns_base(n, v6, err)) < 0 ||
	    (r = veth(&net->fabric, "ext-up", "vmnet", n, "eth0", ext_mac, 0, err)) < 0 ||
	    (r = up(n, "eth0", err)) < 0 ||
	    (r = addr(n, "eth0", LAB_EXT_IP4 "/16", err)) < 0 ||
	    (r = addr(n, "lo", LAB_INET_IP4 "/32", err)) < 0 ||
	    (r = local_route(n, LAB_INET_NET4, 24, err)) < 0)
		return r;
	/* the "internet": ext answers for every address of these prefixes */
	if (v6 && ((r = addr(n, "eth0", LAB_EXT_IP6 "/64", err)) < 0 ||
		   (r = addr(n, "lo", LAB_INET_IP6 "/128", err)) < 0 ||
		   (r = local_route(n, LAB_INET_NET6, 64, err)) < 0))
		return r;
	return 0;
}

static int build_mgmt_side(struct net *net, struct lab_ns *n, const char *role,
			   const char *fabric_port, const char *ip, struct vt_err *err)
{
	char cidr[32];
	int r;

	snprintf(cidr, sizeof(cidr), "%s/%d", ip, LAB_MGMT_PLEN);
	if ((r = ns_create(n, net->lab->prefix, role, err)) < 0 ||
	    (r = ns_base(n, false, err)) < 0 ||
	    (r = veth(&net->fabric, fabric_port, "mgmt", n, "eth0", NULL,
		      net->lab->monitor_mtu, err)) < 0 ||
	    (r = up(n, "eth0", err)) < 0)
		return r;
	return addr(n, "eth0", cidr, err);
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

struct ready_ctx {
	unsigned pending;
	char first[IFNAMSIZ];
};

static int count_unready(const struct nl_link_info *li, void *arg)
{
	struct ready_ctx *c = arg;
	bool port = strcmp(li->slave_kind, "bridge") == 0;

	if ((port && li->brport_state != BR_STATE_FORWARDING) ||
	    ((port || strcmp(li->name, "eth0") == 0 || strcmp(li->name, "mgmt0") == 0) &&
	     !(li->flags & IFF_RUNNING))) {
		if (!c->pending++)
			snprintf(c->first, sizeof(c->first), "%s", li->name);
	}
	return 0;
}

/* wait_ready() : until every bridge port of the lab forwards and every
 * eth0 has carrier, so traffic started right after `lab up` is not
 * dropped by a port the kernel has not finished bringing up. */
static int wait_ready(struct net *net, unsigned ms, struct vt_err *err)
{
	uint64_t until = mono_ms() + ms;
	struct lab_ns *all[LAB_MAX_HOSTS + LAB_MAX_VMS + 4];
	unsigned n = 0;

	all[n++] = &net->fabric;
	all[n++] = &net->ext;
	all[n++] = &net->mgmt;
	all[n++] = &net->analyzer;
	for (unsigned h = 1; h <= net->lab->nhosts; h++)
		all[n++] = &net->hosts[h];
	for (unsigned i = 0; i < net->lab->nvms; i++)
		all[n++] = &net->vms[i];
	for (unsigned i = 0; i < n;) {
		struct ready_ctx c = { 0, "" };
		int r = nl_link_dump(all[i]->sk, count_unready, &c);
		if (r == 0 && c.pending == 0) {
			i++;
			continue;
		}
		if (mono_ms() >= until)
			return r < 0 ? fail(err, r, all[i], "listing links") :
				vt_err_set(err, -ETIMEDOUT, "%s: %s is not forwarding after %u ms",
					   all[i]->name, c.first, ms);
		sleep_ms(5);
	}
	return 0;
}

int labnet_up(struct lab *lab, const char *exe, struct vt_err *err)
{
	struct net *net = calloc(1, sizeof(*net));
	int r;

	if (!net)
		return vt_err_set(err, -ENOMEM, "out of memory");
	net_init(net, lab);
	/* record the plan first: a crash halfway leaves a state file that
	 * names everything `lab down` must look for */
	r = lab_save(lab);
	if (r < 0) {
		vt_err_set(err, r, "%s/%s: cannot write the lab's files: %s", LAB_RUN_DIR,
			   lab->prefix, strerror(-r));
		goto out;
	}
	if ((r = build_fabric(net, err)) < 0)
		goto out;
	for (unsigned h = 1; h <= lab->nhosts; h++)
		if ((r = build_host(net, h, err)) < 0)
			goto out;
	if ((r = build_ext(net, err)) < 0 ||
	    (r = build_mgmt_side(net, &net->mgmt, "mgmt", "mgmt-mg", LAB_MGMT_IP, err)) < 0 ||
	    (r = build_mgmt_side(net, &net->analyzer, "analyzer", "an-mg", LAB_ANALYZER_IP,
				 err)) < 0)
		goto out;
	for (unsigned i = 0; i < lab->nvms; i++)
		if ((r = build_vm(net, i, exe, err)) < 0)
			goto out;
	if ((r = wait_ready(net, 10000, err)) < 0)
		goto out;
	r = lab_save(lab);
	if (r < 0)
		vt_err_set(err, r, "%s/%s: cannot write the lab's files: %s", LAB_RUN_DIR,
			   lab->prefix, strerror(-r));
out:
	net_close(net);
	free(net);
	if (r < 0) {
		struct labnet_down_report rep;
		(void)labnet_down(lab->prefix, &rep, NULL);
	}
	return r;
}

/* ---- TAP relays -------------------------------------------------------- */

int labnet_self_exe(char *buf, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", buf, cap - 1);

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int labnet_spawn_tapd(const struct lab *lab, struct lab_vm *vm, const char *exe,
		      struct vt_err *err)
{
	char host[16], log[256], file[64], ready[8] = "", hostns[64];
	char *argv[] = { (char *)exe, "lab", "tapd", "--prefix", (char *)lab->prefix,
			 "--vm", vm->name, "--host", host, "--ready-fd", "3", NULL };
	int pfd[2], hfd;
	pid_t pid;
	ssize_t n = 0;

	snprintf(host, sizeof(host), "h%u", vm->host);
	snprintf(file, sizeof(file), "tapd-%s.log", vm->name);
	lab_path(log, sizeof(log), lab->prefix, file);
	lab_ns_name(hostns, sizeof(hostns), lab->prefix, host);
	hfd = nl_netns_open(hostns);
	if (hfd < 0)
		return vt_err_set(err, hfd, "%s: %s", hostns, strerror(-hfd));
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		close(hfd);
		return vt_err_set(err, -errno, "pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		int e = errno;
		close(hfd);
		close(pfd[0]);
		close(pfd[1]);
		return vt_err_set(err, -e, "fork: %s", strerror(e));
	}
	if (pid == 0) {
		/* the relay lives on its host, in its own session, detached from
		 * the terminal and from the command that started it */
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		setsid();
		/* enter the namespace before rearranging descriptors: hfd may be
		 * one of 0..3 */
		if (nl_netns_enter(hfd, 0) < 0)
			_exit(126);
		if (nul >= 0)
			dup2(nul, 0);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* the relay's ready pipe is fd 3; dup2(3, 3) would keep
		 * close-on-exec, so clear it explicitly */
		if (pfd[1] != 3 && dup2(pfd[1], 3) < 0)
			_exit(126);
		if (fcntl(3, F_SETFD, 0) < 0)
			_exit(126);
		execv(exe, argv);
		_exit(127);
	}
	close(hfd);
	close(pfd[1]);
	{
		struct pollfd p = { pfd[0], POLLIN, 0 };
		if (poll(&p, 1, 10000) > 0)
			n = read(pfd[0], ready, sizeof(ready) - 1);
	}
	close(pfd[0]);
	if (n != 6 || memcmp(ready, "ready\n", 6) != 0) {
		int st;
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		return vt_err_set(err, -EIO, "%s: the TAP relay did not start (see %s)", vm->name, log);
	}
	vm->tapd_pid = pid;
	vm->tapd_start = lab_proc_start(pid);
	return 0;
}

/* ---- removing ---------------------------------------------------------- */

#define DOWN_MAX_NS (LAB_MAX_VMS + LAB_MAX_HOSTS + 8)
#define DOWN_MAX_PIDS 1024

struct down_ctx {
	const char *prefix;
	char names[DOWN_MAX_NS][64];
	uint64_t inodes[DOWN_MAX_NS];
	unsigned n;
};

static int collect_ns(const char *name, void *arg)
{
	struct down_ctx *c = arg;
	size_t pl = strlen(c->prefix);

	if (strncmp(name, c->prefix, pl) != 0 || name[pl] != '-' || !lab_ns_role_ok(name + pl + 1))
		return 0;
	if (c->n >= DOWN_MAX_NS)
		return 0;
	snprintf(c->names[c->n], sizeof(c->names[0]), "%s", name);
	c->n++;
	return 0;
}

static uint64_t proc_netns_inode(pid_t pid)
{
	char path[64], link[64];
	ssize_t n;
	unsigned long long ino;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = '\0';
	return sscanf(link, "net:[%llu]", &ino) == 1 ? ino : 0;
}

static bool proc_alive(pid_t pid)
{
	char path[64], buf[512];
	const char *p;
	ssize_t n;
	int fd;

	/* reap it if it is our child (a relay started by this process) */
	(void)waitpid(pid, NULL, WNOHANG);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* lab_procs() : pids of the lab's relays (by command line) and of every
 * process inside one of its namespaces. */
static unsigned lab_procs(const struct down_ctx *c, pid_t *pids, unsigned max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	unsigned n = 0;
	pid_t self = getpid();

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL && n < max) {
		uint64_t v, ino;
		bool ours;
		if (parse_u64(de->d_name, 1, INT32_MAX, &v) < 0 || (pid_t)v == self)
			continue;
		ours = lab_proc_is_tapd((pid_t)v, c->prefix, 0);
		ino = ours ? 0 : proc_netns_inode((pid_t)v);
		for (unsigned i = 0; !ours && ino && i < c->n; i++)
			ours = c->inodes[i] == ino;
		if (ours)
			pids[n++] = (pid_t)v;
	}
	closedir(d);
	return n;
}

static unsigned stop_procs(pid_t *pids, unsigned n, unsigned *killed)
{
	uint64_t until;
	unsigned alive;

	for (unsigned i = 0; i < n; i++)
		kill(pids[i], SIGTERM);
	for (int pass = 0; pass < 2; pass++) {
		until = mono_ms() + (pass ? 2000 : 3000);
		do {
			alive = 0;
			for (unsigned i = 0; i < n; i++)
				alive += pids[i] && proc_alive(pids[i]);
			if (!alive)
				return n;
			usleep(20000);
		} while (mono_ms() < until);
		for (unsigned i = 0; !pass && i < n; i++) {
			if (pids[i] && proc_alive(pids[i])) {
				kill(pids[i], SIGKILL);
				(*killed)++;
			}
		}
	}
	return n;
}

int labnet_down(const char *prefix, struct labnet_down_report *rep, struct vt_err *err)
{
	struct down_ctx *c = calloc(1, sizeof(*c));
	pid_t *pids = calloc(DOWN_MAX_PIDS, sizeof(*pids));
	struct lab *lab = calloc(1, sizeof(*lab));
	char dir[256];
	unsigned np = 0;
	int r = 0;

	memset(rep, 0, sizeof(*rep));
	if (!c || !pids || !lab) {
		r = vt_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (!lab_prefix_ok(prefix)) {
		r = vt_err_set(err, -EINVAL, "option --prefix: '%s' is not a lab prefix", prefix);
		goto out;
	}
	c->prefix = prefix;
	lab_path(dir, sizeof(dir), prefix, NULL);
	/* namespaces: whatever exists under our names, state file or not */
	nl_netns_list(collect_ns, c);
	for (unsigned i = 0; i < c->n; i++) {
		int fd = nl_netns_open(c->names[i]);
		if (fd >= 0) {
			c->inodes[i] = nl_netns_inode(fd);
			close(fd);
		}
	}
	/* processes: recorded relays still ours, then any other */
	if (lab_load(lab, prefix, NULL) == 0)
		for (unsigned i = 0; i < lab->nvms && np < DOWN_MAX_PIDS; i++)
			if (lab->vms[i].tapd_pid &&
			    lab_proc_is_tapd(lab->vms[i].tapd_pid, prefix, lab->vms[i].tapd_start))
				pids[np++] = lab->vms[i].tapd_pid;
	{
		pid_t more[DOWN_MAX_PIDS];
		unsigned nm = lab_procs(c, more, DOWN_MAX_PIDS);
		for (unsigned i = 0; i < nm && np < DOWN_MAX_PIDS; i++) {
			bool dup = false;
			for (unsigned j = 0; j < np; j++)
				dup |= pids[j] == more[i];
			if (!dup)
				pids[np++] = more[i];
		}
	}
	if (np == DOWN_MAX_PIDS)
		log_warn("lab %s: more than %d processes in its namespaces; run 'vtap lab down' again",
			 prefix, DOWN_MAX_PIDS);
	rep->processes = stop_procs(pids, np, &rep->killed);
	for (unsigned i = 0; i < c->n; i++) {
		int e = nl_netns_delete(c->names[i]);
		if (e == 0)
			rep->namespaces++;
		else if (e != -ENOENT && !r)
			r = vt_err_set(err, e, "removing namespace %s: %s", c->names[i], strerror(-e));
	}
	{
		int e = lab_remove_files(prefix);
		if (e < 0 && !r)
			r = vt_err_set(err, e, "removing %s: %s", dir, strerror(-e));
	}
out:
	free(c);
	free(pids);
	free(lab);
	return r;
}

/* ---- status ------------------------------------------------------------ */

int labnet_status(const struct lab *lab, struct labnet_vm_status *st, unsigned *hosts_ok)
{
	struct lab_ns hosts[LAB_MAX_HOSTS + 1];
	int bridge_idx[LAB_MAX_HOSTS + 1];
	int problems = 0;

	*hosts_ok = 0;
	for (unsigned h = 1; h <= lab->nhosts; h++) {
		char role[16];
		snprintf(role, sizeof(role), "h%u", h);
		bridge_idx[h] = -1;
		if (labnet_ns_open(&hosts[h], lab->prefix, role) == 0) {
			bridge_idx[h] = nl_link_index(hosts[h].sk, "br0");
			if (bridge_idx[h] > 0)
				(*hosts_ok)++;
		}
		problems += bridge_idx[h] <= 0;
	}
	for (unsigned i = 0; i < lab->nvms; i++) {
		const struct lab_vm *vm = &lab->vms[i];
		struct labnet_vm_status *s = &st[i];
		struct lab_ns *h = &hosts[vm->host];
		struct lab_ns v;
		struct nl_link_info li;

		memset(s, 0, sizeof(*s));
		if (h->sk && nl_link_get(h->sk, vm->port, &li) == 0) {
			s->port = true;
			s->port_ifindex = li.ifindex;
			s->bridged = bridge_idx[vm->host] > 0 && li.master == (uint32_t)bridge_idx[vm->host];
			s->port_up = li.operstate == IF_OPER_UP ||
				     (li.operstate == IF_OPER_UNKNOWN && (li.flags & IFF_RUNNING));
		}
		if (labnet_ns_open(&v, lab->prefix, vm->name) == 0) {
			s->ns = true;
			if (nl_link_get(v.sk, "eth0", &li) == 0)
				s->eth_up = (li.flags & IFF_UP) && (li.flags & IFF_RUNNING);
			labnet_ns_close(&v);
		}
		s->tapd = vm->port_type != LAB_PORT_TAP ||
			  (vm->tapd_pid && lab_proc_is_tapd(vm->tapd_pid, lab->prefix, vm->tapd_start));
		problems += !(s->ns && s->port && s->bridged && s->port_up && s->eth_up && s->tapd);
	}
	for (unsigned h = 1; h <= lab->nhosts; h++)
		labnet_ns_close(&hosts[h]);
	return problems;
}

/* ---- migration --------------------------------------------------------- */

static int wait_link_gone(struct lab_ns *n, const char *name, unsigned ms)
{
	uint64_t until = mono_ms() + ms;
	struct nl_link_info li;

	while (nl_link_get(n->sk, name, &li) == 0) {
		if (mono_ms() >= until)
			return -ETIMEDOUT;
		sleep_ms(10);
	}
	return 0;
}

/* wait_forwarding() : until <port> forwards on <host>'s bridge and the VM's
 * eth0 has carrier. Carrier and bridge port state follow a link change
 * asynchronously (the kernel's link watch), and an announcement sent
 * before would be dropped at a port still disabled. */
static int wait_forwarding(struct lab_ns *host, const char *port, struct lab_ns *vm,
			   unsigned ms)
{
	uint64_t until = mono_ms() + ms;
	struct nl_link_info p, e;

	for (;;) {
		if (nl_link_get(host->sk, port, &p) == 0 && p.brport_state == BR_STATE_FORWARDING &&
		    (p.flags & IFF_RUNNING) && nl_link_get(vm->sk, "eth0", &e) == 0 &&
		    (e.flags & IFF_RUNNING))
			return 0;
		if (mono_ms() >= until)
			return -ETIMEDOUT;
		sleep_ms(5);
	}
}

/* stop_relays() : stops every relay of <vm>, the recorded one and any a
 * killed migration started without recording it. */
static void stop_relays(struct lab_vm *vm, const char *prefix)
{
	pid_t pids[16];
	unsigned n = 0, killed = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;

	while (d && (de = readdir(d)) != NULL && n < ARRAY_SIZE(pids)) {
		uint64_t v;
		if (parse_u64(de->d_name, 2, INT32_MAX, &v) == 0 &&
		    lab_proc_is_tapd_of((pid_t)v, prefix, vm->name))
			pids[n++] = (pid_t)v;
	}
	if (d)
		closedir(d);
	stop_procs(pids, n, &killed);
	vm->tapd_pid = 0;
	vm->tapd_start = 0;
}

int labnet_port_host(const struct lab *lab, const struct lab_vm *vm, bool *attached)
{
	struct nl_link_info li;
	struct lab_ns n;
	int found = -ENODEV;

	*attached = false;
	/* the recorded host first: where the port nearly always is */
	for (unsigned k = 0; k <= lab->nhosts && found == -ENODEV; k++) {
		unsigned h = k == 0 ? vm->host : k;
		char role[16];
		if (k > 0 && h == vm->host)
			continue;
		snprintf(role, sizeof(role), "h%u", h);
		if (labnet_ns_open(&n, lab->prefix, role) < 0)
			continue;
		if (nl_link_get(n.sk, vm->port, &li) == 0) {
			int br = nl_link_index(n.sk, "br0");
			found = (int)h;
			*attached = br > 0 && li.master == (uint32_t)br && (li.flags & IFF_UP);
		}
		labnet_ns_close(&n);
	}
	if (found == -ENODEV && labnet_ns_open(&n, lab->prefix, "fabric") == 0) {
		if (nl_link_get(n.sk, vm->port, &li) == 0)
			found = 0;
		labnet_ns_close(&n);
	}
	return found;
}

int labnet_migrate(struct lab *lab, struct lab_vm *vm, unsigned to, uint64_t pause_ms,
		   const char *exe, uint64_t *downtime_ms, struct vt_err *err)
{
	struct lab_ns at_ns, to_ns, park, vmns;
	char at_role[16], to_role[16];
	unsigned from = vm->host;
	bool attached;
	uint64_t t0;
	int at = 0, r;

	ns_init(&at_ns);
	ns_init(&to_ns);
	ns_init(&park);
	ns_init(&vmns);
	snprintf(to_role, sizeof(to_role), "h%u", to);
	if ((r = labnet_ns_open(&to_ns, lab->prefix, to_role)) < 0 ||
	    (r = labnet_ns_open(&park, lab->prefix, "fabric")) < 0 ||
	    (r = labnet_ns_open(&vmns, lab->prefix, vm->name)) < 0) {
		vt_err_set(err, r, "lab '%s' is incomplete (%s): run 'vtap lab status'", lab->prefix,
			   strerror(-r));
		goto out;
	}
	t0 = mono_ms();
	if (vm->port_type == LAB_PORT_VETH) {
		/* Start from where the port is, not where the state says: a
		 * migration killed halfway leaves it parked in the fabric (0),
		 * or on a host the state file was never told about. */
		at = labnet_port_host(lab, vm, &attached);
		if (at < 0) {
			r = vt_err_set(err, -ENODEV, "%s: port %s is on no host and not in the "
				       "fabric: run 'vtap lab down'", vm->name, vm->port);
			goto out;
		}
		if (at > 0 && (unsigned)at != to) {
			/* the port leaves the old host: out of the bridge, out of
			 * its namespace, parked in the fabric during the pause
			 * (the VM's eth0 stays configured, as a migrating guest's
			 * NIC does) */
			struct nl_link_mod m = NL_LINK_MOD_INIT;
			snprintf(at_role, sizeof(at_role), "h%d", at);
			if ((r = labnet_ns_open(&at_ns, lab->prefix, at_role)) < 0) {
				vt_err_set(err, r, "lab '%s' is incomplete (%s): run 'vtap lab status'",
					   lab->prefix, strerror(-r));
				goto out;
			}
			m.name = vm->port;
			m.master = 0;
			m.up = 0;
			if ((r = nl_link_mod(at_ns.sk, &m)) < 0 ||
			    (r = nl_link_set_netns(at_ns.sk, vm->port, park.fd)) < 0) {
				fail(err, r, &at_ns, "detaching %s", vm->port);
				goto out;
			}
		}
		if ((unsigned)at != to) {
			sleep_ms(pause_ms);
			if ((r = nl_link_set_netns(park.sk, vm->port, to_ns.fd)) < 0) {
				fail(err, r, &park, "moving %s to %s", vm->port, to_ns.name);
				goto out;
			}
		}
		struct nl_link_mod m = NL_LINK_MOD_INIT;
		m.name = vm->port;
		m.up = 1;
		r = nl_link_index(to_ns.sk, "br0");
		m.master = r;
		if (r < 0 || (r = nl_link_mod(to_ns.sk, &m)) < 0) {
			fail(err, r, &to_ns, "adding %s to br0", vm->port);
			goto out;
		}
	} else {
		/* the qemu way: the source's tap goes with its process, the
		 * destination starts a new one on its host. Every relay of the
		 * VM goes, also one a killed migration left unrecorded: a TAP
		 * port can have one owner only. */
		stop_relays(vm, lab->prefix);
		for (unsigned h = 1; h <= lab->nhosts; h++) {
			struct lab_ns hn;
			snprintf(at_role, sizeof(at_role), "h%u", h);
			if (labnet_ns_open(&hn, lab->prefix, at_role) < 0)
				continue;
			r = wait_link_gone(&hn, vm->port, 5000);
			if (r < 0)
				fail(err, r, &hn, "waiting for %s to disappear", vm->port);
			labnet_ns_close(&hn);
			if (r < 0)
				goto out;
		}
		sleep_ms(pause_ms);
		vm->host = to;
		if ((r = labnet_spawn_tapd(lab, vm, exe, err)) < 0) {
			vm->host = from;
			goto out;
		}
	}
	vm->host = to;
	if ((r = wait_forwarding(&to_ns, vm->port, &vmns, 5000)) < 0) {
		fail(err, r, &to_ns, "waiting for %s to forward", vm->port);
		goto out;
	}
	*downtime_ms = mono_ms() - t0;
	/* the VM tells the network where it is now */
	r = announce_send(vmns.fd, "eth0", vm->mac, &vm->ip4, lab->ipv6 ? &vm->ip6 : NULL, 3, 50);
	if (r < 0) {
		fail(err, r, &vmns, "announcing %s", vm->name);
		goto out;
	}
	r = lab_save(lab);
	if (r < 0)
		vt_err_set(err, r, "writing the lab's files: %s", strerror(-r));
out:
	labnet_ns_close(&at_ns);
	labnet_ns_close(&to_ns);
	labnet_ns_close(&park);
	labnet_ns_close(&vmns);
	return r < 0 ? r : 0;
}
