/* Unit tests: lib/query/query — aggregation and top-N are exact: every
 * query is recomputed by brute force over the same rows (in memory, with
 * filter_match_row) and the results must agree group by group, in order,
 * including ties; listings and totals likewise. */
#include "query/query.h"

#include <ftw.h>
#include <stdlib.h>

#include "core/log.h"
#include "query/qout.h"
#include "store/test_rows.h"
#include "vt_test.h"

#define T0 1700000000000ull
#define NROWS 20000

__attribute__((constructor)) static void quiet_logs(void)
{
	log_init("test_query", LOG_LVL_ERR, false);
}

static struct flow_row *rows;
static struct store *st;
static char dir[64];
static const struct fc_zonemap zm = { tr_zones, 3 };

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static uint64_t fixed_clock(void)
{
	return T0 + 3600000;
}

/* The data set: rows in several blocks; heavy ties on purpose (packets
 * and bytes from small ranges), so tie-breaking is exercised. */
static void setup(void)
{
	struct store_conf c;
	struct vt_err err = { 0 };

	if (st)
		return;
	snprintf(dir, sizeof(dir), "/tmp/vtap-query-test.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	rows = calloc(NROWS, sizeof(*rows));
	for (size_t i = 0; i < NROWS; i++) {
		tr_row(77, i, T0, 3000000, &rows[i]);
		rows[i].rec.in_if = (uint32_t)i;
		rows[i].rec.packets = 1 + i % 5;
		rows[i].rec.bytes = 100 * (1 + (i * 7) % 13);
		if (i % 3 == 0) {   /* fewer distinct addresses: real groups */
			uint8_t a[4] = { 10, 9, 0, (uint8_t)(i % 40) };
			addr_set_v4(&rows[i].rec.src, a);
		}
	}
	store_conf_init(&c, dir);
	c.fsync = false;
	c.block_rows = 1024;
	c.max_pending = 4096;
	c.retention_age_ms = 0;
	c.now_ms = fixed_clock;
	st = store_open(&c, STORE_WRITE, &err);
	store_conf_free(&c);
	if (!st)
		abort();
	store_set_zones(st, tr_zones, 3);
	for (size_t i = 0; i < NROWS; i += 2500) {
		store_append(st, rows + i, 2500);
		store_flush(st);
	}
}

/* ---- brute force ------------------------------------------------------- */

#define SK 96   /* sort key bytes per key */

struct bgroup {
	uint8_t key[QUERY_MAX_KEYS * SK];
	uint64_t flows, packets, bytes, first, last;
};

static void key_bytes(enum qkey k, const struct flow_row *r, int side, uint8_t *out)
{
	const struct flow_rec *f = &r->rec;
	const struct vm_ident *v;
	uint16_t z;

	memset(out, 0, SK);
	switch (k) {
	case QK_SRCIP: memcpy(out, f->src.b, 16); break;
	case QK_DSTIP: memcpy(out, f->dst.b, 16); break;
	case QK_IP: memcpy(out, side ? f->dst.b : f->src.b, 16); break;
	case QK_EXPORTER: memcpy(out, f->exporter.b, 16); break;
	case QK_SRCPORT: out[0] = (uint8_t)(f->sport >> 8); out[1] = (uint8_t)f->sport; break;
	case QK_DSTPORT: out[0] = (uint8_t)(f->dport >> 8); out[1] = (uint8_t)f->dport; break;
	case QK_PORT: {
		uint16_t p = side ? f->dport : f->sport;
		out[0] = (uint8_t)(p >> 8);
		out[1] = (uint8_t)p;
		break;
	}
	case QK_PROTO: out[0] = f->proto; break;
	case QK_VLAN: out[0] = (uint8_t)(f->vlan >> 8); out[1] = (uint8_t)f->vlan; break;
	case QK_LOCALITY: out[0] = r->attr.locality; break;
	case QK_DUP: out[0] = r->attr.dup; break;
	case QK_SRCVM: case QK_DSTVM: case QK_VM:
		v = k == QK_SRCVM || (k == QK_VM && !side) ? &r->attr.src_vm : &r->attr.dst_vm;
		if (uuid_is_nil(v->uuid) && !v->name[0])
			break;   /* no VM: sorts first */
		out[0] = 1;
		memcpy(out + 1, v->name, strnlen(v->name, 63));
		memcpy(out + 65, v->uuid, 16);
		break;
	case QK_SRCZONE: case QK_DSTZONE: case QK_ZONE:
		z = k == QK_SRCZONE || (k == QK_ZONE && !side) ? r->attr.src_zone : r->attr.dst_zone;
		if (z) {
			out[0] = 1;
			memcpy(out + 1, tr_zones[z - 1], strlen(tr_zones[z - 1]));
		}
		break;
	default: break;
	}
}

static const struct query *cur_q;

static uint64_t bmetric(const struct bgroup *g)
{
	return cur_q->sort == QS_FLOWS ? g->flows : cur_q->sort == QS_PACKETS ? g->packets : g->bytes;
}

static int bcmp_key(const void *a, const void *b)
{
	return memcmp(((const struct bgroup *)a)->key, ((const struct bgroup *)b)->key,
		      QUERY_MAX_KEYS * SK);
}

static int bcmp_rank(const void *pa, const void *pb)
{
	const struct bgroup *a = pa, *b = pb;
	uint64_t ma = bmetric(a), mb = bmetric(b);
	if (ma != mb)
		return ma > mb ? -1 : 1;
	return bcmp_key(a, b);
}

static bool in_time(const struct flow_row *r, const struct query *q)
{
	uint64_t until = q->until_ms ? q->until_ms : UINT64_MAX;
	return r->rec.last_ms >= q->since_ms && r->rec.first_ms <= until;
}

/* All groups of <q>, ranked. */
static struct bgroup *brute(const struct query *q, size_t *ng, uint64_t tot[3])
{
	struct bgroup *e = calloc(NROWS * 2, sizeof(*e));
	size_t n = 0;
	int either = -1;

	for (size_t k = 0; k < q->nkeys; k++)
		if (query_key_is_either(q->keys[k]))
			either = (int)k;
	tot[0] = tot[1] = tot[2] = 0;
	for (size_t i = 0; i < NROWS; i++) {
		const struct flow_row *r = &rows[i];
		if (!in_time(r, q) || (q->filter && !filter_match_row(q->filter, r, &zm)))
			continue;
		tot[0]++;
		tot[1] += r->rec.packets;
		tot[2] += r->rec.bytes;
		struct bgroup g[2];
		memset(g, 0, sizeof(g));
		for (size_t k = 0; k < q->nkeys; k++) {
			key_bytes(q->keys[k], r, 0, g[0].key + k * SK);
			key_bytes(q->keys[k], r, (int)k == either, g[1].key + k * SK);
		}
		int sides = either >= 0 ? 2 : 1;   /* each side counts, equal or not */
		for (int s = 0; s < sides; s++) {
			g[s].flows = 1;
			g[s].packets = r->rec.packets;
			g[s].bytes = r->rec.bytes;
			g[s].first = r->rec.first_ms;
			g[s].last = r->rec.last_ms;
			e[n++] = g[s];
		}
	}
	/* merge equal keys */
	qsort(e, n, sizeof(*e), bcmp_key);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && !bcmp_key(&e[m - 1], &e[i])) {
			struct bgroup *d = &e[m - 1];
			d->flows += e[i].flows;
			d->packets += e[i].packets;
			d->bytes += e[i].bytes;
			d->first = VT_MIN(d->first, e[i].first);
			d->last = VT_MAX(d->last, e[i].last);
		} else {
			e[m++] = e[i];
		}
	}
	cur_q = q;
	qsort(e, m, sizeof(*e), bcmp_rank);
	*ng = m;
	return e;
}

/* The sort key of a returned group, built like key_bytes(). */
static void qval_bytes(enum qkey k, const struct qval *v, uint8_t *out)
{
	memset(out, 0, SK);
	switch (k) {
	case QK_SRCIP: case QK_DSTIP: case QK_IP: case QK_EXPORTER: memcpy(out, v->addr.b, 16); break;
	case QK_SRCPORT: case QK_DSTPORT: case QK_PORT: case QK_VLAN:
		out[0] = (uint8_t)(v->u >> 8);
		out[1] = (uint8_t)v->u;
		break;
	case QK_PROTO: case QK_LOCALITY: case QK_DUP: out[0] = (uint8_t)v->u; break;
	case QK_SRCVM: case QK_DSTVM: case QK_VM:
		if (!v->name || (!v->name[0] && (!v->uuid || uuid_is_nil(v->uuid))))
			break;
		out[0] = 1;
		memcpy(out + 1, v->name, strnlen(v->name, 63));
		memcpy(out + 65, v->uuid, 16);
		break;
	case QK_SRCZONE: case QK_DSTZONE: case QK_ZONE:
		if (v->name && v->name[0]) {
			out[0] = 1;
			memcpy(out + 1, v->name, strlen(v->name));
		}
		break;
	default: break;
	}
}

static void check_query(const char *keys, enum qsort sort, uint64_t limit, const char *filter,
			uint64_t since, uint64_t until)
{
	struct query q;
	struct vt_err err = { 0 };
	struct query_result *r = NULL;
	uint64_t tot[3];
	size_t ng;

	memset(&q, 0, sizeof(q));
	CHECK_EQ(query_parse_keys(keys, q.keys, &q.nkeys, &err), 0);
	q.sort = sort;
	q.limit = limit;
	q.since_ms = since;
	q.until_ms = until;
	q.filter = filter ? filter_compile(filter, &err) : NULL;
	CHECK(!filter || q.filter);
	CHECK_EQ(query_run(st, &q, &r, &err), 0);
	struct bgroup *want = brute(&q, &ng, tot);
	if (!r) {
		free(want);
		return;
	}
	size_t expect_n = limit && limit < ng ? (size_t)limit : ng;
	bool ok = r->ngroups == ng && r->n == expect_n && r->flows == tot[0] &&
		  r->packets == tot[1] && r->bytes == tot[2];
	for (size_t i = 0; ok && i < r->n; i++) {
		uint8_t kb[QUERY_MAX_KEYS * SK] = { 0 };
		for (size_t k = 0; k < q.nkeys; k++)
			qval_bytes(q.keys[k], &r->groups[i].k[k], kb + k * SK);
		const struct qgroup *g = &r->groups[i];
		if (memcmp(kb, want[i].key, sizeof(kb)) || g->flows != want[i].flows ||
		    g->packets != want[i].packets || g->bytes != want[i].bytes ||
		    g->first_ms != want[i].first || g->last_ms != want[i].last) {
			fprintf(stderr, "  group %zu differs (key %d flows %llu/%llu packets %llu/%llu "
				"bytes %llu/%llu first %llu/%llu last %llu/%llu)\n", i,
				memcmp(kb, want[i].key, sizeof(kb)) != 0,
				(unsigned long long)g->flows, (unsigned long long)want[i].flows,
				(unsigned long long)g->packets, (unsigned long long)want[i].packets,
				(unsigned long long)g->bytes, (unsigned long long)want[i].bytes,
				(unsigned long long)g->first_ms, (unsigned long long)want[i].first,
				(unsigned long long)g->last_ms, (unsigned long long)want[i].last);
			ok = false;
		}
	}
	if (!ok)
		fprintf(stderr, "  query -A %s -s %d -n %llu '%s': groups %llu/%zu returned %zu/%zu "
				"flows %llu/%llu\n", keys, sort, (unsigned long long)limit,
			filter ? filter : "", (unsigned long long)r->ngroups, ng, r->n, expect_n,
			(unsigned long long)r->flows, (unsigned long long)tot[0]);
	CHECK(ok);
	free(want);
	query_result_free(r);
	filter_free((struct filter *)q.filter);
}

static void t_aggregation_exact(void)
{
	static const struct {
		const char *keys;
		enum qsort sort;
		uint64_t limit;
		const char *filter;
	} cases[] = {
		{ "srcip", QS_BYTES, 10, NULL },
		{ "srcip", QS_FLOWS, 0, NULL },
		{ "dstip", QS_PACKETS, 25, "proto tcp" },
		{ "ip", QS_BYTES, 10, NULL },
		{ "ip", QS_FLOWS, 0, "net 10.0.0.0/8" },
		{ "dstport", QS_FLOWS, 10, NULL },
		{ "dstport", QS_BYTES, 0, "not proto tcp" },
		{ "srcport", QS_PACKETS, 5, NULL },
		{ "port", QS_FLOWS, 10, NULL },
		{ "proto", QS_BYTES, 0, NULL },
		{ "vlan", QS_FLOWS, 0, NULL },
		{ "locality", QS_PACKETS, 0, NULL },
		{ "srcvm", QS_BYTES, 0, NULL },
		{ "dstvm", QS_FLOWS, 3, "proto udp or proto icmp" },
		{ "vm", QS_BYTES, 0, NULL },
		{ "srczone", QS_FLOWS, 0, NULL },
		{ "zone", QS_BYTES, 0, NULL },
		{ "exporter", QS_PACKETS, 0, NULL },
		{ "srcip,dstport", QS_BYTES, 20, NULL },
		{ "proto,dstport", QS_FLOWS, 0, NULL },
		{ "srcvm,dstvm", QS_BYTES, 0, NULL },
		{ "vm,proto", QS_FLOWS, 0, NULL },
		{ "srczone,dstzone,proto", QS_PACKETS, 0, NULL },
		{ "srcip", QS_BYTES, 10, "proto tcp and dst port 443" },
		{ "srcip", QS_FLOWS, 10, "proto tcp and dst port 443" },
		{ "dstport", QS_FLOWS, 1, "vm web-*" },
		{ "srcip", QS_BYTES, 10, "zone db and not dst port 22" },
		{ "srcip", QS_BYTES, 10, "src ip 203.0.113.1" },   /* nothing */
		/* count once: the verdict as a key and as the filter --once adds */
		{ "dup", QS_FLOWS, 0, NULL },
		{ "locality,dup", QS_BYTES, 0, NULL },
		{ "srcvm", QS_BYTES, 0, "not dup" },
		{ "dstvm", QS_PACKETS, 0, "(vm db-*) and not dup" },
		{ "srcvm,dstvm", QS_FLOWS, 0, "dup" },
	};
	setup();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_query(cases[i].keys, cases[i].sort, cases[i].limit, cases[i].filter, 0, 0);
	/* time windows: open, closed, narrow */
	check_query("srcip", QS_BYTES, 10, NULL, T0 + 1000000, 0);
	check_query("dstport", QS_FLOWS, 0, "proto tcp", T0 + 500000, T0 + 900000);
	check_query("vm", QS_PACKETS, 0, NULL, T0 + 2999000, T0 + 2999999);
}

static int cmp_newest(const void *pa, const void *pb)
{
	const struct flow_row *a = pa, *b = pb;
	if (a->rec.last_ms != b->rec.last_ms)
		return a->rec.last_ms > b->rec.last_ms ? -1 : 1;
	if (a->rec.first_ms != b->rec.first_ms)
		return a->rec.first_ms > b->rec.first_ms ? -1 : 1;
	int c = addr_cmp(&a->rec.src, &b->rec.src);
	if (!c)
		c = addr_cmp(&a->rec.dst, &b->rec.dst);
	if (!c)
		c = (int)a->rec.sport - (int)b->rec.sport;
	if (!c)
		c = (int)a->rec.dport - (int)b->rec.dport;
	if (!c)
		c = (int)a->rec.proto - (int)b->rec.proto;
	if (!c && a->rec.bytes != b->rec.bytes)
		c = a->rec.bytes > b->rec.bytes ? -1 : 1;
	return c;
}

static int cmp_oldest(const void *pa, const void *pb)
{
	const struct flow_row *a = pa, *b = pb;
	if (a->rec.first_ms != b->rec.first_ms)
		return a->rec.first_ms < b->rec.first_ms ? -1 : 1;
	if (a->rec.last_ms != b->rec.last_ms)
		return a->rec.last_ms < b->rec.last_ms ? -1 : 1;
	return cmp_newest(pa, pb);
}

static void check_listing(const char *filter, uint64_t limit, bool oldest)
{
	struct query q;
	struct vt_err err = { 0 };
	struct query_result *r = NULL;
	struct flow_row *want = calloc(NROWS, sizeof(*want));
	size_t n = 0;

	memset(&q, 0, sizeof(q));
	q.limit = limit;
	q.oldest_first = oldest;
	q.filter = filter ? filter_compile(filter, &err) : NULL;
	for (size_t i = 0; i < NROWS; i++)
		if (!q.filter || filter_match_row(q.filter, &rows[i], &zm))
			want[n++] = rows[i];
	qsort(want, n, sizeof(*want), oldest ? cmp_oldest : cmp_newest);
	CHECK_EQ(query_run(st, &q, &r, &err), 0);
	size_t expect = limit && limit < n ? (size_t)limit : n;
	CHECK_EQ(r ? r->nrows : 0, expect);
	CHECK_EQ_U64(r ? r->flows : 0, n);
	size_t bad = 0;
	for (size_t i = 0; r && i < r->nrows && i < expect; i++)
		bad += tr_diff(&r->rows[i], &want[i]) != NULL;
	CHECK_EQ(bad, 0);
	/* the listed rows carry their zone names */
	for (size_t i = 0; r && i < r->nrows; i++)
		if (r->rows[i].attr.src_zone)
			CHECK_STR(query_zone_name(r, r->rows[i].attr.src_zone),
				  tr_zones[r->rows[i].attr.src_zone - 1]);
	query_result_free(r);
	filter_free((struct filter *)q.filter);
	free(want);
}

static void t_listing(void)
{
	setup();
	check_listing(NULL, 7, false);
	check_listing(NULL, 7, true);
	check_listing("proto tcp and dst port 443", 50, false);
	check_listing("vm db-*", 0, true);
	check_listing("src ip 203.0.113.1", 10, false);
	check_listing("dup", 0, false);
}

/* filter_once() (`vtap flows --once`, the API's once=1) gives the answer
 * of the filter typed out with 'and not dup', and that answer differs
 * from the one counting every observation by exactly the dup rows. */
static void t_once(void)
{
	static const char *const filters[] = { "", "vm db-*", "proto tcp or proto udp" };
	struct vt_err err = { 0 };

	setup();
	for (size_t i = 0; i < ARRAY_SIZE(filters); i++) {
		struct query q;
		struct query_result *all = NULL, *once = NULL, *typed = NULL;
		char text[128];
		memset(&q, 0, sizeof(q));
		CHECK_EQ(query_parse_keys("srcvm", q.keys, &q.nkeys, &err), 0);
		struct filter *f = filter_compile(filters[i], &err);
		q.filter = f;
		CHECK_EQ(query_run(st, &q, &all, &err), 0);
		CHECK_EQ(filter_once(f, &err), 0);
		CHECK_EQ(query_run(st, &q, &once, &err), 0);
		snprintf(text, sizeof(text), "%s%s%s%s", filters[i][0] ? "(" : "", filters[i],
			 filters[i][0] ? ") and " : "", "not dup");
		struct filter *g = filter_compile(text, &err);
		q.filter = g;
		CHECK_EQ(query_run(st, &q, &typed, &err), 0);
		/* the ground truth: the dup rows among the filter's */
		struct filter *h = filter_compile(filters[i], &err);
		uint64_t dflows = 0, dbytes = 0;
		for (size_t r = 0; r < NROWS; r++)
			if (rows[r].attr.dup && filter_match_row(h, &rows[r], &zm)) {
				dflows++;
				dbytes += rows[r].rec.bytes;
			}
		CHECK(dflows > 0);
		if (all && once && typed) {
			CHECK_EQ_U64(once->flows, all->flows - dflows);
			CHECK_EQ_U64(once->bytes, all->bytes - dbytes);
			CHECK_EQ_U64(typed->flows, once->flows);
			CHECK_EQ_U64(typed->bytes, once->bytes);
			CHECK_EQ(typed->n, once->n);
			for (size_t k = 0; k < once->n && k < typed->n; k++)
				CHECK_EQ_U64(typed->groups[k].bytes, once->groups[k].bytes);
		}
		query_result_free(all);
		query_result_free(once);
		query_result_free(typed);
		filter_free(f);
		filter_free(g);
		filter_free(h);
	}
}

static void t_limits_and_errors(void)
{
	struct query q;
	struct vt_err err = { 0 };
	struct query_result *r = NULL;
	enum qkey k[QUERY_MAX_KEYS];
	size_t n;

	setup();
	memset(&q, 0, sizeof(q));
	CHECK_EQ(query_parse_keys("srcip,dstip", q.keys, &q.nkeys, &err), 0);
	q.max_groups = 100;
	CHECK_EQ(query_run(st, &q, &r, &err), -E2BIG);
	CHECK(r == NULL);
	CHECK_STR(err.msg, "more than 100 groups: aggregate by fewer or coarser keys, or narrow the filter");
	memset(&q, 0, sizeof(q));
	q.max_rows = 10;
	CHECK_EQ(query_run(st, &q, &r, &err), -E2BIG);
	CHECK_STR(err.msg, "more than 10 flows match: give a limit (-n) or narrow the filter");
	/* a limit above the bound is bounded too: memory for 1000 rows is
	 * not what max_rows allows */
	q.limit = 1000;
	CHECK_EQ(query_run(st, &q, &r, &err), -E2BIG);
	CHECK(r == NULL);
	CHECK_STR(err.msg, "more than 10 flows match: give a limit (-n) of at most 10 or narrow the filter");
	/* ... while a limit within it keeps the best rows, as always */
	q.limit = 10;
	CHECK_EQ(query_run(st, &q, &r, &err), 0);
	CHECK(r != NULL && r->nrows == 10);
	query_result_free(r);
	r = NULL;

	static const struct { const char *in; const char *msg; } bad[] = {
		{ "srcipx", "unknown aggregation key 'srcipx' (srcip, dstip, ip, srcport, dstport, port, "
			    "proto, srcvm, dstvm, vm, srczone, dstzone, zone, exporter, vlan, locality, "
			    "inif, outif, srcas, dstas, tos, dup)" },
		{ "srcip,srcip", "aggregation key 'srcip' given twice" },
		{ "ip,port", "at most one of ip, port, vm, zone (keys that count a flow for both sides)" },
		{ "proto,srcip,dstip,srcport,dstport", "at most 4 aggregation keys" },
		{ ",", "aggregation keys: empty list" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		CHECK(query_parse_keys(bad[i].in, k, &n, &err) < 0);
		CHECK_STR(err.msg, bad[i].msg);
	}
	CHECK_EQ(query_parse_keys("SA,dp", k, &n, &err), 0);   /* nfdump spellings */
	CHECK_EQ(n, 2);
	CHECK_EQ(k[0], QK_SRCIP);
	CHECK_EQ(k[1], QK_DSTPORT);
}

/* What qout_print() writes for <r> (with its summary) in <fmt>; the
 * caller frees it. */
static char *render(const struct query *q, const struct query_result *r, enum out_fmt fmt,
		    size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *fp = open_memstream(&buf, &n);
	struct out o;

	out_init(&o, fp, fmt, false);
	CHECK_EQ(qout_print(&o, q, r, true), 0);
	CHECK_EQ(out_finish(&o), 0);
	fclose(fp);
	if (len)
		*len = n;
	return buf;
}

/* Rendering: JSON is parseable and carries the summary and the groups;
 * text is aligned with a summary. */
static void t_render(void)
{
	struct query q;
	struct vt_err err = { 0 };
	struct query_result *r = NULL;
	char *buf;
	size_t len;

	setup();
	memset(&q, 0, sizeof(q));
	CHECK_EQ(query_parse_keys("srcvm,proto", q.keys, &q.nkeys, &err), 0);
	q.limit = 3;
	CHECK_EQ(query_run(st, &q, &r, &err), 0);
	buf = render(&q, r, OUT_FMT_JSON, &len);
	struct json_val *v = json_parse(buf, len, 100000, &err);
	CHECK(v != NULL);
	const struct json_val *s = json_get(v, "summary");
	int64_t flows = 0;
	CHECK(json_get_int(s, "flows", &flows));
	CHECK_EQ(flows, NROWS);
	const struct json_val *g = json_get(v, "groups");
	CHECK_EQ(json_len(g), 3);
	CHECK(json_get_str(json_at(g, 0), "srcvm") != NULL);
	CHECK(json_get_str(json_at(g, 0), "srcvm_uuid") != NULL);
	int64_t b0 = 0;
	CHECK(json_get_int(json_at(g, 0), "bytes", &b0));
	CHECK_EQ_U64((uint64_t)b0, r->groups[0].bytes);
	json_free(v);
	free(buf);
	buf = render(&q, r, OUT_FMT_TEXT, NULL);
	CHECK_CONTAINS(buf, "srcvm");
	CHECK_CONTAINS(buf, "Summary: 20000 flows");
	free(buf);
	query_result_free(r);
}

/* A listing shows each row's count-once verdict (`dup`), in JSON (the
 * flowcsv fields) as in the text table's last column: the newest 200 rows,
 * compared with the rows stored. */
static void t_render_dup(void)
{
	struct query q;
	struct vt_err err = { 0 };
	struct query_result *r = NULL;
	char *buf;
	size_t len;
	struct flow_row *want = malloc(NROWS * sizeof(*want));

	setup();
	memcpy(want, rows, NROWS * sizeof(*want));
	qsort(want, NROWS, sizeof(*want), cmp_newest);
	memset(&q, 0, sizeof(q));
	q.limit = 200;
	CHECK_EQ(query_run(st, &q, &r, &err), 0);
	buf = render(&q, r, OUT_FMT_JSON, &len);
	struct json_val *v = json_parse(buf, len, 1000000, &err);
	CHECK(v != NULL);
	const struct json_val *fl = json_get(v, "flows");
	CHECK_EQ(json_len(fl), 200);
	size_t bad = 0, dups = 0;
	for (size_t i = 0; i < 200 && i < json_len(fl); i++) {
		int64_t d = -1;
		CHECK(json_get_int(json_at(fl, i), "dup", &d));
		bad += d != want[i].attr.dup;
		dups += d == 1;
	}
	CHECK_EQ(bad, 0);
	CHECK(dups > 0 && dups < 200);   /* the fixture has both kinds here */
	json_free(v);
	free(buf);
	buf = render(&q, r, OUT_FMT_TEXT, NULL);
	CHECK_CONTAINS(buf, " dup\n");   /* the last column's header */
	/* and each row's verdict in that column, the rows in the same order */
	size_t lines = 0, tbad = 0;
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		size_t ll = strlen(l);
		if (!strncmp(l, "first seen", 10) || !strncmp(l, "Summary", 7) ||
		    !strncmp(l, "Scanned", 7) || ll < 2)
			continue;
		if (lines < 200)
			tbad += (l[ll - 1] == '1') != (want[lines].attr.dup == 1) || l[ll - 2] != ' ';
		lines++;
	}
	CHECK_EQ(lines, 200);
	CHECK_EQ(tbad, 0);
	free(buf);
	free(want);
	query_result_free(r);
}

static void t_teardown(void)
{
	store_close(st);
	st = NULL;
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(rows);
}

VT_TEST_MAIN(VT_T(t_aggregation_exact), VT_T(t_listing), VT_T(t_limits_and_errors),
	     VT_T(t_render), VT_T(t_render_dup), VT_T(t_once),
	     VT_T(t_teardown))
