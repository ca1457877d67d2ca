/* flowcsv.h — flows as CSV: the text form of every stored field.
 *
 * One field table serves three purposes: `vtap flows --csv` writes every
 * field of struct flow_row under these names, `vtap flows -j` uses the
 * same names as JSON keys, and `vtap store import` reads them back — so a
 * listing re-imports losslessly. The reader also understands the output
 * of `nfdump -o csv` (columns ts, te, td, sa, da, sp, dp, pr, flg, ipkt,
 * ibyt, ...), which is how tests and benchmarks put the same flows into
 * our store and nfdump's files. nfdump prints local time: run it with
 * TZ=UTC. Input is untrusted: every field is checked and an error names
 * the line and the column. */
#ifndef VT_STORE_FLOWCSV_H
#define VT_STORE_FLOWCSV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/json.h"
#include "store/cols.h"

#define FLOWCSV_MAX_LINE (1u << 16)
#define FLOWCSV_MAX_ZONES 4096

/* ---- writing ----------------------------------------------------------- */

/* flowcsv_header() / flowcsv_write() : one header line, one line per row.
 * <szone>/<dzone> are the names of the row's zones (NULL = unknown). */
void flowcsv_header(FILE *fp);
void flowcsv_write(FILE *fp, const struct flow_row *row, const char *szone, const char *dzone);
/* flowcsv_json() : the row as a JSON object (same names) into <w>. */
void flowcsv_json(struct jw *w, const struct flow_row *row, const char *szone,
		  const char *dzone);

/* ---- reading ----------------------------------------------------------- */

enum flowcsv_dialect { FLOWCSV_VTAP, FLOWCSV_NFDUMP };

struct flowcsv;

/* flowcsv_open() : reads the header line from <fp> (not owned) and maps
 * its columns. <name> is used in messages. NULL with <err> set when the
 * header has no usable columns or lacks the addresses. */
struct flowcsv *flowcsv_open(FILE *fp, const char *name, struct vt_err *err);
/* flowcsv_next() : the next row: 1, 0 at the end (nfdump's trailing
 * summary ends the input), or -EINVAL with "NAME:LINE: column 'c': ..." in
 * <err> (the row is skipped; reading may continue). */
int flowcsv_next(struct flowcsv *r, struct flow_row *row, struct vt_err *err);
enum flowcsv_dialect flowcsv_dialect(const struct flowcsv *r);
uint64_t flowcsv_line(const struct flowcsv *r);
/* flowcsv_skipped() : nfdump lines that are not flows (a tunnel record's
 * outer header, printed with zero counters and zero addresses). */
uint64_t flowcsv_skipped(const struct flowcsv *r);
/* flowcsv_zones() : zone names read so far (src_zone_name/dst_zone_name)
 * as a map for store_set_zones(); valid until the next call or close. */
void flowcsv_zones(const struct flowcsv *r, struct fc_zonemap *zm);
void flowcsv_close(struct flowcsv *r);

/* flowcsv_proto_name() : nfdump's name for protocol <p> ("TCP"), for
 * tests; flowcsv_proto_parse() : the reverse, or a number. */
const char *flowcsv_proto_name(uint8_t p);
int flowcsv_proto_parse(const char *s, uint8_t *p);

#endif
