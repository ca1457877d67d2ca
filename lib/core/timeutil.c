/* timeutil.c — see timeutil.h. */
#include "core/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	/* decimal, or hex with 0x; never octal: "010" in a config file means 10 */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		if (!isxdigit((unsigned char)s[2]) ||
		    (s[2] == '0' && (s[3] == 'x' || s[3] == 'X')))
			return -EINVAL;
		v = strtoull(s + 2, &end, 16);
	}
	else
		v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Splits "<digits><suffix>" and returns the number; -EINVAL when there is
 * no leading number. */
static int split_num(const char *s, uint64_t *num, const char **suffix)
{
	uint64_t v = 0;
	const char *p = s;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	while (isdigit((unsigned char)*p)) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
		p++;
	}
	*num = v;
	*suffix = p;
	return 0;
}

int parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct { const char *sfx; uint64_t mul; } units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		{ "h", 3600000 }, { "d", 86400000 }, { "w", 604800000 },
	};
	const char *sfx;
	uint64_t v;
	int r = split_num(s, &v, &sfx);

	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(sfx, units[i].sfx) == 0) {
			if (v > UINT64_MAX / units[i].mul)
				return -ERANGE;
			*ms = v * units[i].mul;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_size(const char *s, uint64_t *bytes)
{
	const char *sfx;
	uint64_t v, mul;
	int r = split_num(s, &v, &sfx);

	if (r < 0)
		return r;
	switch (toupper((unsigned char)sfx[0])) {
	case 0: mul = 1; break;
	case 'K': mul = 1ull << 10; break;
	case 'M': mul = 1ull << 20; break;
	case 'G': mul = 1ull << 30; break;
	case 'T': mul = 1ull << 40; break;
	default: return -EINVAL;
	}
	if (sfx[0] && sfx[1] && !(toupper((unsigned char)sfx[1]) == 'B' && !sfx[2]) &&
	    !(sfx[1] == 'i' && toupper((unsigned char)sfx[2]) == 'B' && !sfx[3]))
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*bytes = v * mul;
	return 0;
}

int parse_time_ms(const char *s, uint64_t now_ms, uint64_t *out)
{
	struct tm tm;
	uint64_t v;
	const char *end;

	if (!s || !*s)
		return -EINVAL;
	if (strcmp(s, "now") == 0) {
		*out = now_ms;
		return 0;
	}
	/* an age: "15m", "2h", "7d" (a unit is required to tell it from epoch) */
	if (parse_duration_ms(s, &v) == 0 && !isdigit((unsigned char)s[strlen(s) - 1])) {
		*out = v > now_ms ? 0 : now_ms - v;
		return 0;
	}
	if (parse_u64(s, 0, UINT64_MAX / 1000, &v) == 0) {
		*out = v * 1000;
		return 0;
	}
	static const char *const fmts[] = {
		"%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S",
		"%Y-%m-%dT%H:%MZ", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d",
	};
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, fmts[i], &tm);
		if (end && *end == '\0') {
			time_t t = timegm(&tm);
			if (t < 0)
				return -ERANGE;
			*out = (uint64_t)t * 1000;
			return 0;
		}
	}
	return -EINVAL;
}

const char *fmt_time_ms(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ms % 1000));
	return buf;
}
