/* Unit tests: lib/core/be.h — bounds-checked big-endian cursors. */
#include "core/be.h"

#include "vt_test.h"

static void t_read_fields(void)
{
	static const uint8_t pkt[] = { 0x00, 0x0a, 0x00, 0x10, 0xde, 0xad, 0xbe, 0xef,
				       0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0xff };
	struct vt_rd r = rd_init(pkt, sizeof(pkt));

	CHECK_EQ(rd_u16(&r), 10);
	CHECK_EQ(rd_u16(&r), 16);
	CHECK_EQ_U64(rd_u32(&r), 0xdeadbeefu);
	CHECK_EQ_U64(rd_u64(&r), 0x0102030405060708ull);
	CHECK_EQ(rd_left(&r), 1);
	CHECK_EQ(rd_u8(&r), 0xff);
	CHECK(!rd_failed(&r));
	/* past the end: 0, sticky error, cursor at end */
	CHECK_EQ(rd_u16(&r), 0);
	CHECK(rd_failed(&r));
	CHECK_EQ(rd_left(&r), 0);
	CHECK_EQ(rd_u8(&r), 0);
	CHECK(rd_failed(&r));
}

static void t_partial_read_fails_whole(void)
{
	static const uint8_t three[] = { 1, 2, 3 };
	struct vt_rd r = rd_init(three, 3);

	/* a 4-byte read on 3 bytes must not return a mixture of bytes */
	CHECK_EQ_U64(rd_u32(&r), 0);
	CHECK(rd_failed(&r));
}

static void t_uint_sizes(void)
{
	static const struct { uint8_t in[8]; size_t n; uint64_t want; bool fail; } cases[] = {
		{ { 0x12 }, 1, 0x12, false },
		{ { 0x12, 0x34, 0x56 }, 3, 0x123456, false },
		{ { 1, 2, 3, 4, 5, 6, 7, 8 }, 8, 0x0102030405060708ull, false },
		{ { 1 }, 0, 0, true },
		{ { 1 }, 9, 0, true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vt_rd r = rd_init(cases[i].in, 8);
		CHECK_EQ_U64(rd_uint(&r, cases[i].n), cases[i].want);
		CHECK_EQ(rd_failed(&r), cases[i].fail);
	}
}

static void t_sub_reader(void)
{
	static const uint8_t buf[] = { 0, 4, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
	struct vt_rd r = rd_init(buf, sizeof(buf));
	uint16_t len = rd_u16(&r);
	struct vt_rd s = rd_sub(&r, len);

	CHECK_EQ(rd_left(&s), 4);
	CHECK_EQ(rd_u8(&s), 0xaa);
	CHECK_EQ(rd_left(&r), 1);
	CHECK_EQ(rd_u8(&r), 0xee);
	/* a sub-reader longer than what remains is empty and failed */
	r = rd_init(buf, sizeof(buf));
	s = rd_sub(&r, 100);
	CHECK(rd_failed(&s));
	CHECK(rd_failed(&r));
	CHECK_EQ(rd_left(&s), 0);
}

static void t_writer(void)
{
	uint8_t buf[16];
	struct vt_wr w = wr_init(buf, sizeof(buf));
	uint8_t *len;

	wr_u16(&w, 0x0a0b);
	len = wr_reserve(&w, 2);
	wr_u32(&w, 0x01020304);
	wr_uint(&w, 0x0506070809ull, 5);
	st_be16(len, (uint16_t)wr_len(&w));
	CHECK(!wr_failed(&w));
	CHECK_EQ(wr_len(&w), 13);
	static const uint8_t want[] = { 0x0a, 0x0b, 0, 13, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	CHECK_MEM(buf, want, sizeof(want));
	/* overflow: sticky error, nothing partial written */
	wr_u32(&w, 0xffffffff);
	CHECK(wr_failed(&w));
	CHECK_EQ(wr_len(&w), 13);
	wr_u8(&w, 1);
	CHECK_EQ(wr_len(&w), 13);
}

static void t_raw_loads(void)
{
	uint8_t b[8];

	st_be64(b, 0x1122334455667788ull);
	CHECK_EQ_U64(ld_be64(b), 0x1122334455667788ull);
	CHECK_EQ_U64(ld_be32(b + 4), 0x55667788u);
	CHECK_EQ(ld_be16(b + 1), 0x2233);
	CHECK_EQ_U64(ld_be24(b + 5), 0x667788u);
	st_be24(b, 0xabcdef);
	CHECK_EQ(b[0], 0xab);
	CHECK_EQ(b[2], 0xef);
}

VT_TEST_MAIN(VT_T(t_read_fields), VT_T(t_partial_read_fails_whole), VT_T(t_uint_sizes),
	     VT_T(t_sub_reader), VT_T(t_writer), VT_T(t_raw_loads))
