/* qout.c — see qout.h. */
#include "query/qout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/timeutil.h"
#include "store/flowcsv.h"

static const char *locality_name(uint64_t v)
{
	switch (v) {
	case FLOW_LOC_SAME_HOST: return "same-host";
	case FLOW_LOC_CROSS_HOST: return "cross-host";
	default: return "outside";
	}
}

static bool key_is_vm(enum qkey k)
{
	return k == QK_SRCVM || k == QK_DSTVM || k == QK_VM;
}

static bool key_is_addr(enum qkey k)
{
	return k == QK_SRCIP || k == QK_DSTIP || k == QK_IP || k == QK_EXPORTER;
}

static bool key_is_zone(enum qkey k)
{
	return k == QK_SRCZONE || k == QK_DSTZONE || k == QK_ZONE;
}

void qout_summary_json(struct jw *w, const struct query_result *r)
{
	char t[40];

	jw_obj_open(w, "summary");
	jw_uint(w, "flows", r->flows);
	jw_uint(w, "packets", r->packets);
	jw_uint(w, "bytes", r->bytes);
	jw_str(w, "first", r->flows ? fmt_time_ms(r->first_ms, t, sizeof(t)) : NULL);
	jw_str(w, "last", r->flows ? fmt_time_ms(r->last_ms, t, sizeof(t)) : NULL);
	jw_uint(w, "first_ms", r->first_ms);
	jw_uint(w, "last_ms", r->last_ms);
	jw_uint(w, "groups", r->ngroups);
	jw_uint(w, "returned", r->groups ? r->n : r->nrows);
	jw_uint(w, "elapsed_us", r->elapsed_us);
	jw_obj_open(w, "scan");
	jw_uint(w, "partitions", r->scan.partitions);
	jw_uint(w, "blocks", r->scan.blocks);
	jw_uint(w, "blocks_skipped_time", r->scan.blocks_skipped_time);
	jw_uint(w, "blocks_skipped_filter", r->scan.blocks_skipped_filter);
	jw_uint(w, "blocks_read", r->scan.blocks_read);
	jw_uint(w, "rows_scanned", r->scan.rows_scanned);
	jw_uint(w, "rows_matched", r->scan.rows_matched);
	jw_uint(w, "bytes_read", r->scan.bytes_read);
	jw_uint(w, "corrupt_blocks", r->scan.corrupt_blocks);
	jw_obj_close(w);
	jw_obj_close(w);
}

static void summary_text(struct out *o, const struct query_result *r)
{
	char a[40], b[40];

	out_text(o, "Summary: %" PRIu64 " flows, %" PRIu64 " packets, %" PRIu64 " bytes",
		 r->flows, r->packets, r->bytes);
	if (r->flows)
		out_text(o, ", %s .. %s", fmt_time_ms(r->first_ms, a, sizeof(a)),
			 fmt_time_ms(r->last_ms, b, sizeof(b)));
	out_text(o, "\nScanned: %" PRIu64 " of %" PRIu64 " blocks read (%" PRIu64
		 " skipped by time, %" PRIu64 " by filter), %" PRIu64 " rows, %" PRIu64
		 " bytes in %.3f ms", r->scan.blocks_read, r->scan.blocks,
		 r->scan.blocks_skipped_time, r->scan.blocks_skipped_filter, r->scan.rows_scanned,
		 r->scan.bytes_read, (double)r->elapsed_us / 1000.0);
	if (r->scan.corrupt_blocks)
		out_text(o, "; %" PRIu64 " damaged blocks skipped", r->scan.corrupt_blocks);
	out_text(o, "\n");
}

/* ---- JSON (no FILE needed: the HTTP API writes into a buffer) ------------- */

static void group_key_json(struct jw *w, enum qkey key, const struct qval *v)
{
	char buf[VT_ADDRSTRLEN];
	const char *name = query_key_name(key);

	if (key_is_addr(key)) {
		jw_str(w, name, addr_fmt(&v->addr, buf, sizeof(buf)));
	} else if (key_is_vm(key)) {
		char u[VT_UUIDSTRLEN] = "", k[24];
		if (v->uuid && !uuid_is_nil(v->uuid))
			uuid_fmt(v->uuid, u, sizeof(u));
		jw_str(w, name, v->name && v->name[0] ? v->name : u[0] ? u : "-");
		snprintf(k, sizeof(k), "%s_uuid", name);
		jw_str(w, k, u);
	} else if (key_is_zone(key)) {
		jw_str(w, name, v->name && v->name[0] ? v->name : "outside");
	} else if (key == QK_LOCALITY) {
		jw_str(w, name, locality_name(v->u));
	} else {
		jw_uint(w, name, v->u);
	}
}

void qout_json(struct jw *w, const struct query *q, const struct query_result *r)
{
	char t[40];

	jw_obj_open(w, NULL);
	qout_summary_json(w, r);
	if (q->nkeys) {
		jw_arr_open(w, "groups");
		for (size_t i = 0; i < r->n; i++) {
			const struct qgroup *g = &r->groups[i];
			jw_obj_open(w, NULL);
			for (size_t k = 0; k < q->nkeys; k++)
				group_key_json(w, q->keys[k], &g->k[k]);
			jw_uint(w, "flows", g->flows);
			jw_uint(w, "packets", g->packets);
			jw_uint(w, "bytes", g->bytes);
			jw_str(w, "first", fmt_time_ms(g->first_ms, t, sizeof(t)));
			jw_str(w, "last", fmt_time_ms(g->last_ms, t, sizeof(t)));
			jw_uint(w, "first_ms", g->first_ms);
			jw_uint(w, "last_ms", g->last_ms);
			jw_obj_close(w);
		}
		jw_arr_close(w);
	} else {
		jw_arr_open(w, "flows");
		for (size_t i = 0; i < r->nrows; i++) {
			const struct flow_row *row = &r->rows[i];
			flowcsv_json(w, row, query_zone_name(r, row->attr.src_zone),
				     query_zone_name(r, row->attr.dst_zone));
		}
		jw_arr_close(w);
	}
	jw_obj_close(w);
}

/* ---- aggregation table ----------------------------------------------------- */

static int print_groups(struct out *o, const struct query *q, const struct query_result *r)
{
	struct out_col cols[QUERY_MAX_KEYS * 2 + 5];
	size_t nc = 0;
	bool text = o->fmt == OUT_FMT_TEXT;
	struct out_table *t;
	char buf[64];
	int rc = 0;

	for (size_t k = 0; k < q->nkeys; k++) {
		const char *name = query_key_name(q->keys[k]);
		bool num = !key_is_addr(q->keys[k]) && !key_is_vm(q->keys[k]) &&
			   !key_is_zone(q->keys[k]) && q->keys[k] != QK_LOCALITY &&
			   !(text && q->keys[k] == QK_PROTO);
		cols[nc++] = (struct out_col){ name, name, num ? COL_RIGHT : COL_LEFT,
					       num ? COL_UINT : COL_STR };
		if (key_is_vm(q->keys[k]) && !text) {
			static const char *const uu[] = { "srcvm_uuid", "dstvm_uuid", "vm_uuid" };
			const char *n = uu[q->keys[k] == QK_SRCVM ? 0 : q->keys[k] == QK_DSTVM ? 1 : 2];
			cols[nc++] = (struct out_col){ n, n, COL_LEFT, COL_STR };
		}
	}
	cols[nc++] = (struct out_col){ "flows", "flows", COL_RIGHT, COL_UINT };
	cols[nc++] = (struct out_col){ "packets", "packets", COL_RIGHT, COL_UINT };
	cols[nc++] = (struct out_col){ "bytes", "bytes", COL_RIGHT, COL_UINT };
	cols[nc++] = (struct out_col){ "first", "first seen", COL_LEFT, COL_STR };
	cols[nc++] = (struct out_col){ "last", "last seen", COL_LEFT, COL_STR };
	t = out_table_new(cols, nc);
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < r->n && rc == 0; i++) {
		const struct qgroup *g = &r->groups[i];
		for (size_t k = 0; k < q->nkeys && rc == 0; k++) {
			const struct qval *v = &g->k[k];
			enum qkey key = q->keys[k];
			if (key_is_addr(key)) {
				rc = out_cell_str(t, addr_fmt(&v->addr, buf, sizeof(buf)));
			} else if (key_is_vm(key)) {
				char u[VT_UUIDSTRLEN] = "";
				if (v->uuid && !uuid_is_nil(v->uuid))
					uuid_fmt(v->uuid, u, sizeof(u));
				rc = out_cell_str(t, v->name && v->name[0] ? v->name : u[0] ? u : "-");
				if (rc == 0 && !text)
					rc = out_cell_str(t, u);
			} else if (key_is_zone(key)) {
				rc = out_cell_str(t, v->name && v->name[0] ? v->name : "outside");
			} else if (key == QK_LOCALITY) {
				rc = out_cell_str(t, locality_name(v->u));
			} else if (key == QK_PROTO && text) {
				const char *pn = flowcsv_proto_name((uint8_t)v->u);
				snprintf(buf, sizeof(buf), "%s", pn ? pn : "");
				if (!pn)
					snprintf(buf, sizeof(buf), "%" PRIu64, v->u);
				rc = out_cell_str(t, buf);
			} else {
				rc = out_cell_uint(t, v->u);
			}
		}
		if (rc == 0)
			rc = out_cell_uint(t, g->flows);
		if (rc == 0)
			rc = out_cell_uint(t, g->packets);
		if (rc == 0)
			rc = out_cell_uint(t, g->bytes);
		if (rc == 0)
			rc = out_cell_str(t, fmt_time_ms(g->first_ms, buf, sizeof(buf)));
		if (rc == 0)
			rc = out_cell_str(t, fmt_time_ms(g->last_ms, buf, sizeof(buf)));
	}
	if (rc == 0)
		out_table_print(o, t, "groups");
	out_table_free(t);
	return rc;
}

/* ---- listing --------------------------------------------------------------- */

static void endpoint(const struct vt_addr *a, uint16_t port, char *buf, size_t len)
{
	char s[VT_ADDRSTRLEN];

	addr_fmt(a, s, sizeof(s));
	if (addr_is_v4(a))
		snprintf(buf, len, "%s:%u", s, port);
	else
		snprintf(buf, len, "[%s]:%u", s, port);
}

static const char *vm_label(const struct vm_ident *v, char *buf, size_t len)
{
	if (v->name[0])
		snprintf(buf, len, "%.*s", VT_NAME_MAX - 1, v->name);
	else if (!uuid_is_nil(v->uuid))
		uuid_fmt(v->uuid, buf, len);
	else
		snprintf(buf, len, "-");
	return buf;
}

static int print_rows(struct out *o, const struct query_result *r)
{
	static const struct out_col cols[] = {
		{ "first", "first seen", COL_LEFT, COL_STR },
		{ "duration", "duration", COL_RIGHT, COL_STR },
		{ "proto", "proto", COL_LEFT, COL_STR },
		{ "src", "src", COL_LEFT, COL_STR },
		{ "dst", "dst", COL_LEFT, COL_STR },
		{ "srcvm", "src vm", COL_LEFT, COL_STR },
		{ "dstvm", "dst vm", COL_LEFT, COL_STR },
		{ "packets", "packets", COL_RIGHT, COL_UINT },
		{ "bytes", "bytes", COL_RIGHT, COL_UINT },
		/* 1: an observation the count-once rule did not count (the
		 * flow was stored twice; `--once` leaves these out) */
		{ "dup", "dup", COL_RIGHT, COL_UINT },
	};
	char buf[96];
	int rc = 0;

	if (o->fmt == OUT_FMT_CSV) {
		flowcsv_header(o->fp);
		for (size_t i = 0; i < r->nrows; i++) {
			const struct flow_row *row = &r->rows[i];
			flowcsv_write(o->fp, row, query_zone_name(r, row->attr.src_zone),
				      query_zone_name(r, row->attr.dst_zone));
		}
		return 0;
	}
	struct out_table *t = out_table_new(cols, ARRAY_SIZE(cols));
	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < r->nrows && rc == 0; i++) {
		const struct flow_rec *f = &r->rows[i].rec;
		uint64_t d = f->last_ms >= f->first_ms ? f->last_ms - f->first_ms : 0;
		const char *pn = flowcsv_proto_name(f->proto);
		rc |= out_cell_str(t, fmt_time_ms(f->first_ms, buf, sizeof(buf)));
		snprintf(buf, sizeof(buf), "%" PRIu64 ".%03" PRIu64, d / 1000, d % 1000);
		rc |= out_cell_str(t, buf);
		if (pn)
			snprintf(buf, sizeof(buf), "%s", pn);
		else
			snprintf(buf, sizeof(buf), "%u", f->proto);
		rc |= out_cell_str(t, buf);
		endpoint(&f->src, f->sport, buf, sizeof(buf));
		rc |= out_cell_str(t, buf);
		endpoint(&f->dst, f->dport, buf, sizeof(buf));
		rc |= out_cell_str(t, buf);
		rc |= out_cell_str(t, vm_label(&r->rows[i].attr.src_vm, buf, sizeof(buf)));
		rc |= out_cell_str(t, vm_label(&r->rows[i].attr.dst_vm, buf, sizeof(buf)));
		rc |= out_cell_uint(t, f->packets);
		rc |= out_cell_uint(t, f->bytes);
		rc |= out_cell_uint(t, r->rows[i].attr.dup);
	}
	if (rc == 0)
		out_table_print(o, t, "flows");
	out_table_free(t);
	return rc ? -ENOMEM : 0;
}

int qout_print(struct out *o, const struct query *q, const struct query_result *r,
	       bool summary)
{
	int rc;

	if (o->fmt == OUT_FMT_JSON) {
		qout_json(&o->jw, q, r);
		return o->jw.err;
	}
	rc = q->nkeys ? print_groups(o, q, r) : print_rows(o, r);
	if (rc == 0 && summary && o->fmt == OUT_FMT_TEXT)
		summary_text(o, r);
	return rc;
}
