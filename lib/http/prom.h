/* prom.h — Prometheus text exposition format 0.0.4 (what /metrics of every
 * vtap daemon returns). A family is declared once with its HELP and TYPE,
 * then its samples follow; names are validated, label values and help
 * texts escaped, and a family declared twice or a sample outside its
 * family is an error instead of a scrape that Prometheus rejects.
 *
 *	prom_family(&p, "vtap_flows_received_total", PROM_COUNTER, "Flow records received.");
 *	prom_u64(&p, n, "exporter", "192.0.2.1", "version", "10", NULL);
 *
 * Counters are named with the _total suffix, as Prometheus expects. */
#ifndef VT_PROM_H
#define VT_PROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROM_MAX_FAMILIES 1024
#define PROM_MAX_LABELS 16

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_UNTYPED, PROM_HISTOGRAM };

struct prom {
	struct vbuf *out;           /* not owned */
	int err;                    /* first error; later calls do nothing */
	char family[128];
	enum prom_type type;
	struct vbuf seen;           /* names of the families so far, NUL-separated */
	size_t nfamilies;
};

/* prom_init() : writes into <out> (which bounds the size of the page). */
void prom_init(struct prom *p, struct vbuf *out);
/* prom_finish() : releases internal state; returns the first error (0,
 * -EINVAL for a bad name or a sample outside its family, -EEXIST for a
 * family declared twice, -ENOSPC when <out> is full). */
int prom_finish(struct prom *p);

int prom_family(struct prom *p, const char *name, enum prom_type type, const char *help);
/* Samples of the current family; labels are name/value pairs ending with
 * NULL. */
int prom_u64(struct prom *p, uint64_t v, ...) __attribute__((sentinel));
int prom_double(struct prom *p, double v, ...) __attribute__((sentinel));
/* prom_sample() : the general form: <suffix> ("" or, for histograms,
 * "_bucket", "_sum", "_count"), <labels> as <nlabels> name/value pairs. */
int prom_sample(struct prom *p, const char *suffix, const char *const *labels,
		size_t nlabels, double v, bool is_int, uint64_t iv);
/* prom_histogram() : one histogram series: <n> upper bounds in increasing
 * order with the count of observations in each bucket (not cumulative;
 * the +Inf bucket is <count>), then _sum and _count. */
int prom_histogram(struct prom *p, const char *const *labels, size_t nlabels,
		   const double *bounds, const uint64_t *counts, size_t n, double sum,
		   uint64_t count);

#endif
