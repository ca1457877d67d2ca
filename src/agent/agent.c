/* agent.c — the agent daemon: the control thread's event loop ties link
 * events (ports), identity snapshots, the capture threads, the exporter
 * and the control API together (see agent.h and docs/agent.md).
 *
 * Threads: this one (event loop: netlink, identity results, records from
 * the workers into the exporter, HTTP), the capture workers (worker.h)
 * and the identity loader (identity.h). Nothing on the loop blocks: the
 * only sleeps are at shutdown, while the workers hand over their last
 * flows. */
#include "agent/agent.h"
#include "agent/agent_int.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agent/capture.h"
#include "agent/control.h"
#include "agent/countonce.h"
#include "agent/exporter.h"
#include "agent/identity.h"
#include "agent/ports.h"
#include "agent/worker.h"
#include "core/compiler.h"
#include "core/evloop.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "nl/link.h"
#include "nl/nlsock.h"

/* ---- identity ---------------------------------------------------------- */

static struct co_mactab *macs(const struct agent *a)
{
	return atomic_load(&((struct agent *)a)->sh.macs);
}

static void broadcast_ident(struct agent *a, uint32_t slot, const struct vm_ident *vm)
{
	for (unsigned i = 0; i < a->nworkers; i++)
		if (worker_set_ident(a->workers[i], slot, vm) < 0)
			log_err("agent: cannot pass the identity of slot %u to worker %u", slot, i);
}

/* resolve() : the identity of <ap> from the current snapshots; tells the
 * workers (and the tap engine) when it changed. */
static void resolve(struct agent *a, struct aport *ap, bool first)
{
	struct port *p = ap->p;
	uint8_t learned[8][6];
	unsigned n = co_mac_list(macs(a), p->slot, learned, 8);
	struct id_port q = { p->name, p->has_mac ? p->mac : NULL, (const uint8_t(*)[6])learned,
			     VT_MIN(n, 8u), p->alias };
	struct id_entry e;
	enum id_source src = id_resolve(identity_sources(a->id), &q, &e);
	struct vm_ident vm;
	char u[VT_UUIDSTRLEN];

	memset(&vm, 0, sizeof(vm));
	memcpy(vm.uuid, e.uuid, 16);
	snprintf(vm.name, sizeof(vm.name), "%s", e.name);
	snprintf(vm.ifname, sizeof(vm.ifname), "%s", p->name);
	vm.ifindex = p->ifindex;
	/* the VM's MAC is local: frames to it from other local VMs are local */
	if (e.has_mac && (!ap->has_id_mac || memcmp(ap->id_mac, e.mac, 6) != 0)) {
		if (ap->has_id_mac && co_mac_lookup(macs(a), ap->id_mac) == p->slot)
			co_mac_forget(macs(a), ap->id_mac);
		if (co_mac_set(macs(a), e.mac, p->slot) < 0)
			log_warn("agent: local MAC table full: %s's MAC not added", p->name);
		memcpy(ap->id_mac, e.mac, 6);
		ap->has_id_mac = true;
	}
	if (ap->has_id_mac && ap->wp)
		atomic_store(&ap->wp->vm_mac_known, true);
	if (!first && src == ap->src && memcmp(&vm, &ap->vm, sizeof(vm)) == 0)
		return;
	ap->vm = vm;
	ap->src = src;
	a->st.ident_changes++;
	broadcast_ident(a, p->slot, &vm);
	if (src != ID_SRC_NONE)
		log_info("port %s: VM %s %s (from %s)", p->name, vm.name[0] ? vm.name : "-",
			 uuid_is_nil(vm.uuid) ? "-" : uuid_fmt(vm.uuid, u, sizeof(u)),
			 id_source_name(src));
	else if (!first)
		log_info("port %s: VM unknown", p->name);
	if (a->hooks.arm)
		a->hooks.arm(a->hooks.ctx, p->ifindex, p->name, &ap->vm);
}

static void resolve_all(struct agent *a)
{
	for (size_t i = 0; i < ports_count(a->ports); i++) {
		struct port *p = ports_at(a->ports, i);
		if (p->priv)
			resolve(a, p->priv, false);
	}
}

static void on_identity(void *arg)
{
	resolve_all(arg);
}

/* ---- ports ------------------------------------------------------------- */

static void open_capture(struct agent *a, struct aport *ap)
{
	struct port *p = ap->p;
	struct cap_port_cfg cc = {
		.ifindex = p->ifindex,
		.ifname = p->name,
		.ring_bytes = a->c->capture.ring_size,
		.snaplen = (uint32_t)a->c->capture.snaplen,
		.block_timeout_ms = (uint32_t)a->c->capture.block_timeout_ms,
	};
	struct worker_port *wp = calloc(1, sizeof(*wp));
	struct vt_err err = { 0 };
	unsigned best = 0;

	if (!wp) {
		snprintf(ap->cap_err, sizeof(ap->cap_err), "out of memory");
		return;
	}
	wp->slot = p->slot;
	wp->ifindex = p->ifindex;
	snprintf(wp->ifname, sizeof(wp->ifname), "%s", p->name);
	wp->ops = a->ops;
	wp->cap = a->ops->open(&cc, &err);
	if (!wp->cap) {
		a->st.capture_errors++;
		snprintf(ap->cap_err, sizeof(ap->cap_err), "%s", err.msg);
		log_warn("port %s: not tapped: %s", p->name, err.msg);
		free(wp);
		return;
	}
	ap->cap_err[0] = '\0';
	for (unsigned i = 1; i < a->nworkers; i++)
		if (a->wload[i] < a->wload[best])
			best = i;
	wp->owner = ap;
	{
		uint8_t one[1][6];
		atomic_init(&wp->vm_mac_known,
			    ap->has_id_mac || co_mac_list(macs(a), p->slot, one, 1) > 0);
	}
	if (worker_add_port(a->workers[best], wp) < 0) {
		snprintf(ap->cap_err, sizeof(ap->cap_err), "cannot hand the port to a capture thread");
		a->ops->close(wp->cap);
		free(wp);
		return;
	}
	a->wload[best]++;
	ap->wp = wp;
}

static void port_added(struct agent *a, struct port *p)
{
	struct aport *ap = calloc(1, sizeof(*ap));
	char m[VT_MACSTRLEN];

	if (!ap) {
		log_err("port %s: out of memory, not tapped", p->name);
		return;
	}
	p->priv = ap;
	ap->p = p;
	ap->added_ms = wall_ms();
	/* the identity goes to the workers before the port, so its very
	 * first flows carry it */
	resolve(a, ap, true);
	open_capture(a, ap);
	ap->arm_us = a->ev_ns ? (mono_ns() - a->ev_ns) / 1000 : 0;
	a->st.arm_us_last = ap->arm_us;
	if (ap->arm_us > a->st.arm_us_max)
		a->st.arm_us_max = ap->arm_us;
	a->st.ports_added++;
	if (ap->wp)
		log_info("port %s (ifindex %u, %s%s%s, MAC %s) tapped in %llu us, slot %u",
			 p->name, p->ifindex, port_kind_name(p->kind), p->bridge[0] ? " on " : "",
			 p->bridge, p->has_mac ? mac_fmt(p->mac, m, sizeof(m)) : "-",
			 (unsigned long long)ap->arm_us, p->slot);
	/* sources are often rewritten right after a port appears (a VM being
	 * started or migrated): look again shortly */
	identity_refresh(a->id, false);
}

static void port_removed(struct agent *a, struct port *p)
{
	struct aport *ap = p->priv;

	if (!ap)
		return;
	if (a->hooks.disarm)
		a->hooks.disarm(a->hooks.ctx, p->ifindex, false);
	co_mac_forget_slot(macs(a), p->slot);
	if (ap->wp) {
		/* the worker exports the port's flows at once and hands it back */
		ap->wp->owner = NULL;
		if (worker_del_port(a->workers[ap->wp->worker], ap->wp) < 0)
			log_err("port %s: cannot ask its worker to stop it", p->name);
		a->wload[ap->wp->worker]--;
	}
	a->st.ports_removed++;
	log_info("port %s (ifindex %u) gone: its flows are exported now", p->name, p->ifindex);
	free(ap);
	p->priv = NULL;
}

static void on_port(void *arg, enum ports_ev ev, struct port *p, unsigned changes)
{
	struct agent *a = arg;
	struct aport *ap = p->priv;

	switch (ev) {
	case PORTS_ADDED:
		port_added(a, p);
		break;
	case PORTS_REMOVED:
		port_removed(a, p);
		break;
	case PORTS_CHANGED:
		if (!ap)
			break;
		if (changes & PORT_CH_BRIDGE)
			log_info("port %s now on bridge %s", p->name, p->bridge);
		if (changes & (PORT_CH_NAME | PORT_CH_MAC | PORT_CH_ALIAS))
			resolve(a, ap, false);
		if (!ap->wp && (changes & PORT_CH_STATE) && p->up)
			open_capture(a, ap);
		break;
	}
}

/* ---- netlink ------------------------------------------------------------- */

static int on_link(enum nl_link_event ev, const struct nl_link_info *li, void *arg)
{
	struct agent *a = arg;

	a->st.link_events++;
	ports_update(a->ports, ev == NL_LINK_DEL, li);
	return 0;
}

static int on_dump(const struct nl_link_info *li, void *arg)
{
	ports_update(((struct agent *)arg)->ports, false, li);
	return 0;
}

static int resync(struct agent *a)
{
	int r;

	for (int tries = 0; tries < 5; tries++) {
		ports_sync_begin(a->ports);
		r = nl_link_dump(a->nl_dump, on_dump, a);
		if (r == -EINTR)
			continue;   /* the table changed during the dump: again */
		if (r < 0)
			return r;
		ports_sync_end(a->ports);
		return 0;
	}
	return -EINTR;
}

static void on_nl(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct agent *a = io->arg;
	int r;

	(void)ev;
	(void)events;
	a->ev_ns = mono_ns();
	r = nl_link_events_read(a->nl_ev, 64, on_link, a);
	if (r == -ENOBUFS) {
		a->st.resyncs++;
		log_warn("agent: link events were lost (socket overrun): resynchronising");
		if ((r = resync(a)) < 0)
			log_err("agent: link dump failed: %s", strerror(-r));
	}
	a->ev_ns = 0;
}

/* ---- records and worker news ---------------------------------------------- */

static void on_record(void *arg, const struct flow_rec *r)
{
	struct agent *a = arg;

	a->st.records++;
	if (a->exp)
		exporter_flow(a->exp, r, wall_ms());
	else
		a->st.records_unexported++;
}

static void drain_workers(struct agent *a)
{
	for (unsigned i = 0; i < a->nworkers; i++) {
		struct worker *w = a->workers[i];
		struct worker_port *wp;
		uint32_t slots[64];
		unsigned n;

		worker_drain(w, on_record, a);
		while ((wp = worker_take_removed(w))) {
			/* still owned by a port: the worker could not take it */
			struct aport *ap = wp->owner;
			if (ap) {
				ap->wp = NULL;
				snprintf(ap->cap_err, sizeof(ap->cap_err), "refused by the capture thread");
				if (wp->cap)
					wp->ops->close(wp->cap);
				a->wload[wp->worker]--;
			}
			free(wp);
		}
		while ((n = worker_take_learned(w, slots, ARRAY_SIZE(slots))) > 0)
			for (unsigned k = 0; k < n; k++) {
				struct port *p = ports_by_slot(a->ports, slots[k]);
				if (p && p->priv)
					resolve(a, p->priv, false);
			}
	}
}

static void on_notify(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct agent *a = io->arg;
	uint64_t v;

	(void)ev;
	(void)events;
	if (read(a->sh.notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_ratelimited(LOG_LVL_ERR, "agent: notify fd: %s", strerror(errno));
	drain_workers(a);
}

static void on_poll(struct evloop *ev, struct ev_timer *t)
{
	struct agent *a = t->arg;

	(void)ev;
	drain_workers(a);
	if (a->exp)
		exporter_poll(a->exp, wall_ms());
}

/* house() : once a second: replace a crowded MAC table, free old ones no
 * worker can still read, report decode failures to the exporter. */
static void on_house(struct evloop *ev, struct ev_timer *t)
{
	struct agent *a = t->arg;
	struct co_mactab *cur = macs(a);
	uint64_t failed = 0;

	(void)ev;
	if (co_mactab_crowded(cur) && a->nretired < MAX_RETIRED) {
		struct co_mactab *n = co_mactab_compact(cur);
		if (n) {
			atomic_store(&a->sh.macs, n);
			uint64_t gen = atomic_fetch_add(&a->sh.mac_gen, 1) + 1;
			a->retired[a->nretired++] = (struct retired){ cur, gen };
			a->st.mac_compactions++;
		}
	}
	for (unsigned i = 0; i < a->nretired;) {
		bool quiet = true;
		for (unsigned k = 0; k < a->nworkers; k++)
			quiet &= worker_quiescent(a->workers[k], a->retired[i].gen);
		if (quiet) {
			co_mactab_free(a->retired[i].t);
			a->retired[i] = a->retired[--a->nretired];
			continue;
		}
		i++;
	}
	for (unsigned i = 0; i < a->nworkers; i++) {
		struct worker_stats ws;
		worker_get_stats(a->workers[i], &ws);
		failed += ws.failed;
	}
	if (a->exp)
		exporter_set_ignored(a->exp, failed);
}

static void on_signal(struct evloop *ev, int signo, void *arg)
{
	struct agent *a = arg;

	if (signo == SIGHUP) {
		log_info("agent: SIGHUP: reloading the identity sources");
		identity_refresh(a->id, true);
		return;
	}
	log_info("agent: %s: exporting every flow and stopping", strsignal(signo));
	a->stopping = true;
	ev_stop(ev);
}

/* ---- life cycle ------------------------------------------------------------- */

static unsigned auto_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	/* leave a core to the control thread when there are several */
	if (n <= 2)
		return 1;
	return (unsigned)VT_MIN(n - 1, 4L);
}

static int make_exporter(struct agent *a, struct vt_err *err)
{
	const struct agent_conf *c = a->c;
	struct exporter_cfg ec = {
		.format = c->export.format == 1 ? EXP_FMT_NFV9 : EXP_FMT_IPFIX,
		.domain = (uint32_t)c->export.domain,
		.mtu = (uint32_t)c->export.mtu,
		.tmpl_interval_ms = c->export.template_ms,
		.tmpl_every = (uint32_t)c->export.template_every,
		.stats_interval_ms = c->export.stats_ms,
		.flush_ms = c->export.flush_ms,
		.queue_max = (uint32_t)c->export.queue,
		.rate = 0,
		.blocking = false,
		.active_timeout_s = (uint16_t)VT_MIN(c->meter.active_ms / 1000, 65535u),
		.idle_timeout_s = (uint16_t)VT_MIN(c->meter.idle_ms / 1000, 65535u),
	};

	if (c->export.collectors.n == 0) {
		log_warn("agent: no [export] collector: flows are metered, not exported");
		return 0;
	}
	a->exp = exporter_new(&ec, err);
	if (!a->exp)
		return err->code ? err->code : -EINVAL;
	for (size_t i = 0; i < c->export.collectors.n; i++) {
		struct vt_err e = { 0 };
		int r = exporter_add(a->exp, c->export.collectors.v[i], &e);
		if (r < 0)
			return vt_err_set(err, r, "[export] collector %s: %s", c->export.collectors.v[i],
					  e.msg);
	}
	return 0;
}

static int make_workers(struct agent *a, struct vt_err *err)
{
	const struct agent_conf *c = a->c;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = c->agent.threads ? (unsigned)c->agent.threads : auto_threads();

	/* more capture threads than cores only adds contention */
	if (cpus > 0 && n > (unsigned)cpus) {
		log_warn("agent: [agent] threads = %u but %ld cores: using %ld", n, cpus, cpus);
		n = (unsigned)cpus;
	}
	n = VT_MIN(n, (unsigned)MAX_WORKERS);
	for (unsigned i = 0; i < n; i++) {
		struct worker_cfg wc = {
			.index = i,
			.meter = {
				.active_ms = c->meter.active_ms,
				.idle_ms = c->meter.idle_ms,
				.fin_ms = c->meter.fin_ms,
				.max_flows = (uint32_t)VT_MAX(c->meter.max_flows / n, (uint64_t)64),
				.sweep_budget = 4096,
			},
			.max_ports = (uint32_t)c->ports.max_ports,
			.ring_records = (uint32_t)c->meter.record_queue,
			.read_budget = 8,
			.tick_ms = 100,
		};
		a->workers[i] = worker_new(&wc, &a->sh, err);
		if (!a->workers[i])
			return err->code ? err->code : -ENOMEM;
		a->nworkers++;
		if (worker_start(a->workers[i], err) < 0)
			return err->code;
	}
	return 0;
}

struct agent *agent_new(const struct agent_conf *c, struct vt_err *err)
{
	struct agent *a = calloc(1, sizeof(*a));
	const char *br[AGENT_LIST_MAX], *ifs[AGENT_LIST_MAX], *ex[AGENT_LIST_MAX];
	int r;

	if (!a) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	a->c = c;
	a->started_ms = wall_ms();
	a->sh.notify_fd = -1;
	if (c->agent.name)
		snprintf(a->host, sizeof(a->host), "%s", c->agent.name);
	else if (gethostname(a->host, sizeof(a->host) - 1) < 0)
		snprintf(a->host, sizeof(a->host), "localhost");
	a->ops = cap_backend(agent_backends[c->agent.backend]);
	a->ev = ev_new(64);
	if (!a->ops || !a->ev) {
		vt_err_set(err, -ENOMEM, "cannot create the event loop");
		goto fail;
	}
	/* signals are blocked before any thread starts, so they all inherit
	 * the mask and only the loop sees them */
	if (ev_signal(a->ev, SIGTERM, on_signal, a) < 0 || ev_signal(a->ev, SIGINT, on_signal, a) < 0 ||
	    ev_signal(a->ev, SIGHUP, on_signal, a) < 0) {
		vt_err_set(err, -EIO, "cannot set up signal handling");
		goto fail;
	}
	signal(SIGPIPE, SIG_IGN);
	atomic_init(&a->sh.macs, co_mactab_new((uint32_t)c->meter.mac_table));
	atomic_init(&a->sh.mac_gen, 0);
	a->sh.dedup = co_dedup_new(4096, c->meter.flood_window_ms * 1000000u);
	a->sh.notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!macs(a) || !a->sh.dedup || a->sh.notify_fd < 0 ||
	    ev_io_add(a->ev, &a->notify_io, a->sh.notify_fd, EPOLLIN, on_notify, a) < 0) {
		vt_err_set(err, -ENOMEM, "cannot allocate the count-once tables");
		goto fail;
	}
	if ((r = make_exporter(a, err)) < 0 || (r = make_workers(a, err)) < 0)
		goto fail;
	struct identity_cfg ic = {
		.libvirt_uri = c->identity.libvirt,
		.inventory = c->identity.inventory,
		.alias = c->identity.alias,
		.refresh_ms = c->identity.refresh_ms,
		.watch_ms = c->identity.watch_ms,
		.debounce_ms = c->identity.debounce_ms,
		.max_entries = c->identity.max_vms,
	};
	a->id = identity_new(a->ev, &ic, on_identity, a, err);
	if (!a->id)
		goto fail;
	for (size_t i = 0; i < c->ports.bridges.n; i++)
		br[i] = c->ports.bridges.v[i];
	for (size_t i = 0; i < c->ports.interfaces.n; i++)
		ifs[i] = c->ports.interfaces.v[i];
	for (size_t i = 0; i < c->ports.exclude.n; i++)
		ex[i] = c->ports.exclude.v[i];
	struct ports_cfg pc = { br, c->ports.bridges.n, ifs, c->ports.interfaces.n, ex,
				c->ports.exclude.n, c->ports.kinds, (uint32_t)c->ports.max_ports };
	a->ports = ports_new(&pc, on_port, a);
	if (!a->ports) {
		vt_err_set(err, -ENOMEM, "cannot create the port table");
		goto fail;
	}
	a->ctl = control_new(a->ev, &c->control, a, err);
	if (!a->ctl)
		goto fail;
	/* subscribe first, then dump: no change can fall between the two */
	a->nl_ev = nl_link_events_open(-1);
	a->nl_dump = nl_sock_open(0);
	if (!a->nl_ev || !a->nl_dump ||
	    ev_io_add(a->ev, &a->nl_io, nl_sock_fd(a->nl_ev), EPOLLIN, on_nl, a) < 0) {
		vt_err_set(err, -errno, "rtnetlink: %s", strerror(errno));
		goto fail;
	}
	a->ev_ns = mono_ns();
	r = resync(a);
	a->ev_ns = 0;
	if (r < 0) {
		vt_err_set(err, r, "rtnetlink: link dump: %s", strerror(-r));
		goto fail;
	}
	ev_timer_init(&a->t_poll, on_poll, a);
	ev_timer_init(&a->t_house, on_house, a);
	if (ev_timer_start(a->ev, &a->t_poll, 50, 50) < 0 ||
	    ev_timer_start(a->ev, &a->t_house, 1000, 1000) < 0) {
		vt_err_set(err, -ENOSPC, "no timer slot");
		goto fail;
	}
	for (size_t i = 0; i < c->ports.bridges.n; i++)
		if (!ports_bridge_known(a->ports, c->ports.bridges.v[i]))
			log_warn("agent: bridge %s does not exist (yet): its ports are tapped when it "
				 "appears", c->ports.bridges.v[i]);
	log_info("agent %s: %zu VM ports, %u capture thread%s (%s), control API on %s", a->host,
		 ports_count(a->ports), a->nworkers, a->nworkers == 1 ? "" : "s", a->ops->name,
		 control_addr(a->ctl));
	return a;
fail:
	agent_free(a);
	return NULL;
}

void agent_set_port_hooks(struct agent *a, const struct agent_port_hooks *h)
{
	a->hooks = *h;
	if (!a->hooks.arm)
		return;
	for (size_t i = 0; i < ports_count(a->ports); i++) {
		struct port *p = ports_at(a->ports, i);
		struct aport *ap = p->priv;
		if (ap)
			a->hooks.arm(a->hooks.ctx, p->ifindex, p->name, &ap->vm);
	}
}

struct evloop *agent_evloop(struct agent *a)
{
	return a->ev;
}

const char *agent_host(const struct agent *a)
{
	return a->host;
}

int agent_route(struct agent *a, int method, const char *pattern,
		void (*fn)(struct http_req *req, void *arg), void *arg)
{
	return control_route(a->ctl, method, pattern, fn, arg);
}

/* shutdown() : every flow out of the workers and into the exporter. */
static void shutdown_workers(struct agent *a)
{
	uint64_t deadline = mono_ms() + 30000;
	bool all;

	for (unsigned i = 0; i < a->nworkers; i++)
		worker_stop(a->workers[i]);
	do {
		all = true;
		drain_workers(a);
		for (unsigned i = 0; i < a->nworkers; i++)
			all &= worker_exited(a->workers[i]);
		if (!all)
			usleep(1000);
	} while (!all && mono_ms() < deadline);
	for (unsigned i = 0; i < a->nworkers; i++)
		worker_join(a->workers[i]);
	drain_workers(a);
}

int agent_run(struct agent *a)
{
	int r = ev_run(a->ev);

	control_shutdown(a->ctl);
	if (a->hooks.disarm)
		for (size_t i = 0; i < ports_count(a->ports); i++)
			a->hooks.disarm(a->hooks.ctx, ports_at(a->ports, i)->ifindex, false);
	shutdown_workers(a);
	if (a->exp && exporter_flush(a->exp, wall_ms(), 3000) < 0)
		log_warn("agent: some export messages could not be sent before exit");
	log_info("agent: stopped; %llu flow records exported",
		 (unsigned long long)(a->st.records - a->st.records_unexported));
	return r;
}

void agent_free(struct agent *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < a->nworkers; i++) {
		worker_stop(a->workers[i]);
		worker_join(a->workers[i]);
	}
	if (a->nworkers)
		drain_workers(a);
	control_free(a->ctl);
	if (a->ports) {
		for (size_t i = 0; i < ports_count(a->ports); i++) {
			struct port *p = ports_at(a->ports, i);
			free(p->priv);
			p->priv = NULL;
		}
		ports_free(a->ports);
	}
	identity_free(a->id);
	for (unsigned i = 0; i < a->nworkers; i++)
		worker_free(a->workers[i]);
	exporter_free(a->exp);
	if (a->nl_ev && a->ev)
		ev_io_del(a->ev, &a->nl_io);
	nl_sock_close(a->nl_ev);
	nl_sock_close(a->nl_dump);
	if (a->sh.notify_fd >= 0) {
		if (a->ev)
			ev_io_del(a->ev, &a->notify_io);
		close(a->sh.notify_fd);
	}
	for (unsigned i = 0; i < a->nretired; i++)
		co_mactab_free(a->retired[i].t);
	co_mactab_free(macs(a));
	co_dedup_free(a->sh.dedup);
	if (a->ev) {
		ev_timer_stop(a->ev, &a->t_poll);
		ev_timer_stop(a->ev, &a->t_house);
		ev_free(a->ev);
	}
	free(a);
}

void agent_identity_refresh(struct agent *a)
{
	identity_refresh(a->id, true);
}

