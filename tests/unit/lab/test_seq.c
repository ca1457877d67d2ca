/* Unit tests: lab/seq — the datagram format and the receiver's ground
 * truth (missing, ranges, duplicates, reordering, END markers). */
#include "lab/seq.h"

#include <errno.h>

#include "core/compiler.h"
#include "core/json.h"
#include "vt_test.h"

static void t_encode_decode(void)
{
	uint8_t buf[128];
	struct seq_pkt p = { SEQ_DATA, 7, 0x0102030405060708ull, 0x1112131415161718ull, 0 }, q;
	static const uint8_t want[SEQ_HDR_LEN] = {
		'V', 'T', 'S', 'Q', 1, 0, 0, 0, 0, 0, 0, 7,
		1, 2, 3, 4, 5, 6, 7, 8, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
	};

	CHECK_EQ(seq_encode(buf, sizeof(buf), &p, 64), 64);
	CHECK_MEM(buf, want, SEQ_HDR_LEN);
	for (size_t i = SEQ_HDR_LEN; i < 64; i++)
		CHECK_EQ(buf[i], 0);
	CHECK_EQ(seq_decode(buf, 64, &q), 0);
	CHECK_EQ_U64(q.seq, p.seq);
	CHECK_EQ(q.stream, 7);
	/* a size below the header still carries the header */
	CHECK_EQ(seq_encode(buf, sizeof(buf), &p, 1), SEQ_HDR_LEN);
	CHECK_EQ(seq_encode(buf, 20, &p, 1), 0);
	/* END carries the total */
	p.type = SEQ_END;
	p.total = 4000;
	CHECK_EQ(seq_encode(buf, sizeof(buf), &p, 0), SEQ_END_LEN);
	CHECK_EQ(seq_decode(buf, SEQ_END_LEN, &q), 0);
	CHECK_EQ(q.type, SEQ_END);
	CHECK_EQ_U64(q.total, 4000);

	static const struct {
		const char *what;
		size_t off;        /* byte to change (or the length to cut at) */
		uint8_t val;
		bool cut;
	} bad[] = {
		{ "magic", 0, 'X', false },
		{ "version", 4, 2, false },
		{ "type", 5, 9, false },
		{ "short header", 27, 0, true },
		{ "END without total", 35, 0, true },
		{ "empty", 0, 0, true },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		uint8_t b[SEQ_END_LEN];
		memcpy(b, buf, sizeof(b));
		vt_test_case = bad[i].what;
		if (bad[i].cut) {
			CHECK_EQ(seq_decode(b, bad[i].off, &q), -EBADMSG);
		} else {
			b[bad[i].off] = bad[i].val;
			CHECK_EQ(seq_decode(b, sizeof(b), &q), -EBADMSG);
		}
	}
	vt_test_case = "t_encode_decode";
}

static void feed(struct seq_tracker *t, uint32_t stream, uint64_t seq)
{
	uint8_t buf[64];
	struct seq_pkt p = { SEQ_DATA, stream, seq, 0, 0 };
	size_t n = seq_encode(buf, sizeof(buf), &p, 40);
	seq_tracker_add(t, buf, n, 1000 + seq);
}

static void feed_end(struct seq_tracker *t, uint32_t stream, uint64_t total)
{
	uint8_t buf[64];
	struct seq_pkt p = { SEQ_END, stream, 0, 0, total };
	size_t n = seq_encode(buf, sizeof(buf), &p, 0);
	seq_tracker_add(t, buf, n, 0);
}

/* Scenarios: what arrives, in which order, and the exact report. */
static void t_tracker(void)
{
	static const struct {
		const char *what;
		const char *arrivals;   /* "a-b" ranges, single numbers, "E<total>" end */
		uint64_t unique, missing, dups, reordered, expected, gaps;
		bool resumed;
		const char *ranges;     /* JSON of missing_ranges */
	} cases[] = {
		{ "clean", "0-99 E100", 100, 0, 0, 0, 100, 0, false, "[]" },
		{ "migration gap", "0-949 1980-3999 E4000", 2970, 1030, 0, 0, 4000, 1, true,
		  "[[950,1979]]" },
		{ "tail lost, END says so", "0-9 E15", 10, 5, 0, 0, 15, 1, false, "[[10,14]]" },
		{ "tail lost, no END", "0-9", 10, 0, 0, 0, 10, 0, false, "[]" },
		{ "head lost", "5-9 E10", 5, 5, 0, 0, 10, 1, true, "[[0,4]]" },
		{ "dups and reorder", "0 2 1 2 3 3 E4", 4, 0, 2, 1, 4, 0, false, "[]" },
		{ "several gaps, tail lost", "0 2 4 6-63 65 E70", 62, 8, 0, 0, 70, 5, false,
		  "[[1,1],[3,3],[5,5],[64,64],[66,69]]" },
		{ "word boundaries", "0-62 64-127 129 E130", 128, 2, 0, 0, 130, 2, true,
		  "[[63,63],[128,128]]" },
		{ "nothing", "", 0, 0, 0, 0, 0, 0, false, "[]" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct seq_tracker t;
		struct vbuf b;
		struct vt_err err;
		char list[128], *save = NULL;
		struct json_val *v;

		vt_test_case = cases[i].what;
		CHECK_EQ(seq_tracker_init(&t, 4096, 1), 0);
		snprintf(list, sizeof(list), "%s", cases[i].arrivals);
		for (char *tok = strtok_r(list, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
			unsigned long long a, z;
			if (tok[0] == 'E')
				feed_end(&t, 1, strtoull(tok + 1, NULL, 10));
			else if (sscanf(tok, "%llu-%llu", &a, &z) == 2)
				for (unsigned long long k = a; k <= z; k++)
					feed(&t, 1, k);
			else
				feed(&t, 1, strtoull(tok, NULL, 10));
		}
		CHECK_EQ_U64(t.unique, cases[i].unique);
		CHECK_EQ_U64(seq_missing(&t), cases[i].missing);
		CHECK_EQ_U64(t.duplicates, cases[i].dups);
		CHECK_EQ_U64(t.reordered, cases[i].reordered);
		CHECK_EQ_U64(seq_expected(&t), cases[i].expected);
		/* the sender's truth: sent == unique + missing */
		CHECK_EQ_U64(cases[i].unique + cases[i].missing, cases[i].expected);
		vbuf_init(&b, 1 << 16);
		CHECK_EQ(seq_report_json(&t, &b, 100), 0);
		v = json_parse((const char *)b.data, b.len, 1000, &err);
		CHECK(v != NULL);
		if (v) {
			int64_t n;
			const struct json_val *r = json_get(v, "resumed_after_gap");
			CHECK(json_get_int(v, "gaps", &n) && (uint64_t)n == cases[i].gaps);
			CHECK(json_get_int(v, "missing", &n) && (uint64_t)n == cases[i].missing);
			CHECK(r && r->type == JSON_BOOL && r->u.b == cases[i].resumed);
			json_free(v);
		}
		{
			char needle[160];
			snprintf(needle, sizeof(needle), "\"missing_ranges\":%s", cases[i].ranges);
			CHECK_CONTAINS(vbuf_str(&b), needle);
		}
		vbuf_free(&b);
		seq_tracker_free(&t);
	}
	vt_test_case = "t_tracker";
}

static void t_tracker_bounds(void)
{
	struct seq_tracker t;
	struct vbuf b;

	CHECK_EQ(seq_tracker_init(&t, 0, 0), -EINVAL);
	/* stream 0: follows the first stream seen; others are foreign */
	CHECK_EQ(seq_tracker_init(&t, 100, 0), 0);
	feed(&t, 5, 0);
	feed(&t, 6, 1);
	feed(&t, 5, 1);
	feed(&t, 5, 100);           /* beyond the bitmap: counted, not tracked */
	seq_tracker_add(&t, (const uint8_t *)"junk", 4, 0);
	CHECK_EQ(t.stream, 5);
	CHECK_EQ_U64(t.unique, 2);
	CHECK_EQ_U64(t.foreign, 2);
	CHECK_EQ_U64(t.out_of_range, 1);
	CHECK_EQ_U64(t.received, 3);
	/* at most max_ranges ranges are listed, and the report says so */
	feed_end(&t, 5, 100);
	for (uint64_t k = 3; k < 100; k += 2)
		feed(&t, 5, k);
	vbuf_init(&b, 1 << 16);
	CHECK_EQ(seq_report_json(&t, &b, 3), 0);
	CHECK_CONTAINS(vbuf_str(&b), "\"missing_ranges_truncated\":true");
	CHECK_CONTAINS(vbuf_str(&b), "\"missing_ranges\":[[2,2],[4,4],[6,6]]");
	CHECK_CONTAINS(vbuf_str(&b), "\"gaps\":49");
	vbuf_free(&b);
	seq_tracker_free(&t);
}

VT_TEST_MAIN(VT_T(t_encode_decode), VT_T(t_tracker), VT_T(t_tracker_bounds))
