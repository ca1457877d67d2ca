/* control.h — the agent's control API: lib/http on a UNIX socket (default
 * /run/vtap/agent.sock; a TCP listener may be added), on the agent's event
 * loop. `vtap agent status` is its client.
 *
 *	GET  /api/v1/status             everything below, plus the agent itself,
 *	                                 flows, export and identity-source state
 *	GET  /api/v1/ports              {"ports": [...]}
 *	GET  /api/v1/vms                {"vms": [...]}
 *	POST /api/v1/identity/refresh   reload the identity sources (as SIGHUP)
 *	GET  /metrics                   Prometheus text format
 *	.../api/v1/sessions             mirror sessions, when [tap] enable
 *	                                 (src/agent/tap/tap_agent.h)
 *
 * Handlers only read the control thread's state, so they never block. */
#ifndef VT_AGENT_CONTROL_H
#define VT_AGENT_CONTROL_H

#include "core/err.h"
#include "core/evloop.h"
#include "http/http_server.h"

struct agent;
struct control;

/* control_new() : routes, server and listeners (<conf> is copied).
 * NULL with <err> naming the address that failed. */
struct control *control_new(struct evloop *ev, const struct http_server_conf *conf,
			    struct agent *a, struct vt_err *err);
/* control_route() : one more route (a plug-in's), as http_router_add. */
int control_route(struct control *c, int method, const char *pattern,
		  void (*fn)(struct http_req *req, void *arg), void *arg);
/* control_addr() : the first listener's address ("unix:/run/vtap/agent.sock"). */
const char *control_addr(const struct control *c);
/* control_shutdown() : stop accepting; finish answers in progress. */
void control_shutdown(struct control *c);
/* control_free() : closes listeners (removing the socket file) and
 * connections. Accepts NULL. */
void control_free(struct control *c);

#endif
