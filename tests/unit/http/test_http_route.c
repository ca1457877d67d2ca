/* Unit tests: lib/http/http_route — patterns, parameters, precedence,
 * 404/405/OPTIONS with Allow, HEAD falling back to GET. */
#include "http/http_route.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vt_test.h"

/* Handlers are identified by their arg: a string naming the route. */
static void h(struct http_req *req, void *arg)
{
	(void)req;
	(void)arg;
}

static const struct {
	enum http_method m;
	const char *pattern;
	const char *id;
} routes[] = {
	{ HTTP_GET, "/", "root" },
	{ HTTP_GET, "/api/v1/vms", "vms" },
	{ HTTP_POST, "/api/v1/vms", "vms-post" },
	{ HTTP_GET, "/api/v1/vms/{id}", "vm" },
	{ HTTP_DELETE, "/api/v1/vms/{id}", "vm-del" },
	{ HTTP_GET, "/api/v1/vms/top", "vms-top" },
	{ HTTP_GET, "/api/v1/vms/{id}/flows/{dir}", "vm-flows" },
	{ HTTP_GET, "/api/v1/{kind}/count", "count" },
	{ HTTP_HEAD, "/api/v1/ping", "ping-head" },
	{ HTTP_GET, "/api/v1/ping", "ping" },
	{ HTTP_GET, "/ui/{path*}", "ui" },
	{ HTTP_GET, "/ui/app/{name}", "ui-app" },
	{ HTTP_PUT, "/files/", "files-slash" },
};

static const struct {
	enum http_method m;
	const char *path;
	int res;
	const char *id;            /* matched route (arg) */
	const char *params;        /* "name=value;" */
	const char *allow;         /* for 405 / OPTIONS */
} cases[] = {
	{ HTTP_GET, "/", HTTP_MATCH_OK, "root", "", NULL },
	{ HTTP_GET, "/api/v1/vms", HTTP_MATCH_OK, "vms", "", NULL },
	{ HTTP_POST, "/api/v1/vms", HTTP_MATCH_OK, "vms-post", "", NULL },
	{ HTTP_GET, "/api/v1/vms/web-1", HTTP_MATCH_OK, "vm", "id=web-1;", NULL },
	{ HTTP_DELETE, "/api/v1/vms/web-1", HTTP_MATCH_OK, "vm-del", "id=web-1;", NULL },
	/* literal beats parameter whatever the registration order */
	{ HTTP_GET, "/api/v1/vms/top", HTTP_MATCH_OK, "vms-top", "", NULL },
	/* ... but only among routes of the method */
	{ HTTP_DELETE, "/api/v1/vms/top", HTTP_MATCH_OK, "vm-del", "id=top;", NULL },
	{ HTTP_GET, "/api/v1/vms/a%20b%2Fc", HTTP_MATCH_OK, "vm", "id=a b/c;", NULL },
	{ HTTP_GET, "/api/v1/vms/%E2%82%AC", HTTP_MATCH_OK, "vm", "id=\xe2\x82\xac;", NULL },
	{ HTTP_GET, "/api/v1/vms/x/flows/in", HTTP_MATCH_OK, "vm-flows", "id=x;dir=in;", NULL },
	{ HTTP_GET, "/api/v1/exporters/count", HTTP_MATCH_OK, "count", "kind=exporters;", NULL },
	/* a literal earlier in the path wins over a parameter there */
	{ HTTP_GET, "/api/v1/vms/count", HTTP_MATCH_OK, "vm", "id=count;", NULL },
	{ HTTP_HEAD, "/api/v1/ping", HTTP_MATCH_OK, "ping-head", "", NULL },
	{ HTTP_HEAD, "/api/v1/vms/x", HTTP_MATCH_OK, "vm", "id=x;", NULL },
	{ HTTP_GET, "/ui", HTTP_MATCH_OK, "ui", "path=;", NULL },
	{ HTTP_GET, "/ui/", HTTP_MATCH_OK, "ui", "path=;", NULL },
	{ HTTP_GET, "/ui/js/app.js", HTTP_MATCH_OK, "ui", "path=js/app.js;", NULL },
	{ HTTP_GET, "/ui/app/main", HTTP_MATCH_OK, "ui-app", "name=main;", NULL },
	{ HTTP_GET, "/ui/app/main/x", HTTP_MATCH_OK, "ui", "path=app/main/x;", NULL },
	{ HTTP_GET, "/ui/a%20b/c", HTTP_MATCH_OK, "ui", "path=a b/c;", NULL },
	{ HTTP_PUT, "/files/", HTTP_MATCH_OK, "files-slash", "", NULL },

	{ HTTP_GET, "/nope", HTTP_MATCH_NOT_FOUND, NULL, NULL, NULL },
	{ HTTP_GET, "/api/v1/vms/", HTTP_MATCH_NOT_FOUND, NULL, NULL, NULL },
	{ HTTP_GET, "/api/v1/vms/x/y", HTTP_MATCH_NOT_FOUND, NULL, NULL, NULL },
	{ HTTP_GET, "/API/v1/vms", HTTP_MATCH_NOT_FOUND, NULL, NULL, NULL },
	{ HTTP_GET, "/files", HTTP_MATCH_NOT_FOUND, NULL, NULL, NULL },
	/* a decoded '/' may not hide inside a rest parameter */
	{ HTTP_GET, "/ui/a%2Fb", HTTP_MATCH_NOT_FOUND, NULL, NULL, NULL },

	{ HTTP_PUT, "/api/v1/vms", HTTP_MATCH_NO_METHOD, NULL, NULL, "GET, HEAD, POST, OPTIONS" },
	{ HTTP_POST, "/api/v1/vms/x", HTTP_MATCH_NO_METHOD, NULL, NULL,
	  "GET, HEAD, DELETE, OPTIONS" },
	{ HTTP_DELETE, "/", HTTP_MATCH_NO_METHOD, NULL, NULL, "GET, HEAD, OPTIONS" },
	{ HTTP_GET, "/files/", HTTP_MATCH_NO_METHOD, NULL, NULL, "PUT, OPTIONS" },
	{ HTTP_OPTIONS, "/api/v1/vms/top", HTTP_MATCH_OPTIONS, NULL, NULL,
	  "GET, HEAD, DELETE, OPTIONS" },
	{ HTTP_OPTIONS, "/missing", HTTP_MATCH_NOT_FOUND, NULL, NULL, NULL },
};

static void t_match(void)
{
	struct http_router *r = http_router_new();

	CHECK(r != NULL);
	for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
		CHECK_EQ(http_router_add(r, routes[i].m, routes[i].pattern, h, (void *)routes[i].id), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct http_match m;
		char params[256] = "";
		int res = http_router_match(r, cases[i].m, cases[i].path, &m);

		vt_test_case = cases[i].path;
		CHECK_EQ(res, cases[i].res);
		if (res == HTTP_MATCH_OK) {
			CHECK(m.fn == h);
			CHECK_STR(m.arg, cases[i].id);
			for (size_t k = 0; k < m.nparams; k++) {
				size_t n = strlen(params);
				snprintf(params + n, sizeof(params) - n, "%s=%s;", m.names[k], m.values[k]);
			}
			CHECK_STR(params, cases[i].params);
			if (m.nparams)
				CHECK_STR(http_match_param(&m, m.names[0]), m.values[0]);
			CHECK(http_match_param(&m, "nope") == NULL);
		}
		if (cases[i].allow)
			CHECK_STR(m.allow, cases[i].allow);
		http_match_free(&m);
	}
	vt_test_case = "t_match";
	http_router_free(r);
}

static void t_add_errors(void)
{
	static const struct {
		const char *pattern;
		int ret;
	} bad[] = {
		{ "/ok/{a}/{b}", 0 },
		{ "no-slash", -EINVAL },
		{ "/a/{}", -EINVAL },
		{ "/a/{x*}/b", -EINVAL },       /* rest parameter not last */
		{ "/a/{x}/{x}", -EINVAL },      /* the same name twice */
		{ "/a//b", -EINVAL },           /* empty segment inside */
		{ "/a/{b c}", -EINVAL },
		{ "/a/b%20c", -EINVAL },        /* literals are written decoded */
		{ "/a/x{y}", -EINVAL },
		{ "/a/{1}/{2}/{3}/{4}/{5}/{6}/{7}/{8}/{9}", -EINVAL }, /* > HTTP_MAX_PARAMS */
		{ "/ok/{c}/{d}", -EEXIST },     /* same shape as the first */
	};
	struct http_router *r = http_router_new();

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		vt_test_case = bad[i].pattern;
		CHECK_EQ(http_router_add(r, HTTP_GET, bad[i].pattern, h, NULL), bad[i].ret);
	}
	vt_test_case = "t_add_errors";
	/* same shape, another method: fine */
	CHECK_EQ(http_router_add(r, HTTP_POST, "/ok/{c}/{d}", h, NULL), 0);
	CHECK_EQ(http_router_add(r, HTTP_METHOD_COUNT, "/x", h, NULL), -EINVAL);
	CHECK_EQ(http_router_add(r, HTTP_GET, "/x", NULL, NULL), -EINVAL);
	http_router_free(r);

	/* the table is bounded */
	r = http_router_new();
	char p[64];
	for (int i = 0; i < HTTP_MAX_ROUTES; i++) {
		snprintf(p, sizeof(p), "/r%d", i);
		CHECK_EQ(http_router_add(r, HTTP_GET, p, h, NULL), 0);
	}
	CHECK_EQ(http_router_add(r, HTTP_GET, "/one-more", h, NULL), -ENOSPC);
	http_router_free(r);
	http_router_free(NULL);
}

VT_TEST_MAIN(VT_T(t_match), VT_T(t_add_errors))
