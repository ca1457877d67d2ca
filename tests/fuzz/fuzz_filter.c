/* Fuzz target: the filter language (lib/query/filter). Compiles the input;
 * when it compiles, dumps it, evaluates it on a batch and on single rows,
 * and tests it against a block summary — every path a query takes — then
 * once more restricted to counted rows (filter_once, `--once`). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/filter.h"

static const char *const zones[] = { "web", "db" };

static void rows(struct flow_row r[3])
{
	memset(r, 0, 3 * sizeof(*r));
	uint8_t a[4] = { 10, 0, 0, 1 }, b[4] = { 198, 18, 0, 5 };
	addr_set_v4(&r[0].rec.src, a);
	addr_set_v4(&r[0].rec.dst, b);
	r[0].rec.proto = 6;
	r[0].rec.dport = 443;
	r[0].rec.bytes = 1500;
	snprintf(r[0].attr.src_vm.name, sizeof(r[0].attr.src_vm.name), "web-1");
	r[0].attr.src_vm.uuid[0] = 1;
	r[0].attr.src_zone = 1;
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 };
	addr_set_v6(&r[1].rec.src, v6);
	r[1].rec.proto = 17;
	r[1].rec.sport = 53;
	r[1].attr.dst_zone = 2;
	r[2].rec.vlan = 100;
	r[2].attr.locality = 2;
	r[2].attr.dup = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fc_zonemap zm = { zones, 2 };
	struct vt_err err = { 0 };
	char *text = malloc(size + 1);
	struct filter *f;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	f = filter_compile(text, &err);
	free(text);
	if (!f) {
		if (!err.msg[0])
			__builtin_trap();   /* every error explains itself */
		return 0;
	}
	char buf[8192];
	filter_dump(f, buf, sizeof(buf));
	struct flow_row r[3];
	struct flow_cols c;
	struct filter_ctx x = { 0 };
	uint8_t sel[3];
	rows(r);
	cols_init(&c);
	if (cols_from_rows(&c, r, 3, &zm) == 0 && filter_eval(f, &c, sel, &x) == 0) {
		for (int i = 0; i < 3; i++)
			if (sel[i] != filter_match_row(f, &r[i], &zm))
				__builtin_trap();   /* the two evaluators must agree */
		struct fc_summary s;
		memset(&s, 0, sizeof(s));
		s.nrows = 3;
		s.have_minmax = FC_BIT(FC_DPORT) | FC_BIT(FC_PROTO) | FC_BIT(FC_SRC) | FC_BIT(FC_BYTES) |
				FC_BIT(FC_DUP);
		s.min[FC_DUP] = 0;
		s.max[FC_DUP] = 1;
		s.min[FC_DPORT] = 0;
		s.max[FC_DPORT] = 443;
		s.min[FC_PROTO] = 0;
		s.max[FC_PROTO] = 17;
		s.min[FC_BYTES] = 0;
		s.max[FC_BYTES] = 1500;
		s.amin[FC_SRC] = r[2].rec.src;
		s.amax[FC_SRC] = r[1].rec.src;
		s.dict = &c;
		enum fmatch m = filter_summary(f, &s);
		int hits = sel[0] + sel[1] + sel[2];
		if ((m == FM_NONE && hits) || (m == FM_ALL && hits != 3))
			__builtin_trap();   /* a summary answer contradicted by the rows */
		/* --once: the same rows minus the duplicate, both evaluators */
		uint8_t once[3];
		if (filter_once(f, &err) == 0 && filter_eval(f, &c, once, &x) == 0) {
			filter_dump(f, buf, sizeof(buf));
			for (int i = 0; i < 3; i++)
				if (once[i] != (sel[i] && !r[i].attr.dup) ||
				    once[i] != filter_match_row(f, &r[i], &zm))
					__builtin_trap();
		}
	}
	filter_ctx_free(&x);
	cols_free(&c);
	filter_free(f);
	return 0;
}
