/* agent.h — `vtap agent`, the per-hypervisor daemon: discovers VM ports
 * (ports.h), knows their VMs (identity.h), taps them (capture.h) on a few
 * capture threads that count every packet once and meter flows
 * (worker.h, countonce.h), exports the flows (exporter.h) and answers its
 * control API (control.h). docs/agent.md describes it; the config keys are
 * declared here and generated into docs/reference/agent.conf.md. */
#ifndef VT_AGENT_AGENT_H
#define VT_AGENT_AGENT_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/json.h"
#include "core/opt.h"
#include "flow/flowrec.h"
#include "http/http_server.h"

/* ---- configuration --------------------------------------------------- */

#define AGENT_LIST_MAX 64
#define AGENT_COLLECTORS_MAX 8

/* A comma/space separated list in one key ("bridge = br0, br1"). */
struct agent_names {
	size_t n;
	char v[AGENT_LIST_MAX][IFNAMSIZ];
};
struct agent_globs {
	size_t n;
	char v[AGENT_LIST_MAX][64];
};
struct agent_urls {
	size_t n;
	char v[AGENT_COLLECTORS_MAX][128];
};

struct agent_conf {
	struct {
		char *name;                  /* host name in status and logs */
		uint64_t threads;            /* capture threads, 0 = automatic */
		int backend;                 /* index into agent_backends */
		int log_level;               /* enum log_level */
	} agent;
	struct {
		struct agent_names bridges;
		struct agent_names interfaces;
		struct agent_globs exclude;
		unsigned kinds;              /* enum port_kind mask */
		uint64_t max_ports;
	} ports;
	struct {
		uint64_t ring_size;          /* bytes per port */
		uint64_t snaplen;
		uint64_t block_timeout_ms;
	} capture;
	struct {
		char *libvirt;               /* URI, NULL/"" off */
		char *inventory;             /* path, NULL/"" off */
		bool alias;
		uint64_t refresh_ms, watch_ms, debounce_ms, max_vms;
	} identity;
	struct {
		uint64_t active_ms, idle_ms, fin_ms;
		uint64_t max_flows;          /* all threads together */
		uint64_t mac_table;          /* local MAC table entries */
		uint64_t flood_window_ms;    /* flooded copies closer than this are one frame */
		uint64_t record_queue;       /* records per thread waiting for export */
	} meter;
	struct {
		struct agent_urls collectors;
		int format;                  /* enum exp_format */
		uint64_t domain, mtu;
		uint64_t template_ms, template_every, stats_ms, flush_ms, queue;
	} export;
	struct {
		bool enable;
		int backend;                 /* index into agent_tap_backends */
		char *vxlan_device;          /* collect_md VXLAN device name */
		uint64_t vxlan_port;
		uint64_t ring_size;          /* eBPF ring / AF_PACKET ring per port */
		char *state;                 /* sessions state file; "" = none */
	} tap;
	struct http_server_conf control;
};

extern const struct conf_schema agent_conf_schema;
extern const char *const agent_backends[];   /* "afpacket", NULL */
extern const char *const agent_tap_backends[]; /* "ebpf", "afpacket", NULL (enum tap_backend) */
#define AGENT_DEFAULT_SOCKET "/run/vtap/agent.sock"

/* agent_conf_load() : defaults, the file <path> (NULL: none), then every
 * "section.key=value" of <set>. Errors name the file, line and key. */
int agent_conf_load(const char *path, const struct opt_strlist *set, struct agent_conf *c,
		    struct vt_err *err);
void agent_conf_free(struct agent_conf *c);

/* ---- the daemon ---------------------------------------------------------- */

struct agent;

/* The tap engine (mirror sessions, src/agent/tap/) plugs in here: the agent
 * owns its instance and hands it every port as it is discovered, with the
 * port's VM identity (again whenever the identity changes), and tells it
 * when the port goes away. */
struct agent_port_hooks {
	void *ctx;
	int (*arm)(void *ctx, uint32_t ifindex, const char *ifname, const struct vm_ident *vm);
	void (*disarm)(void *ctx, uint32_t ifindex, bool gone);
	/* optional: adds the engine's summary as member "tap" of the status
	 * document (GET /api/v1/status) */
	void (*status)(void *ctx, struct jw *w);
};

/* agent_new() : builds everything (threads started, sockets listening,
 * ports discovered) but does not run the loop. <c> must outlive the agent.
 * NULL with <err> set. */
struct agent *agent_new(const struct agent_conf *c, struct vt_err *err);
/* agent_set_port_hooks() : installs <h> (copied) and at once calls its
 * arm() for every port already discovered, with the identity known now;
 * later ports are armed from the RTM_NEWLINK handler. */
void agent_set_port_hooks(struct agent *a, const struct agent_port_hooks *h);
/* For a plug-in such as the tap engine: the agent's event loop (owned by
 * the agent; valid until agent_free), its host name, and a route on its
 * control API (-errno as http_router_add). */
struct evloop *agent_evloop(struct agent *a);
const char *agent_host(const struct agent *a);
int agent_route(struct agent *a, int method, const char *pattern,
		void (*fn)(struct http_req *req, void *arg), void *arg);
/* agent_run() : the event loop, until SIGTERM/SIGINT (SIGHUP reloads the
 * identity sources). Then every flow is exported. Returns 0 or -errno. */
int agent_run(struct agent *a);
/* agent_free() : accepts NULL. */
void agent_free(struct agent *a);

/* For the control API (control.c). */
void agent_status_json(struct agent *a, struct jw *w);
void agent_ports_json(struct agent *a, struct jw *w);
void agent_vms_json(struct agent *a, struct jw *w);
void agent_identity_refresh(struct agent *a);
struct prom;
void agent_metrics(struct agent *a, struct prom *p);

#endif
