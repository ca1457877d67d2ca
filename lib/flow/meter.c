/* meter.c — see meter.h. The packet path is meter_packet(): build the key,
 * one table lookup, add counters; everything about identity happens when
 * a flow is exported (flow_emit), so entries stay small. */
#include "flow/meter.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"

/* ---- port table --------------------------------------------------------- */

struct mport {
	struct vm_ident vm;
	uint8_t mac[6];
	bool used, has_mac;
};

struct meter_ports {
	struct mport *v;
	uint32_t n;            /* allocated entries */
	uint32_t max;
	uint32_t count;        /* ports in use */
	/* MAC -> port: open addressing, rebuilt on change (control plane) */
	uint32_t *mac_ix;      /* port + 1, 0 = empty */
	uint32_t mac_mask;
};

struct meter_ports *meter_ports_new(uint32_t max_ports)
{
	struct meter_ports *p;

	if (max_ports == 0) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->max = max_ports;
	return p;
}

void meter_ports_free(struct meter_ports *p)
{
	if (!p)
		return;
	free(p->v);
	free(p->mac_ix);
	free(p);
}

static uint32_t mac_hash(const uint8_t mac[6])
{
	return (uint32_t)vt_hash(mac, 6, 0x6d6163);
}

static int mac_rebuild(struct meter_ports *p)
{
	uint32_t cap = 8, *ix;

	while (cap < p->count * 2 + 2)
		cap *= 2;
	ix = calloc(cap, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->n; i++) {
		uint32_t h;
		if (!p->v[i].used || !p->v[i].has_mac)
			continue;
		h = mac_hash(p->v[i].mac) & (cap - 1);
		while (ix[h])
			h = (h + 1) & (cap - 1);
		ix[h] = i + 1;
	}
	free(p->mac_ix);
	p->mac_ix = ix;
	p->mac_mask = cap - 1;
	return 0;
}

uint32_t meter_ports_by_mac(const struct meter_ports *p, const uint8_t mac[6])
{
	uint32_t h;

	if (!p || !p->mac_ix)
		return FT_PORT_NONE;
	for (h = mac_hash(mac) & p->mac_mask; p->mac_ix[h]; h = (h + 1) & p->mac_mask) {
		const struct mport *e = &p->v[p->mac_ix[h] - 1];
		if (memcmp(e->mac, mac, 6) == 0)
			return p->mac_ix[h] - 1;
	}
	return FT_PORT_NONE;
}

int meter_ports_set(struct meter_ports *p, uint32_t port, const struct vm_ident *vm,
		    const uint8_t mac[6])
{
	struct mport *e;

	if (port >= p->max)
		return -ERANGE;
	if (mac) {
		uint32_t other = meter_ports_by_mac(p, mac);
		if (other != FT_PORT_NONE && other != port)
			return -EEXIST;
	}
	if (port >= p->n) {
		uint32_t n = VT_MAX(port + 1, p->n * 2);
		struct mport *v;
		if (n > p->max)
			n = p->max;
		v = realloc(p->v, (size_t)n * sizeof(*v));
		if (!v)
			return -ENOMEM;
		memset(v + p->n, 0, (size_t)(n - p->n) * sizeof(*v));
		p->v = v;
		p->n = n;
	}
	e = &p->v[port];
	if (!e->used)
		p->count++;
	e->used = true;
	e->vm = *vm;
	e->vm.name[sizeof(e->vm.name) - 1] = '\0';
	e->vm.ifname[sizeof(e->vm.ifname) - 1] = '\0';
	e->has_mac = mac != NULL;
	if (mac)
		memcpy(e->mac, mac, 6);
	return mac_rebuild(p);
}

int meter_ports_del(struct meter_ports *p, uint32_t port)
{
	if (port >= p->n || !p->v[port].used)
		return -ENOENT;
	memset(&p->v[port], 0, sizeof(p->v[port]));
	p->count--;
	return mac_rebuild(p);
}

const struct vm_ident *meter_ports_vm(const struct meter_ports *p, uint32_t port)
{
	if (!p || port >= p->n || !p->v[port].used)
		return NULL;
	return &p->v[port].vm;
}

uint32_t meter_ports_count(const struct meter_ports *p)
{
	return p->count;
}

/* ---- meter -------------------------------------------------------------- */

struct meter {
	struct flowtable *ft;
	const struct meter_ports *ports;
	meter_emit_fn emit;
	void *arg;
	uint32_t budget;
	uint64_t seed;          /* the table's hash seed, for inline hashing */
	uint64_t sweep_at;      /* cached ft_sweep_at() */
	struct meter_stats st;
};

static void fill_vm(struct vm_ident *dst, const struct meter_ports *ports, uint32_t port)
{
	const struct vm_ident *vm = meter_ports_vm(ports, port);

	if (vm)
		*dst = *vm;
}

/* flow_emit() : a flow leaves the table; build the record. */
static void flow_emit(void *arg, const struct ft_flow *f, enum flow_end reason)
{
	struct meter *m = arg;
	struct flow_rec r;
	uint32_t ifx;

	memset(&r, 0, sizeof(r));
	r.first_ms = f->first_ms;
	r.last_ms = f->last_ms;
	r.src = f->key.src;
	r.dst = f->key.dst;
	r.sport = f->key.sport;
	r.dport = f->key.dport;
	r.proto = f->key.proto;
	r.ipver = f->ipver;
	r.vlan = f->key.vlan;
	r.bytes = f->bytes;
	r.packets = f->packets;
	r.tcp_flags = f->tcp_flags;
	r.tos = f->tos;
	r.end_reason = (uint8_t)reason;
	r.direction = f->dir;
	memcpy(r.src_mac, f->src_mac, 6);
	memcpy(r.dst_mac, f->dst_mac, 6);
	r.scope = f->scope;
	fill_vm(&r.vm, m->ports, f->key.port);
	if (f->scope == FLOW_SCOPE_LOCAL && f->peer_port != FT_PORT_NONE)
		fill_vm(&r.peer, m->ports, f->peer_port);
	/* the port as an interface index: the host ifindex when known, else
	 * the port id (offline: the pcapng interface id) */
	ifx = r.vm.ifindex ? r.vm.ifindex : f->key.port;
	if (f->dir == FLOW_DIR_EGRESS)
		r.out_if = ifx;
	else
		r.in_if = ifx;
	m->st.records++;
	m->emit(m->arg, &r);
}

struct meter *meter_new(const struct meter_cfg *cfg, const struct meter_ports *ports,
			meter_emit_fn emit, void *arg)
{
	struct ft_cfg fc;
	struct meter *m;

	if (!cfg || !emit) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	fc = (struct ft_cfg){
		.active_ms = cfg->active_ms,
		.idle_ms = cfg->idle_ms,
		.fin_ms = cfg->fin_ms,
		.max_flows = cfg->max_flows,
		.seed = cfg->seed,
	};
	m->ft = ft_new(&fc, flow_emit, m);
	if (!m->ft) {
		int e = errno;
		free(m);
		errno = e;
		return NULL;
	}
	m->ports = ports;
	m->emit = emit;
	m->arg = arg;
	m->budget = cfg->sweep_budget ? cfg->sweep_budget : 1024;
	m->seed = ft_seed(m->ft);
	return m;
}

void meter_free(struct meter *m)
{
	if (!m)
		return;
	ft_free(m->ft);
	free(m);
}

void meter_gso_split(uint32_t ip_len, uint32_t hdr_len, uint32_t gso_size, uint32_t segs,
		     uint64_t *packets, uint64_t *bytes)
{
	uint32_t payload;

	*packets = 1;
	*bytes = ip_len;
	if (hdr_len == 0 || hdr_len >= ip_len || (gso_size == 0 && segs == 0))
		return;
	payload = ip_len - hdr_len;
	if (segs == 0)
		segs = (payload + gso_size - 1) / gso_size;
	if (segs <= 1)
		return;
	*packets = segs;
	*bytes = (uint64_t)ip_len + (uint64_t)(segs - 1) * hdr_len;
}

static const struct meter_obs obs_default = {
	.port = 0,
	.dir = FLOW_DIR_UNKNOWN,
	.scope = FLOW_SCOPE_UNKNOWN,
	.peer_port = FT_PORT_NONE,
};

/* prepare() : counts the frame and builds its key; false when it is not
 * metered (not IP, failed decoding, count-once skip). */
static bool prepare(struct meter *m, const struct pkt_info *pi, const struct meter_obs *obs,
		    struct ft_key *k)
{
	m->st.frames++;
	if (VT_UNLIKELY(pi->err != PKT_OK) && (unsigned)pi->err < PKT_ERR__COUNT)
		m->st.errors[pi->err]++;
	if (VT_UNLIKELY(pi->ipver == 0)) {
		if (pi->err != PKT_OK)
			m->st.failed++;
		else
			m->st.non_ip++;
		return false;
	}
	if (obs->dir == FLOW_DIR_EGRESS && obs->scope == FLOW_SCOPE_LOCAL) {
		m->st.local_dup++;
		return false;
	}
	k->src = pi->src;
	k->dst = pi->dst;
	k->port = obs->port;
	k->vlan = pi->nvlan ? pi->vlan[0] : 0;
	k->proto = pi->proto;
	k->zero = 0;
	if (pi->has_l4) {
		if (pi->proto == 1 || pi->proto == 58) {
			k->sport = 0;
			k->dport = (uint16_t)(pi->icmp_type << 8 | pi->icmp_code);
		} else {
			k->sport = pi->sport;
			k->dport = pi->dport;
		}
	} else {
		k->sport = k->dport = 0;
	}
	return true;
}

/* account() : adds the frame to its flow. */
static void account(struct meter *m, const struct pkt_info *pi, uint64_t ts_ms,
		    const struct meter_obs *obs, const struct ft_key *k, uint32_t hash)
{
	struct ft_flow *f;
	uint64_t packets, bytes;
	bool created;

	if (VT_UNLIKELY(obs->gso_size || obs->gso_segs) && pi->has_l4 && pi->payload_off > pi->l3_off) {
		meter_gso_split(pi->ip_len, (uint32_t)(pi->payload_off - pi->l3_off), obs->gso_size,
				obs->gso_segs, &packets, &bytes);
		if (packets > 1)
			m->st.gso_frames++;
	} else {
		packets = 1;
		bytes = pi->ip_len;
	}
	/* sweep first, so a packet after a deadline starts a new flow */
	if (VT_UNLIKELY(ts_ms >= m->sweep_at)) {
		ft_expire(m->ft, ts_ms, m->budget);
		m->sweep_at = ft_sweep_at(m->ft);
	}
	f = ft_get(m->ft, k, hash, ts_ms, &created);
	if (created) {
		f->ipver = pi->ipver;
		f->tos = pi->tos;
		f->dir = obs->dir;
		f->scope = obs->scope;
		f->peer_port = obs->scope == FLOW_SCOPE_LOCAL ? obs->peer_port : FT_PORT_NONE;
		memcpy(f->src_mac, pi->src_mac, 6);
		memcpy(f->dst_mac, pi->dst_mac, 6);
	} else {
		if (ts_ms > f->last_ms)
			f->last_ms = ts_ms;
		else if (ts_ms < f->first_ms)
			f->first_ms = ts_ms;
	}
	f->bytes += bytes;
	f->packets += packets;
	m->st.ip_frames++;
	m->st.packets += packets;
	m->st.bytes += bytes;
	if (pi->proto == 6 && pi->has_l4) {
		f->tcp_flags |= pi->tcp_flags;
		if (pi->tcp_flags & 0x05) /* FIN or RST */
			ft_close(m->ft, f);
	}
}

int meter_packet(struct meter *m, const struct pkt_info *pi, uint64_t ts_ms,
		 const struct meter_obs *obs)
{
	struct ft_key k;

	if (!obs)
		obs = &obs_default;
	if (!prepare(m, pi, obs, &k))
		return 1;
	account(m, pi, ts_ms, obs, &k, ft_hash_seeded(&k, m->seed));
	return 0;
}

#define PF_DIST 8

size_t meter_packets(struct meter *m, const struct meter_pkt *p, size_t n)
{
	struct ft_key keys[METER_BATCH_MAX];
	uint32_t hash[METER_BATCH_MAX];
	uint8_t at[METER_BATCH_MAX];
	size_t done = 0;

	while (n) {
		size_t b = VT_MIN(n, (size_t)METER_BATCH_MAX), nk = 0;
		for (size_t i = 0; i < b; i++) {
			const struct meter_obs *o = p[i].obs ? p[i].obs : &obs_default;
			if (!prepare(m, p[i].pi, o, &keys[nk]))
				continue;
			hash[nk] = ft_hash_seeded(&keys[nk], m->seed);
			at[nk++] = (uint8_t)i;
		}
		/* overlap the cache misses of the batch: every index slot is
		 * requested first; each entry is requested PF_DIST packets
		 * before it is needed, once its slot has had time to arrive */
		ft_prefetch_slots(m->ft, hash, nk);
		ft_prefetch_entries(m->ft, hash, VT_MIN(nk, (size_t)PF_DIST));
		for (size_t j = 0; j < nk; j++) {
			const struct meter_pkt *q = &p[at[j]];
			if (j + PF_DIST < nk)
				ft_prefetch_entries(m->ft, &hash[j + PF_DIST], 1);
			account(m, q->pi, q->ts_ms, q->obs ? q->obs : &obs_default, &keys[j], hash[j]);
		}
		done += nk;
		p += b;
		n -= b;
	}
	return done;
}

uint32_t meter_tick(struct meter *m, uint64_t now_ms)
{
	uint32_t n = ft_expire(m->ft, now_ms, m->budget);

	m->sweep_at = ft_sweep_at(m->ft);
	return n;
}

void meter_flush(struct meter *m, enum flow_end reason)
{
	ft_flush(m->ft, reason);
}

void meter_flush_port(struct meter *m, uint32_t port)
{
	ft_flush_port(m->ft, port, FLOW_END_FORCED);
}

const struct meter_stats *meter_stats(const struct meter *m)
{
	return &m->st;
}

const struct ft_stats *meter_ft_stats(const struct meter *m)
{
	return ft_stats(m->ft);
}

uint64_t meter_now(const struct meter *m)
{
	return ft_now(m->ft);
}
