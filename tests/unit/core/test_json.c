/* Unit tests: lib/core/json — writer and parser. */
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/timeutil.h"
#include "vt_test.h"

static void t_writer_nesting(void)
{
	struct vbuf b;
	struct jw w;

	vbuf_init(&b, 4096);
	jw_init(&w, &b, false);
	jw_obj_open(&w, NULL);
	jw_str(&w, "name", "vm\"1\n");
	jw_uint(&w, "bytes", 18446744073709551615ull);
	jw_int(&w, "delta", -5);
	jw_arr_open(&w, "ports");
	jw_uint(&w, NULL, 80);
	jw_uint(&w, NULL, 443);
	jw_arr_close(&w);
	jw_obj_open(&w, "empty");
	jw_obj_close(&w);
	jw_bool(&w, "up", true);
	jw_null(&w, "none");
	jw_str(&w, "nullstr", NULL);
	jw_obj_close(&w);
	CHECK_EQ(w.err, 0);
	CHECK_STR(vbuf_str(&b),
		  "{\"name\":\"vm\\\"1\\n\",\"bytes\":18446744073709551615,\"delta\":-5,"
		  "\"ports\":[80,443],\"empty\":{},\"up\":true,\"none\":null,\"nullstr\":null}");
	vbuf_free(&b);
}

static void t_escape_invalid_utf8(void)
{
	static const struct { const char *in; size_t n; const char *want; } cases[] = {
		{ "plain", 5, "\"plain\"" },
		{ "\xc3\xa9t\xc3\xa9", 5, "\"\xc3\xa9t\xc3\xa9\"" },   /* valid UTF-8 kept */
		{ "a\xff" "b", 3, "\"a\\u00ffb\"" },                /* invalid byte escaped */
		{ "\x01\x1f", 2, "\"\\u0001\\u001f\"" },
		{ "a\0b", 3, "\"a\\u0000b\"" },
		{ "\xed\xa0\x80", 3, "\"\\u00ed\\u00a0\\u0080\"" },  /* surrogate = invalid */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vbuf b;
		vbuf_init(&b, 256);
		CHECK_EQ(json_escape(&b, cases[i].in, cases[i].n), 0);
		CHECK_STR(vbuf_str(&b), cases[i].want);
		vbuf_free(&b);
	}
}

static void t_writer_bound(void)
{
	struct vbuf b;
	struct jw w;

	vbuf_init(&b, 8);
	jw_init(&w, &b, false);
	jw_arr_open(&w, NULL);
	jw_str(&w, NULL, "much too long for the buffer");
	jw_arr_close(&w);
	CHECK_EQ(w.err, -ENOSPC);
	vbuf_free(&b);
}

static void t_parse_valid(void)
{
	const char *text = " {\"hosts\": [ {\"name\": \"h1\", \"vms\": 3}, {\"name\":\"h\\u00e92\"} ],"
			   " \"ok\": true, \"x\": -1.5e2, \"n\": null, \"big\": 9007199254740993 } ";
	struct vt_err err = { 0 };
	struct json_val *v = json_parse(text, strlen(text), 1000, &err);
	int64_t i;

	CHECK(v != NULL);
	if (!v)
		return;
	const struct json_val *hosts = json_get(v, "hosts");
	CHECK_EQ(json_len(hosts), 2);
	CHECK_STR(json_get_str(json_at(hosts, 0), "name"), "h1");
	CHECK(json_get_int(json_at(hosts, 0), "vms", &i) && i == 3);
	CHECK_STR(json_get_str(json_at(hosts, 1), "name"), "h\xc3\xa9" "2");
	CHECK(json_get(v, "ok")->type == JSON_BOOL && json_get(v, "ok")->u.b);
	CHECK(json_get(v, "x")->u.num == -150.0);
	CHECK(!json_get(v, "x")->is_int);
	CHECK(json_get(v, "n")->type == JSON_NULL);
	CHECK(json_get_int(v, "big", &i) && i == 9007199254740993ll);
	CHECK(json_get(v, "missing") == NULL);
	CHECK(json_get_str(v, "ok") == NULL); /* wrong type */
	json_free(v);
}

static void t_parse_errors(void)
{
	static const struct { const char *in; const char *msg; } cases[] = {
		{ "", "unexpected end" },
		{ "{", "expected object key" },
		{ "{\"a\" 1}", "expected ':'" },
		{ "[1,]", "bad number" },
		{ "[1 2]", "expected ',' or ']'" },
		{ "\"abc", "unterminated string" },
		{ "\"\\x\"", "bad escape" },
		{ "\"\\ud800\"", "unpaired surrogate" },
		{ "tru", "bad literal" },
		{ "{} x", "trailing characters" },
		{ "\"a\tb\"", "control character" },
		{ "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]", "too deep" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vt_err err = { 0 };
		struct json_val *v = json_parse(cases[i].in, strlen(cases[i].in), 1000, &err);
		CHECK(v == NULL);
		CHECK_CONTAINS(err.msg, cases[i].msg);
		json_free(v);
	}
}

static void t_parse_node_bound(void)
{
	struct vt_err err = { 0 };
	const char *text = "[1,2,3,4,5,6,7,8,9,10]";
	struct json_val *v = json_parse(text, strlen(text), 5, &err);

	CHECK(v == NULL);
	CHECK_CONTAINS(err.msg, "more than 5 values");
	v = json_parse(text, strlen(text), 11, &err);
	CHECK(v != NULL);
	CHECK_EQ(json_len(v), 10);
	json_free(v);
}

static void t_roundtrip(void)
{
	struct vbuf b;
	struct jw w;
	struct vt_err err = { 0 };
	const char weird[] = "tab\there \"q\" \\ \xe2\x82\xac \x01";

	vbuf_init(&b, 4096);
	jw_init(&w, &b, true);
	jw_obj_open(&w, NULL);
	jw_str(&w, "s", weird);
	jw_obj_close(&w);
	struct json_val *v = json_parse((const char *)b.data, b.len, 100, &err);
	CHECK(v != NULL);
	CHECK_STR(json_get_str(v, "s"), weird);
	json_free(v);
	vbuf_free(&b);
}

/* Doubles are written so they read back as the same double (an API's
 * rates and averages are data, not display), in the shortest such form. */
static void t_doubles(void)
{
	static const struct { double v; const char *want; } cases[] = {
		{ 0.0, "0" }, { 1.5, "1.5" }, { -2.25, "-2.25" }, { 0.1, "0.1" },
		{ 1234567.0, "1234567" }, { 1234567.891, "1234567.891" },
		{ 9007199254740993.0, "9007199254740992" }, { 0.1 + 0.2, "0.30000000000000004" },
		{ 1e300, "1e+300" }, { 5e-324, "4.94065645841247e-324" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vbuf b;
		struct jw w;
		struct vt_err err = { 0 };
		struct json_val *v;

		vbuf_init(&b, 256);
		jw_init(&w, &b, false);
		jw_double(&w, NULL, cases[i].v);
		CHECK_STR(vbuf_str(&b), cases[i].want);
		v = json_parse((const char *)b.data, b.len, 4, &err);
		CHECK(v && v->type == JSON_NUM && v->u.num == cases[i].v);
		json_free(v);
		vbuf_free(&b);
	}
}

/* Large arrays and objects (an inventory of 100,000 VMs) parse in linear
 * time: members are not appended by growing the list one slot at a time
 * (a copy of the whole list per member: minutes for such a file). */
static void t_parse_large_lists(void)
{
	const size_t n = 200000;
	char *text = malloc(n * 16 + 64);
	size_t len = 0;
	struct vt_err err = { 0 };

	len += (size_t)snprintf(text + len, 64, "{\"a\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, 16, "%s%zu", i ? "," : "", i % 10);
	len += (size_t)snprintf(text + len, 64, "],\"o\":{");
	for (size_t i = 0; i < 20000; i++)
		len += (size_t)snprintf(text + len, 32, "%s\"k%zu\":%zu", i ? "," : "", i, i % 7);
	len += (size_t)snprintf(text + len, 64, "}}");
	uint64_t t0 = mono_ms();
	struct json_val *v = json_parse(text, len, 4u << 20, &err);
	uint64_t ms = mono_ms() - t0;
	CHECK(v != NULL);
	if (v) {
		const struct json_val *a = json_get(v, "a"), *o = json_get(v, "o");
		CHECK_EQ(json_len(a), n);
		CHECK_EQ(json_at(a, n - 1)->u.num, (double)((n - 1) % 10));
		CHECK_EQ(json_len(o), 20000);
		CHECK_EQ(json_get(o, "k19999")->u.num, 19999 % 7);
		CHECK_EQ(json_get(o, "k7")->u.num, 0);
	}
	/* linear: a fraction of a second even with ASan on a busy machine */
	CHECK(ms < 5000);
	json_free(v);
	free(text);
}

/* The printing getters: a default for what is absent or of another type. */
static void t_getters(void)
{
	static const char doc[] = "{\"s\":\"x\",\"n\":42,\"neg\":-3,\"f\":1.5,\"big\":9007199254740993}";
	static const struct {
		const char *key;
		const char *str;     /* json_str_or(..., "-") */
		uint64_t u;          /* json_u64() */
	} cases[] = {
		{ "s", "x", 0 }, { "n", "-", 42 }, { "neg", "-", 0 }, { "f", "-", 0 },
		{ "big", "-", 9007199254740993ull }, { "absent", "-", 0 },
	};
	struct vt_err err = { 0 };
	struct json_val *v = json_parse(doc, sizeof(doc) - 1, 64, &err);

	CHECK(v != NULL);
	for (size_t i = 0; v && i < sizeof(cases) / sizeof(cases[0]); i++) {
		vt_test_case = cases[i].key;
		CHECK_STR(json_str_or(v, cases[i].key, "-"), cases[i].str);
		CHECK_EQ_U64(json_u64(v, cases[i].key), cases[i].u);
	}
	json_free(v);
}

VT_TEST_MAIN(VT_T(t_getters), VT_T(t_doubles), VT_T(t_writer_nesting), VT_T(t_escape_invalid_utf8), VT_T(t_writer_bound),
	     VT_T(t_parse_valid), VT_T(t_parse_errors), VT_T(t_parse_node_bound),
	     VT_T(t_roundtrip),
	     VT_T(t_parse_large_lists))
