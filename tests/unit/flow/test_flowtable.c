/* Unit tests: lib/flow/flowtable — lookup, timeouts, FIN/RST end, the
 * memory bound (eviction with reason 5, nothing lost), bounded sweeps,
 * clock jumps, port flush, index integrity across rehashes. */
#include <stdlib.h>

#include "core/compiler.h"
#include "flow/flowtable.h"

#include "vt_test.h"

#define MAXREC 70000

struct rec {
	struct ft_key key;
	uint64_t first, last, packets, bytes;
	int reason;
	uint64_t when; /* table clock at export */
};

static struct rec recs[MAXREC];
static size_t nrec;
static struct flowtable *cur_ft;

static void collect(void *arg, const struct ft_flow *f, enum flow_end reason)
{
	(void)arg;
	if (nrec < MAXREC)
		recs[nrec++] = (struct rec){ f->key, f->first_ms, f->last_ms, f->packets,
					     f->bytes, reason, ft_now(cur_ft) };
}

static struct ft_key key_n(uint32_t n)
{
	struct ft_key k;
	uint8_t a[4] = { 198, 18, (uint8_t)(n >> 8), (uint8_t)n };
	uint8_t b[4] = { 198, 19, (uint8_t)(n >> 16), 1 };

	memset(&k, 0, sizeof(k));
	addr_set_v4(&k.src, a);
	addr_set_v4(&k.dst, b);
	k.sport = (uint16_t)(1024 + (n >> 24));
	k.dport = 80;
	k.proto = 6;
	return k;
}

static struct flowtable *mk(uint64_t idle, uint64_t active, uint64_t fin, uint32_t max)
{
	struct ft_cfg c = { .active_ms = active, .idle_ms = idle, .fin_ms = fin,
			    .max_flows = max, .seed = 42 };
	nrec = 0;
	cur_ft = ft_new(&c, collect, NULL);
	return cur_ft;
}

/* pkt() : one packet of <bytes> on flow <n> at <t>; FIN/RST when <close>. */
static void pkt(struct flowtable *ft, uint32_t n, uint64_t t, uint32_t bytes, bool close)
{
	struct ft_key k = key_n(n);
	bool created;
	struct ft_flow *f;

	if (ft_sweep_due(ft, t)) /* as the meter does: sweep, then look up */
		ft_expire(ft, t, 0);
	f = ft_get(ft, &k, ft_hash(ft, &k), t, &created);
	if (t > f->last_ms)
		f->last_ms = t;
	f->packets++;
	f->bytes += bytes;
	if (close)
		ft_close(ft, f);
}

static void t_new_and_existing(void)
{
	struct flowtable *ft = mk(15000, 60000, 0, 100);
	struct ft_key a = key_n(1), b = key_n(2);
	bool created;
	struct ft_flow *f1 = ft_get(ft, &a, ft_hash(ft, &a), 1000, &created);

	CHECK(created);
	CHECK_EQ_U64(f1->first_ms, 1000);
	CHECK_EQ(f1->packets, 0);
	CHECK_EQ(f1->peer_port, FT_PORT_NONE);
	f1->packets = 7;
	CHECK(ft_get(ft, &a, ft_hash(ft, &a), 1001, &created) == f1);
	CHECK(!created);
	CHECK_EQ(f1->packets, 7);
	CHECK(ft_get(ft, &b, ft_hash(ft, &b), 1002, &created) != f1);
	CHECK(created);
	CHECK_EQ(ft_stats(ft)->active, 2);
	CHECK_EQ(ft_stats(ft)->created, 2);
	CHECK_EQ_U64(ft_now(ft), 1002);
	/* the clock never goes back */
	(void)ft_get(ft, &b, ft_hash(ft, &b), 500, &created);
	CHECK_EQ_U64(ft_now(ft), 1002);
	ft_flush(ft, FLOW_END_FORCED);
	CHECK_EQ(nrec, 2);
	CHECK_EQ(recs[0].reason, FLOW_END_FORCED);
	CHECK_EQ(ft_stats(ft)->active, 0);
	CHECK_EQ(ft_stats(ft)->ended[FLOW_END_FORCED], 2);
	ft_free(ft);
}

/* Timeouts, one flow per case: packets at the given times (ms), then the
 * clock is advanced to <sweep>; the flow must have been exported exactly
 * once with <reason>, its last packet at <last>, and not before its
 * deadline nor more than one wheel slot (250 ms) after it. */
static void t_timeouts(void)
{
	static const struct {
		const char *name;
		uint64_t idle, active, fin;
		uint64_t t[6];
		int close_at;   /* index of the FIN/RST packet, -1 none */
		uint64_t sweep;
		int reason;
		uint64_t pkts, deadline;
	} cases[] = {
		{ "idle", 15000, 60000, 0, { 1000, 2000, 3000 }, -1, 30000, FLOW_END_IDLE, 3, 18000 },
		{ "idle not yet", 15000, 60000, 0, { 1000, 2000 }, -1, 16900, 0, 2, 17000 },
		{ "active", 15000, 60000, 0, { 1000, 14000, 27000, 40000, 53000, 66000 }, -1, 80000,
		  FLOW_END_ACTIVE, 5, 61000 },
		{ "fin immediate", 15000, 60000, 0, { 1000, 1100, 1200 }, 2, 5000, FLOW_END_EOF, 3, 1200 },
		{ "rst linger", 15000, 60000, 2000, { 1000, 1100, 1200, 2500 }, 1, 9000, FLOW_END_EOF, 4,
		  4500 },
		{ "active before idle", 5000, 3000, 0, { 1000, 2000, 3000 }, -1, 9000, FLOW_END_ACTIVE, 3,
		  4000 },
		{ "no active timeout", 5000, 0, 0, { 1000, 4000, 8000, 12000 }, -1, 30000, FLOW_END_IDLE,
		  4, 17000 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct flowtable *ft = mk(cases[i].idle, cases[i].active, cases[i].fin, 64);
		uint64_t total = 0;
		vt_test_case = cases[i].name;
		/* time runs in 50 ms steps; packets arrive at their times */
		for (uint64_t t = cases[i].t[0]; t <= cases[i].sweep; t += 50) {
			for (int j = 0; j < 6 && cases[i].t[j]; j++)
				if (cases[i].t[j] == t)
					pkt(ft, 1, t, 100, j == cases[i].close_at);
			ft_expire(ft, t, 0);
		}
		if (cases[i].reason == 0) {
			CHECK_EQ(nrec, 0);
		} else {
			CHECK(nrec >= 1);
			CHECK_EQ(recs[0].reason, cases[i].reason);
			CHECK_EQ_U64(recs[0].packets, cases[i].pkts);
			CHECK(recs[0].when >= cases[i].deadline);
			CHECK(recs[0].when <= cases[i].deadline + 250 + 50);
		}
		ft_flush(ft, FLOW_END_FORCED);
		for (size_t r = 0; r < nrec; r++)
			total += recs[r].packets;
		for (int j = 0; j < 6 && cases[i].t[j]; j++)
			total--;
		CHECK_EQ_U64(total, 0); /* every packet exported exactly once */
		ft_free(ft);
	}
}

/* The memory bound: max_flows flows live; each new flow exports the one
 * nearest to expiry with reason 5. Nothing is lost. */
static void t_eviction_bound(void)
{
	static const uint32_t maxes[] = { 1, 7, 100, 5000 };
	for (size_t i = 0; i < ARRAY_SIZE(maxes); i++) {
		uint32_t max = maxes[i], n = max * 3 + 5;
		struct flowtable *ft = mk(15000, 60000, 0, max);
		uint64_t pk = 0, by = 0;
		for (uint32_t j = 0; j < n; j++) {
			pkt(ft, j, 1000 + j, 60 + j % 7, false);
			CHECK(ft_stats(ft)->active <= max);
		}
		CHECK_EQ(ft_stats(ft)->active, max);
		CHECK_EQ(ft_stats(ft)->evicted, n - max);
		CHECK_EQ(ft_stats(ft)->ended[FLOW_END_RESOURCES], n - max);
		CHECK_EQ(nrec, n - max);
		/* the oldest flows go first */
		CHECK(nrec == 0 || recs[0].first == 1000);
		for (size_t r = 0; r < nrec; r++)
			CHECK_EQ(recs[r].reason, FLOW_END_RESOURCES);
		ft_flush(ft, FLOW_END_FORCED);
		CHECK_EQ(nrec, n);
		for (size_t r = 0; r < nrec; r++) {
			pk += recs[r].packets;
			by += recs[r].bytes;
		}
		CHECK_EQ_U64(pk, n);
		{
			uint64_t want = 0;
			for (uint32_t j = 0; j < n; j++)
				want += 60 + j % 7;
			CHECK_EQ_U64(by, want);
		}
		ft_free(ft);
	}
}

/* Many flows through several index doublings, with deletions (expiry)
 * in between: every live key must still be found, every exported one
 * must be gone, nothing duplicated. Keys are n = j * K (a bijection on
 * 32 bits, so they scatter), recovered from exported keys with K^-1. */
#define K_MUL 2654435761u
#define K_INV 244002641u
static void t_index_integrity(void)
{
	struct flowtable *ft = mk(1000, 0, 0, 1u << 20);
	const uint32_t n = 60000;
	static bool gone[60000];
	bool created;

	for (uint32_t j = 0; j < n; j++)
		pkt(ft, j * K_MUL, 1000 + j / 100, 1, false);
	/* flows whose deadline (last + 1 s) lies before 2250 have expired */
	ft_expire(ft, 2350, 0);
	CHECK(ft_stats(ft)->rehashes >= 5);
	CHECK_EQ(ft_stats(ft)->active + nrec, n);
	CHECK(nrec > 10000 && nrec < 50000);
	memset(gone, 0, sizeof(gone));
	for (size_t r = 0; r < nrec; r++) {
		const struct ft_key *k = &recs[r].key;
		uint32_t kn = (uint32_t)(k->sport - 1024) << 24 | (uint32_t)k->dst.b[14] << 16 |
			      (uint32_t)k->src.b[14] << 8 | k->src.b[15];
		uint32_t j = kn * K_INV;
		CHECK(j < n);
		if (j < n) {
			CHECK(!gone[j]);
			gone[j] = true;
			CHECK(recs[r].first < 1250);
		}
	}
	for (uint32_t j = 0; j < n; j++) {
		struct ft_key k = key_n(j * K_MUL);
		/* at 2249 nothing not yet swept is due */
		struct ft_flow *f = ft_get(ft, &k, ft_hash(ft, &k), 2249, &created);
		CHECK_EQ(created, gone[j]);
		if (!created)
			CHECK_EQ(f->packets, 1);
	}
	CHECK_EQ(ft_stats(ft)->active, n);
	ft_free(ft);
}

static void t_sweep_budget(void)
{
	struct flowtable *ft = mk(15000, 0, 0, 10000);
	uint32_t got, rounds = 0;

	for (uint32_t j = 0; j < 1000; j++)
		pkt(ft, j, 5000, 1, false);
	got = ft_expire(ft, 21000, 64);
	CHECK_EQ(got, 64);
	CHECK_EQ(nrec, 64);
	while (ft_expire(ft, 21000, 64) == 64)
		rounds++;
	CHECK_EQ(nrec, 1000);
	CHECK_EQ(rounds, 1000 / 64 - 1);
	CHECK_EQ(ft_stats(ft)->ended[FLOW_END_IDLE], 1000);
	ft_free(ft);
}

/* A gap in the capture longer than the wheel horizon. */
static void t_clock_jump(void)
{
	struct flowtable *ft = mk(15000, 60000, 0, 100);

	pkt(ft, 1, 1000, 1, false);
	pkt(ft, 2, 1500, 1, false);
	pkt(ft, 3, 86400000ull * 365, 1, false); /* a year later */
	CHECK_EQ(nrec, 2);
	CHECK_EQ(recs[0].reason, FLOW_END_IDLE);
	CHECK_EQ(ft_stats(ft)->active, 1);
	/* the new flow still expires normally after the jump */
	ft_expire(ft, 86400000ull * 365 + 14000, 0);
	CHECK_EQ(nrec, 2);
	ft_expire(ft, 86400000ull * 365 + 15300, 0);
	CHECK_EQ(nrec, 3);
	ft_free(ft);
}

static void t_flush_port(void)
{
	struct flowtable *ft = mk(15000, 60000, 0, 100);
	bool created;

	for (uint32_t port = 0; port < 3; port++)
		for (uint32_t j = 0; j < 5; j++) {
			struct ft_key k = key_n(j);
			k.port = port;
			ft_get(ft, &k, ft_hash(ft, &k), 1000, &created)->packets = 1;
			CHECK(created);
		}
	ft_flush_port(ft, 1, FLOW_END_FORCED);
	CHECK_EQ(nrec, 5);
	for (size_t r = 0; r < nrec; r++)
		CHECK_EQ(recs[r].key.port, 1);
	CHECK_EQ(ft_stats(ft)->active, 10);
	ft_free(ft);
}

static void t_bad_config(void)
{
	struct ft_cfg c = { .idle_ms = 1000, .max_flows = 0 };

	CHECK(ft_new(&c, collect, NULL) == NULL);
	c.max_flows = 10;
	c.idle_ms = 0;
	CHECK(ft_new(&c, collect, NULL) == NULL);
	CHECK(ft_new(NULL, collect, NULL) == NULL);
	ft_free(NULL);
}

VT_TEST_MAIN(VT_T(t_new_and_existing), VT_T(t_timeouts), VT_T(t_eviction_bound),
	     VT_T(t_index_integrity), VT_T(t_sweep_budget), VT_T(t_clock_jump),
	     VT_T(t_flush_port), VT_T(t_bad_config))
