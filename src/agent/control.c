/* control.c — the agent's HTTP control API (see control.h). */
#include "agent/control.h"

#include <errno.h>
#include <stdlib.h>

#include "agent/agent.h"
#include "core/json.h"
#include "core/log.h"
#include "http/http_route.h"
#include "http/prom.h"

#define BODY_MAX (64u << 20)

struct control {
	struct agent *a;
	struct http_router *router;
	struct http_server *srv;
};

static void answer(struct http_req *req, struct agent *a, void (*fill)(struct agent *, struct jw *),
		   bool wrap)
{
	struct vbuf b;
	struct jw w;

	vbuf_init(&b, BODY_MAX);
	jw_init(&w, &b, http_req_query(req, "pretty") != NULL);
	if (wrap)
		jw_obj_open(&w, NULL);
	fill(a, &w);
	if (wrap)
		jw_obj_close(&w);
	if (w.err) {
		vbuf_free(&b);
		http_respond_error(req, 500, "internal server error", "status larger than %u bytes",
				   BODY_MAX);
		return;
	}
	http_respond_json(req, 200, &b);
	vbuf_free(&b);
}

static void h_status(struct http_req *req, void *arg)
{
	answer(req, arg, agent_status_json, false);
}

static void h_ports(struct http_req *req, void *arg)
{
	answer(req, arg, agent_ports_json, true);
}

static void h_vms(struct http_req *req, void *arg)
{
	answer(req, arg, agent_vms_json, true);
}

static void h_refresh(struct http_req *req, void *arg)
{
	static const char body[] = "{\"refresh\":\"requested\"}";

	agent_identity_refresh(arg);
	http_respond(req, 202, "application/json", body, sizeof(body) - 1);
}

static void h_metrics(struct http_req *req, void *arg)
{
	struct vbuf b;
	struct prom p;

	vbuf_init(&b, BODY_MAX);
	prom_init(&p, &b);
	agent_metrics(arg, &p);
	if (prom_finish(&p) < 0) {
		vbuf_free(&b);
		http_respond_error(req, 500, "internal server error", "metrics could not be written");
		return;
	}
	http_respond_vbuf(req, 200, PROM_CONTENT_TYPE, &b);
	vbuf_free(&b);
}

struct control *control_new(struct evloop *ev, const struct http_server_conf *conf,
			    struct agent *a, struct vt_err *err)
{
	struct control *c = calloc(1, sizeof(*c));

	if (!c) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	c->a = a;
	c->router = http_router_new();
	if (!c->router || http_router_add(c->router, HTTP_GET, "/api/v1/status", h_status, a) < 0 ||
	    http_router_add(c->router, HTTP_GET, "/api/v1/ports", h_ports, a) < 0 ||
	    http_router_add(c->router, HTTP_GET, "/api/v1/vms", h_vms, a) < 0 ||
	    http_router_add(c->router, HTTP_POST, "/api/v1/identity/refresh", h_refresh, a) < 0 ||
	    http_router_add(c->router, HTTP_GET, "/metrics", h_metrics, a) < 0) {
		vt_err_set(err, -ENOMEM, "control API: cannot build its routes");
		goto fail;
	}
	c->srv = http_server_new(ev, conf, c->router);
	if (!c->srv) {
		vt_err_set(err, -errno, "control API: cannot create the server");
		goto fail;
	}
	if (http_server_listen_conf(c->srv, err) < 0)
		goto fail;
	return c;
fail:
	control_free(c);
	return NULL;
}

int control_route(struct control *c, int method, const char *pattern,
		  void (*fn)(struct http_req *req, void *arg), void *arg)
{
	return http_router_add(c->router, (enum http_method)method, pattern, fn, arg);
}

const char *control_addr(const struct control *c)
{
	const char *s = c ? http_server_addr(c->srv, 0) : NULL;
	return s ? s : "-";
}

void control_shutdown(struct control *c)
{
	if (c && c->srv)
		http_server_shutdown(c->srv);
}

void control_free(struct control *c)
{
	if (!c)
		return;
	http_server_free(c->srv);
	http_router_free(c->router);
	free(c);
}
