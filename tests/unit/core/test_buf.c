/* Unit tests: lib/core/buf — bounded buffers. */
#include "core/buf.h"

#include <errno.h>

#include "vt_test.h"

static void t_append_within_bound(void)
{
	struct vbuf b;

	vbuf_init(&b, 10);
	CHECK_EQ(vbuf_adds(&b, "hello"), 0);
	CHECK_EQ(vbuf_adds(&b, "world"), 0);
	CHECK_EQ(b.len, 10);
	CHECK_STR(vbuf_str(&b), "helloworld");
	/* one more byte crosses the ceiling: refused, content unchanged */
	CHECK_EQ(vbuf_addc(&b, '!'), -ENOSPC);
	CHECK_EQ(b.len, 10);
	CHECK_STR(vbuf_str(&b), "helloworld");
	vbuf_free(&b);
	CHECK(b.data == NULL);
}

static void t_printf_and_bound(void)
{
	static const struct { size_t max; const char *fmt; int n; int want; const char *out; } cases[] = {
		{ 100, "%d-%d", 7, 0, "7-7" },
		{ 3, "%d-%d", 7, 0, "7-7" },
		{ 2, "%d-%d", 7, -ENOSPC, "" },
		{ 100, "%05d|%d", 42, 0, "00042|42" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vbuf b;
		vbuf_init(&b, cases[i].max);
		CHECK_EQ(vbuf_printf(&b, cases[i].fmt, cases[i].n, cases[i].n), cases[i].want);
		CHECK_STR(vbuf_str(&b), cases[i].out);
		vbuf_free(&b);
	}
}

static void t_consume_and_steal(void)
{
	struct vbuf b;
	char *s;

	vbuf_init(&b, 1024);
	CHECK_EQ(vbuf_adds(&b, "abcdef"), 0);
	vbuf_consume(&b, 2);
	CHECK_STR(vbuf_str(&b), "cdef");
	vbuf_consume(&b, 4);
	CHECK_EQ(b.len, 0);
	CHECK_STR(vbuf_str(&b), "");
	CHECK_EQ(vbuf_adds(&b, "xyz"), 0);
	s = vbuf_steal(&b);
	CHECK_STR(s, "xyz");
	CHECK(b.data == NULL && b.len == 0);
	free(s);
	/* growth across many reallocations keeps content */
	for (int i = 0; i < 1000; i++)
		CHECK_EQ(vbuf_addc(&b, (char)('a' + i % 26)), 0);
	CHECK_EQ(b.len, 1000);
	CHECK_EQ(b.data[999], 'a' + 999 % 26);
	vbuf_reset(&b);
	CHECK_EQ(b.len, 0);
	vbuf_free(&b);
}

static void t_reserve_overflow(void)
{
	struct vbuf b;

	/* reserving on an empty buffer yields an empty, terminated string */
	vbuf_init(&b, 100);
	CHECK_EQ(vbuf_reserve(&b, 0), 0);
	CHECK(b.data != NULL);
	CHECK_STR(vbuf_str(&b), "");
	CHECK_EQ(strlen((const char *)b.data), 0);
	vbuf_free(&b);

	vbuf_init(&b, SIZE_MAX / 2);
	CHECK_EQ(vbuf_adds(&b, "x"), 0);
	CHECK_EQ(vbuf_reserve(&b, SIZE_MAX), -ENOSPC);
	CHECK_EQ(vbuf_reserve(&b, SIZE_MAX / 2), -ENOSPC);
	/* within the bound, larger than any allocation */
	CHECK_EQ(vbuf_reserve(&b, SIZE_MAX / 2 - 2), -ENOMEM);
	vbuf_free(&b);
}

VT_TEST_MAIN(VT_T(t_append_within_bound), VT_T(t_printf_and_bound),
	     VT_T(t_consume_and_steal), VT_T(t_reserve_overflow))
