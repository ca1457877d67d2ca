/* out.h — one print call, text or JSON output (the iproute2 pattern).
 *
 *	out_uint(o, OUT_ANY, "rx_packets", "rx %" PRIu64 " pkts ", n);
 *
 * prints "rx 12 pkts " in text mode and "rx_packets":12 in JSON mode. The
 * format string is used in text mode only; the key in JSON mode only.
 * OUT_TEXT / OUT_JSON restrict a call to one mode. Integer formats take
 * unsigned long long / long long (%llu, %lld) whatever the field's type.
 *
 * Tables (listings) are built row by row and printed aligned, as CSV, or
 * as a JSON array of objects, so list commands support all three. */
#ifndef VT_OUT_H
#define VT_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "core/buf.h"
#include "core/compiler.h"
#include "core/json.h"

enum out_fmt { OUT_FMT_TEXT, OUT_FMT_JSON, OUT_FMT_CSV };
enum out_when { OUT_ANY, OUT_TEXT, OUT_JSON };

struct out {
	FILE *fp;
	enum out_fmt fmt;
	struct vbuf jbuf;   /* JSON is built here, written by out_finish() */
	struct jw jw;
};

/* out_init() : output to <fp> (not owned) in format <fmt>; <pretty> indents
 * JSON. */
void out_init(struct out *o, FILE *fp, enum out_fmt fmt, bool pretty);
/* out_finish() : writes pending JSON; returns 0 or -EIO / -ENOSPC. */
int out_finish(struct out *o);
static inline bool out_is_json(const struct out *o)
{
	return o->fmt == OUT_FMT_JSON;
}

void out_obj_open(struct out *o, const char *key);
void out_obj_close(struct out *o);
void out_arr_open(struct out *o, const char *key);
void out_arr_close(struct out *o);
void out_str(struct out *o, enum out_when w, const char *key, const char *fmt,
	     const char *v);
void out_uint(struct out *o, enum out_when w, const char *key, const char *fmt,
	      uint64_t v);
void out_int(struct out *o, enum out_when w, const char *key, const char *fmt,
	     int64_t v);
void out_double(struct out *o, enum out_when w, const char *key,
		const char *fmt, double v);
void out_bool(struct out *o, enum out_when w, const char *key, const char *fmt,
	      bool v);
/* out_text() : literal text, text mode only. */
void out_text(struct out *o, const char *fmt, ...) VT_PRINTF(2, 3);
void out_nl(struct out *o);

/* ---- tables ------------------------------------------------------------ */

enum col_align { COL_LEFT, COL_RIGHT };
enum col_type { COL_STR, COL_UINT, COL_DOUBLE };

struct out_col {
	const char *key;     /* JSON key and CSV header */
	const char *title;   /* text header */
	enum col_align align;
	enum col_type type;
};

struct out_table;
/* out_table_new() : <cols> must outlive the table. */
struct out_table *out_table_new(const struct out_col *cols, size_t ncols);
void out_table_free(struct out_table *t);
/* Cells are added left to right; a row is complete after ncols cells. */
int out_cell_str(struct out_table *t, const char *v);
int out_cell_uint(struct out_table *t, uint64_t v);
int out_cell_double(struct out_table *t, double v, int decimals);
/* out_table_print() : aligned text, CSV, or (JSON) an array under <key>. */
void out_table_print(struct out *o, struct out_table *t, const char *key);
size_t out_table_rows(const struct out_table *t);

/* Human-friendly numbers for text output: 1.5K, 23.1M, 4.2G (base 1000). */
const char *fmt_si(double v, char *buf, size_t len);

#endif
