/* timeutil.h — clocks and human durations/sizes used by config and CLI. */
#ifndef VT_TIMEUTIL_H
#define VT_TIMEUTIL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* Monotonic nanoseconds / milliseconds (timers, rates). */
static inline uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
static inline uint64_t mono_ms(void)
{
	return mono_ns() / 1000000ull;
}
/* Wall-clock milliseconds since the epoch (flow timestamps). */
static inline uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000ull + (uint64_t)ts.tv_nsec / 1000000ull;
}

/* cond_init_monotonic() : a condition variable whose timed waits take
 * deadline_after_ms(CLOCK_MONOTONIC, ...): a step of the wall clock cannot
 * stretch or cut them. */
static inline void cond_init_monotonic(pthread_cond_t *cv)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

/* deadline_after_ms() : now on <clk> plus <ms>, for pthread_cond_timedwait()
 * (CLOCK_REALTIME unless the condition variable was set to another clock). */
static inline struct timespec deadline_after_ms(clockid_t clk, uint64_t ms)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* parse_duration_ms() : "250ms", "15s", "2m", "1h", "7d", or a bare
 * number of seconds. Returns 0 or -EINVAL / -ERANGE. */
int parse_duration_ms(const char *s, uint64_t *ms);
/* parse_size() : "512", "64k", "16M", "2G" (powers of 1024). */
int parse_size(const char *s, uint64_t *bytes);
/* parse_u64() / parse_i64() : whole string, base 10 (parse_u64 also takes
 * 0x hex; a leading 0 never means octal), range
 * checked against [min, max]. Replaces atoi/strtol at every call site. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* parse_time_ms() : a point in time for queries: "now", an age relative to
 * <now_ms> ("1h" = one hour ago), Unix seconds, or ISO 8601 UTC
 * "2026-11-21T10:00:00Z" / "2026-11-21 10:00" / "2026-11-21". */
int parse_time_ms(const char *s, uint64_t now_ms, uint64_t *out);
/* fmt_time_ms() : ISO 8601 UTC with milliseconds into <buf> (>= 32 bytes). */
const char *fmt_time_ms(uint64_t ms, char *buf, size_t len);

#endif
