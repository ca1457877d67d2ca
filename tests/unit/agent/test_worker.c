/* Unit tests: src/agent/worker — the capture threads end to end with an
 * in-memory capture backend: count once across two workers, the local
 * peer's identity on same-host flows, a stripped VLAN tag back in the key,
 * GSO super-frames counted as their wire packets and bytes, a removed
 * port's flows exported at once (flowEndReason 4), and every flow exported
 * at shutdown. */
#include "agent/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/be.h"
#include "core/compiler.h"
#include "core/timeutil.h"
#include "vt_test.h"

/* ---- a capture backend fed by the test ---------------------------------- */

#define FQ 256

struct fake_frame {
	uint8_t data[256];
	struct cap_frame f;
};

struct cap_port {
	int efd;
	pthread_mutex_t mu;
	struct fake_frame q[FQ];
	unsigned n;
	uint32_t ifindex;
	bool closed;
};

static struct cap_port *fake_open(const struct cap_port_cfg *c, struct vt_err *err)
{
	struct cap_port *p = calloc(1, sizeof(*p));

	(void)err;
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->ifindex = c->ifindex;
	pthread_mutex_init(&p->mu, NULL);
	return p;
}

static void fake_close(struct cap_port *p)
{
	close(p->efd);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static int fake_fd(const struct cap_port *p)
{
	return p->efd;
}

static int fake_read(struct cap_port *p, unsigned budget, cap_frame_fn fn, void *arg)
{
	uint64_t v;
	unsigned n;
	struct fake_frame *copy;

	(void)budget;
	if (read(p->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	pthread_mutex_lock(&p->mu);
	n = p->n;
	copy = malloc(sizeof(*copy) * (n ? n : 1));
	memcpy(copy, p->q, sizeof(*copy) * n);
	p->n = 0;
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < n; i++) {
		copy[i].f.data = copy[i].data;
		fn(arg, &copy[i].f);
	}
	free(copy);
	return (int)n;
}

static int fake_stats(struct cap_port *p, struct cap_stats *st)
{
	(void)p;
	st->received = 0;
	st->drops = 0;
	return 0;
}

static const struct cap_ops fake_ops = { "fake", fake_open, fake_close, fake_fd, fake_read,
					 fake_stats };

static void push(struct cap_port *p, const struct fake_frame *fr)
{
	uint64_t one = 1;

	pthread_mutex_lock(&p->mu);
	if (p->n < FQ)
		p->q[p->n++] = *fr;
	pthread_mutex_unlock(&p->mu);
	if (write(p->efd, &one, sizeof(one)) < 0)
		abort();
}

/* push_quiet() : a frame that waits in the ring without waking the worker
 * (as frames still queued when a port goes away). */
static void push_quiet(struct cap_port *p, const struct fake_frame *fr)
{
	pthread_mutex_lock(&p->mu);
	if (p->n < FQ)
		p->q[p->n++] = *fr;
	pthread_mutex_unlock(&p->mu);
}

/* ---- frames ------------------------------------------------------------------ */

static const uint8_t MAC1[6] = { 0x52, 0x54, 0, 0x18, 0, 1 };
static const uint8_t MAC2[6] = { 0x52, 0x54, 0, 0x18, 0, 2 };
static const uint8_t GW[6] = { 0x52, 0x54, 0, 0x18, 0xff, 1 };

/* An Ethernet + IPv4 + TCP frame: <payload> bytes of TCP payload as the
 * IP total length says (the captured part is cut at 200 bytes, as the
 * snap length does). */
static struct fake_frame tcp_frame(const uint8_t *src, const uint8_t *dst, uint32_t sip,
				   uint32_t dip, uint16_t sport, uint16_t dport, uint32_t payload,
				   uint8_t dir, uint16_t gso, bool vlan_stripped)
{
	struct fake_frame fr;
	uint8_t *b = fr.data;
	uint32_t ip_len = 20 + 32 + payload;

	memset(&fr, 0, sizeof(fr));
	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	st_be16(b + 12, 0x0800);
	b[14] = 0x45;
	st_be16(b + 16, (uint16_t)VT_MIN(ip_len, 65535u));
	b[22] = 64;
	b[23] = 6;
	st_be32(b + 26, sip);
	st_be32(b + 30, dip);
	st_be16(b + 34, sport);
	st_be16(b + 36, dport);
	b[46] = 8 << 4;      /* data offset 32 bytes (timestamps) */
	b[47] = 0x18;        /* PSH ACK */
	fr.f.caplen = VT_MIN(14 + ip_len, 200u);
	fr.f.len = 14 + ip_len;
	fr.f.ts_ns = wall_ms() * 1000000ull;
	fr.f.dir = dir;
	if (gso) {
		fr.f.gso_type = CAP_GSO_TCPV4;
		fr.f.gso_size = gso;
	}
	if (vlan_stripped) {
		fr.f.vlan_valid = true;
		fr.f.vlan_tci = 0x2000 | 42;
		fr.f.vlan_tpid = 0x8100;
	}
	return fr;
}

/* ---- records ------------------------------------------------------------------ */

struct recs {
	struct flow_rec v[64];
	size_t n;
};

static void on_rec(void *arg, const struct flow_rec *r)
{
	struct recs *rs = arg;
	if (rs->n < ARRAY_SIZE(rs->v))
		rs->v[rs->n++] = *r;
}

static const struct flow_rec *find(const struct recs *rs, uint16_t sport, uint16_t dport)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->v[i].sport == sport && rs->v[i].dport == dport)
			return &rs->v[i];
	return NULL;
}

static struct worker_shared sh;
static struct worker *w[2];

static void drain_until(struct recs *rs, size_t want, int ms)
{
	uint64_t end = mono_ms() + (uint64_t)ms;
	while (rs->n < want && mono_ms() < end) {
		for (int i = 0; i < 2; i++)
			worker_drain(w[i], on_rec, rs);
		usleep(2000);
	}
}

static struct worker_port *add_port(struct worker *wk, uint32_t slot, uint32_t ifindex,
				    const char *name)
{
	struct worker_port *wp = calloc(1, sizeof(*wp));
	struct cap_port_cfg cc = { ifindex, name, 0, 0, 200, 10 };

	wp->slot = slot;
	wp->ifindex = ifindex;
	snprintf(wp->ifname, sizeof(wp->ifname), "%s", name);
	wp->ops = &fake_ops;
	wp->cap = fake_ops.open(&cc, NULL);
	CHECK_EQ(worker_add_port(wk, wp), 0);
	return wp;
}

static void set_ident(uint32_t slot, const char *name, uint32_t ifindex, const char *ifname)
{
	struct vm_ident vm = { .ifindex = ifindex };

	snprintf(vm.name, sizeof(vm.name), "%s", name);
	snprintf(vm.ifname, sizeof(vm.ifname), "%s", ifname);
	vm.uuid[0] = 0xaa;
	vm.uuid[15] = (uint8_t)slot;
	for (int i = 0; i < 2; i++)
		CHECK_EQ(worker_set_ident(w[i], slot, &vm), 0);
}

static bool wait_ctr(_Atomic uint64_t *c, uint64_t want)
{
	uint64_t end = mono_ms() + 5000;
	while (atomic_load(c) < want && mono_ms() < end)
		usleep(2000);
	return atomic_load(c) >= want;
}

static void test_pipeline(void)
{
	struct vt_err err = { 0 };
	struct recs rs = { .n = 0 };
	const uint32_t ip1 = 0xc6120101, ip2 = 0xc6120102, ipx = 0xc613c801;

	sh.macs = co_mactab_new(256);
	sh.dedup = co_dedup_new(64, 5000000);
	sh.notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	co_mac_set(sh.macs, MAC1, 0);
	co_mac_set(sh.macs, MAC2, 1);
	for (unsigned i = 0; i < 2; i++) {
		struct worker_cfg wc = { .index = i,
					 .meter = { .active_ms = 60000, .idle_ms = 15000, .fin_ms = 2000,
						    .max_flows = 1000 },
					 .max_ports = 16, .ring_records = 64, .read_budget = 8,
					 .tick_ms = 20 };
		w[i] = worker_new(&wc, &sh, &err);
		CHECK(w[i] != NULL);
		if (!w[i])
			return;
		CHECK_EQ(worker_start(w[i], &err), 0);
	}
	/* vm1 on worker 0 (slot 0), vm2 on worker 1 (slot 1) */
	set_ident(0, "vm1", 5, "vp-vm1");
	set_ident(1, "vm2", 6, "vp-vm2");
	struct worker_port *p1 = add_port(w[0], 0, 5, "vp-vm1");
	struct worker_port *p2 = add_port(w[1], 1, 6, "vp-vm2");
	struct fake_frame fr;

	/* vm1 -> vm2, same host, 3 frames: seen leaving vm1 and reaching vm2 */
	for (int i = 0; i < 3; i++) {
		fr = tcp_frame(MAC1, MAC2, ip1, ip2, 40000, 5201, 100, CO_INGRESS, 0, false);
		push(p1->cap, &fr);
	}
	CHECK(wait_ctr(&p1->ctr.counted, 3));
	for (int i = 0; i < 3; i++) {
		fr = tcp_frame(MAC1, MAC2, ip1, ip2, 40000, 5201, 100, CO_EGRESS, 0, false);
		push(p2->cap, &fr);
	}
	CHECK(wait_ctr(&p2->ctr.skipped[CO_SKIP_LOCAL], 3));
	/* outside -> vm2 with a stripped VLAN tag: counted at vm2 (egress) */
	fr = tcp_frame(GW, MAC2, ipx, ip2, 443, 50000, 10, CO_EGRESS, 0, true);
	push(p2->cap, &fr);
	/* vm1 -> outside: two TSO super-frames of 10 segments of 1448 bytes
	 * (14480 bytes of payload) and a small frame */
	for (int i = 0; i < 2; i++) {
		fr = tcp_frame(MAC1, GW, ip1, ipx, 40001, 80, 14480, CO_INGRESS, 1448, false);
		push(p1->cap, &fr);
	}
	fr = tcp_frame(MAC1, GW, ip1, ipx, 40001, 80, 0, CO_INGRESS, 0, false);
	push(p1->cap, &fr);
	CHECK(wait_ctr(&p1->ctr.counted, 6));
	CHECK(wait_ctr(&p2->ctr.counted, 1));
	CHECK_EQ(atomic_load(&p1->ctr.packets), 3 + 21);
	CHECK_EQ(atomic_load(&p1->ctr.gso_frames), 2);
	/* removing vm2's port exports its flows now, with reason 4 */
	CHECK_EQ(worker_del_port(w[1], p2), 0);
	drain_until(&rs, 1, 5000);
	struct worker_port *back = NULL;
	for (int i = 0; i < 500 && !back; i++) {
		back = worker_take_removed(w[1]);
		if (!back)
			usleep(2000);
	}
	CHECK(back == p2);
	CHECK(p2->cap == NULL);
	free(p2);
	const struct flow_rec *r = find(&rs, 443, 50000);
	CHECK(r != NULL);
	if (r) {
		CHECK_EQ(rs.n, 1);
		CHECK_EQ(r->end_reason, FLOW_END_FORCED);
		CHECK_EQ(r->direction, FLOW_DIR_EGRESS);
		CHECK_EQ(r->scope, FLOW_SCOPE_REMOTE);
		CHECK_EQ(r->vlan, 42);
		CHECK_EQ(r->packets, 1);
		CHECK_EQ(r->bytes, 62);
		CHECK_STR(r->vm.name, "vm2");
		CHECK_EQ(r->out_if, 6);
	}
	/* shutdown exports the rest */
	for (int i = 0; i < 2; i++)
		worker_stop(w[i]);
	while (!worker_exited(w[0]) || !worker_exited(w[1])) {
		for (int i = 0; i < 2; i++)
			worker_drain(w[i], on_rec, &rs);
		usleep(1000);
	}
	for (int i = 0; i < 2; i++) {
		worker_join(w[i]);
		worker_drain(w[i], on_rec, &rs);
	}
	CHECK_EQ(rs.n, 3);
	r = find(&rs, 40000, 5201);
	CHECK(r != NULL);
	if (r) {
		/* counted once, at the sender, naming both VMs */
		CHECK_EQ(r->packets, 3);
		CHECK_EQ(r->bytes, 3 * 152);
		CHECK_EQ(r->direction, FLOW_DIR_INGRESS);
		CHECK_EQ(r->scope, FLOW_SCOPE_LOCAL);
		CHECK_STR(r->vm.name, "vm1");
		CHECK_STR(r->peer.name, "vm2");
		CHECK_EQ(r->end_reason, FLOW_END_FORCED);
		CHECK_EQ(r->in_if, 5);
	}
	r = find(&rs, 40001, 80);
	CHECK(r != NULL);
	if (r) {
		/* 2 x 10 segments of 20 + 32 + 1448 bytes, plus one bare segment */
		CHECK_EQ(r->packets, 21);
		CHECK_EQ(r->bytes, 20u * 1500 + 52);
		CHECK_EQ(r->scope, FLOW_SCOPE_REMOTE);
		CHECK_STR(r->peer.name, "");
	}
	struct worker_port *rest = worker_take_removed(w[0]);
	CHECK(rest == p1);
	free(rest);
	struct worker_stats st;
	worker_get_stats(w[0], &st);
	CHECK_EQ(st.records, 2);
	CHECK_EQ(st.records_dropped, 0);
	CHECK_EQ(st.packets, 3 + 21);
	for (int i = 0; i < 2; i++)
		worker_free(w[i]);
	co_mactab_free(sh.macs);
	co_dedup_free(sh.dedup);
	close(sh.notify_fd);
}

/* A control thread that does not drain: the worker waits, then drops
 * and counts, and never blocks for good. */
static void test_record_ring_full(void)
{
	struct vt_err err = { 0 };
	struct worker_cfg wc = { .index = 0,
				 .meter = { .active_ms = 60000, .idle_ms = 15000, .fin_ms = 0,
					    .max_flows = 1000 },
				 .max_ports = 4, .ring_records = 64, .read_budget = 8, .tick_ms = 20 };
	struct recs rs = { .n = 0 };

	sh.macs = co_mactab_new(64);
	sh.dedup = NULL;
	sh.notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w[0] = worker_new(&wc, &sh, &err);
	CHECK_EQ(worker_start(w[0], &err), 0);
	struct worker_port *p = add_port(w[0], 0, 9, "vp-x");
	/* 100 flows, ring of 64 records */
	for (int i = 0; i < 100; i++) {
		struct fake_frame fr = tcp_frame(MAC1, GW, 0xc6120101, 0xc613c801,
						 (uint16_t)(1000 + i), 80, 0, CO_INGRESS, 0, false);
		push(p->cap, &fr);
		if (i % 50 == 49)
			CHECK(wait_ctr(&p->ctr.counted, (uint64_t)i + 1));
	}
	worker_stop(w[0]);
	uint64_t t0 = mono_ms();
	while (!worker_exited(w[0]) && mono_ms() - t0 < 10000)
		usleep(5000);
	CHECK(worker_exited(w[0]));
	worker_join(w[0]);
	worker_drain(w[0], on_rec, &rs);
	struct worker_stats st;
	worker_get_stats(w[0], &st);
	CHECK_EQ(rs.n + st.records_dropped, 100);
	CHECK_EQ(rs.n, 64);
	CHECK(st.record_waits > 0);
	free(worker_take_removed(w[0]));
	worker_free(w[0]);
	co_mactab_free(sh.macs);
	close(sh.notify_fd);
}

/* Ports added, fed and removed in quick succession: a removal and a frame
 * event land in the same loop turn, and the port handed back must not be
 * touched afterwards (ASan would see it). */
static void test_churn(void)
{
	struct vt_err err = { 0 };
	struct worker_cfg wc = { .index = 0,
				 .meter = { .active_ms = 60000, .idle_ms = 15000, .max_flows = 1000 },
				 .max_ports = 8, .ring_records = 4096, .read_budget = 8, .tick_ms = 20 };
	struct recs rs = { .n = 0 };
	unsigned back = 0;

	sh.macs = co_mactab_new(64);
	sh.dedup = NULL;
	sh.notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w[0] = worker_new(&wc, &sh, &err);
	CHECK_EQ(worker_start(w[0], &err), 0);
	for (int i = 0; i < 300; i++) {
		struct worker_port *p = add_port(w[0], (uint32_t)(i % 8), 100, "vp-churn");
		struct fake_frame fr = tcp_frame(MAC1, GW, 0xc6120101, 0xc613c801, (uint16_t)i, 80,
						 0, CO_INGRESS, 0, false);
		push(p->cap, &fr);
		CHECK_EQ(worker_del_port(w[0], p), 0);
		struct worker_port *b;
		uint64_t end = mono_ms() + 5000;
		while (!(b = worker_take_removed(w[0])) && mono_ms() < end)
			usleep(100);
		CHECK(b == p);
		if (b) {
			/* scribble over it, as a reuse would */
			memset(b, 0x5a, sizeof(*b));
			free(b);
			back++;
		}
		rs.n = 0;
		worker_drain(w[0], on_rec, &rs);
	}
	CHECK_EQ(back, 300);
	worker_stop(w[0]);
	while (!worker_exited(w[0]))
		usleep(1000);
	worker_free(w[0]);
	co_mactab_free(sh.macs);
	close(sh.notify_fd);
}

/* A port going away: the frames still in its ring are metered (its last
 * flows), but must not teach its VM's MAC back to the local MAC table
 * after the control thread forgot the slot. A MAC left mapped to a dead
 * slot makes later frames from that VM (migrated elsewhere, reaching a
 * VM here from outside) look like local copies: skipped, never counted. */
static void test_removed_port_forgets_macs(void)
{
	struct vt_err err = { 0 };
	struct worker_cfg wc = { .index = 0,
				 .meter = { .active_ms = 60000, .idle_ms = 15000, .max_flows = 1000 },
				 .max_ports = 8, .ring_records = 64, .read_budget = 8, .tick_ms = 20 };
	struct recs rs = { .n = 0 };

	sh.macs = co_mactab_new(64);
	sh.dedup = NULL;
	sh.notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	w[0] = worker_new(&wc, &sh, &err);
	CHECK(w[0] != NULL);
	if (!w[0])
		return;
	w[1] = NULL;
	CHECK_EQ(worker_start(w[0], &err), 0);
	struct worker_port *p = add_port(w[0], 3, 7, "vp-mig");
	struct fake_frame fr = tcp_frame(MAC1, GW, 0xc6120101, 0xc613c801, 1234, 80, 0,
					 CO_INGRESS, 0, false);
	/* a first frame teaches MAC1 -> slot 3 */
	push(p->cap, &fr);
	CHECK(wait_ctr(&p->ctr.counted, 1));
	CHECK_EQ(co_mac_lookup(sh.macs, MAC1), 3);
	/* the next one is still in the ring when the port goes: the control
	 * thread forgets the slot's MACs, then asks for the removal */
	push_quiet(p->cap, &fr);
	CHECK_EQ(co_mac_forget_slot(sh.macs, 3), 1);
	CHECK_EQ(worker_del_port(w[0], p), 0);
	struct worker_port *b = NULL;
	uint64_t end = mono_ms() + 5000;
	while (!(b = worker_take_removed(w[0])) && mono_ms() < end)
		usleep(1000);
	CHECK(b == p);
	CHECK_EQ(atomic_load(&p->ctr.counted), 2);
	free(b);
	CHECK_EQ(co_mac_lookup(sh.macs, MAC1), CO_SLOT_NONE);
	end = mono_ms() + 5000;
	while (rs.n < 1 && mono_ms() < end) {
		worker_drain(w[0], on_rec, &rs);
		usleep(1000);
	}
	CHECK_EQ(rs.n, 1);
	if (rs.n == 1) {
		CHECK_EQ(rs.v[0].packets, 2);
		CHECK_EQ(rs.v[0].end_reason, FLOW_END_FORCED);
	}
	worker_stop(w[0]);
	while (!worker_exited(w[0]))
		usleep(1000);
	worker_free(w[0]);
	co_mactab_free(sh.macs);
	close(sh.notify_fd);
}

VT_TEST_MAIN(VT_T(test_pipeline), VT_T(test_record_ring_full), VT_T(test_churn),
	     VT_T(test_removed_port_forgets_macs))
