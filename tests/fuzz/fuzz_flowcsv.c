/* Fuzz target: the CSV flow reader (lib/store/flowcsv) used by
 * `vtap store import`, for our own CSV and nfdump's. Every row it accepts
 * is written back and read again: what it accepts it can round-trip. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/flowcsv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_err err = { 0 };
	FILE *fp = fmemopen((void *)(uintptr_t)data, size, "r");
	struct flowcsv *r;
	struct flow_row row;
	int errors = 0;

	if (!fp)
		return 0;
	r = flowcsv_open(fp, "fuzz", &err);
	if (!r) {
		if (!err.msg[0])
			__builtin_trap();
		fclose(fp);
		return 0;
	}
	for (int n = 0; n < 10000; n++) {
		int k = flowcsv_next(r, &row, &err);
		if (k == 0)
			break;
		if (k < 0) {
			if (!err.msg[0] || ++errors > 100)
				break;
			continue;
		}
		/* write the row in our CSV and read it back: same row */
		char *buf = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&buf, &len);
		flowcsv_header(out);
		flowcsv_write(out, &row, NULL, NULL);
		fclose(out);
		FILE *in = fmemopen(buf, len, "r");
		struct flowcsv *r2 = flowcsv_open(in, "again", &err);
		struct flow_row back;
		if (!r2 || flowcsv_next(r2, &back, &err) != 1)
			__builtin_trap();
		if (memcmp(&back.rec.src, &row.rec.src, 16) || back.rec.bytes != row.rec.bytes ||
		    back.rec.first_ms != row.rec.first_ms || back.rec.last_ms != row.rec.last_ms ||
		    back.rec.dport != row.rec.dport || back.rec.proto != row.rec.proto)
			__builtin_trap();
		flowcsv_close(r2);
		fclose(in);
		free(buf);
	}
	flowcsv_close(r);
	fclose(fp);
	return 0;
}
