/* agent_int.h — the agent daemon's private types, shared by agent.c (the
 * daemon) and agent_status.c (what the control API reports). Nothing else
 * includes this. */
#ifndef VT_AGENT_AGENT_INT_H
#define VT_AGENT_AGENT_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/agent.h"
#include "agent/capture.h"
#include "agent/control.h"
#include "agent/countonce.h"
#include "agent/exporter.h"
#include "agent/identity.h"
#include "agent/ports.h"
#include "agent/worker.h"
#include "core/evloop.h"
#include "nl/nlsock.h"

#define MAX_WORKERS 64
#define MAX_RETIRED 8

/* A VM port as the control thread sees it (struct port's priv). */
struct aport {
	struct port *p;
	struct worker_port *wp;        /* NULL when the capture could not be opened */
	struct vm_ident vm;            /* what its flows are exported with */
	enum id_source src;
	uint8_t id_mac[6];             /* the VM MAC the identity source gave */
	bool has_id_mac;
	char cap_err[VT_ERR_MSG_MAX];
	uint64_t added_ms;
	uint64_t arm_us;               /* link event received -> capture bound */
};

struct retired {
	struct co_mactab *t;
	uint64_t gen;
};

struct agent {
	const struct agent_conf *c;
	char host[64];
	struct evloop *ev;
	uint64_t started_ms;
	const struct cap_ops *ops;
	struct ports *ports;
	struct identity *id;
	struct exporter *exp;
	struct control *ctl;

	struct worker *workers[MAX_WORKERS];
	unsigned wload[MAX_WORKERS];
	unsigned nworkers;
	struct worker_shared sh;
	struct ev_io notify_io;
	struct retired retired[MAX_RETIRED];
	unsigned nretired;

	struct nl_sock *nl_ev, *nl_dump;
	struct ev_io nl_io;
	uint64_t ev_ns;                /* when the link events being handled arrived */
	struct ev_timer t_poll, t_house;
	struct agent_port_hooks hooks;
	bool stopping;

	struct {
		uint64_t link_events, resyncs, ports_added, ports_removed, capture_errors;
		uint64_t ident_changes, records, records_unexported, mac_compactions;
		uint64_t arm_us_last, arm_us_max;
	} st;
};

#endif
