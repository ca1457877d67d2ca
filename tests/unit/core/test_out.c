/* Unit tests: lib/core/out — text and JSON from the same calls; tables. */
#include "core/out.h"

#include "vt_test.h"

static char *render(enum out_fmt fmt)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	struct out o;

	out_init(&o, fp, fmt, false);
	out_obj_open(&o, NULL);
	out_str(&o, OUT_ANY, "port", "port %s ", "vp-vm1");
	out_uint(&o, OUT_ANY, "rx_packets", "rx %llu ", 12);
	out_int(&o, OUT_ANY, "delta", "delta %lld", -3);
	out_text(&o, " (text only)");
	out_uint(&o, OUT_JSON, "json_only", "%llu", 1);
	out_nl(&o);
	out_obj_close(&o);
	CHECK_EQ(out_finish(&o), 0);
	fclose(fp);
	return text;
}

static void t_same_calls_two_formats(void)
{
	char *t = render(OUT_FMT_TEXT), *j = render(OUT_FMT_JSON);

	CHECK_STR(t, "port vp-vm1 rx 12 delta -3 (text only)\n");
	CHECK_STR(j, "{\"port\":\"vp-vm1\",\"rx_packets\":12,\"delta\":-3,\"json_only\":1}\n");
	free(t);
	free(j);
}

static const struct out_col cols[] = {
	{ "vm", "VM", COL_LEFT, COL_STR },
	{ "bytes", "BYTES", COL_RIGHT, COL_UINT },
	{ "note", "NOTE", COL_LEFT, COL_STR },
};

static char *table(enum out_fmt fmt)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	struct out o;
	struct out_table *t = out_table_new(cols, 3);

	out_cell_str(t, "web-1");
	out_cell_uint(t, 1500);
	out_cell_str(t, "a,b");
	out_cell_str(t, "db");
	out_cell_uint(t, 42);
	out_cell_str(t, "say \"hi\"");
	CHECK_EQ(out_table_rows(t), 2);
	out_init(&o, fp, fmt, false);
	out_table_print(&o, t, NULL);
	out_finish(&o);
	fclose(fp);
	out_table_free(t);
	return text;
}

static void t_tables(void)
{
	char *txt = table(OUT_FMT_TEXT), *csv = table(OUT_FMT_CSV), *js = table(OUT_FMT_JSON);

	CHECK_STR(txt, "VM     BYTES  NOTE\n"
		       "web-1   1500  a,b\n"
		       "db        42  say \"hi\"\n");
	CHECK_STR(csv, "vm,bytes,note\nweb-1,1500,\"a,b\"\ndb,42,\"say \"\"hi\"\"\"\n");
	CHECK_STR(js, "[{\"vm\":\"web-1\",\"bytes\":1500,\"note\":\"a,b\"},"
		      "{\"vm\":\"db\",\"bytes\":42,\"note\":\"say \\\"hi\\\"\"}]\n");
	free(txt);
	free(csv);
	free(js);
}

static void t_si(void)
{
	char b[16];
	CHECK_STR(fmt_si(999, b, sizeof(b)), "999");
	CHECK_STR(fmt_si(1500, b, sizeof(b)), "1.5K");
	CHECK_STR(fmt_si(23100000, b, sizeof(b)), "23.1M");
	CHECK_STR(fmt_si(4.2e9, b, sizeof(b)), "4.2G");
}

VT_TEST_MAIN(VT_T(t_same_calls_two_formats), VT_T(t_tables), VT_T(t_si))
