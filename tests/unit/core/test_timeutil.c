/* Unit tests: lib/core/timeutil — number, duration, size and time parsing. */
#include "core/timeutil.h"

#include <errno.h>

#include "vt_test.h"

static void t_durations(void)
{
	static const struct { const char *in; int r; uint64_t ms; } cases[] = {
		{ "15", 0, 15000 }, { "250ms", 0, 250 }, { "15s", 0, 15000 },
		{ "2m", 0, 120000 }, { "1h", 0, 3600000 }, { "7d", 0, 604800000 },
		{ "0", 0, 0 }, { "", -EINVAL, 0 }, { "s", -EINVAL, 0 }, { "5x", -EINVAL, 0 },
		{ "-5s", -EINVAL, 0 }, { "1.5s", -EINVAL, 0 },
		{ "99999999999999999999", -ERANGE, 0 }, { "18446744073709552s", -ERANGE, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ms = 0;
		int r = parse_duration_ms(cases[i].in, &ms);
		CHECK_EQ(r, cases[i].r);
		if (r == 0)
			CHECK_EQ_U64(ms, cases[i].ms);
	}
}

static void t_sizes(void)
{
	static const struct { const char *in; int r; uint64_t v; } cases[] = {
		{ "512", 0, 512 }, { "64k", 0, 65536 }, { "64K", 0, 65536 }, { "16M", 0, 16777216 },
		{ "2G", 0, 2147483648ull }, { "1MB", 0, 1048576 }, { "1MiB", 0, 1048576 },
		{ "1Q", -EINVAL, 0 }, { "k", -EINVAL, 0 }, { "1Mx", -EINVAL, 0 },
		{ "20000000000T", -ERANGE, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		int r = parse_size(cases[i].in, &v);
		CHECK_EQ(r, cases[i].r);
		if (r == 0)
			CHECK_EQ_U64(v, cases[i].v);
	}
}

static void t_integers(void)
{
	static const struct { const char *in; uint64_t min, max; int r; uint64_t v; } cases[] = {
		{ "10", 0, 100, 0, 10 }, { "0x10", 0, 100, 0, 16 }, { "101", 0, 100, -ERANGE, 0 },
		{ "0", 1, 100, -ERANGE, 0 }, { "-1", 0, 100, -EINVAL, 0 }, { " 1", 0, 100, -EINVAL, 0 },
		{ "1 ", 0, 100, -EINVAL, 0 }, { "", 0, 100, -EINVAL, 0 },
		{ "18446744073709551616", 0, UINT64_MAX, -ERANGE, 0 },
		{ "010", 0, 100, 0, 10 }, { "0x", 0, 100, -EINVAL, 0 }, { "0x1g", 0, 100, -EINVAL, 0 }, { "0x-1", 0, 100, -EINVAL, 0 }, { "0x0x5", 0, 100, -EINVAL, 0 },
		{ "0X1F", 0, 100, 0, 31 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		int r = parse_u64(cases[i].in, cases[i].min, cases[i].max, &v);
		CHECK_EQ(r, cases[i].r);
		if (r == 0)
			CHECK_EQ_U64(v, cases[i].v);
	}
	int64_t s;
	CHECK_EQ(parse_i64("-42", -100, 100, &s), 0);
	CHECK_EQ(s, -42);
	CHECK_EQ(parse_i64("-420", -100, 100, &s), -ERANGE);
}

static void t_times(void)
{
	const uint64_t now = 1795000000000ull; /* 2026-11-18T... */
	static const struct { const char *in; int r; uint64_t want; } cases[] = {
		{ "now", 0, 1795000000000ull },
		{ "1h", 0, 1795000000000ull - 3600000 },
		{ "15m", 0, 1795000000000ull - 900000 },
		{ "1700000000", 0, 1700000000000ull },
		{ "2026-11-21T10:00:00Z", 0, 1795255200000ull },
		{ "2026-11-21 10:00", 0, 1795255200000ull },
		{ "2026-11-21", 0, 1795219200000ull },
		{ "yesterday", -EINVAL, 0 },
		{ "2026-13-01", -EINVAL, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0;
		int r = parse_time_ms(cases[i].in, now, &v);
		CHECK_EQ(r, cases[i].r);
		if (r == 0)
			CHECK_EQ_U64(v, cases[i].want);
	}
	char buf[40];
	CHECK_STR(fmt_time_ms(1795255200123ull, buf, sizeof(buf)), "2026-11-21T10:00:00.123Z");
}

VT_TEST_MAIN(VT_T(t_durations), VT_T(t_sizes), VT_T(t_integers), VT_T(t_times))
