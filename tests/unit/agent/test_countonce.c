/* Unit tests: src/agent/countonce — the count-once rules (table of frames
 * x ports x MAC sets -> counted/skipped, direction, scope, peer), the
 * lock-free local MAC table and the flood de-duplication. */
#include "agent/countonce.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/compiler.h"
#include "flow/flowrec.h"
#include "vt_test.h"

static const uint8_t MAC_A[6] = { 0x52, 0x54, 0, 0x18, 0, 1 };   /* vm on slot 0 */
static const uint8_t MAC_B[6] = { 0x52, 0x54, 0, 0x18, 0, 2 };   /* vm on slot 1 */
static const uint8_t MAC_C[6] = { 0x52, 0x54, 0, 0x18, 0, 3 };   /* vm on slot 2, not known yet */
static const uint8_t MAC_X[6] = { 0x52, 0x54, 0, 0x18, 0xff, 1 }; /* the gateway, outside */
static const uint8_t MAC_U[6] = { 0x02, 0, 0, 0, 0, 0x99 };      /* nobody here */
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t MCAST6[6] = { 0x33, 0x33, 0, 0, 0, 1 };

enum { NONE = -1 };

/* One frame of a scenario and what must come of it. */
struct step {
	const char *what;
	uint32_t slot;
	uint8_t dir;
	const uint8_t *src, *dst;
	uint8_t payload;         /* varies the content (and so the flood hash) */
	uint64_t ts_us;
	bool vlan;               /* carry an 802.1Q tag (ports may tag differently) */
	uint32_t caplen;         /* 0: the whole frame */
	/* expected */
	enum co_verdict verdict;
	uint8_t scope;
	int peer;
	bool learned;
};

#define IN CO_INGRESS
#define EG CO_EGRESS
#define L FLOW_SCOPE_LOCAL
#define R FLOW_SCOPE_REMOTE
#define U FLOW_SCOPE_UNKNOWN

/* Every scenario starts with A on slot 0 and B on slot 1 known (identity). */
static const struct step scen_unicast[] = {
	{ "A->B leaves A: counted at the sender, local, peer B", 0, IN, MAC_A, MAC_B, 1, 0, false, 0, CO_COUNT, L, 1, false },
	{ "A->B reaches B: the sender counted it", 1, EG, MAC_A, MAC_B, 1, 5, false, 0, CO_SKIP_LOCAL, L, 0, false },
	{ "A->outside leaves A: counted, remote", 0, IN, MAC_A, MAC_X, 2, 10, false, 0, CO_COUNT, R, NONE, false },
	{ "outside->A reaches A: counted, remote", 0, EG, MAC_X, MAC_A, 3, 20, false, 0, CO_COUNT, R, NONE, false },
	{ "outside->A flooded to B: skipped", 1, EG, MAC_X, MAC_A, 3, 21, false, 0, CO_SKIP_FLOOD, R, NONE, false },
	{ "B->A leaves B", 1, IN, MAC_B, MAC_A, 4, 30, false, 0, CO_COUNT, L, 0, false },
	{ "B->A reaches A", 0, EG, MAC_B, MAC_A, 4, 31, false, 0, CO_SKIP_LOCAL, L, 1, false },
	{ "runt frame", 0, EG, MAC_X, MAC_A, 5, 40, false, 10, CO_SKIP_RUNT, U, NONE, false },
};

static const struct step scen_group[] = {
	{ "A broadcasts: counted once at A", 0, IN, MAC_A, BCAST, 1, 0, false, 0, CO_COUNT, U, NONE, false },
	{ "A's broadcast reaches B", 1, EG, MAC_A, BCAST, 1, 3, false, 0, CO_SKIP_LOCAL, L, 0, false },
	{ "A's broadcast reaches C's port", 2, EG, MAC_A, BCAST, 1, 4, false, 0, CO_SKIP_LOCAL, L, 0, false },
	{ "outside broadcast, first copy (on B)", 1, EG, MAC_X, BCAST, 2, 100, false, 0, CO_COUNT, R, NONE, false },
	{ "outside broadcast, copy on A", 0, EG, MAC_X, BCAST, 2, 101, false, 0, CO_SKIP_COPY, R, NONE, false },
	{ "outside broadcast, tagged copy on C", 2, EG, MAC_X, BCAST, 2, 102, true, 0, CO_SKIP_COPY, R, NONE, false },
	{ "a second, identical broadcast on B is a new frame", 1, EG, MAC_X, BCAST, 2, 150, false, 0, CO_COUNT, R, NONE, false },
	{ "... whose copy on A is skipped", 0, EG, MAC_X, BCAST, 2, 151, false, 0, CO_SKIP_COPY, R, NONE, false },
	{ "outside multicast, first copy on A", 0, EG, MAC_X, MCAST6, 3, 200, false, 0, CO_COUNT, R, NONE, false },
	{ "outside multicast, copy on B", 1, EG, MAC_X, MCAST6, 3, 201, false, 0, CO_SKIP_COPY, R, NONE, false },
	{ "other content is another frame", 1, EG, MAC_X, MCAST6, 4, 202, false, 0, CO_COUNT, R, NONE, false },
	{ "same content long after the window is another frame", 0, EG, MAC_X, MCAST6, 3, 60000, false, 0, CO_COUNT, R, NONE, false },
	{ "unknown unicast from outside, first copy on a silent VM's port", 2, EG, MAC_X, MAC_U, 5, 70000, false, 0, CO_COUNT, R, NONE, false },
	{ "... its copy on another silent VM's port", 3, EG, MAC_X, MAC_U, 5, 70001, false, 0, CO_SKIP_COPY, R, NONE, false },
	{ "... and on a port whose VM's MAC is known: not for it", 0, EG, MAC_X, MAC_U, 5, 70002, false, 0, CO_SKIP_FLOOD, R, NONE, false },
};

static const struct step scen_learning[] = {
	{ "outside->C before C spoke: unknown MAC, flooded, first copy on C", 2, EG, MAC_X, MAC_C, 1, 0, false, 0, CO_COUNT, R, NONE, false },
	{ "... and its copy on A (whose MAC is known)", 0, EG, MAC_X, MAC_C, 1, 1, false, 0, CO_SKIP_FLOOD, R, NONE, false },
	{ "C->A leaves C: C's MAC learned, peer A", 2, IN, MAC_C, MAC_A, 2, 10, false, 0, CO_COUNT, L, 0, true },
	{ "C->A reaches A: now known as local", 0, EG, MAC_C, MAC_A, 2, 11, false, 0, CO_SKIP_LOCAL, L, 2, false },
	{ "C speaks again: nothing new learned", 2, IN, MAC_C, MAC_X, 3, 20, false, 0, CO_COUNT, R, NONE, false },
	{ "outside->C reaches C", 2, EG, MAC_X, MAC_C, 4, 30, false, 0, CO_COUNT, R, NONE, false },
	{ "outside->C flooded to A", 0, EG, MAC_X, MAC_C, 4, 31, false, 0, CO_SKIP_FLOOD, R, NONE, false },
	{ "A->C now local with peer C", 0, IN, MAC_A, MAC_C, 5, 40, false, 0, CO_COUNT, L, 2, false },
	{ "group source MACs are never learned", 2, IN, BCAST, MAC_X, 6, 50, false, 0, CO_COUNT, R, NONE, false },
	{ "A's MAC shows up on C's port: it moves", 2, IN, MAC_A, MAC_X, 7, 60, false, 0, CO_COUNT, R, NONE, true },
	{ "outside->A now counted on C's port", 2, EG, MAC_X, MAC_A, 8, 70, false, 0, CO_COUNT, R, NONE, false },
	{ "... and is a flooded copy on slot 0", 0, EG, MAC_X, MAC_A, 8, 71, false, 0, CO_SKIP_FLOOD, R, NONE, false },
};

/* knows() : whether a MAC of the port's VM is known (what the worker
 * tracks per port). */
static bool knows(const struct co_mactab *t, uint32_t slot)
{
	uint8_t dummy[1][6];
	return co_mac_list(t, slot, dummy, 0) > 0;
}

/* build_frame() : Ethernet (+ optional 802.1Q) + IPv4-ish payload. */
static uint32_t build_frame(uint8_t *b, const struct step *s)
{
	uint32_t n = 0;

	memcpy(b, s->dst, 6);
	memcpy(b + 6, s->src, 6);
	n = 12;
	if (s->vlan) {
		b[n++] = 0x81; b[n++] = 0x00; b[n++] = 0x00; b[n++] = 0x0a;
	}
	b[n++] = 0x08; b[n++] = 0x00;
	for (int i = 0; i < 60; i++)
		b[n++] = (uint8_t)(s->payload * 31 + i);
	return n;
}

static void run_scenario(const char *name, const struct step *steps, size_t n)
{
	struct co_mactab *t = co_mactab_new(256);
	struct co_dedup *dd = co_dedup_new(64, 5 * 1000 * 1000);   /* 5 ms */

	CHECK(t && dd);
	if (!t || !dd)
		return;
	CHECK_EQ(co_mac_set(t, MAC_A, 0), 1);
	CHECK_EQ(co_mac_set(t, MAC_B, 1), 1);
	for (size_t i = 0; i < n; i++) {
		const struct step *s = &steps[i];
		uint8_t frame[128];
		uint32_t len = build_frame(frame, s);
		struct co_frame f = { frame, s->caplen ? s->caplen : len, len, s->ts_us * 1000, s->dir };
		struct co_result r;
		uint32_t peer = s->peer == NONE ? CO_SLOT_NONE : (uint32_t)s->peer;

		co_classify(t, dd, s->slot, knows(t, s->slot), &f, &r);
		if (r.verdict != s->verdict || r.scope != s->scope || r.peer_slot != peer ||
		    r.learned != s->learned || r.dir != s->dir) {
			fprintf(stderr, "  %s step %zu (%s): verdict %s scope %u peer %d learned %d dir %u; "
				"want %s scope %u peer %d learned %d\n", name, i, s->what,
				co_verdict_name(r.verdict), r.scope, (int)r.peer_slot, r.learned, r.dir,
				co_verdict_name(s->verdict), s->scope, s->peer, s->learned);
			vt_test_failures++;
		}
	}
	co_dedup_free(dd);
	co_mactab_free(t);
}

static void test_classify_unicast(void)
{
	run_scenario("unicast", scen_unicast, ARRAY_SIZE(scen_unicast));
}

static void test_classify_group(void)
{
	run_scenario("group", scen_group, ARRAY_SIZE(scen_group));
}

static void test_classify_learning(void)
{
	run_scenario("learning", scen_learning, ARRAY_SIZE(scen_learning));
}

/* Counting over a whole exchange: every frame counted exactly once
 * whatever the order the ports' copies are processed in. */
static void test_count_once_totals(void)
{
	/* A talks to B 10 times, B answers 10 times, outside broadcasts 5
	 * times (3 ports each), outside unicast to A 7 times (flooded once
	 * to B before B's... no: A is known, so copies on B are floods) */
	static const uint32_t orders[3][3] = { { 0, 1, 2 }, { 2, 1, 0 }, { 1, 2, 0 } };

	for (int o = 0; o < 3; o++) {
		struct co_mactab *t = co_mactab_new(64);
		struct co_dedup *dd = co_dedup_new(64, 5000000);
		unsigned counted = 0;
		uint64_t ts = 1000000;

		co_mac_set(t, MAC_A, 0);
		co_mac_set(t, MAC_B, 1);
		for (int k = 0; k < 10; k++) {
			struct step a2b = { "", 0, IN, MAC_A, MAC_B, (uint8_t)k, 0, false, 0, 0, 0, 0, false };
			struct step b2a = { "", 1, IN, MAC_B, MAC_A, (uint8_t)(k + 50), 0, false, 0, 0, 0, 0, false };
			const struct step *legs[2] = { &a2b, &b2a };
			for (int l = 0; l < 2; l++) {
				uint8_t fr[128];
				uint32_t n = build_frame(fr, legs[l]);
				/* leaves the sender (ingress), reaches the receiver (egress) */
				for (int pass = 0; pass < 2; pass++) {
					struct co_frame f = { fr, n, n, ts++, (uint8_t)(pass ? EG : IN) };
					struct co_result r;
					uint32_t port = pass ? 1 - legs[l]->slot : legs[l]->slot;
					co_classify(t, dd, port, knows(t, port), &f, &r);
					counted += r.verdict == CO_COUNT;
				}
			}
		}
		for (int k = 0; k < 5; k++) {
			struct step bc = { "", 0, EG, MAC_X, BCAST, (uint8_t)(100 + k), 0, false, 0, 0, 0, 0, false };
			uint8_t fr[128];
			uint32_t n = build_frame(fr, &bc);
			for (int p = 0; p < 3; p++) {
				struct co_frame f = { fr, n, n, ts + (uint64_t)p * 1000, EG };
				struct co_result r;
				co_classify(t, dd, orders[o][p], knows(t, orders[o][p]), &f, &r);
				counted += r.verdict == CO_COUNT;
			}
			ts += 10 * 1000 * 1000;
		}
		for (int k = 0; k < 7; k++) {
			struct step uc = { "", 0, EG, MAC_X, MAC_A, (uint8_t)(200 + k), 0, false, 0, 0, 0, 0, false };
			uint8_t fr[128];
			uint32_t n = build_frame(fr, &uc);
			for (int p = 0; p < 3; p++) {
				struct co_frame f = { fr, n, n, ts + (uint64_t)p, EG };
				struct co_result r;
				co_classify(t, dd, orders[o][p], knows(t, orders[o][p]), &f, &r);
				counted += r.verdict == CO_COUNT;
			}
			ts += 1000;
		}
		CHECK_EQ(counted, 20 + 5 + 7);
		co_dedup_free(dd);
		co_mactab_free(t);
	}
}

/* The table counts when a frame takes the bucket of another frame still
 * inside its window (that frame's later copy is then counted again), and
 * not when the entry it replaces is stale or its own. */
static void test_dedup_evicted(void)
{
	static const struct {
		uint64_t hash, ts_ns;
		uint32_t slot;
		bool first;
		uint64_t evicted;   /* total after the step */
	} st[] = {
		{ 0x100000001ull, 1000000, 0, true, 0 },    /* bucket 0: frame A */
		{ 0x100000001ull, 2000000, 1, false, 0 },   /* A's copy on another port */
		{ 0x200000002ull, 3000000, 0, true, 1 },    /* frame B, same bucket, A live */
		{ 0x100000001ull, 3500000, 1, true, 2 },    /* A again: counted again, evicts B */
		{ 0x200000002ull, 9500000, 1, true, 2 },    /* B, its window over: not an eviction */
		{ 0x200000002ull, 9600000, 1, true, 2 },    /* same port: a new frame, same hash */
	};
	struct co_dedup *dd = co_dedup_new(16, 5 * 1000 * 1000);

	CHECK(dd);
	if (!dd)
		return;
	for (size_t i = 0; i < ARRAY_SIZE(st); i++) {
		CHECK_EQ(co_dedup_first(dd, st[i].hash, st[i].ts_ns, st[i].slot), st[i].first);
		CHECK_EQ(co_dedup_evicted(dd), st[i].evicted);
	}
	co_dedup_free(dd);
}

static void test_dedup_without_table(void)
{
	/* no de-duplication table: every flooded copy counts (documented) */
	struct co_mactab *t = co_mactab_new(64);
	struct step bc = { "", 0, EG, MAC_X, BCAST, 1, 0, false, 0, 0, 0, 0, false };
	uint8_t fr[128];
	uint32_t n = build_frame(fr, &bc);
	unsigned counted = 0;

	for (uint32_t p = 0; p < 3; p++) {
		struct co_frame f = { fr, n, n, 1000, EG };
		struct co_result r;
		co_classify(t, NULL, p, knows(t, p), &f, &r);
		counted += r.verdict == CO_COUNT;
	}
	CHECK_EQ(counted, 3);
	co_mactab_free(t);
}

static void test_flood_hash(void)
{
	struct step s = { "", 0, EG, MAC_X, BCAST, 9, 0, false, 0, 0, 0, 0, false };
	struct step tagged = s;
	uint8_t a[128], b[128];
	uint32_t na, nb;

	tagged.vlan = true;
	na = build_frame(a, &s);
	nb = build_frame(b, &tagged);
	/* the tag is skipped and the length counted without it */
	CHECK(co_flood_hash(a, na, na) == co_flood_hash(b, nb, nb));
	CHECK(co_flood_hash(a, na, na) != co_flood_hash(a, na, na + 1));
	a[40] ^= 1;
	CHECK(co_flood_hash(a, na, na) != co_flood_hash(b, nb, nb));
	/* bytes past 128 after the L2 header do not matter (snap lengths) */
	CHECK(co_flood_hash(a, 10, 100) != 0);
}

static void test_mactab_basic(void)
{
	struct co_mactab *t = co_mactab_new(10);
	struct co_mactab_stats st;
	uint8_t list[4][6];
	static const uint8_t zero[6];

	CHECK(t != NULL);
	if (!t)
		return;
	co_mactab_get_stats(t, &st);
	CHECK_EQ(st.capacity, 64);
	CHECK_EQ(co_mac_lookup(t, MAC_A), CO_SLOT_NONE);
	CHECK_EQ(co_mac_set(t, MAC_A, 7), 1);
	CHECK_EQ(co_mac_set(t, MAC_A, 7), 0);
	CHECK_EQ(co_mac_lookup(t, MAC_A), 7);
	CHECK_EQ(co_mac_set(t, MAC_A, 9), 1);
	CHECK_EQ(co_mac_lookup(t, MAC_A), 9);
	CHECK_EQ(co_mac_set(t, BCAST, 1), -EINVAL);
	CHECK_EQ(co_mac_set(t, zero, 1), -EINVAL);
	CHECK_EQ(co_mac_set(t, MAC_B, CO_MAX_SLOTS), -EINVAL);
	CHECK_EQ(co_mac_set(t, MAC_B, CO_MAX_SLOTS - 1), 1);
	CHECK_EQ(co_mac_lookup(t, MAC_B), CO_MAX_SLOTS - 1);
	CHECK_EQ(co_mac_set(t, MAC_C, 9), 1);
	CHECK_EQ(co_mac_list(t, 9, list, 4), 2);
	CHECK(memcmp(list[0], MAC_A, 6) == 0 || memcmp(list[1], MAC_A, 6) == 0);
	CHECK(memcmp(list[0], MAC_C, 6) == 0 || memcmp(list[1], MAC_C, 6) == 0);
	CHECK_EQ(co_mac_forget_slot(t, 9), 2);
	CHECK_EQ(co_mac_lookup(t, MAC_A), CO_SLOT_NONE);
	CHECK_EQ(co_mac_lookup(t, MAC_C), CO_SLOT_NONE);
	CHECK_EQ(co_mac_forget(t, MAC_A), -ENOENT);
	co_mactab_get_stats(t, &st);
	CHECK_EQ(st.live, 1);
	CHECK_EQ(st.used, 3);
	/* a forgotten MAC coming back reuses its entry */
	CHECK_EQ(co_mac_set(t, MAC_A, 3), 1);
	co_mactab_get_stats(t, &st);
	CHECK_EQ(st.live, 2);
	CHECK_EQ(st.used, 3);
	CHECK_EQ(co_mac_forget(t, MAC_A), 0);
	CHECK_EQ(co_mac_lookup(t, MAC_A), CO_SLOT_NONE);
	co_mactab_free(t);
}

static void test_mactab_bound_and_compact(void)
{
	struct co_mactab *t = co_mactab_new(64), *c;
	struct co_mactab_stats st;
	uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 0 };
	int refused = 0;

	for (int i = 1; i <= 60; i++) {
		mac[5] = (uint8_t)i;
		int r = co_mac_set(t, mac, (uint32_t)i);
		if (r == -ENOSPC)
			refused++;
		else
			CHECK_EQ(r, 1);
	}
	co_mactab_get_stats(t, &st);
	CHECK_EQ(st.used, 48);          /* 3/4 of 64 */
	CHECK_EQ(refused, 12);
	CHECK_EQ(st.refused, 12);
	CHECK(co_mactab_crowded(t));
	/* forget most; the table stays full of tombstones until compacted */
	for (int i = 1; i <= 40; i++)
		co_mac_forget_slot(t, (uint32_t)i);
	mac[5] = 200;
	CHECK_EQ(co_mac_set(t, mac, 1), -ENOSPC);
	c = co_mactab_compact(t);
	CHECK(c != NULL);
	co_mactab_get_stats(c, &st);
	CHECK_EQ(st.live, 8);
	CHECK_EQ(st.used, 8);
	CHECK(!co_mactab_crowded(c));
	for (int i = 41; i <= 48; i++) {
		mac[5] = (uint8_t)i;
		CHECK_EQ(co_mac_lookup(c, mac), (uint32_t)i);
	}
	mac[5] = 200;
	CHECK_EQ(co_mac_set(c, mac, 1), 1);
	co_mactab_free(c);
	co_mactab_free(t);
}

/* Writers learning and re-tagging while readers look up: no key present
 * for the whole run is ever reported missing, and counters stay exact. */
struct race {
	struct co_mactab *t;
	int id;
	atomic_int *stop;
	unsigned misses;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	uint8_t mac[6] = { 0x02, 0x10, 0, 0, 0, 0 };

	for (unsigned k = 0; k < 20000; k++) {
		mac[3] = (uint8_t)r->id;
		mac[4] = (uint8_t)(k % 97);
		mac[5] = (uint8_t)(k % 5);
		co_mac_set(r->t, mac, (uint32_t)(k % 11));
		if (k % 7 == 0)
			co_mac_forget(r->t, mac);
	}
	return NULL;
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	uint8_t stable[6] = { 0x02, 0x20, 0, 0, 0, 0 };

	while (!atomic_load(r->stop)) {
		for (int i = 0; i < 32; i++) {
			stable[5] = (uint8_t)i;
			if (co_mac_lookup(r->t, stable) != (uint32_t)i)
				r->misses++;
		}
	}
	return NULL;
}

static void test_mactab_concurrent(void)
{
	struct co_mactab *t = co_mactab_new(8192);
	atomic_int stop = 0;
	struct race w[3], rd;
	pthread_t tw[3], tr;
	uint8_t stable[6] = { 0x02, 0x20, 0, 0, 0, 0 };
	struct co_mactab_stats st;

	for (int i = 0; i < 32; i++) {
		stable[5] = (uint8_t)i;
		co_mac_set(t, stable, (uint32_t)i);
	}
	rd = (struct race){ t, 99, &stop, 0 };
	pthread_create(&tr, NULL, race_reader, &rd);
	for (int i = 0; i < 3; i++) {
		w[i] = (struct race){ t, i, &stop, 0 };
		pthread_create(&tw[i], NULL, race_writer, &w[i]);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(tw[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(tr, NULL);
	CHECK_EQ(rd.misses, 0);
	/* live must equal the entries that really carry a tag */
	co_mactab_get_stats(t, &st);
	unsigned tagged = 0;
	for (uint32_t s = 0; s < 32; s++) {
		uint8_t l[1][6];
		tagged += co_mac_list(t, s, l, 0);
	}
	CHECK_EQ(st.live, tagged);
	co_mactab_free(t);
}

static void test_verdict_names(void)
{
	CHECK_STR(co_verdict_name(CO_COUNT), "counted");
	CHECK_STR(co_verdict_name(CO_SKIP_COPY), "flooded_copy");
	CHECK_STR(co_verdict_name((enum co_verdict)99), "?");
}

VT_TEST_MAIN(VT_T(test_classify_unicast), VT_T(test_classify_group), VT_T(test_classify_learning),
	     VT_T(test_count_once_totals), VT_T(test_dedup_without_table), VT_T(test_dedup_evicted), VT_T(test_flood_hash),
	     VT_T(test_mactab_basic), VT_T(test_mactab_bound_and_compact),
	     VT_T(test_mactab_concurrent), VT_T(test_verdict_names))
