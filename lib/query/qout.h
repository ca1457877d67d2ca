/* qout.h — renders query results as aligned text, JSON or CSV (lib/core
 * out.h), for `vtap flows` and for the collector's HTTP API.
 *
 * Text: a table (key columns, flows, packets, bytes, first and last seen;
 * or one line per flow) and a summary line. JSON: an object with
 * "summary" and "groups" or "flows" (every stored field, named as in
 * flowcsv.h). CSV: the table only; listings carry every field so that
 * `vtap store import` reads them back losslessly. */
#ifndef VT_QUERY_QOUT_H
#define VT_QUERY_QOUT_H

#include <stdbool.h>

#include "core/out.h"
#include "query/query.h"

/* qout_print() : writes <r> (the result of <q>) to <o>. With <summary>,
 * text output ends with the totals and what the scan read and skipped.
 * 0 or -ENOMEM. The caller calls out_finish(). */
int qout_print(struct out *o, const struct query *q, const struct query_result *r,
	       bool summary);
/* qout_json() : the whole result as one JSON object into <w> ("summary"
 * plus "groups" or "flows"), without a FILE: for HTTP handlers. */
void qout_json(struct jw *w, const struct query *q, const struct query_result *r);
/* qout_summary_json() : the "summary" member alone. */
void qout_summary_json(struct jw *w, const struct query_result *r);

#endif
