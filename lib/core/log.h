/* log.h — leveled logging for every vtap component.
 *
 * Lines go to stderr (default) or syslog. Each line is written with one
 * call so lines from several threads never interleave. Messages about
 * per-packet or per-datagram events must use log_ratelimited() so a flood
 * of bad input cannot turn into a flood of log lines. */
#ifndef VT_LOG_H
#define VT_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include "core/compiler.h"

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* log_init() : sets the program identity <ident> (kept by pointer, must be
 * static), the maximum <level> printed, and whether lines go to syslog. */
void log_init(const char *ident, enum log_level level, bool use_syslog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* log_parse_level() : "err|warn|info|debug" -> level; -EINVAL otherwise. */
int log_parse_level(const char *s, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) VT_PRINTF(2, 3);

/* A per-call-site limiter: at most <burst> lines per <interval_ms>; the
 * number suppressed is reported with the next line that passes. */
struct log_rl {
	uint64_t window_start_ms;
	uint32_t count;
	uint32_t suppressed;
};
bool log_rl_allow(struct log_rl *rl, uint32_t burst, uint32_t interval_ms,
		  uint32_t *suppressed);

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                         \
	do {                                                   \
		if (log_get_level() >= LOG_LVL_DEBUG)         \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);   \
	} while (0)

/* log_ratelimited(level, fmt, ...) : 10 lines per 5 s per call site. */
#define log_ratelimited(level, fmt, ...)                                      \
	do {                                                                  \
		static struct log_rl rl_;                                     \
		uint32_t supp_;                                               \
		if (log_rl_allow(&rl_, 10, 5000, &supp_)) {                   \
			if (supp_)                                            \
				log_msg(level, fmt " (%u similar suppressed)", \
					##__VA_ARGS__, supp_);                \
			else                                                  \
				log_msg(level, fmt, ##__VA_ARGS__);           \
		}                                                             \
	} while (0)

#endif
