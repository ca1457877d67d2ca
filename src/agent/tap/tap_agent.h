/* tap_agent.h — the tap engine inside `vtap agent`: the agent's [tap]
 * section turned into a tap_engine on the agent's event loop, the agent's
 * port hooks (every discovered port armed from its RTM_NEWLINK handler,
 * again when its VM identity changes, disarmed when it goes), the session
 * store kept in the state file, and the control API:
 *
 *	POST   /api/v1/sessions        one session object, a list, or
 *	                               {"sessions": [...]} (tap_session.h);
 *	                               201, 400 naming the field, 409 id in use
 *	GET    /api/v1/sessions        {"sessions": [entry...]}
 *	GET    /api/v1/sessions/{id}   entry + "ports" (per-port counters)
 *	DELETE /api/v1/sessions/{id}   200 {"deleted": id}, 404
 *
 * An entry is {"id", "name", "active", "error"?, "definition": {...},
 * "counters": {...}}. A session that cannot be applied when restored from
 * the state file (say its pcapng directory is gone) is kept, inactive,
 * with the reason: nothing the operator defined is dropped silently.
 *
 * Start-up order (docs/tap.md): the engine adopts the programs of a
 * previous run, the sessions are restored into their old slots (counters
 * continue), the ports the agent has already found are armed, then
 * filters left on links no longer tapped are swept. */
#ifndef VT_TAP_AGENT_H
#define VT_TAP_AGENT_H

#include "agent/agent.h"
#include "core/err.h"

struct tap_agent;

/* tap_agent_new() : all of the above for agent <a> (which must outlive
 * it) with its config <c>. NULL with <err> set (the state file that could
 * not be read or parsed is named). */
struct tap_agent *tap_agent_new(struct agent *a, const struct agent_conf *c, struct vt_err *err);
/* tap_agent_free() : the engine's clean stop (filters and the VXLAN device
 * removed); the state file stays. Call after agent_run() and before
 * agent_free(). Accepts NULL. */
void tap_agent_free(struct tap_agent *t);

#endif
