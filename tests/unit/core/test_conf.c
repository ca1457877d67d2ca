/* Unit tests: lib/core/conf — declarative config keys and their errors. */
#include "core/conf.h"

#include <stddef.h>

#include "core/buf.h"
#include "core/timeutil.h"
#include "vt_test.h"

struct meter_sec {
	uint64_t idle_ms, active_ms, max_flows, buf;
	bool enabled;
	char *name;
	int mode;
	struct conf_strlist collectors;
	uint32_t port;
};

struct zone {
	char name[32];
	struct conf_strlist cidr;
};

struct root {
	struct meter_sec meter;
	struct zone zones[4];
	int nzones;
};

static const char *const modes[] = { "ipfix", "nfv9", NULL };

static int parse_port(const char *v, void *field, struct vt_err *err)
{
	uint64_t u;
	if (parse_u64(v, 1, 65535, &u) < 0)
		return vt_err_set(err, -EINVAL, "'%s' is not a port (1-65535)", v);
	*(uint32_t *)field = (uint32_t)u;
	return 0;
}

static const struct conf_key meter_keys[] = {
	{ "idle_timeout", CONF_DURATION, offsetof(struct meter_sec, idle_ms), 1000, 3600000, "15s", "idle", NULL, NULL, NULL, false },
	{ "active_timeout", CONF_DURATION, offsetof(struct meter_sec, active_ms), 1000, 86400000, "60s", "active", NULL, NULL, NULL, false },
	{ "max_flows", CONF_UINT, offsetof(struct meter_sec, max_flows), 16, 100000000, "1000000", "bound", NULL, NULL, NULL, false },
	{ "buffer", CONF_SIZE, offsetof(struct meter_sec, buf), 4096, 1ull << 30, "4M", "buffer", NULL, NULL, NULL, false },
	{ "enabled", CONF_BOOL, offsetof(struct meter_sec, enabled), 0, 0, "yes", "on", NULL, NULL, NULL, false },
	{ "name", CONF_STR, offsetof(struct meter_sec, name), 1, 16, NULL, "name", NULL, NULL, NULL, false },
	{ "mode", CONF_ENUM, offsetof(struct meter_sec, mode), 0, 0, "ipfix", "mode", modes, NULL, NULL, false },
	{ "collector", CONF_STRLIST, offsetof(struct meter_sec, collectors), 0, 3, "udp://127.0.0.1:4739", "collectors", NULL, NULL, NULL, false },
	{ "port", CONF_CUSTOM, offsetof(struct meter_sec, port), 0, 0, "4739", "port", NULL, parse_port, "port", false },
};

static const struct conf_key zone_keys[] = {
	{ "cidr", CONF_STRLIST, offsetof(struct zone, cidr), 0, 8, NULL, "networks", NULL, NULL, NULL, false },
};

static void *zone_instance(void *root, const char *name, struct vt_err *err)
{
	struct root *r = root;
	for (int i = 0; i < r->nzones; i++)
		if (strcmp(r->zones[i].name, name) == 0) {
			vt_err_set(err, -EEXIST, "zone defined twice");
			return NULL;
		}
	if (r->nzones >= 4) {
		vt_err_set(err, -E2BIG, "more than 4 zones");
		return NULL;
	}
	struct zone *z = &r->zones[r->nzones++];
	snprintf(z->name, sizeof(z->name), "%s", name);
	return z;
}

static const struct conf_section secs[] = {
	{ "meter", "metering", meter_keys, sizeof(meter_keys) / sizeof(meter_keys[0]), offsetof(struct root, meter), NULL },
	{ "zone", "zones", zone_keys, 1, 0, zone_instance },
};

static void free_root(struct root *r)
{
	conf_free(secs, 2, r);
	for (int i = 0; i < r->nzones; i++)
		conf_free_section(&secs[1], &r->zones[i]);
}

static int parse(struct root *r, const char *text, struct vt_err *err)
{
	memset(r, 0, sizeof(*r));
	CHECK_EQ(conf_defaults(secs, 2, r, err), 0);
	return conf_parse(text, strlen(text), "t.conf", secs, 2, r, err);
}

static void t_defaults(void)
{
	struct root r;
	struct vt_err err = { 0 };

	CHECK_EQ(parse(&r, "", &err), 0);
	CHECK_EQ_U64(r.meter.idle_ms, 15000);
	CHECK_EQ_U64(r.meter.active_ms, 60000);
	CHECK_EQ_U64(r.meter.max_flows, 1000000);
	CHECK_EQ_U64(r.meter.buf, 4u << 20);
	CHECK(r.meter.enabled);
	CHECK(r.meter.name == NULL);
	CHECK_EQ(r.meter.mode, 0);
	CHECK_EQ(r.meter.collectors.n, 1);
	CHECK_STR(r.meter.collectors.v[0], "udp://127.0.0.1:4739");
	CHECK_EQ(r.meter.port, 4739);
	free_root(&r);
}

static void t_values(void)
{
	struct root r;
	struct vt_err err = { 0 };
	const char *text =
		"# a comment\n"
		"[meter]\n"
		"  idle_timeout = 5s   # inline comment\n"
		"active_timeout=2m\n"
		"; another comment\n"
		"enabled = off\n"
		"name = \" padded\"\n"
		"mode = nfv9\n"
		"collector = tcp://a:1\t# first\n"
		"collector = udp://b:2 # a list gains no '#' entries\n"
		"port = 2055\n"
		"[zone web]\n"
		"cidr = 10.0.0.0/8\n"
		"[zone \"db tier\"]\n"
		"cidr = 10.1.0.0/16\n"
		"cidr = 10.2.0.0/16\n";
	/* inline comments: '#' after blank space, outside quotes */
	static const struct { const char *text; const char *want; } names[] = {
		{ "[meter]\nname = a#b\n", "a#b" },
		{ "[meter]\nname = \"x # y\"  # c\n", "x # y" },
		{ "[meter]\nname = abc #\n", "abc" },
		{ "[meter]\nname = \"#q\"\n", "#q" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		CHECK_EQ(parse(&r, names[i].text, &err), 0);
		CHECK_STR(r.meter.name, names[i].want);
		free_root(&r);
	}
	CHECK_EQ(parse(&r, text, &err), 0);
	CHECK_STR(err.msg, "");
	CHECK_EQ_U64(r.meter.idle_ms, 5000);
	CHECK_EQ_U64(r.meter.active_ms, 120000);
	CHECK(!r.meter.enabled);
	CHECK_STR(r.meter.name, " padded");
	CHECK_EQ(r.meter.mode, 1);
	/* the file's list replaces the default list */
	CHECK_EQ(r.meter.collectors.n, 2);
	CHECK_STR(r.meter.collectors.v[1], "udp://b:2");
	CHECK_EQ(r.meter.port, 2055);
	CHECK_EQ(r.nzones, 2);
	CHECK_STR(r.zones[1].name, "db tier");
	CHECK_EQ(r.zones[1].cidr.n, 2);
	free_root(&r);
}

static void t_errors_name_key_and_line(void)
{
	static const struct { const char *text; const char *want; } cases[] = {
		{ "[meter]\nidle_timeout = 5x\n", "t.conf:2: [meter] idle_timeout: '5x' is not a duration" },
		{ "[meter]\nidle_timeout = 500ms\n", "t.conf:2: [meter] idle_timeout: 500ms is out of range" },
		{ "[meter]\nidle_timout = 5s\n", "t.conf:2: unknown key 'idle_timout' in [meter] (did you mean 'idle_timeout'?)" },
		{ "[meter]\nmax_flows = 10\n", "t.conf:2: [meter] max_flows: 10 is out of range [16, 100000000]" },
		{ "[meter]\nmax_flows = lots\n", "max_flows: 'lots' is not an integer" },
		{ "[meter]\nenabled = maybe\n", "enabled: 'maybe' is not a boolean" },
		{ "[meter]\nmode = sflow\n", "mode: 'sflow' is not one of: ipfix, nfv9" },
		{ "[meter]\nname = a-very-long-name-indeed\n", "name: longer than 16 characters" },
		{ "[meter]\nport = 70000\n", "t.conf:2: [meter] port: '70000' is not a port" },
		{ "[meter]\nbuffer = 1k\n", "buffer: 1k is out of range" },
		{ "[meter]\ncollector=a\ncollector=b\ncollector=c\ncollector=d\n", "t.conf:5: [meter] collector: more than 3 entries" },
		{ "[meter]\nmode = ipfix\nmode = nfv9\n", "t.conf:3: [meter] mode: already set on line 2" },
		{ "idle_timeout = 5s\n", "t.conf:1: key 'idle_timeout' before any [section]" },
		{ "[metre]\n", "t.conf:1: unknown section [metre]" },
		{ "[meter\n", "t.conf:1: malformed section header" },
		{ "[meter]\njunk\n", "t.conf:2: expected 'key = value'" },
		{ "[zone]\n", "t.conf:1: section [zone] needs a name" },
		{ "[meter x]\n", "t.conf:1: section [meter] takes no name" },
		{ "[zone a]\n[zone a]\n", "t.conf:2: [zone a]: zone defined twice" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct root r;
		struct vt_err err = { 0 };
		CHECK(parse(&r, cases[i].text, &err) < 0);
		CHECK_CONTAINS(err.msg, cases[i].want);
		free_root(&r);
	}
}

static void t_override(void)
{
	struct root r;
	struct vt_err err = { 0 };

	CHECK_EQ(parse(&r, "", &err), 0);
	CHECK_EQ(conf_set("meter.idle_timeout=30s", secs, 2, &r, &err), 0);
	CHECK_EQ_U64(r.meter.idle_ms, 30000);
	CHECK(conf_set("meter.idle=30s", secs, 2, &r, &err) < 0);
	CHECK_CONTAINS(err.msg, "unknown key 'idle'");
	CHECK(conf_set("meter.idle_timeout=forever", secs, 2, &r, &err) < 0);
	CHECK_CONTAINS(err.msg, "[meter] idle_timeout: 'forever' is not a duration");
	CHECK(conf_set("nodot", secs, 2, &r, &err) < 0);
	CHECK_CONTAINS(err.msg, "expected section.key=value");
	/* lists: '=' replaces the default, '+=' appends */
	CHECK_EQ(r.meter.collectors.n, 1);
	CHECK_EQ(conf_set("meter.collector=tcp://x:1", secs, 2, &r, &err), 0);
	CHECK_EQ(r.meter.collectors.n, 1);
	CHECK_STR(r.meter.collectors.v[0], "tcp://x:1");
	CHECK_EQ(conf_set("meter.collector+=udp://y:2", secs, 2, &r, &err), 0);
	CHECK_EQ(r.meter.collectors.n, 2);
	CHECK_STR(r.meter.collectors.v[1], "udp://y:2");
	CHECK(conf_set("meter.mode+=nfv9", secs, 2, &r, &err) < 0);
	CHECK_CONTAINS(err.msg, "[meter] mode is not a list");
	free_root(&r);
}

static const struct conf_key req_keys[] = {
	{ "uri", CONF_STR, 0, 3, 64, NULL, "where to connect", NULL, NULL, NULL, true },
};
static const struct conf_section req_secs[] = {
	{ "x", "", req_keys, 1, 0, NULL },
};

static void t_required_without_file(void)
{
	char *uri = NULL;
	struct vt_err err = { 0 };

	/* no file at all: the defaults apply, but a required key is missing */
	CHECK(conf_load(NULL, req_secs, 1, &uri, &err) < 0);
	CHECK_CONTAINS(err.msg, "(no config file): [x] uri is required (where to connect)");
	vt_err_clear(&err);
	CHECK(conf_parse("[x]\nuri = ab\n", 12, "r.conf", req_secs, 1, &uri, &err) < 0);
	CHECK_CONTAINS(err.msg, "r.conf:2: [x] uri: shorter than 3 characters");
	vt_err_clear(&err);
	CHECK_EQ(conf_parse("[x]\nuri = abc\n", 13, "r.conf", req_secs, 1, &uri, &err), 0);
	CHECK_STR(uri, "abc");
	free(uri);
}

static void t_doc(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);

	conf_doc_markdown(fp, "Test", secs, 2);
	fclose(fp);
	CHECK_CONTAINS(text, "## [meter]");
	CHECK_CONTAINS(text, "| `idle_timeout` | duration | `15s` | 1000ms..3600000ms | idle |");
	CHECK_CONTAINS(text, "## [zone NAME]");
	CHECK_CONTAINS(text, "`ipfix`, `nfv9`");
	free(text);
}

/* A big file: a list key repeated hundreds of times, then more keys. What
 * was set where (duplicates, first occurrence of a list, required keys)
 * must be tracked for the whole file, not for its first few hundred keys. */
struct big {
	struct conf_strlist l, m;
	int e;
	uint64_t req;
};
static const struct conf_key big_keys[] = {
	{ "l", CONF_STRLIST, offsetof(struct big, l), 0, 0, "default", "list", NULL, NULL, NULL, false },
	{ "m", CONF_STRLIST, offsetof(struct big, m), 0, 0, "default", "list", NULL, NULL, NULL, false },
	{ "e", CONF_ENUM, offsetof(struct big, e), 0, 0, "ipfix", "mode", modes, NULL, NULL, false },
	{ "req", CONF_UINT, offsetof(struct big, req), 0, 10, NULL, "required", NULL, NULL, NULL, true },
};
static const struct conf_section big_secs[] = {
	{ "s", "big", big_keys, sizeof(big_keys) / sizeof(big_keys[0]), 0, NULL },
};

static int parse_big(struct big *b, unsigned nl, const char *tail, struct vt_err *err)
{
	struct vbuf t;
	int r;

	vbuf_init(&t, 1 << 20);
	vbuf_adds(&t, "[s]\n");
	for (unsigned i = 0; i < nl; i++)
		vbuf_printf(&t, "l = v%u\n", i);
	vbuf_adds(&t, tail);
	memset(b, 0, sizeof(*b));
	CHECK_EQ(conf_defaults(big_secs, 1, b, err), 0);
	r = conf_parse(vbuf_str(&t), t.len, "big.conf", big_secs, 1, b, err);
	vbuf_free(&t);
	return r;
}

static void t_many_keys(void)
{
	struct big b;
	struct vt_err err = { 0 };

	/* a required key after 600 list entries is found */
	CHECK_EQ(parse_big(&b, 600, "req = 3\n", &err), 0);
	CHECK_STR(err.msg, "");
	CHECK_EQ(b.l.n, 600);
	if (b.l.n == 600)
		CHECK_STR(b.l.v[599], "v599");
	CHECK_EQ_U64(b.req, 3);
	conf_free(big_secs, 1, &b);
	/* a second list first seen that late replaces its default once and
	 * then grows */
	CHECK_EQ(parse_big(&b, 600, "m = a\nm = b\nm = c\nreq = 1\n", &err), 0);
	CHECK_EQ(b.m.n, 3);
	if (b.m.n == 3) {
		CHECK_STR(b.m.v[0], "a");
		CHECK_STR(b.m.v[2], "c");
	}
	conf_free(big_secs, 1, &b);
	/* a key set twice that late is still an error */
	CHECK(parse_big(&b, 600, "req = 1\ne = nfv9\ne = ipfix\n", &err) < 0);
	CHECK_CONTAINS(err.msg, "big.conf:604: [s] e: already set on line 603");
	conf_free(big_secs, 1, &b);
	/* and a missing required key is still reported */
	CHECK(parse_big(&b, 600, "", &err) < 0);
	CHECK_CONTAINS(err.msg, "big.conf: [s] req is required");
	conf_free(big_secs, 1, &b);
}

VT_TEST_MAIN(VT_T(t_defaults), VT_T(t_values), VT_T(t_errors_name_key_and_line),
	     VT_T(t_override), VT_T(t_required_without_file), VT_T(t_doc), VT_T(t_many_keys))
