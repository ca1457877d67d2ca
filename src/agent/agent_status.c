/* agent_status.c — what the agent reports through its control API: the
 * status document (GET /api/v1/status), the port and VM listings and the
 * Prometheus metrics. Runs on the control thread and only reads: the
 * per-port and per-worker counters are relaxed atomics written by the
 * capture threads. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/agent_int.h"
#include "core/compiler.h"
#include "core/timeutil.h"
#include "http/prom.h"

static const char *const end_names[6] = { "unknown", "idle", "active", "end_of_flow",
					  "forced", "lack_of_resources" };

static uint64_t ld(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void vm_json(struct jw *w, const char *key, const struct aport *ap)
{
	char u[VT_UUIDSTRLEN];

	if (ap->src == ID_SRC_NONE) {
		jw_null(w, key);
		return;
	}
	jw_obj_open(w, key);
	jw_str(w, "name", ap->vm.name[0] ? ap->vm.name : NULL);
	jw_str(w, "uuid", uuid_is_nil(ap->vm.uuid) ? NULL : uuid_fmt(ap->vm.uuid, u, sizeof(u)));
	jw_obj_close(w);
}

static void port_json(struct agent *a, struct jw *w, const struct port *p)
{
	const struct aport *ap = p->priv;
	char m[VT_MACSTRLEN];
	uint8_t vm_macs[8][6];
	unsigned n;

	jw_obj_open(w, NULL);
	jw_str(w, "name", p->name);
	jw_uint(w, "ifindex", p->ifindex);
	jw_uint(w, "slot", p->slot);
	jw_str(w, "type", port_kind_name(p->kind));
	jw_str(w, "bridge", p->bridge[0] ? p->bridge : NULL);
	jw_bool(w, "explicit", p->explicit_if);
	jw_str(w, "mac", p->has_mac ? mac_fmt(p->mac, m, sizeof(m)) : NULL);
	jw_bool(w, "up", p->up);
	if (p->alias[0])
		jw_str(w, "alias", p->alias);
	if (!ap) {
		jw_obj_close(w);
		return;
	}
	vm_json(w, "vm", ap);
	jw_str(w, "identity_source", id_source_name(ap->src));
	/* the MACs the VM sends from (identity + learned), local for count once */
	n = co_mac_list(atomic_load(&a->sh.macs), p->slot, vm_macs, 8);
	jw_arr_open(w, "vm_macs");
	for (unsigned i = 0; i < VT_MIN(n, 8u); i++)
		jw_str(w, NULL, mac_fmt(vm_macs[i], m, sizeof(m)));
	jw_arr_close(w);
	jw_uint(w, "since_ms", ap->added_ms);
	jw_uint(w, "tap_latency_us", ap->arm_us);
	jw_bool(w, "tapped", ap->wp != NULL);
	if (ap->cap_err[0])
		jw_str(w, "capture_error", ap->cap_err);
	if (ap->wp) {
		const struct port_ctr *c = &ap->wp->ctr;
		jw_uint(w, "worker", ap->wp->worker);
		jw_uint(w, "frames_in", ld(&c->frames_in));
		jw_uint(w, "frames_out", ld(&c->frames_out));
		jw_uint(w, "frames_counted", ld(&c->counted));
		jw_uint(w, "packets", ld(&c->packets));
		jw_uint(w, "bytes", ld(&c->bytes));
		jw_uint(w, "gso_frames", ld(&c->gso_frames));
		jw_obj_open(w, "skipped");
		for (int v = 1; v < CO_VERDICT__COUNT; v++)
			jw_uint(w, co_verdict_name((enum co_verdict)v), ld(&c->skipped[v]));
		jw_obj_close(w);
		jw_uint(w, "not_ip", ld(&c->not_ip));
		jw_uint(w, "undecodable", ld(&c->bad));
		jw_uint(w, "dropped", ld(&c->kernel_drops));
		jw_uint(w, "kernel_received", ld(&c->kernel_received));
		if (ld(&c->first_ms))
			jw_uint(w, "first_frame_ms", ld(&c->first_ms));
		if (ld(&c->last_ms))
			jw_uint(w, "last_frame_ms", ld(&c->last_ms));
	}
	jw_obj_close(w);
}

void agent_ports_json(struct agent *a, struct jw *w)
{
	jw_arr_open(w, "ports");
	for (size_t i = 0; i < ports_count(a->ports); i++)
		port_json(a, w, ports_at(a->ports, i));
	jw_arr_close(w);
}

static bool same_vm(const struct aport *x, const struct aport *y)
{
	if (!uuid_is_nil(x->vm.uuid) || !uuid_is_nil(y->vm.uuid))
		return memcmp(x->vm.uuid, y->vm.uuid, 16) == 0;
	return strcmp(x->vm.name, y->vm.name) == 0;
}

/* VMs with a port on this host, each once, with its ports. */
void agent_vms_json(struct agent *a, struct jw *w)
{
	size_t n = ports_count(a->ports);

	jw_arr_open(w, "vms");
	for (size_t i = 0; i < n; i++) {
		const struct aport *ap = ports_at(a->ports, i)->priv;
		bool dup = false;
		char u[VT_UUIDSTRLEN];

		if (!ap || ap->src == ID_SRC_NONE)
			continue;
		for (size_t k = 0; k < i && !dup; k++) {
			const struct aport *o = ports_at(a->ports, k)->priv;
			dup = o && o->src != ID_SRC_NONE && same_vm(o, ap);
		}
		if (dup)
			continue;
		jw_obj_open(w, NULL);
		jw_str(w, "name", ap->vm.name[0] ? ap->vm.name : NULL);
		jw_str(w, "uuid", uuid_is_nil(ap->vm.uuid) ? NULL : uuid_fmt(ap->vm.uuid, u, sizeof(u)));
		jw_str(w, "source", id_source_name(ap->src));
		jw_arr_open(w, "ports");
		for (size_t k = i; k < n; k++) {
			const struct aport *o = ports_at(a->ports, k)->priv;
			if (o && o->src != ID_SRC_NONE && same_vm(o, ap))
				jw_str(w, NULL, o->p->name);
		}
		jw_arr_close(w);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	/* ports with no known VM: metered all the same */
	jw_arr_open(w, "unknown_ports");
	for (size_t i = 0; i < n; i++) {
		const struct port *p = ports_at(a->ports, i);
		const struct aport *ap = p->priv;
		if (ap && ap->src == ID_SRC_NONE)
			jw_str(w, NULL, p->name);
	}
	jw_arr_close(w);
}

static void flows_json(struct agent *a, struct jw *w)
{
	struct worker_stats t, s;

	memset(&t, 0, sizeof(t));
	for (unsigned i = 0; i < a->nworkers; i++) {
		worker_get_stats(a->workers[i], &s);
		t.frames += s.frames;
		t.ip_frames += s.ip_frames;
		t.non_ip += s.non_ip;
		t.failed += s.failed;
		t.packets += s.packets;
		t.bytes += s.bytes;
		t.gso_frames += s.gso_frames;
		t.records += s.records;
		t.records_dropped += s.records_dropped;
		t.record_waits += s.record_waits;
		t.active_flows += s.active_flows;
		t.peak_flows += s.peak_flows;
		t.flows_created += s.flows_created;
		t.evicted += s.evicted;
		for (int k = 0; k < 6; k++)
			t.ended[k] += s.ended[k];
	}
	jw_obj_open(w, "flows");
	jw_uint(w, "active", t.active_flows);
	jw_uint(w, "peak", t.peak_flows);
	jw_uint(w, "created", t.flows_created);
	jw_uint(w, "records", t.records);
	jw_uint(w, "records_lost", t.records_dropped);
	jw_uint(w, "record_waits", t.record_waits);
	jw_obj_open(w, "ended");
	for (int k = 1; k < 6; k++)
		jw_uint(w, end_names[k], t.ended[k]);
	jw_obj_close(w);
	jw_uint(w, "frames", t.frames);
	jw_uint(w, "ip_frames", t.ip_frames);
	jw_uint(w, "non_ip_frames", t.non_ip);
	jw_uint(w, "undecodable_frames", t.failed);
	jw_uint(w, "packets", t.packets);
	jw_uint(w, "bytes", t.bytes);
	jw_uint(w, "gso_frames", t.gso_frames);
	jw_obj_close(w);
	jw_arr_open(w, "workers");
	for (unsigned i = 0; i < a->nworkers; i++) {
		worker_get_stats(a->workers[i], &s);
		jw_obj_open(w, NULL);
		jw_uint(w, "index", i);
		jw_uint(w, "ports", s.ports);
		jw_uint(w, "frames", s.frames);
		jw_uint(w, "active_flows", s.active_flows);
		jw_uint(w, "loops", s.loops);
		jw_obj_close(w);
	}
	jw_arr_close(w);
}

static void export_json(struct agent *a, struct jw *w)
{
	jw_obj_open(w, "export");
	jw_str(w, "format", a->c->export.format == 1 ? "nfv9" : "ipfix");
	jw_uint(w, "domain", a->c->export.domain);
	jw_uint(w, "records_in", a->st.records);
	jw_uint(w, "records_not_exported", a->st.records_unexported);
	jw_arr_open(w, "collectors");
	for (size_t i = 0; a->exp && i < exporter_ncollectors(a->exp); i++) {
		const struct exp_coll_stats *cs = exporter_collector(a->exp, i);
		jw_obj_open(w, NULL);
		jw_str(w, "url", cs->url);
		jw_str(w, "transport", cs->tcp ? "tcp" : "udp");
		jw_bool(w, "up", cs->up);
		jw_uint(w, "messages", cs->c.messages);
		jw_uint(w, "records", cs->c.records);
		jw_uint(w, "octets", cs->c.octets);
		jw_uint(w, "templates", cs->templates);
		jw_uint(w, "options_records", cs->options);
		jw_uint(w, "dropped_messages", cs->dropped_messages);
		jw_uint(w, "not_sent_flows", cs->c.notsent_flows);
		jw_uint(w, "send_errors", cs->send_errors);
		jw_uint(w, "connects", cs->connects);
		jw_uint(w, "queued", cs->queued);
		jw_uint(w, "queue_peak", cs->queue_peak);
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_obj_close(w);
}

void agent_status_json(struct agent *a, struct jw *w)
{
	struct co_mactab_stats ms;
	uint64_t now = wall_ms();

	jw_obj_open(w, NULL);
	jw_obj_open(w, "agent");
	jw_str(w, "name", a->host);
	jw_str(w, "version", VTAP_VERSION);
	jw_uint(w, "pid", (uint64_t)getpid());
	jw_uint(w, "started_ms", a->started_ms);
	jw_uint(w, "uptime_ms", now > a->started_ms ? now - a->started_ms : 0);
	jw_str(w, "backend", a->ops->name);
	jw_uint(w, "threads", a->nworkers);
	jw_arr_open(w, "bridges");
	for (size_t i = 0; i < a->c->ports.bridges.n; i++) {
		jw_obj_open(w, NULL);
		jw_str(w, "name", a->c->ports.bridges.v[i]);
		jw_bool(w, "present", ports_bridge_known(a->ports, a->c->ports.bridges.v[i]));
		jw_obj_close(w);
	}
	jw_arr_close(w);
	jw_obj_close(w);
	agent_ports_json(a, w);
	agent_vms_json(a, w);
	flows_json(a, w);
	export_json(a, w);
	jw_obj_open(w, "identity");
	identity_status_json(a->id, w);
	jw_obj_close(w);
	co_mactab_get_stats(atomic_load(&a->sh.macs), &ms);
	jw_obj_open(w, "local_macs");
	jw_uint(w, "live", ms.live);
	jw_uint(w, "capacity", ms.capacity);
	jw_uint(w, "refused", ms.refused);
	jw_uint(w, "compactions", a->st.mac_compactions);
	jw_obj_close(w);
	jw_obj_open(w, "flood_dedup");
	jw_uint(w, "window_ms", a->c->meter.flood_window_ms);
	jw_uint(w, "evicted", co_dedup_evicted(a->sh.dedup));
	jw_obj_close(w);
	jw_obj_open(w, "events");
	jw_uint(w, "link_events", a->st.link_events);
	jw_uint(w, "resyncs", a->st.resyncs);
	jw_uint(w, "ports_added", a->st.ports_added);
	jw_uint(w, "ports_removed", a->st.ports_removed);
	jw_uint(w, "ports_refused", ports_refused(a->ports));
	jw_uint(w, "capture_errors", a->st.capture_errors);
	jw_uint(w, "identity_changes", a->st.ident_changes);
	jw_uint(w, "tap_latency_us_last", a->st.arm_us_last);
	jw_uint(w, "tap_latency_us_max", a->st.arm_us_max);
	jw_obj_close(w);
	/* the mirror sessions' summary, when the tap engine is plugged in */
	if (a->hooks.status)
		a->hooks.status(a->hooks.ctx, w);
	jw_obj_close(w);
}

void agent_metrics(struct agent *a, struct prom *p)
{
	size_t n = ports_count(a->ports);
	struct worker_stats s;
	uint64_t active = 0, records = 0, lost = 0;

	prom_family(p, "vtap_agent_ports", PROM_GAUGE, "VM ports tapped.");
	prom_u64(p, n, NULL);
	static const struct {
		const char *name, *help;
		size_t off;
	} fams[] = {
		{ "vtap_agent_port_frames_in_total", "Frames sent by the VM, captured.",
		  offsetof(struct port_ctr, frames_in) },
		{ "vtap_agent_port_frames_out_total", "Frames delivered to the VM, captured.",
		  offsetof(struct port_ctr, frames_out) },
		{ "vtap_agent_port_packets_total", "Wire packets metered on the port (count once).",
		  offsetof(struct port_ctr, packets) },
		{ "vtap_agent_port_bytes_total", "IP bytes metered on the port (count once).",
		  offsetof(struct port_ctr, bytes) },
		{ "vtap_agent_port_drops_total", "Frames the kernel dropped: capture ring full.",
		  offsetof(struct port_ctr, kernel_drops) },
	};
	for (size_t f = 0; f < ARRAY_SIZE(fams); f++) {
		prom_family(p, fams[f].name, PROM_COUNTER, fams[f].help);
		for (size_t i = 0; i < n; i++) {
			const struct port *pt = ports_at(a->ports, i);
			const struct aport *ap = pt->priv;
			if (!ap || !ap->wp)
				continue;
			const _Atomic uint64_t *c =
				(const _Atomic uint64_t *)(const void *)((const char *)&ap->wp->ctr +
									 fams[f].off);
			prom_u64(p, ld(c), "port", pt->name, "vm", ap->vm.name, NULL);
		}
	}
	for (unsigned i = 0; i < a->nworkers; i++) {
		worker_get_stats(a->workers[i], &s);
		active += s.active_flows;
		records += s.records;
		lost += s.records_dropped;
	}
	prom_family(p, "vtap_agent_flows_active", PROM_GAUGE, "Flows in the flow tables.");
	prom_u64(p, active, NULL);
	prom_family(p, "vtap_agent_flow_records_total", PROM_COUNTER, "Flow records produced.");
	prom_u64(p, records, NULL);
	prom_family(p, "vtap_agent_flow_records_lost_total", PROM_COUNTER,
		    "Flow records lost between the capture threads and the exporter.");
	prom_u64(p, lost, NULL);
	prom_family(p, "vtap_agent_export_messages_total", PROM_COUNTER, "Export messages sent.");
	for (size_t i = 0; a->exp && i < exporter_ncollectors(a->exp); i++)
		prom_u64(p, exporter_collector(a->exp, i)->c.messages, "collector",
			 exporter_collector(a->exp, i)->url, NULL);
	prom_family(p, "vtap_agent_export_records_total", PROM_COUNTER, "Flow records exported.");
	for (size_t i = 0; a->exp && i < exporter_ncollectors(a->exp); i++)
		prom_u64(p, exporter_collector(a->exp, i)->c.records, "collector",
			 exporter_collector(a->exp, i)->url, NULL);
	prom_family(p, "vtap_agent_export_dropped_messages_total", PROM_COUNTER,
		    "Export messages dropped (queue full, send error).");
	for (size_t i = 0; a->exp && i < exporter_ncollectors(a->exp); i++)
		prom_u64(p, exporter_collector(a->exp, i)->dropped_messages, "collector",
			 exporter_collector(a->exp, i)->url, NULL);
}
