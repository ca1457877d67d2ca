/* out.c — see out.h. */
#include "core/out.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void out_init(struct out *o, FILE *fp, enum out_fmt fmt, bool pretty)
{
	o->fp = fp;
	o->fmt = fmt;
	vbuf_init(&o->jbuf, 1u << 30);
	jw_init(&o->jw, &o->jbuf, pretty);
}

int out_finish(struct out *o)
{
	int r = 0;

	if (o->fmt == OUT_FMT_JSON) {
		if (o->jw.err)
			r = o->jw.err;
		else if (fwrite(o->jbuf.data ? (const char *)o->jbuf.data : "", 1,
				o->jbuf.len, o->fp) != o->jbuf.len ||
			 fputc('\n', o->fp) == EOF)
			r = -EIO;
		vbuf_free(&o->jbuf);
	}
	if (fflush(o->fp) != 0 && r == 0)
		r = -EIO;
	return r;
}

static bool want_text(const struct out *o, enum out_when w)
{
	return o->fmt != OUT_FMT_JSON && w != OUT_JSON;
}

static bool want_json(const struct out *o, enum out_when w)
{
	return o->fmt == OUT_FMT_JSON && w != OUT_TEXT;
}

void out_obj_open(struct out *o, const char *key)
{
	if (o->fmt == OUT_FMT_JSON)
		jw_obj_open(&o->jw, key);
}

void out_obj_close(struct out *o)
{
	if (o->fmt == OUT_FMT_JSON)
		jw_obj_close(&o->jw);
}

void out_arr_open(struct out *o, const char *key)
{
	if (o->fmt == OUT_FMT_JSON)
		jw_arr_open(&o->jw, key);
}

void out_arr_close(struct out *o)
{
	if (o->fmt == OUT_FMT_JSON)
		jw_arr_close(&o->jw);
}

/* The caller's format strings are checked at their definition sites (they
 * are literals next to the key); here they are forwarded. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void out_str(struct out *o, enum out_when w, const char *key, const char *fmt,
	     const char *v)
{
	if (want_json(o, w))
		jw_str(&o->jw, key, v);
	else if (want_text(o, w))
		fprintf(o->fp, fmt, v ? v : "-");
}

void out_uint(struct out *o, enum out_when w, const char *key, const char *fmt,
	      uint64_t v)
{
	if (want_json(o, w))
		jw_uint(&o->jw, key, v);
	else if (want_text(o, w))
		fprintf(o->fp, fmt, (unsigned long long)v);
}

void out_int(struct out *o, enum out_when w, const char *key, const char *fmt,
	     int64_t v)
{
	if (want_json(o, w))
		jw_int(&o->jw, key, v);
	else if (want_text(o, w))
		fprintf(o->fp, fmt, (long long)v);
}

void out_double(struct out *o, enum out_when w, const char *key,
		const char *fmt, double v)
{
	if (want_json(o, w))
		jw_double(&o->jw, key, v);
	else if (want_text(o, w))
		fprintf(o->fp, fmt, v);
}

void out_bool(struct out *o, enum out_when w, const char *key, const char *fmt,
	      bool v)
{
	if (want_json(o, w))
		jw_bool(&o->jw, key, v);
	else if (want_text(o, w))
		fprintf(o->fp, fmt, v ? "yes" : "no");
}
#pragma GCC diagnostic pop

void out_text(struct out *o, const char *fmt, ...)
{
	va_list ap;

	if (o->fmt == OUT_FMT_JSON)
		return;
	va_start(ap, fmt);
	vfprintf(o->fp, fmt, ap);
	va_end(ap);
}

void out_nl(struct out *o)
{
	if (o->fmt != OUT_FMT_JSON)
		fputc('\n', o->fp);
}

/* ---- tables ------------------------------------------------------------ */

struct cell {
	char *text;     /* rendered for text/CSV */
	uint64_t u;
	double d;
};

struct out_table {
	const struct out_col *cols;
	size_t ncols;
	struct cell *cells;
	size_t ncells, cap;
};

struct out_table *out_table_new(const struct out_col *cols, size_t ncols)
{
	struct out_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cols = cols;
	t->ncols = ncols;
	return t;
}

void out_table_free(struct out_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i].text);
	free(t->cells);
	free(t);
}

size_t out_table_rows(const struct out_table *t)
{
	return t->ncols ? t->ncells / t->ncols : 0;
}

static struct cell *cell_add(struct out_table *t)
{
	if (t->ncells == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct cell *c = realloc(t->cells, ncap * sizeof(*c));
		if (!c)
			return NULL;
		t->cells = c;
		t->cap = ncap;
	}
	memset(&t->cells[t->ncells], 0, sizeof(struct cell));
	return &t->cells[t->ncells++];
}

/* A cell whose text could not be allocated is taken back, so the table
 * never holds a NULL cell (the row stays incomplete and the caller sees
 * -ENOMEM). */
static int cell_done(struct out_table *t, struct cell *c)
{
	if (c->text)
		return 0;
	t->ncells--;
	return -ENOMEM;
}

int out_cell_str(struct out_table *t, const char *v)
{
	struct cell *c = cell_add(t);

	if (!c)
		return -ENOMEM;
	c->text = strdup(v ? v : "");
	return cell_done(t, c);
}

int out_cell_uint(struct out_table *t, uint64_t v)
{
	char b[32];
	struct cell *c = cell_add(t);

	if (!c)
		return -ENOMEM;
	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	c->u = v;
	c->text = strdup(b);
	return cell_done(t, c);
}

int out_cell_double(struct out_table *t, double v, int decimals)
{
	char b[64];
	struct cell *c = cell_add(t);

	if (!c)
		return -ENOMEM;
	snprintf(b, sizeof(b), "%.*f", decimals, v);
	c->d = v;
	c->text = strdup(b);
	return cell_done(t, c);
}

static void csv_field(FILE *fp, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

void out_table_print(struct out *o, struct out_table *t, const char *key)
{
	size_t rows = out_table_rows(t);

	if (o->fmt == OUT_FMT_JSON) {
		jw_arr_open(&o->jw, key);
		for (size_t r = 0; r < rows; r++) {
			jw_obj_open(&o->jw, NULL);
			for (size_t c = 0; c < t->ncols; c++) {
				const struct cell *ce = &t->cells[r * t->ncols + c];
				const struct out_col *col = &t->cols[c];
				if (col->type == COL_UINT)
					jw_uint(&o->jw, col->key, ce->u);
				else if (col->type == COL_DOUBLE)
					jw_double(&o->jw, col->key, ce->d);
				else
					jw_str(&o->jw, col->key, ce->text);
			}
			jw_obj_close(&o->jw);
		}
		jw_arr_close(&o->jw);
		return;
	}
	if (o->fmt == OUT_FMT_CSV) {
		for (size_t c = 0; c < t->ncols; c++) {
			if (c)
				fputc(',', o->fp);
			csv_field(o->fp, t->cols[c].key);
		}
		fputc('\n', o->fp);
		for (size_t r = 0; r < rows; r++) {
			for (size_t c = 0; c < t->ncols; c++) {
				if (c)
					fputc(',', o->fp);
				csv_field(o->fp, t->cells[r * t->ncols + c].text);
			}
			fputc('\n', o->fp);
		}
		return;
	}
	size_t *w = calloc(t->ncols, sizeof(*w));
	if (!w)
		return;
	for (size_t c = 0; c < t->ncols; c++)
		w[c] = strlen(t->cols[c].title);
	for (size_t i = 0; i < rows * t->ncols; i++)
		w[i % t->ncols] = VT_MAX(w[i % t->ncols], strlen(t->cells[i].text));
	for (size_t r = 0; r <= rows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = r == 0 ? t->cols[c].title :
				t->cells[(r - 1) * t->ncols + c].text;
			bool last = c + 1 == t->ncols;
			int width = (int)w[c];
			if (t->cols[c].align == COL_RIGHT)
				fprintf(o->fp, "%*s", width, s);
			else if (last)
				fputs(s, o->fp);
			else
				fprintf(o->fp, "%-*s", width, s);
			if (!last)
				fputs("  ", o->fp);
		}
		fputc('\n', o->fp);
	}
	free(w);
}

const char *fmt_si(double v, char *buf, size_t len)
{
	static const char sfx[] = " KMGTP";
	int i = 0;

	while (v >= 1000.0 && i < 5) {
		v /= 1000.0;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.1f%c", v, sfx[i]);
	return buf;
}
