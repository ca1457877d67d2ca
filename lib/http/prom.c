/* prom.c — see prom.h. Format reference: Prometheus "Exposition formats",
 * text format version 0.0.4: `# HELP name text` (\\ and \n escaped),
 * `# TYPE name type`, then `name{label="value",...} value` lines with \\,
 * \" and \n escaped in label values; values are Go floats (NaN, +Inf,
 * -Inf). */
#include "http/prom.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"

static const char *const type_names[] = { "counter", "gauge", "untyped", "histogram" };

void prom_init(struct prom *p, struct vbuf *out)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
	vbuf_init(&p->seen, PROM_MAX_FAMILIES * sizeof(p->family));
}

int prom_finish(struct prom *p)
{
	vbuf_free(&p->seen);
	return p->err;
}

static int seterr(struct prom *p, int r)
{
	if (r < 0 && !p->err)
		p->err = r;
	return r < 0 ? r : 0;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* ; label names without ':' */
static bool name_ok(const char *s, bool metric)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return false;
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || (metric && c == ':')))
			return false;
	}
	return true;
}

static int add_escaped(struct vbuf *b, const char *s, bool quote)
{
	int r = 0;

	for (; *s && r == 0; s++) {
		if (*s == '\\')
			r = vbuf_adds(b, "\\\\");
		else if (*s == '\n')
			r = vbuf_adds(b, "\\n");
		else if (quote && *s == '"')
			r = vbuf_adds(b, "\\\"");
		else
			r = vbuf_addc(b, *s);
	}
	return r;
}

int prom_family(struct prom *p, const char *name, enum prom_type type, const char *help)
{
	const char *s;
	int r;

	if (p->err)
		return p->err;
	if (!name_ok(name, true) || strlen(name) >= sizeof(p->family) ||
	    (unsigned)type >= ARRAY_SIZE(type_names))
		return seterr(p, -EINVAL);
	for (s = vbuf_str(&p->seen); s < vbuf_str(&p->seen) + p->seen.len; s += strlen(s) + 1)
		if (strcmp(s, name) == 0)
			return seterr(p, -EEXIST);
	if (p->nfamilies >= PROM_MAX_FAMILIES)
		return seterr(p, -ENOSPC);
	r = vbuf_add(&p->seen, name, strlen(name) + 1);
	if (r < 0)
		return seterr(p, r);
	p->nfamilies++;
	snprintf(p->family, sizeof(p->family), "%s", name);
	p->type = type;
	if (help) {
		r = vbuf_printf(p->out, "# HELP %s ", name);
		if (!r)
			r = add_escaped(p->out, help, false);
		if (!r)
			r = vbuf_addc(p->out, '\n');
		if (r < 0)
			return seterr(p, r);
	}
	return seterr(p, vbuf_printf(p->out, "# TYPE %s %s\n", name, type_names[type]));
}

static int add_value(struct vbuf *b, double v, bool is_int, uint64_t iv)
{
	char tmp[40];

	if (is_int)
		return vbuf_printf(b, " %llu\n", (unsigned long long)iv);
	if (isnan(v))
		return vbuf_adds(b, " NaN\n");
	if (isinf(v))
		return vbuf_adds(b, v > 0 ? " +Inf\n" : " -Inf\n");
	/* the shortest of %.15g / %.17g that reads back as the same double */
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	return vbuf_printf(b, " %s\n", tmp);
}

int prom_sample(struct prom *p, const char *suffix, const char *const *labels,
		size_t nlabels, double v, bool is_int, uint64_t iv)
{
	struct vbuf *b = p->out;
	int r;

	if (p->err)
		return p->err;
	if (!p->family[0] || nlabels > PROM_MAX_LABELS)
		return seterr(p, -EINVAL);
	if (suffix && *suffix && (p->type != PROM_HISTOGRAM ||
	    (strcmp(suffix, "_bucket") && strcmp(suffix, "_sum") && strcmp(suffix, "_count"))))
		return seterr(p, -EINVAL);
	for (size_t i = 0; i < nlabels; i++) {
		const char *n = labels[2 * i];
		/* "__" names are reserved; "le" belongs to histogram buckets */
		if (!name_ok(n, false) || strncmp(n, "__", 2) == 0 || !labels[2 * i + 1] ||
		    (p->type == PROM_HISTOGRAM && strcmp(n, "le") == 0 &&
		     !(suffix && strcmp(suffix, "_bucket") == 0 && i == nlabels - 1)))
			return seterr(p, -EINVAL);
		for (size_t j = 0; j < i; j++)
			if (strcmp(labels[2 * j], n) == 0)
				return seterr(p, -EINVAL);
	}
	r = vbuf_printf(b, "%s%s", p->family, suffix ? suffix : "");
	for (size_t i = 0; i < nlabels && !r; i++) {
		r = vbuf_printf(b, "%s%s=\"", i ? "," : "{", labels[2 * i]);
		if (!r)
			r = add_escaped(b, labels[2 * i + 1], true);
		if (!r)
			r = vbuf_addc(b, '"');
	}
	if (!r && nlabels)
		r = vbuf_addc(b, '}');
	if (!r)
		r = add_value(b, v, is_int, iv);
	return seterr(p, r);
}

static int collect(va_list ap, const char **labels, size_t *n)
{
	const char *k;

	*n = 0;
	while ((k = va_arg(ap, const char *)) != NULL) {
		if (*n >= PROM_MAX_LABELS)
			return -EINVAL;
		labels[2 * *n] = k;
		labels[2 * *n + 1] = va_arg(ap, const char *);
		(*n)++;
	}
	return 0;
}

int prom_u64(struct prom *p, uint64_t v, ...)
{
	const char *labels[2 * PROM_MAX_LABELS];
	size_t n;
	va_list ap;
	int r;

	va_start(ap, v);
	r = collect(ap, labels, &n);
	va_end(ap);
	if (r < 0)
		return seterr(p, r);
	return prom_sample(p, "", labels, n, (double)v, true, v);
}

int prom_double(struct prom *p, double v, ...)
{
	const char *labels[2 * PROM_MAX_LABELS];
	size_t n;
	va_list ap;
	int r;

	va_start(ap, v);
	r = collect(ap, labels, &n);
	va_end(ap);
	if (r < 0)
		return seterr(p, r);
	return prom_sample(p, "", labels, n, v, false, 0);
}

int prom_histogram(struct prom *p, const char *const *labels, size_t nlabels,
		   const double *bounds, const uint64_t *counts, size_t n, double sum,
		   uint64_t count)
{
	const char *l[2 * PROM_MAX_LABELS + 2];
	char le[40];
	uint64_t cum = 0;

	if (p->err)
		return p->err;
	if (p->type != PROM_HISTOGRAM || nlabels >= PROM_MAX_LABELS)
		return seterr(p, -EINVAL);
	if (nlabels)
		memcpy(l, labels, 2 * nlabels * sizeof(*l));
	l[2 * nlabels] = "le";
	l[2 * nlabels + 1] = le;
	for (size_t i = 0; i < n; i++) {
		if (i && !(bounds[i] > bounds[i - 1]))
			return seterr(p, -EINVAL);
		cum += counts[i];
		snprintf(le, sizeof(le), "%.15g", bounds[i]);
		if (strtod(le, NULL) != bounds[i])
			snprintf(le, sizeof(le), "%.17g", bounds[i]);
		prom_sample(p, "_bucket", l, nlabels + 1, 0, true, cum);
	}
	if (cum > count)
		return seterr(p, -EINVAL);
	snprintf(le, sizeof(le), "+Inf");
	prom_sample(p, "_bucket", l, nlabels + 1, 0, true, count);
	prom_sample(p, "_sum", labels, nlabels, sum, false, 0);
	return prom_sample(p, "_count", labels, nlabels, 0, true, count);
}
