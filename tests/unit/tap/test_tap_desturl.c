/* Unit tests: src/agent/tap/tap_desturl — `--dest` URLs into the session's
 * "destination" object: the exact JSON for each form, URL syntax errors
 * naming --dest, and that what comes out is read by the session parser
 * (tap_session.c) as the destination meant — or refused naming the
 * destination field, as it would be from a file. */
#include <errno.h>
#include <stdlib.h>

#include "agent/tap/tap_desturl.h"
#include "agent/tap/tap_session.h"
#include "core/buf.h"
#include "core/json.h"
#include "vt_test.h"

/* url -> the object written, or "" with <err> containing <want_err> */
static const struct {
	const char *url;
	const char *json;
	const char *want_err;
} cases[] = {
	{ "vxlan://198.19.0.254?vni=100",
	  "{\"type\":\"vxlan\",\"remote\":\"198.19.0.254\",\"vni\":100}", NULL },
	{ "vxlan://198.19.0.254:8472?vni=7&encap=user",
	  "{\"type\":\"vxlan\",\"remote\":\"198.19.0.254\",\"port\":8472,\"vni\":7,\"encap\":\"user\"}",
	  NULL },
	{ "vxlan://[2001:db8::1]:4789?vni=5",
	  "{\"type\":\"vxlan\",\"remote\":\"2001:db8::1\",\"port\":4789,\"vni\":5}", NULL },
	{ "gre://10.0.0.1", "{\"type\":\"gre\",\"remote\":\"10.0.0.1\"}", NULL },
	{ "gre://10.0.0.1?key=42&mtu_policy=slice",
	  "{\"type\":\"gre\",\"remote\":\"10.0.0.1\",\"key\":42,\"mtu_policy\":\"slice\"}", NULL },
	{ "erspan3://10.0.0.1?session_id=300&hw_id=5",
	  "{\"type\":\"erspan3\",\"remote\":\"10.0.0.1\",\"session_id\":300,\"hw_id\":5}", NULL },
	{ "tzsp://10.0.0.1:37008", "{\"type\":\"tzsp\",\"remote\":\"10.0.0.1\",\"port\":37008}", NULL },
	{ "pcapng:/var/tap", "{\"type\":\"pcapng\",\"dir\":\"/var/tap\"}", NULL },
	{ "pcapng:/var/tap?file_size=64M&file_count=4",
	  "{\"type\":\"pcapng\",\"dir\":\"/var/tap\",\"file_size\":\"64M\",\"file_count\":4}", NULL },
	{ "ftp://10.0.0.1", NULL, "'ftp' is not vxlan" },
	{ "vxlan:/10.0.0.1", NULL, "--dest 'vxlan:/10.0.0.1': expected" },
	{ "vxlan://", NULL, "expected" },
	{ "vxlan://:4789", NULL, "expected" },
	{ "vxlan://10.0.0.1:", NULL, "expected" },
	{ "vxlan://10.0.0.1:99999", NULL, "port '99999' is not 1..65535" },
	{ "vxlan://10.0.0.1:x1", NULL, "port 'x1' is not 1..65535" },
	{ "vxlan://[2001:db8::1?vni=5", NULL, "expected" },
	{ "vxlan://10.0.0.1?vni", NULL, "expected" },
	{ "vxlan://10.0.0.1?=5", NULL, "expected" },
	{ "pcapng:", NULL, "expected" },
	{ "averyveryverylongscheme://1.2.3.4", NULL, "expected" },
};

static void t_urls(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vbuf b;
		struct jw w;
		struct vt_err err = { 0 };
		int rc;

		vbuf_init(&b, 4096);
		jw_init(&w, &b, false);
		rc = tap_dest_url_json(&w, NULL, cases[i].url, &err);
		if (cases[i].json) {
			CHECK_EQ(rc, 0);
			CHECK_STR(vbuf_str(&b), cases[i].json);
		} else {
			CHECK_EQ(rc, -EINVAL);
			CHECK_CONTAINS(err.msg, cases[i].want_err);
		}
		vbuf_free(&b);
	}
}

/* session JSON around a URL, through the real parser */
static int parse_with(const char *url, struct tap_session_def **v, struct vt_err *err)
{
	struct vbuf b;
	struct jw w;
	int n;

	vbuf_init(&b, 4096);
	jw_init(&w, &b, false);
	jw_obj_open(&w, NULL);
	jw_uint(&w, "id", 3);
	jw_str(&w, "target", "all");
	if (tap_dest_url_json(&w, "destination", url, err) < 0) {
		vbuf_free(&b);
		return -EINVAL;
	}
	jw_obj_close(&w);
	n = tap_sessions_parse((const char *)b.data, b.len, v, err);
	vbuf_free(&b);
	return n;
}

static void t_through_parser(void)
{
	static const struct {
		const char *url;
		enum tap_dest_type type;
		uint16_t port;
		uint32_t key;
		const char *want_err;
	} pc[] = {
		{ "vxlan://198.19.0.254?vni=100", TAP_DEST_VXLAN, 4789, 100, NULL },
		{ "vxlan://198.19.0.254:8472?vni=9&encap=user", TAP_DEST_VXLAN, 8472, 9, NULL },
		{ "gre://10.0.0.1?key=42", TAP_DEST_GRE, 0, 42, NULL },
		{ "erspan2://10.0.0.1?session_id=300", TAP_DEST_ERSPAN2, 0, 300, NULL },
		{ "tzsp://10.0.0.1", TAP_DEST_TZSP, 37008, 0, NULL },
		{ "vxlan://198.19.0.254?vni=99999999", 0, 0, 0, "destination.vni" },
		{ "vxlan://198.19.0.254?vni=1&colour=red", 0, 0, 0, "destination.colour: unknown key" },
		{ "gre://10.0.0.1:5000", 0, 0, 0, "destination.port" },
		{ "vxlan://not-an-ip?vni=1", 0, 0, 0, "destination.remote" },
		{ "erspan2://10.0.0.1?session_id=5000", 0, 0, 0, "destination.session_id" },
	};

	for (size_t i = 0; i < sizeof(pc) / sizeof(pc[0]); i++) {
		struct tap_session_def *v = NULL;
		struct vt_err err = { 0 };
		int n = parse_with(pc[i].url, &v, &err);

		if (pc[i].want_err) {
			CHECK(n < 0);
			CHECK_CONTAINS(err.msg, pc[i].want_err);
			continue;
		}
		CHECK_EQ(n, 1);
		if (n != 1) {
			fprintf(stderr, "  %s: %s\n", pc[i].url, err.msg);
			continue;
		}
		CHECK_EQ(v[0].dest.type, pc[i].type);
		if (pc[i].port)
			CHECK_EQ(v[0].dest.port, pc[i].port);
		if (pc[i].key)
			CHECK_EQ(v[0].dest.key, pc[i].key);
		tap_sessions_free(v, 1);
	}
}

VT_TEST_MAIN(VT_T(t_urls), VT_T(t_through_parser))
