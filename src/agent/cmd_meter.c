/* cmd_meter.c — `vtap meter -r FILE`: offline flow metering of a capture
 * file through the same meter and exporter the agent uses, with packet
 * time as the clock. Prints a summary (text or -j JSON) and, with
 * --flows, every flow record.
 *
 * Offline there is no bridge to ask where a frame came from, so the
 * observation port is the pcapng interface id (0 for classic pcap) and
 * --vm tells which VM each port belongs to. With a VM MAC the direction
 * follows from the frame's MACs and a frame whose other end is another
 * --vm VM is "local" (count once: only its sender's port counts it);
 * without one, the pcapng inbound/outbound flag gives the direction. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/exporter.h"
#include "cli/commands.h"
#include "core/compiler.h"
#include "core/log.h"
#include "core/out.h"
#include "core/timeutil.h"
#include "flow/meter.h"
#include "pkt/pcapfile.h"
#include "pkt/pkt.h"

#define METER_MAX_PORTS 65536
#define FLUSH_TIMEOUT_MS 60000
#define BATCH 32

static const char *const format_names[] = { "ipfix", "nfv9", NULL };

struct meter_opts {
	const char *read;
	int format;
	struct opt_strlist collectors;
	uint64_t active_ms, idle_ms, fin_ms;
	uint64_t max_flows;
	uint64_t domain;
	uint64_t mtu;
	uint64_t rate;
	uint64_t queue;
	uint64_t tmpl_ms, tmpl_every, stats_ms;
	struct opt_strlist vms;
	bool flows;
	bool json;
	bool stats;
};

#define O(f) offsetof(struct meter_opts, f)
static const struct opt_def meter_opt_defs[] = {
	{ "read", 'r', OPT_STR, O(read), "FILE", "capture file to meter (pcap or pcapng, by magic number; - for stdin)",
	  0, 0, NULL, NULL },
	{ "format", 'c', OPT_ENUM, O(format), "FMT", "export format: ipfix or nfv9", 0, 0, format_names,
	  "ipfix" },
	{ "collector", 0, OPT_STRLIST, O(collectors), "URL",
	  "export to udp://HOST:PORT or tcp://HOST:PORT (IPFIX only); repeatable", 0, 0, NULL, NULL },
	{ "active-timeout", 0, OPT_DURATION, O(active_ms), "DUR",
	  "export long flows after this long (0 = never)", 0, 86400000, NULL, "60s" },
	{ "idle-timeout", 0, OPT_DURATION, O(idle_ms), "DUR", "export flows idle this long", 1, 86400000,
	  NULL, "15s" },
	{ "fin-timeout", 0, OPT_DURATION, O(fin_ms), "DUR",
	  "after a TCP FIN or RST, export once idle this long (0 = at once)", 0, 3600000, NULL, "2s" },
	{ "max-flows", 0, OPT_UINT, O(max_flows), "N",
	  "flow table bound; beyond it the flow nearest expiry is exported early (reason 5)", 1,
	  1u << 30, NULL, "1000000" },
	{ "domain", 0, OPT_UINT, O(domain), "ID", "IPFIX observation domain / NetFlow v9 source id", 0,
	  UINT32_MAX, NULL, "1" },
	{ "mtu", 0, OPT_UINT, O(mtu), "BYTES", "link MTU toward UDP collectors (messages fit in it)", 1280,
	  65535, NULL, "1500" },
	{ "rate", 0, OPT_UINT, O(rate), "MSGS",
	  "UDP messages per second per collector (0 = unpaced); keeps a local collector's socket from overflowing",
	  0, 10000000, NULL, "20000" },
	{ "queue", 0, OPT_UINT, O(queue), "MSGS", "messages queued per collector", 1, 1000000, NULL,
	  "1024" },
	{ "template-interval", 0, OPT_DURATION, O(tmpl_ms), "DUR",
	  "resend UDP templates this often (packet time; 0 = once)", 0, 86400000, NULL, "60s" },
	{ "template-every", 0, OPT_UINT, O(tmpl_every), "MSGS",
	  "also resend UDP templates every MSGS messages (0 = by time only)", 0, 1000000, NULL, "256" },
	{ "stats-interval", 0, OPT_DURATION, O(stats_ms), "DUR",
	  "send the exporter-statistics options record this often (0 = at the end only)", 0, 86400000,
	  NULL, "60s" },
	{ "vm", 0, OPT_STRLIST, O(vms), "SPEC",
	  "port=ID,uuid=UUID,name=NAME[,ifname=IF][,ifindex=N][,mac=MAC]: the VM behind capture interface ID; repeatable",
	  0, 0, NULL, NULL },
	{ "flows", 0, OPT_FLAG, O(flows), NULL, "print every flow record", 0, 0, NULL, NULL },
	{ "json", 'j', OPT_FLAG, O(json), NULL, "JSON output", 0, 0, NULL, NULL },
	{ "stats", 0, OPT_FLAG, O(stats), NULL, "add flow-table and per-collector export details", 0, 0,
	  NULL, NULL },
};
#undef O

/* ---- --vm ------------------------------------------------------------- */

/* parse_vm() : one --vm SPEC into the port table. */
static int parse_vm(const char *spec, struct meter_ports *ports, struct vt_err *err)
{
	char buf[512], *save = NULL, *tok;
	struct vm_ident vm;
	uint8_t mac[6];
	bool has_mac = false, has_port = false, has_id = false;
	uint64_t port = 0;
	int r;

	memset(&vm, 0, sizeof(vm));
	if (strlen(spec) >= sizeof(buf))
		return vt_err_set(err, -EINVAL, "option --vm: '%.40s...' is too long", spec);
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *k = tok, *v;
		if (!eq)
			return vt_err_set(err, -EINVAL, "option --vm: '%s' is not KEY=VALUE", tok);
		*eq = '\0';
		v = eq + 1;
		if (strcmp(k, "port") == 0) {
			if (parse_u64(v, 0, METER_MAX_PORTS - 1, &port) < 0)
				return vt_err_set(err, -EINVAL, "option --vm: port '%s' is not 0-%u", v,
						  METER_MAX_PORTS - 1);
			has_port = true;
		} else if (strcmp(k, "uuid") == 0) {
			if (uuid_parse(v, vm.uuid) < 0)
				return vt_err_set(err, -EINVAL, "option --vm: '%s' is not a UUID", v);
			has_id = true;
		} else if (strcmp(k, "name") == 0) {
			if (!*v || strlen(v) >= sizeof(vm.name))
				return vt_err_set(err, -EINVAL, "option --vm: name must be 1-%zu bytes",
						  sizeof(vm.name) - 1);
			snprintf(vm.name, sizeof(vm.name), "%s", v);
			has_id = true;
		} else if (strcmp(k, "ifname") == 0) {
			if (!*v || strlen(v) >= sizeof(vm.ifname))
				return vt_err_set(err, -EINVAL, "option --vm: ifname must be 1-%zu bytes",
						  sizeof(vm.ifname) - 1);
			snprintf(vm.ifname, sizeof(vm.ifname), "%s", v);
		} else if (strcmp(k, "ifindex") == 0) {
			uint64_t x;
			if (parse_u64(v, 1, UINT32_MAX, &x) < 0)
				return vt_err_set(err, -EINVAL, "option --vm: ifindex '%s' is not 1-%u", v,
						  UINT32_MAX);
			vm.ifindex = (uint32_t)x;
		} else if (strcmp(k, "mac") == 0) {
			if (mac_parse(v, mac) < 0)
				return vt_err_set(err, -EINVAL, "option --vm: '%s' is not a MAC address", v);
			has_mac = true;
		} else {
			return vt_err_set(err, -EINVAL,
					  "option --vm: unknown key '%s' (port, uuid, name, ifname, ifindex, mac)", k);
		}
	}
	if (!has_port || !has_id)
		return vt_err_set(err, -EINVAL, "option --vm: '%s' needs port= and uuid= or name=", spec);
	if (meter_ports_vm(ports, (uint32_t)port))
		return vt_err_set(err, -EEXIST, "option --vm: port %" PRIu64 " given twice", port);
	r = meter_ports_set(ports, (uint32_t)port, &vm, has_mac ? mac : NULL);
	if (r == -EEXIST)
		return vt_err_set(err, r, "option --vm: MAC of port %" PRIu64 " is already another VM's", port);
	if (r < 0)
		return vt_err_set(err, r, "option --vm: %s", strerror(-r));
	return 0;
}

/* ---- the run ---------------------------------------------------------- */

struct run {
	const struct meter_opts *o;
	struct meter_ports *ports;
	struct meter *m;
	struct exporter *e;
	struct out *out;
	bool have_ports;
	uint64_t first_ts_ms;
	bool started;
};

static const char *end_name(unsigned r)
{
	static const char *const n[] = { "unknown", "idle", "active", "end", "forced", "resources" };
	return r < ARRAY_SIZE(n) ? n[r] : "unknown";
}

static const char *dir_name(unsigned d)
{
	return d == FLOW_DIR_INGRESS ? "ingress" : d == FLOW_DIR_EGRESS ? "egress" : "unknown";
}

static void print_flow(struct out *o, const struct flow_rec *r)
{
	char s[VT_ADDRSTRLEN], d[VT_ADDRSTRLEN], u[VT_UUIDSTRLEN];

	addr_fmt(&r->src, s, sizeof(s));
	addr_fmt(&r->dst, d, sizeof(d));
	if (out_is_json(o)) {
		out_obj_open(o, NULL);
		out_uint(o, OUT_JSON, "first_ms", NULL, r->first_ms);
		out_uint(o, OUT_JSON, "last_ms", NULL, r->last_ms);
		out_uint(o, OUT_JSON, "port", NULL, r->direction == FLOW_DIR_EGRESS ? r->out_if : r->in_if);
		out_uint(o, OUT_JSON, "vlan", NULL, r->vlan);
		out_str(o, OUT_JSON, "src", NULL, s);
		out_str(o, OUT_JSON, "dst", NULL, d);
		out_uint(o, OUT_JSON, "proto", NULL, r->proto);
		out_uint(o, OUT_JSON, "sport", NULL, r->sport);
		out_uint(o, OUT_JSON, "dport", NULL, r->dport);
		out_uint(o, OUT_JSON, "packets", NULL, r->packets);
		out_uint(o, OUT_JSON, "bytes", NULL, r->bytes);
		out_uint(o, OUT_JSON, "tcp_flags", NULL, r->tcp_flags);
		out_uint(o, OUT_JSON, "tos", NULL, r->tos);
		out_str(o, OUT_JSON, "end", NULL, end_name(r->end_reason));
		out_str(o, OUT_JSON, "direction", NULL, dir_name(r->direction));
		if (fe_vm_known(&r->vm)) {
			out_str(o, OUT_JSON, "vm_uuid", NULL, uuid_fmt(r->vm.uuid, u, sizeof(u)));
			out_str(o, OUT_JSON, "vm_name", NULL, r->vm.name);
		}
		if (r->scope == FLOW_SCOPE_LOCAL && fe_vm_known(&r->peer)) {
			out_str(o, OUT_JSON, "peer_uuid", NULL, uuid_fmt(r->peer.uuid, u, sizeof(u)));
			out_str(o, OUT_JSON, "peer_name", NULL, r->peer.name);
		}
		out_obj_close(o);
		return;
	}
	out_text(o, "%" PRIu64 " %" PRIu64 " %u %u %s %s %u %u %u %" PRIu64 " %" PRIu64 " 0x%02x %s %s%s%s\n",
		 r->first_ms, r->last_ms, r->direction == FLOW_DIR_EGRESS ? r->out_if : r->in_if,
		 r->vlan, s, d, r->proto, r->sport, r->dport, r->packets, r->bytes, r->tcp_flags,
		 end_name(r->end_reason), dir_name(r->direction), r->vm.name[0] ? " vm=" : "",
		 r->vm.name);
}

static void on_flow(void *arg, const struct flow_rec *r)
{
	struct run *run = arg;

	if (run->e)
		exporter_flow(run->e, r, meter_now(run->m));
	if (run->o->flows)
		print_flow(run->out, r);
}

/* classify() : direction and locality of a frame at <port>, from the
 * --vm table (see the file comment). */
static void classify(const struct run *run, const struct pcap_rec *rec, const struct pkt_info *pi,
		     struct meter_obs *obs)
{
	const struct vm_ident *vm;
	uint32_t self, other = FT_PORT_NONE;

	obs->port = rec->ifindex;
	obs->dir = FLOW_DIR_UNKNOWN;
	obs->scope = FLOW_SCOPE_UNKNOWN;
	obs->peer_port = FT_PORT_NONE;
	obs->gso_size = obs->gso_segs = 0;
	if (rec->direction == 1) /* inbound to the host's port = sent by the VM */
		obs->dir = FLOW_DIR_INGRESS;
	else if (rec->direction == 2)
		obs->dir = FLOW_DIR_EGRESS;
	if (!run->have_ports)
		return;
	vm = meter_ports_vm(run->ports, rec->ifindex);
	if (!vm || !pi->has_eth)
		return;
	self = meter_ports_by_mac(run->ports, pi->src_mac);
	if (self == rec->ifindex) {
		obs->dir = FLOW_DIR_INGRESS;
		other = meter_ports_by_mac(run->ports, pi->dst_mac);
	} else if (meter_ports_by_mac(run->ports, pi->dst_mac) == rec->ifindex) {
		obs->dir = FLOW_DIR_EGRESS;
		other = self;
	} else {
		return; /* the port's VM has no MAC given, or neither end is it */
	}
	if (other != FT_PORT_NONE && other != rec->ifindex) {
		obs->scope = FLOW_SCOPE_LOCAL;
		obs->peer_port = other;
	} else {
		obs->scope = FLOW_SCOPE_REMOTE;
	}
}

static void print_summary(struct run *run, const char *file, const char *fmt, const char *read_err,
			  double secs)
{
	struct out *o = run->out;
	const struct meter_stats *ms = meter_stats(run->m);
	const struct ft_stats *fs = meter_ft_stats(run->m);
	double pps = secs > 0 ? (double)ms->frames / secs : 0;

	out_str(o, OUT_ANY, "file", "%s", file);
	out_str(o, OUT_ANY, "format", " (%s)\n", fmt ? fmt : "-");
	if (read_err)
		out_str(o, OUT_ANY, "read_error", "  read error: %s\n", read_err);
	out_uint(o, OUT_ANY, "frames", "  frames %llu", ms->frames);
	out_uint(o, OUT_ANY, "ip_frames", ", IP %llu", ms->ip_frames);
	out_uint(o, OUT_ANY, "non_ip", ", non-IP %llu", ms->non_ip);
	out_uint(o, OUT_ANY, "failed", ", undecodable %llu", ms->failed);
	out_uint(o, OUT_ANY, "local_dup", ", counted at the peer's port %llu\n", ms->local_dup);
	out_uint(o, OUT_ANY, "packets", "  metered %llu packets", ms->packets);
	out_uint(o, OUT_ANY, "bytes", ", %llu IP bytes", ms->bytes);
	out_uint(o, OUT_ANY, "gso_frames", " (%llu GSO frames)\n", ms->gso_frames);
	out_obj_open(o, "errors");
	out_text(o, "  decode errors:");
	{
		bool any = false;
		for (unsigned i = 1; i < PKT_ERR__COUNT; i++) {
			if (!ms->errors[i])
				continue;
			out_uint(o, OUT_ANY, pkt_err_name((enum pkt_err)i), NULL, ms->errors[i]);
			out_text(o, " %s %" PRIu64, pkt_err_name((enum pkt_err)i), ms->errors[i]);
			any = true;
		}
		out_text(o, any ? "\n" : " none\n");
	}
	out_obj_close(o);
	out_uint(o, OUT_ANY, "flows", "  flows %llu", ms->records);
	out_obj_open(o, "flows_by_end");
	out_text(o, " (");
	for (unsigned r = FLOW_END_IDLE; r <= FLOW_END_RESOURCES; r++) {
		out_text(o, "%s%s ", r == FLOW_END_IDLE ? "" : ", ", end_name(r));
		out_uint(o, OUT_ANY, end_name(r), "%llu", fs->ended[r]);
	}
	out_text(o, ")\n");
	out_obj_close(o);
	out_uint(o, OUT_ANY, "evicted", "  evicted early (max-flows) %llu", fs->evicted);
	out_uint(o, OUT_ANY, "peak_flows", ", peak active flows %llu\n", fs->peak_active);
	if (run->o->stats) {
		out_uint(o, OUT_ANY, "table_bytes", "  flow table memory %llu bytes", fs->bytes_alloc);
		out_uint(o, OUT_ANY, "index_slots", ", index slots %llu", fs->index_slots);
		out_uint(o, OUT_ANY, "rehashes", ", rehashes %llu\n", fs->rehashes);
	}
	out_double(o, OUT_ANY, "elapsed_s", "  %.3f s", secs);
	out_double(o, OUT_ANY, "pps", ", %.0f frames/s\n", pps);
	out_arr_open(o, "collectors");
	for (size_t i = 0; run->e && i < exporter_ncollectors(run->e); i++) {
		const struct exp_coll_stats *c = exporter_collector(run->e, i);
		out_obj_open(o, NULL);
		out_str(o, OUT_ANY, "url", "  export %s", c->url);
		out_uint(o, OUT_ANY, "messages", ": %llu messages", c->c.messages);
		out_uint(o, OUT_ANY, "records", ", %llu flow records", c->c.records);
		out_uint(o, OUT_ANY, "octets", ", %llu bytes", c->c.octets);
		out_uint(o, OUT_ANY, "notsent_flows", ", %llu records not sent\n", c->c.notsent_flows);
		if (run->o->stats || out_is_json(o)) {
			out_uint(o, OUT_ANY, "templates", "    templates %llu", c->templates);
			out_uint(o, OUT_ANY, "options", ", options records %llu", c->options);
			out_uint(o, OUT_ANY, "dropped_messages", ", dropped messages %llu", c->dropped_messages);
			out_uint(o, OUT_ANY, "send_errors", ", send errors %llu", c->send_errors);
			out_uint(o, OUT_ANY, "connects", ", connects %llu", c->connects);
			out_uint(o, OUT_ANY, "queue_peak", ", queue peak %llu", c->queue_peak);
			out_uint(o, OUT_ANY, "waited_ms", ", waited %llu ms\n", c->waits_ms);
		}
		out_obj_close(o);
	}
	out_arr_close(o);
}

static int meter_run(const struct cmd *c, void *opts, int argc, char **argv)
{
	const struct meter_opts *o = opts;
	struct run run = { .o = o };
	struct vt_err err = { 0 };
	struct pcapfile *pf = NULL;
	struct out out;
	char read_err[VT_ERR_MSG_MAX] = "";
	const char *fmt = NULL;
	uint64_t t0, nframes = 0;
	int rc = 1, r;

	(void)c;
	(void)argc;
	(void)argv;
	if (!o->read) {
		fprintf(stderr, "vtap meter: option -r/--read FILE is required\n");
		return 2;
	}
	run.ports = meter_ports_new(METER_MAX_PORTS);
	if (!run.ports)
		goto oom;
	for (size_t i = 0; i < o->vms.n; i++) {
		if (parse_vm(o->vms.v[i], run.ports, &err) < 0) {
			fprintf(stderr, "vtap meter: %s\n", err.msg);
			rc = 2;
			goto out;
		}
	}
	run.have_ports = o->vms.n > 0;
	if (o->collectors.n) {
		struct exporter_cfg ec = {
			.format = o->format == 1 ? EXP_FMT_NFV9 : EXP_FMT_IPFIX,
			.domain = (uint32_t)o->domain,
			.mtu = (uint32_t)o->mtu,
			.tmpl_interval_ms = o->tmpl_ms,
			.tmpl_every = (uint32_t)o->tmpl_every,
			.stats_interval_ms = o->stats_ms,
			.flush_ms = 1000,
			.queue_max = (uint32_t)o->queue,
			.rate = o->rate,
			.blocking = true, /* offline: a slow collector slows us, loses nothing */
			.active_timeout_s = (uint16_t)VT_MIN(o->active_ms / 1000, 65535u),
			.idle_timeout_s = (uint16_t)VT_MIN(o->idle_ms / 1000, 65535u),
		};
		run.e = exporter_new(&ec, &err);
		if (!run.e) {
			fprintf(stderr, "vtap meter: %s\n", err.msg);
			rc = 2;
			goto out;
		}
		for (size_t i = 0; i < o->collectors.n; i++) {
			if (exporter_add(run.e, o->collectors.v[i], &err) < 0) {
				fprintf(stderr, "vtap meter: option --collector: %s\n", err.msg);
				rc = 2;
				goto out;
			}
		}
	}
	{
		struct meter_cfg mc = {
			.active_ms = o->active_ms,
			.idle_ms = o->idle_ms,
			.fin_ms = o->fin_ms,
			.max_flows = (uint32_t)o->max_flows,
		};
		run.m = meter_new(&mc, run.ports, on_flow, &run);
		if (!run.m)
			goto oom;
	}
	pf = pcapfile_open(o->read, &err);
	if (!pf) {
		/* the reader's message names the file already */
		if (strstr(err.msg, o->read))
			fprintf(stderr, "vtap meter: %s\n", err.msg);
		else
			fprintf(stderr, "vtap meter: %s: %s\n", o->read, err.msg);
		goto out;
	}
	fmt = pcapfile_format(pf);
	out_init(&out, stdout, o->json ? OUT_FMT_JSON : OUT_FMT_TEXT, false);
	run.out = &out;
	out_obj_open(&out, NULL);
	if (o->flows) {
		out_arr_open(&out, "flow_list");
		out_text(&out, "# first_ms last_ms port vlan src dst proto sport dport packets bytes flags end direction\n");
	}
	t0 = mono_ns();
	for (bool more = true; more;) {
		/* decode a batch, then meter it: the meter overlaps the flow
		 * table's cache misses across the batch */
		static struct pkt_info pi[BATCH];
		static struct meter_obs obs[BATCH];
		static struct meter_pkt mp[BATCH];
		size_t n = 0;

		while (n < BATCH) {
			struct pcap_rec rec;
			uint64_t ts_ms;

			r = pcapfile_next(pf, &rec, &err);
			if (r <= 0) {
				if (r < 0)
					snprintf(read_err, sizeof(read_err), "%s", err.msg);
				more = false;
				break;
			}
			ts_ms = rec.ts_ns / 1000000u;
			if (VT_UNLIKELY(!run.started)) {
				run.started = true;
				run.first_ts_ms = ts_ms;
				if (run.e)
					exporter_set_boot(run.e, ts_ms);
			}
			pkt_decode_frame(&pi[n], rec.link, rec.data, rec.caplen, rec.wirelen);
			classify(&run, &rec, &pi[n], &obs[n]);
			mp[n] = (struct meter_pkt){ &pi[n], ts_ms, &obs[n] };
			n++;
		}
		meter_packets(run.m, mp, n);
		nframes += n;
		if (run.e && (nframes & ~(uint64_t)1023) != ((nframes - n) & ~(uint64_t)1023))
			exporter_poll(run.e, meter_now(run.m));
	}
	/* end of file: every flow leaves with "forced end" (4) */
	meter_flush(run.m, FLOW_END_FORCED);
	if (run.e) {
		exporter_set_ignored(run.e, meter_stats(run.m)->failed);
		if (exporter_flush(run.e, meter_now(run.m), FLUSH_TIMEOUT_MS) < 0)
			log_warn("meter: some export messages could not be sent (see the summary)");
	}
	if (o->flows) {
		out_arr_close(&out);
		out_text(&out, "\n");
	}
	print_summary(&run, o->read, fmt, read_err[0] ? read_err : NULL,
		      (double)(mono_ns() - t0) / 1e9);
	out_obj_close(&out);
	if (out_finish(&out) < 0) {
		fprintf(stderr, "vtap meter: writing output: %s\n", strerror(EIO));
		goto out;
	}
	if (read_err[0]) {
		if (strstr(read_err, o->read))
			fprintf(stderr, "vtap meter: %s\n", read_err);
		else
			fprintf(stderr, "vtap meter: %s: %s\n", o->read, read_err);
		goto out;
	}
	rc = 0;
	goto out;
oom:
	fprintf(stderr, "vtap meter: out of memory\n");
out:
	pcapfile_close(pf);
	exporter_free(run.e);
	meter_free(run.m);
	meter_ports_free(run.ports);
	return rc;
}

const struct cmd cmd_meter = {
	.name = "meter",
	.summary = "meter a capture file into flows and export them as IPFIX or NetFlow v9",
	.description =
		"Reads a pcap or pcapng file (format from the magic number), meters it with the\n"
		"agent's flow table using packet time as the clock, exports the flows to the\n"
		"collectors given, and prints a summary: frames, IP packets and bytes, decode\n"
		"errors by reason, flows by end reason, evictions and export counters. At the\n"
		"end of the file every remaining flow is exported with flowEndReason 4 (forced\n"
		"end). UDP export is paced (--rate) and waits for a slow collector so a local\n"
		"collector loses nothing; a collector that is down is counted, never waited\n"
		"for. Flow keys, VM identity and the wire format: docs/meter.md,\n"
		"docs/wire/ipfix.md. Exit status: 0 on success, 1 when the file could not be\n"
		"opened or a damaged record ended the read (everything before it is metered\n"
		"and exported), 2 for a usage error.",
	.opts = meter_opt_defs,
	.nopts = ARRAY_SIZE(meter_opt_defs),
	.opts_size = sizeof(struct meter_opts),
	.run = meter_run,
};
