/* Unit tests: lib/core/log — levels and the rate limiter. */
#include "core/log.h"

#include <errno.h>
#include <unistd.h>

#include "vt_test.h"

static void t_levels(void)
{
	static const struct { const char *in; int r; enum log_level lvl; } cases[] = {
		{ "err", 0, LOG_LVL_ERR }, { "warn", 0, LOG_LVL_WARN }, { "info", 0, LOG_LVL_INFO },
		{ "debug", 0, LOG_LVL_DEBUG }, { "error", 0, LOG_LVL_ERR },
		{ "warning", 0, LOG_LVL_WARN }, { "loud", -EINVAL, LOG_LVL_ERR },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum log_level l = LOG_LVL_ERR;
		CHECK_EQ(log_parse_level(cases[i].in, &l), cases[i].r);
		if (cases[i].r == 0)
			CHECK_EQ(l, cases[i].lvl);
	}
}

static void t_ratelimit(void)
{
	struct log_rl rl = { 0 };
	uint32_t supp = 99;
	int allowed = 0;

	for (int i = 0; i < 25; i++)
		if (log_rl_allow(&rl, 10, 60000, &supp))
			allowed++;
	CHECK_EQ(allowed, 10);
	CHECK_EQ(rl.suppressed, 15);
	/* a new window reports what was suppressed */
	rl.window_start_ms -= 60000;
	CHECK(log_rl_allow(&rl, 10, 60000, &supp));
	CHECK_EQ(supp, 15);
	CHECK(log_rl_allow(&rl, 10, 60000, &supp));
	CHECK_EQ(supp, 0);
}

static void t_output_format(void)
{
	int p[2];
	char buf[512] = { 0 };
	int saved = dup(STDERR_FILENO);

	CHECK_EQ(pipe(p), 0);
	dup2(p[1], STDERR_FILENO);
	log_init("unit", LOG_LVL_INFO, false);
	log_info("hello %d", 42);
	log_debug("hidden %d", 1);
	dup2(saved, STDERR_FILENO);
	close(p[1]);
	ssize_t n = read(p[0], buf, sizeof(buf) - 1);
	close(p[0]);
	CHECK(n > 0);
	CHECK_CONTAINS(buf, "Z unit info: hello 42\n");
	CHECK(strstr(buf, "hidden") == NULL);
}

VT_TEST_MAIN(VT_T(t_levels), VT_T(t_ratelimit), VT_T(t_output_format))
