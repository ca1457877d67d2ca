/* tap.c — the virtual tap engine (see tap.h): session and port tables,
 * destination liveness, counters and lifecycle. The user-space copy path
 * is in tap_path.c. */
#include "agent/tap/tap_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/tap/tap_nl.h"
#include "core/compiler.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "nl/link.h"
#include "wire/encap.h"

const char *tap_backend_name(enum tap_backend b)
{
	return b == TAP_BACKEND_AFPACKET ? "afpacket" : "ebpf";
}

static void clock_offset(struct tap_engine *e)
{
	struct timespec r, m;

	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m);
	e->wall_off_ns = ((int64_t)r.tv_sec - m.tv_sec) * 1000000000ll + (r.tv_nsec - m.tv_nsec);
}

/* ---- kernel tables ----------------------------------------------------------- */

static int kernel_port(struct tap_engine *e, struct port_rt *p)
{
#if VTAP_HAVE_BPF_SKEL
	struct tap_port kp = { .slot = (uint32_t)(p - e->ports) };

	if (!tap_is_ebpf(e))
		return 0;
	kp.sess[0] = p->sess[0];
	kp.sess[1] = p->sess[1];
	return tap_bpf_port_set(e->bpf, p->ifindex, &kp);
#else
	(void)e;
	(void)p;
	return 0;
#endif
}

static void kernel_session(struct tap_engine *e, struct sess_rt *s)
{
#if VTAP_HAVE_BPF_SKEL
	if (tap_is_ebpf(e)) {
		(void)tap_bpf_session_set(e->bpf, s->slot, &s->ks, s->kr);
		(void)tap_bpf_live_set(e->bpf, s->slot, s->dest_up);
	}
#else
	(void)e;
	(void)s;
#endif
}

/* ---- destination liveness and path MTU ---------------------------------------- */

/* Re-reads the route to the session's analyzer: no route, or a route over
 * a link that is down, means "down" (the kernel stops making copies and
 * counts them); the route's MTU is the path MTU unless one is configured. */
static void check_dest(struct tap_engine *e, struct sess_rt *s)
{
	struct tapnl_route r;
	char a[VT_ADDRSTRLEN];
	bool up, changed;
	uint32_t mtu, maxf;
	int rc;

	if (s->def.dest.type == TAP_DEST_PCAPNG) {
		up = true;
		mtu = 0;
	} else {
		rc = tapnl_route_get(e->nl, &s->def.dest.remote, &r);
		up = rc == 0 && r.up;
		mtu = s->def.dest.mtu ? s->def.dest.mtu : rc == 0 ? r.mtu : s->path_mtu;
	}
	maxf = mtu > tap_dest_overhead(&s->def.dest) ? mtu - tap_dest_overhead(&s->def.dest) : 0;
	changed = up != s->dest_up || maxf != s->max_frame || !s->route_known;
	if (up != s->dest_up || !s->route_known) {
		if (s->def.dest.type != TAP_DEST_PCAPNG)
			log_info("tap: session %u: destination %s is %s", s->def.id,
				 addr_fmt(&s->def.dest.remote, a, sizeof(a)),
				 up ? "reachable" : "unreachable: copies are counted, not made");
	}
	s->route_known = true;
	s->dest_up = up;
	s->path_mtu = mtu;
	s->max_frame = maxf;
	s->ks.max_frame = maxf;
	if (changed)
		kernel_session(e, s);
}

static void on_check(struct evloop *ev, struct ev_timer *t)
{
	struct tap_engine *e = t->arg;

	(void)ev;
	clock_offset(e);   /* follow wall-clock steps */
	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++)
		if (e->sess[i].used)
			check_dest(e, &e->sess[i]);
	for (unsigned i = 0; i < TAP_MAX_PORTS; i++)
		if (e->ports[i].afp)
			e->ports[i].afp_drops = tap_afp_drops(e->ports[i].afp);
	tap_path_flush(e);
}

/* ---- sessions ------------------------------------------------------------------ */

static struct sess_rt *sess_find(struct tap_engine *e, uint32_t id)
{
	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++)
		if (e->sess[i].used && e->sess[i].def.id == id)
			return &e->sess[i];
	return NULL;
}

/* A slot for session <id>: the one it had before a restart (counters go
 * on), else a free one never used, else any free one (counters cleared). */
static int sess_slot(struct tap_engine *e, uint32_t id, bool *fresh)
{
	int s = -1;

	*fresh = true;
#if VTAP_HAVE_BPF_SKEL
	if (tap_is_ebpf(e)) {
		s = tap_bpf_session_old_slot(e->bpf, id);
		if (s >= 0 && !e->sess[s].used) {
			*fresh = false;
			return s;
		}
		/* keep the slots a previous instance used for other ids */
		for (int i = 0; i < TAP_MAX_SESSIONS; i++)
			if (!e->sess[i].used && tap_bpf_session_old_id(e->bpf, (uint32_t)i) == 0)
				return i;
	}
#endif
	for (int i = 0; i < TAP_MAX_SESSIONS; i++)
		if (!e->sess[i].used)
			return i;
	return s;
}

static void ports_apply(struct tap_engine *e, struct sess_rt *s, bool on)
{
	uint64_t bit = 1ull << s->slot;

	for (unsigned i = 0; i < TAP_MAX_PORTS; i++) {
		struct port_rt *p = &e->ports[i];
		uint64_t f = p->sess[0], t = p->sess[1];

		if (!p->used)
			continue;
		p->sess[0] &= ~bit;
		p->sess[1] &= ~bit;
		if (on && tap_session_targets(&s->def, &p->vm)) {
			if (s->def.direction & TAP_DIRECTION_FROM_VM)
				p->sess[TAP_DIR_FROM_VM] |= bit;
			if (s->def.direction & TAP_DIRECTION_TO_VM)
				p->sess[TAP_DIR_TO_VM] |= bit;
		}
		if (p->armed && (f != p->sess[0] || t != p->sess[1]))
			(void)kernel_port(e, p);
	}
}

static void sess_clear(struct sess_rt *s)
{
	tap_out_free(s->out);
#if VTAP_HAVE_PCAP
	if (s->has_pcap)
		pcap_freecode(&s->pcap);
#endif
	tap_session_free(&s->def);
	memset(s, 0, sizeof(*s));
}

static int compile_pcap(struct sess_rt *s, struct vt_err *err)
{
#if !VTAP_HAVE_PCAP
	return vt_err_set(err, -ENOTSUP, "session %u: pcap_filter: this vtap was built without libpcap",
			  s->def.id);
#else
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	int rc = 0;

	if (!p)
		return vt_err_set(err, -ENOMEM, "session %u: pcap_filter: out of memory", s->def.id);
	if (pcap_compile(p, &s->pcap, s->def.pcap_filter, 1, PCAP_NETMASK_UNKNOWN) != 0)
		rc = vt_err_set(err, -EINVAL, "session %u: pcap_filter: %s", s->def.id, pcap_geterr(p));
	else
		s->has_pcap = true;
	pcap_close(p);
	return rc;
#endif
}

int tap_session_add(struct tap_engine *e, const struct tap_session_def *def, struct vt_err *err)
{
	struct sess_rt *s;
	bool fresh;
	int slot, rc;

	if (sess_find(e, def->id))
		return vt_err_set(err, -EEXIST, "session %u: id already in use", def->id);
	slot = sess_slot(e, def->id, &fresh);
	if (slot < 0)
		return vt_err_set(err, -ENOSPC, "session %u: at most %d sessions", def->id, TAP_MAX_SESSIONS);
	s = &e->sess[slot];
	memset(s, 0, sizeof(*s));
	s->slot = (uint32_t)slot;
	if (tap_session_copy(&s->def, def) != 0)
		return vt_err_set(err, -ENOMEM, "out of memory");
	tap_session_compile(&s->def, &s->ks, s->kr);
	s->ks.id = def->id;
	if (s->def.pcap_filter && (rc = compile_pcap(s, err)))
		goto fail;
	if (tap_is_ebpf(e) && s->ks.kind == TAP_KIND_VXLAN) {
#if VTAP_HAVE_BPF_SKEL
		s->ks.vx_ifindex = tap_bpf_vx_ifindex(e->bpf);
#endif
		if (s->def.dest.port != VXLAN_UDP_PORT && s->def.dest.port != e->o.vx_port) {
			rc = vt_err_set(err, -EINVAL, "session %u: destination.port: the kernel's VXLAN "
					"device sends to %u; use \"encap\": \"user\" for another port",
					def->id, e->o.vx_port);
			goto fail;
		}
	}
	s->out = tap_out_new(&s->def, e->o.batch, err);
	if (!s->out) {
		rc = err && err->code ? err->code : -EIO;
		goto fail;
	}
#if VTAP_HAVE_BPF_SKEL
	if (tap_is_ebpf(e) && fresh) {
		tap_bpf_session_reset(e->bpf, s->slot);
	} else if (tap_is_ebpf(e)) {
		struct tap_sess_ctr k;
		if (tap_bpf_session_ctr(e->bpf, s->slot, &k) == 0)
			s->u.queued_base = k.queued;
	}
#endif
	s->used = true;
	s->rl_last_ns = mono_ns();
	check_dest(e, s);    /* writes the kernel entry with liveness and MTU */
	kernel_session(e, s);
	ports_apply(e, s, true);
	log_info("tap: session %u '%s' (%s) on slot %d%s", def->id, def->name,
		 tap_dest_name(def->dest.type), slot, fresh ? "" : ", counters continued");
	return 0;
fail:
	sess_clear(s);
	return rc;
}

int tap_session_del(struct tap_engine *e, uint32_t id)
{
	struct sess_rt *s = sess_find(e, id);

	if (!s)
		return -ENOENT;
	ports_apply(e, s, false);   /* no port points at the slot any more */
	sess_clear(s);
	return 0;
}

static void sum_counters(struct tap_engine *e, struct sess_rt *s, struct tap_counters *c)
{
	const struct tap_out_stats *os = tap_out_stats(s->out);
	struct tap_sess_ctr k;

	memset(&k, 0, sizeof(k));
#if VTAP_HAVE_BPF_SKEL
	if (tap_is_ebpf(e))
		(void)tap_bpf_session_ctr(e->bpf, s->slot, &k);
#else
	(void)e;
#endif
	memset(c, 0, sizeof(*c));
	c->matched = k.matched + s->u.matched;
	c->matched_bytes = k.matched_bytes + s->u.matched_bytes;
	c->sent = k.sent + os->sent;
	c->sliced = s->u.sliced;   /* cuts are made in user space only */
	c->drop_queue_full = k.drop_queue_full + s->u.drop_queue_full;
	c->drop_dest_down = k.drop_dest_down + s->u.drop_dest_down + os->drop_dest_down;
	c->drop_too_big = k.drop_too_big + s->u.drop_too_big + os->drop_too_big;
	c->drop_rate = k.drop_rate + s->u.drop_rate;
	c->drop_error = k.drop_error + s->u.drop_error + os->drop_error;
	c->sampled_out = k.sampled_out + s->u.sampled_out;
	c->in_flight = k.queued > s->u.handled + s->u.queued_base ?
			       k.queued - s->u.handled - s->u.queued_base : 0;
}

int tap_session_counters(struct tap_engine *e, uint32_t id, struct tap_counters *out)
{
	struct sess_rt *s = sess_find(e, id);

	if (!s)
		return -ENOENT;
	sum_counters(e, s, out);
	return 0;
}

/* ---- ports ------------------------------------------------------------------------ */

static struct port_rt *port_by_ifindex(struct tap_engine *e, uint32_t ifindex)
{
	for (unsigned i = 0; i < TAP_MAX_PORTS; i++)
		if (e->ports[i].armed && e->ports[i].ifindex == ifindex)
			return &e->ports[i];
	return NULL;
}

uint32_t tap_port_find(const struct tap_engine *e, const char *ifname)
{
	for (unsigned i = 0; i < TAP_MAX_PORTS; i++)
		if (e->ports[i].armed && strcmp(e->ports[i].ifname, ifname) == 0)
			return e->ports[i].ifindex;
	return 0;
}

static bool same_identity(const struct port_rt *p, const char *ifname, const struct vm_ident *vm)
{
	return strcmp(p->ifname, ifname) == 0 && memcmp(p->vm.uuid, vm->uuid, 16) == 0 &&
	       strcmp(p->vm.name, vm->name) == 0;
}

/* A slot for a port: one that held the same identity (counters go on), the
 * one a previous instance used for this ifindex, or a free one. */
static struct port_rt *port_slot(struct tap_engine *e, uint32_t ifindex, const char *ifname,
				 const struct vm_ident *vm, bool *fresh)
{
	*fresh = false;
	for (unsigned i = 0; i < TAP_MAX_PORTS; i++)
		if (e->ports[i].used && !e->ports[i].armed && same_identity(&e->ports[i], ifname, vm))
			return &e->ports[i];
#if VTAP_HAVE_BPF_SKEL
	if (tap_is_ebpf(e)) {
		int s = tap_bpf_port_old_slot(e->bpf, ifindex);
		if (s >= 0 && !e->ports[s].used)
			return &e->ports[s];
	}
#else
	(void)ifindex;
#endif
	*fresh = true;
	for (unsigned i = 0; i < TAP_MAX_PORTS; i++)
		if (!e->ports[i].used)
			return &e->ports[i];
	/* every slot holds an identity: reuse one that is not armed */
	for (unsigned i = 0; i < TAP_MAX_PORTS; i++)
		if (!e->ports[i].armed)
			return &e->ports[i];
	return NULL;
}

static void port_masks(struct tap_engine *e, struct port_rt *p)
{
	p->sess[0] = p->sess[1] = 0;
	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++) {
		struct sess_rt *s = &e->sess[i];

		if (!s->used || !tap_session_targets(&s->def, &p->vm))
			continue;
		if (s->def.direction & TAP_DIRECTION_FROM_VM)
			p->sess[TAP_DIR_FROM_VM] |= 1ull << s->slot;
		if (s->def.direction & TAP_DIRECTION_TO_VM)
			p->sess[TAP_DIR_TO_VM] |= 1ull << s->slot;
	}
}

int tap_port_arm(struct tap_engine *e, uint32_t ifindex, const char *ifname,
		 const struct vm_ident *vm, struct vt_err *err)
{
	struct port_rt *p = port_by_ifindex(e, ifindex);
	struct nl_link_info l;
	bool fresh = false, previous = false;
	int rc;

	if (!ifname || !*ifname || strlen(ifname) >= VT_IFNAME_MAX)
		return vt_err_set(err, -EINVAL, "port: bad interface name");
	if (p) {
		/* armed already: a new identity only changes the sessions */
		p->vm = *vm;
		uuid_fmt(vm->uuid, p->uuid, sizeof(p->uuid));
		port_masks(e, p);
		return kernel_port(e, p);
	}
	p = port_slot(e, ifindex, ifname, vm, &fresh);
	if (!p)
		return vt_err_set(err, -ENOSPC, "port %s: at most %d ports", ifname, TAP_MAX_PORTS);
#if VTAP_HAVE_BPF_SKEL
	if (tap_is_ebpf(e)) {
		previous = tap_bpf_port_old_slot(e->bpf, ifindex) == (int)(p - e->ports);
		if (fresh && !previous)
			tap_bpf_port_reset(e->bpf, (uint32_t)(p - e->ports));
	}
#endif
	if (fresh)
		memset(&p->uc, 0, sizeof(p->uc));
	p->used = true;
	p->eng = e;
	p->ifindex = ifindex;
	snprintf(p->ifname, sizeof(p->ifname), "%s", ifname);
	p->vm = *vm;
	snprintf(p->vm.ifname, sizeof(p->vm.ifname), "%s", ifname);
	p->vm.ifindex = ifindex;
	uuid_fmt(vm->uuid, p->uuid, sizeof(p->uuid));
	port_masks(e, p);
	/* frames that crossed the port before the programs were there: a new
	 * port has 0; anything else is a gap to report, never to hide */
	p->frames_before_arm = 0;
	if (!previous && nl_link_get_index(e->nl, ifindex, true, &l) == 0)
		p->frames_before_arm = l.rx_packets + l.tx_packets;
	if (tap_is_ebpf(e)) {
#if VTAP_HAVE_BPF_SKEL
		/* the entry first: the program's first frame finds it */
		rc = kernel_port(e, p);
		if (!rc)
			rc = tap_bpf_attach(e->bpf, ifindex, err);
		else
			vt_err_set(err, rc, "port %s: cannot write its entry: %s", ifname, strerror(-rc));
		if (rc) {
			(void)tap_bpf_port_del(e->bpf, ifindex);
			return rc;
		}
#else
		return vt_err_set(err, -ENOTSUP, "built without eBPF");
#endif
	} else {
		p->afp = tap_afp_open(ifindex, e->o.afp_block_bytes, err);
		if (!p->afp)
			return err && err->code ? err->code : -EIO;
		rc = ev_io_add(e->ev, &p->afp_io, tap_afp_fd(p->afp), EPOLLIN, tap_path_on_afp, p);
		if (rc) {
			tap_afp_close(p->afp);
			p->afp = NULL;
			return vt_err_set(err, rc, "port %s: event loop: %s", ifname, strerror(-rc));
		}
	}
	p->armed = true;
	p->armed_at_ms = wall_ms();
	log_info("tap: armed %s (ifindex %u) for VM %s%s%s", ifname, ifindex,
		 vm->name[0] ? vm->name : p->uuid,
		 p->frames_before_arm ? ": frames crossed it before arming: " : "",
		 p->frames_before_arm ? "counted in frames_before_arm" : "");
	return 0;
}

int tap_port_disarm(struct tap_engine *e, uint32_t ifindex, bool gone)
{
	struct port_rt *p = port_by_ifindex(e, ifindex);

	if (!p)
		return -ENOENT;
#if VTAP_HAVE_BPF_SKEL
	if (tap_is_ebpf(e)) {
		(void)tap_bpf_port_del(e->bpf, ifindex);
		/* a removed link took its filters along: this only forgets it */
		(void)tap_bpf_detach(e->bpf, ifindex);
	}
#else
	(void)gone;
#endif
	if (p->afp) {
		tap_path_on_afp(e->ev, &p->afp_io, 0);   /* what is still in the ring */
		p->afp_drops = tap_afp_drops(p->afp);
		ev_io_del(e->ev, &p->afp_io);
		tap_afp_close(p->afp);
		p->afp = NULL;
	}
	p->armed = false;
	log_info("tap: disarmed %s (ifindex %u)%s", p->ifname, ifindex, gone ? ": link removed" : "");
	return 0;
}

static bool armed_cb(void *arg, uint32_t ifindex)
{
	return port_by_ifindex(arg, ifindex) != NULL;
}

int tap_engine_sweep(struct tap_engine *e)
{
#if VTAP_HAVE_BPF_SKEL
	if (tap_is_ebpf(e))
		return tap_bpf_sweep(e->bpf, armed_cb, e);
#else
	(void)armed_cb;
#endif
	(void)e;
	return 0;
}

/* ---- counters as JSON ------------------------------------------------------------- */

static void counter_fields(struct jw *w, const struct tap_counters *c)
{
	jw_uint(w, "matched", c->matched);
	jw_uint(w, "matched_bytes", c->matched_bytes);
	jw_uint(w, "sent", c->sent);
	jw_uint(w, "sliced", c->sliced);
	jw_uint(w, "drop_queue_full", c->drop_queue_full);
	jw_uint(w, "drop_dest_down", c->drop_dest_down);
	jw_uint(w, "drop_too_big", c->drop_too_big);
	jw_uint(w, "drop_rate", c->drop_rate);
	jw_uint(w, "drop_error", c->drop_error);
	jw_uint(w, "sampled_out", c->sampled_out);
	jw_uint(w, "in_flight", c->in_flight);
}

/* port_ctr() : the counters of port slot <i>: the kernel's (eBPF) or the
 * user-space path's (AF_PACKET). */
static struct tap_port_ctr port_ctr(struct tap_engine *e, unsigned i)
{
	struct tap_port_ctr k;

	memset(&k, 0, sizeof(k));
#if VTAP_HAVE_BPF_SKEL
	if (tap_is_ebpf(e))
		(void)tap_bpf_port_ctr(e->bpf, i, &k);
#endif
	if (!tap_is_ebpf(e))
		k = e->ports[i].uc;
	return k;
}

static void port_ident_fields(struct jw *w, const struct port_rt *p)
{
	jw_str(w, "ifname", p->ifname);
	jw_uint(w, "ifindex", p->ifindex);
	jw_bool(w, "armed", p->armed);
	jw_str(w, "vm", p->vm.name);
	jw_str(w, "uuid", p->uuid);
}

void tap_engine_stats_json(struct tap_engine *e, struct jw *w)
{
	jw_obj_open(w, NULL);
	jw_obj_open(w, "engine");
	jw_str(w, "backend", tap_backend_name(e->o.backend));
#if VTAP_HAVE_BPF_SKEL
	if (tap_is_ebpf(e)) {
		jw_bool(w, "adopted", tap_bpf_adopted(e->bpf));
		jw_str(w, "vxlan_device", e->vx_name);
		jw_uint(w, "stale_records", tap_bpf_stale_records(e->bpf));
	}
#endif
	jw_uint(w, "ring_records", e->records);
	jw_uint(w, "afpacket_frames", e->afp_frames);
	jw_obj_close(w);
	jw_arr_open(w, "sessions");
	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++) {
		struct sess_rt *s = &e->sess[i];
		struct tap_counters c;

		if (!s->used)
			continue;
		sum_counters(e, s, &c);
		jw_obj_open(w, NULL);
		jw_uint(w, "id", s->def.id);
		jw_str(w, "name", s->def.name);
		jw_str(w, "type", tap_dest_name(s->def.dest.type));
		jw_str(w, "path", s->ks.kind == TAP_KIND_VXLAN && tap_is_ebpf(e) ? "kernel" : "user");
		jw_bool(w, "dest_up", s->dest_up);
		jw_uint(w, "path_mtu", s->path_mtu);
		counter_fields(w, &c);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_arr_open(w, "ports");
	for (unsigned i = 0; i < TAP_MAX_PORTS; i++) {
		struct port_rt *p = &e->ports[i];
		struct tap_port_ctr k;

		if (!p->used)
			continue;
		k = port_ctr(e, i);
		jw_obj_open(w, NULL);
		port_ident_fields(w, p);
		jw_uint(w, "from_vm_packets", k.pkts[TAP_DIR_FROM_VM]);
		jw_uint(w, "from_vm_bytes", k.bytes[TAP_DIR_FROM_VM]);
		jw_uint(w, "to_vm_packets", k.pkts[TAP_DIR_TO_VM]);
		jw_uint(w, "to_vm_bytes", k.bytes[TAP_DIR_TO_VM]);
		jw_uint(w, "matched", k.matched);
		jw_uint(w, "copied", k.copied);
		jw_uint(w, "dropped", k.dropped);
		jw_uint(w, "drop_queue_full", p->afp_drops);
		jw_uint(w, "frames_before_arm", p->frames_before_arm);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_obj_close(w);
}

void tap_counters_json(struct jw *w, const char *key, const struct tap_counters *c)
{
	jw_obj_open(w, key);
	counter_fields(w, c);
	jw_obj_close(w);
}

int tap_session_ports_json(struct tap_engine *e, uint32_t id, struct jw *w, const char *key)
{
	struct sess_rt *s = sess_find(e, id);
	uint64_t bit;

	if (!s)
		return -ENOENT;
	bit = 1ull << s->slot;
	jw_arr_open(w, key);
	for (unsigned i = 0; i < TAP_MAX_PORTS; i++) {
		struct port_rt *p = &e->ports[i];
		bool from = p->sess[TAP_DIR_FROM_VM] & bit, to = p->sess[TAP_DIR_TO_VM] & bit;
		struct tap_port_ctr k;

		if (!p->used || (!from && !to))
			continue;
		k = port_ctr(e, i);
		jw_obj_open(w, NULL);
		port_ident_fields(w, p);
		jw_str(w, "direction", from && to ? "both" : from ? "from_vm" : "to_vm");
		jw_uint(w, "from_vm_packets", k.pkts[TAP_DIR_FROM_VM]);
		jw_uint(w, "to_vm_packets", k.pkts[TAP_DIR_TO_VM]);
		jw_uint(w, "matched", k.matched);
		jw_uint(w, "copied", k.copied);
		jw_uint(w, "dropped", k.dropped + p->afp_drops);
		jw_uint(w, "frames_before_arm", p->frames_before_arm);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	return 0;
}

void tap_engine_summary_json(struct tap_engine *e, struct jw *w)
{
	unsigned ns = 0, nk = 0, np = 0, nd = 0;

	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++) {
		if (!e->sess[i].used)
			continue;
		ns++;
		nk += e->sess[i].ks.kind == TAP_KIND_VXLAN && tap_is_ebpf(e);
		nd += !e->sess[i].dest_up;
	}
	for (unsigned i = 0; i < TAP_MAX_PORTS; i++)
		np += e->ports[i].armed;
	jw_str(w, "backend", tap_backend_name(e->o.backend));
#if VTAP_HAVE_BPF_SKEL
	if (tap_is_ebpf(e)) {
		jw_bool(w, "adopted", tap_bpf_adopted(e->bpf));
		jw_str(w, "vxlan_device", e->vx_name);
	}
#endif
	jw_uint(w, "sessions", ns);
	jw_uint(w, "sessions_kernel_path", nk);
	jw_uint(w, "sessions_dest_down", nd);
	jw_uint(w, "ports_armed", np);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

struct tap_engine *tap_engine_new(struct evloop *ev, const struct tap_engine_opts *o,
				  struct vt_err *err)
{
	struct tap_engine *e = calloc(1, sizeof(*e));
	int rc;

	if (!e) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	e->ev = ev;
	e->o = *o;
	ev_timer_init(&e->check_t, on_check, e);
	ev_timer_init(&e->ring_t, tap_path_on_ring_timer, e);
	if (!e->o.ring_bytes)
		e->o.ring_bytes = 16u << 20;
	if (!e->o.afp_block_bytes)
		e->o.afp_block_bytes = 4u << 20;
	if (!e->o.vx_port)
		e->o.vx_port = VXLAN_UDP_PORT;
	if (!e->o.batch)
		e->o.batch = 64;
	if (!e->o.check_ms)
		e->o.check_ms = 1000;
	snprintf(e->vx_name, sizeof(e->vx_name), "%s", o->vx_name ? o->vx_name : "vtapvx0");
	if (o->host)
		snprintf(e->host, sizeof(e->host), "%s", o->host);
	else if (gethostname(e->host, sizeof(e->host)) != 0)
		snprintf(e->host, sizeof(e->host), "localhost");
	e->host[sizeof(e->host) - 1] = '\0';
	e->o.host = e->host;
	e->o.vx_name = e->vx_name;
	clock_offset(e);
	e->nl = nl_sock_open(0);
	if (!e->nl) {
		vt_err_set(err, -errno, "rtnetlink socket: %s", strerror(errno));
		goto fail;
	}
	if (tap_is_ebpf(e)) {
#if VTAP_HAVE_BPF_SKEL
		struct tap_bpf_opts bo = { e->o.ring_bytes, e->vx_name, e->o.vx_port, e->nl };

		e->bpf = tap_bpf_open(&bo, err);
		if (!e->bpf)
			goto fail;
		rc = ev_io_add(ev, &e->ring_io, tap_bpf_ring_fd(e->bpf), EPOLLIN, tap_path_on_ring, e);
		if (rc) {
			vt_err_set(err, rc, "event loop: %s", strerror(-rc));
			goto fail;
		}
		e->ring_io_on = true;
		rc = ev_timer_start(ev, &e->ring_t, RING_POLL_MS, RING_POLL_MS);
		if (rc) {
			vt_err_set(err, rc, "event loop timer: %s", strerror(-rc));
			goto fail;
		}
#else
		vt_err_set(err, -ENOTSUP, "this vtap was built without eBPF: use the afpacket backend");
		goto fail;
#endif
	}
	rc = ev_timer_start(ev, &e->check_t, e->o.check_ms, e->o.check_ms);
	if (rc) {
		vt_err_set(err, rc, "event loop timer: %s", strerror(-rc));
		goto fail;
	}
	return e;
fail:
	tap_engine_free(e);
	errno = err && err->code ? -err->code : EIO;
	return NULL;
}

void tap_engine_free(struct tap_engine *e)
{
	if (!e)
		return;
	/* stop the producers first, then send what is still in the ring (a
	 * bounded drain: at most the ring's worth of 4096-record batches) */
	for (unsigned i = 0; i < TAP_MAX_PORTS; i++)
		if (e->ports[i].armed)
			(void)tap_port_disarm(e, e->ports[i].ifindex, false);
#if VTAP_HAVE_BPF_SKEL
	if (e->bpf && e->ring_io_on)
		for (int k = 0; k < 256 && tap_bpf_ring_consume(e->bpf, RING_BUDGET,
								  tap_path_on_record, e) > 0; k++)
			;
#endif
	tap_path_flush(e);
	for (unsigned i = 0; i < TAP_MAX_SESSIONS; i++)
		if (e->sess[i].used)
			sess_clear(&e->sess[i]);
	if (ev_timer_active(&e->check_t))
		ev_timer_stop(e->ev, &e->check_t);
	if (ev_timer_active(&e->ring_t))
		ev_timer_stop(e->ev, &e->ring_t);
#if VTAP_HAVE_BPF_SKEL
	if (e->ring_io_on)
		ev_io_del(e->ev, &e->ring_io);
	tap_bpf_close(e->bpf);
#endif
	nl_sock_close(e->nl);
	free(e);
}
