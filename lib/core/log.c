/* log.c — see log.h. Lines are formatted into a stack buffer and written
 * with a single write(2) so concurrent threads never interleave. */
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "vtap";
static enum log_level log_level = LOG_LVL_INFO;
static bool log_syslog;

static const char *const level_names[] = { "err", "warn", "info", "debug" };

void log_init(const char *ident, enum log_level level, bool use_syslog)
{
	log_ident = ident ? ident : "vtap";
	log_level = level;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

int log_parse_level(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "error") == 0 || strcmp(s, "warning") == 0) {
		*out = s[0] == 'e' ? LOG_LVL_ERR : LOG_LVL_WARN;
		return 0;
	}
	return -EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char line[2048];
	int saved = errno;
	va_list ap;
	size_t n = 0;

	if (level > log_level)
		return;
	if (!log_syslog) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s: ",
				      ts.tv_nsec / 1000000, log_ident,
				      level_names[level]);
	}
	va_start(ap, fmt);
	int r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r < 0)
		r = 0;
	n += (size_t)r;
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
	if (log_syslog) {
		line[n] = '\0';
		syslog(prio[level], "%s", line);
	} else {
		line[n++] = '\n';
		ssize_t w = write(STDERR_FILENO, line, n);
		(void)w;
	}
	errno = saved;
}

bool log_rl_allow(struct log_rl *rl, uint32_t burst, uint32_t interval_ms,
		  uint32_t *suppressed)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct timespec ts;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	pthread_mutex_lock(&lock);
	if (now - rl->window_start_ms >= interval_ms) {
		rl->window_start_ms = now;
		rl->count = 0;
	}
	ok = rl->count < burst;
	if (ok) {
		rl->count++;
		*suppressed = rl->suppressed;
		rl->suppressed = 0;
	} else {
		rl->suppressed++;
	}
	pthread_mutex_unlock(&lock);
	return ok;
}
