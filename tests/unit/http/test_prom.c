/* Unit tests: lib/http/prom — exact exposition text, escaping, and the
 * errors that would otherwise make Prometheus reject a scrape. */
#include "http/prom.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "vt_test.h"

static void t_exposition(void)
{
	struct vbuf b;
	struct prom p;
	static const double bounds[] = { 0.005, 0.1, 1 };
	static const uint64_t counts[] = { 3, 2, 0 };
	static const char *const hl[] = { "route", "/api/v1/vms/{id}" };

	vbuf_init(&b, 1 << 16);
	prom_init(&p, &b);
	prom_family(&p, "vtap_flows_received_total", PROM_COUNTER, "Flow records received.");
	prom_u64(&p, 18446744073709551615ull, "exporter", "192.0.2.1", "version", "10", NULL);
	prom_u64(&p, 0, "exporter", "a\"b\\c\nd", "version", "9", NULL);
	prom_family(&p, "vtap_queue_fill", PROM_GAUGE, "Fill ratio \\ with\nnewline.");
	prom_double(&p, 0.1, NULL);
	prom_double(&p, NAN, "q", "nan", NULL);
	prom_double(&p, INFINITY, "q", "pinf", NULL);
	prom_double(&p, -INFINITY, "q", "ninf", NULL);
	prom_double(&p, 1e21, "q", "big", NULL);
	prom_family(&p, "up", PROM_UNTYPED, NULL);
	prom_u64(&p, 1, NULL);
	prom_family(&p, "vtap_http_seconds", PROM_HISTOGRAM, "Latency.");
	prom_histogram(&p, hl, 1, bounds, counts, 3, 0.25, 6);
	CHECK_EQ(prom_finish(&p), 0);
	CHECK_STR(vbuf_str(&b),
		  "# HELP vtap_flows_received_total Flow records received.\n"
		  "# TYPE vtap_flows_received_total counter\n"
		  "vtap_flows_received_total{exporter=\"192.0.2.1\",version=\"10\"} 18446744073709551615\n"
		  "vtap_flows_received_total{exporter=\"a\\\"b\\\\c\\nd\",version=\"9\"} 0\n"
		  "# HELP vtap_queue_fill Fill ratio \\\\ with\\nnewline.\n"
		  "# TYPE vtap_queue_fill gauge\n"
		  "vtap_queue_fill 0.1\n"
		  "vtap_queue_fill{q=\"nan\"} NaN\n"
		  "vtap_queue_fill{q=\"pinf\"} +Inf\n"
		  "vtap_queue_fill{q=\"ninf\"} -Inf\n"
		  "vtap_queue_fill{q=\"big\"} 1e+21\n"
		  "# TYPE up untyped\n"
		  "up 1\n"
		  "# HELP vtap_http_seconds Latency.\n"
		  "# TYPE vtap_http_seconds histogram\n"
		  "vtap_http_seconds_bucket{route=\"/api/v1/vms/{id}\",le=\"0.005\"} 3\n"
		  "vtap_http_seconds_bucket{route=\"/api/v1/vms/{id}\",le=\"0.1\"} 5\n"
		  "vtap_http_seconds_bucket{route=\"/api/v1/vms/{id}\",le=\"1\"} 5\n"
		  "vtap_http_seconds_bucket{route=\"/api/v1/vms/{id}\",le=\"+Inf\"} 6\n"
		  "vtap_http_seconds_sum{route=\"/api/v1/vms/{id}\"} 0.25\n"
		  "vtap_http_seconds_count{route=\"/api/v1/vms/{id}\"} 6\n");
	vbuf_free(&b);
}

/* Each mistake is reported by prom_finish() and stops the output. */
static void t_errors(void)
{
	static const struct {
		const char *name;
		int want;
	} cases[] = {
		{ "bad family name", -EINVAL },
		{ "sample before family", -EINVAL },
		{ "family twice", -EEXIST },
		{ "bad label name", -EINVAL },
		{ "reserved label", -EINVAL },
		{ "duplicate label", -EINVAL },
		{ "suffix on counter", -EINVAL },
		{ "le on a histogram sample", -EINVAL },
		{ "full buffer", -ENOSPC },
		{ "histogram bounds not increasing", -EINVAL },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vbuf b;
		struct prom p;
		static const char *const l[] = { "le", "1" };
		static const double bad[] = { 1, 1 };
		static const uint64_t cnt[] = { 0, 0 };

		vbuf_init(&b, i == 8 ? 40 : 4096);
		prom_init(&p, &b);
		vt_test_case = cases[i].name;
		switch (i) {
		case 0: prom_family(&p, "9lives", PROM_GAUGE, NULL); break;
		case 1: prom_u64(&p, 1, NULL); break;
		case 2:
			prom_family(&p, "a_total", PROM_COUNTER, NULL);
			prom_family(&p, "b", PROM_GAUGE, NULL);
			prom_family(&p, "a_total", PROM_COUNTER, NULL);
			break;
		case 3:
			prom_family(&p, "a", PROM_GAUGE, NULL);
			prom_u64(&p, 1, "bad-name", "x", NULL);
			break;
		case 4:
			prom_family(&p, "a", PROM_GAUGE, NULL);
			prom_u64(&p, 1, "__name__", "x", NULL);
			break;
		case 5:
			prom_family(&p, "a", PROM_GAUGE, NULL);
			prom_u64(&p, 1, "x", "1", "x", "2", NULL);
			break;
		case 6:
			prom_family(&p, "a", PROM_COUNTER, NULL);
			prom_sample(&p, "_sum", NULL, 0, 1, false, 0);
			break;
		case 7:
			prom_family(&p, "h", PROM_HISTOGRAM, NULL);
			prom_sample(&p, "_count", l, 1, 1, false, 0);
			break;
		case 8:
			prom_family(&p, "a_long_metric_name_total", PROM_COUNTER, "help text");
			break;
		case 9:
			prom_family(&p, "h", PROM_HISTOGRAM, NULL);
			prom_histogram(&p, NULL, 0, bad, cnt, 2, 0, 0);
			break;
		}
		size_t len = b.len;
		CHECK_EQ(prom_finish(&p), cases[i].want);
		/* after an error nothing more is written */
		prom_u64(&p, 1, NULL);
		CHECK_EQ(b.len, len);
		vbuf_free(&b);
	}
}

VT_TEST_MAIN(VT_T(t_exposition), VT_T(t_errors))
