/* cmd_flowdecode.c — `vtap flowdecode`: runs the collector's decoders
 * (lib/wire/flowdec.h) offline over UDP payloads taken from a capture, or
 * over raw datagrams stored in a file, and prints the decoded flow records
 * and per-exporter statistics. It is how the decoders are checked against
 * tshark (tests/integration/flowdecode_tshark.sh) and how a user looks at
 * what an exporter really sends. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/be.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/timeutil.h"
#include "flow/addr.h"
#include "pkt/pcapfile.h"
#include "pkt/pkt.h"
#include "wire/flowdec.h"
#include "wire/ipfix_dec.h"

#define RAW_FILE_MAX (64u << 20)
#define MAX_PORTS OPT_LIST_MAX
#define MAX_TCP_STREAMS 256

struct flowdecode_opts {
	struct opt_strlist read;
	struct opt_strlist raw;
	struct opt_strlist port;
	const char *exporter;
	const char *templates;
	uint64_t hold_ms;
	bool json;
	bool quiet;
	bool tcp;
};

static const struct opt_def flowdecode_opts[] = {
	{ "read", 'r', OPT_STRLIST, offsetof(struct flowdecode_opts, read), "FILE",
	  "capture file (pcap/pcapng) whose UDP payloads are decoded in capture order; "
	  "repeat to feed several files to one decoder (templates first)", 0, 0, NULL, NULL },
	{ "raw", 0, OPT_STRLIST, offsetof(struct flowdecode_opts, raw), "FILE",
	  "file of one or more concatenated raw datagrams (no capture framing)",
	  0, 0, NULL, NULL },
	{ "port", 'p', OPT_STRLIST, offsetof(struct flowdecode_opts, port), "N",
	  "with -r: decode only UDP datagrams to this destination port (repeatable; "
	  "default: every UDP datagram)", 0, 0, NULL, NULL },
	{ "exporter", 'e', OPT_STR, offsetof(struct flowdecode_opts, exporter), "IP",
	  "with --raw: the exporter address the datagrams are attributed to",
	  0, 0, NULL, "127.0.0.1" },
	{ "templates", 't', OPT_STR, offsetof(struct flowdecode_opts, templates), "FILE",
	  "template cache file: loaded at start when it exists, saved at the end",
	  0, 0, NULL, NULL },
	{ "hold", 0, OPT_DURATION, offsetof(struct flowdecode_opts, hold_ms), "DURATION",
	  "how long data waits for its template (capture time for -r); what is still "
	  "waiting at the end is counted as no-template", 0, 86400000, NULL, "30s" },
	{ "json", 'j', OPT_FLAG, offsetof(struct flowdecode_opts, json), NULL,
	  "JSON lines: one object per record (every flow_rec field), then one per "
	  "exporter and a summary", 0, 0, NULL, NULL },
	{ "quiet", 'q', OPT_FLAG, offsetof(struct flowdecode_opts, quiet), NULL,
	  "print only the statistics, not the records", 0, 0, NULL, NULL },
	{ "tcp", 0, OPT_FLAG, offsetof(struct flowdecode_opts, tcp), NULL,
	  "with -r: also decode IPFIX over TCP (each connection reassembled in order; "
	  "a connection with lost or reordered data is abandoned and counted)",
	  0, 0, NULL, NULL },
};

/* One TCP connection carrying IPFIX, reassembled in capture order. */
struct tcp_stream {
	bool used, dead;
	struct vt_addr src, dst;
	uint16_t sport, dport;
	uint32_t next_seq;
	struct ipfix_stream s;
};

struct run {
	const struct flowdecode_opts *o;
	struct flowdec *fd;
	FILE *fp;
	uint16_t ports[MAX_PORTS];
	size_t nports;
	bool header_done;
	/* input accounting */
	uint64_t frames, datagrams, not_udp, not_port, fragments, pkt_errors;
	uint64_t truncated;
	/* IPFIX over TCP (--tcp) */
	struct tcp_stream *tcp;
	uint64_t tcp_streams, tcp_messages, tcp_gaps, tcp_desync, tcp_over_limit;
	uint64_t cur_frame, cur_now;
	struct vt_addr cur_src;
	uint16_t cur_sport;
};

/* ---- output --------------------------------------------------------------- */

static void jw_addr(struct jw *w, const char *key, const struct vt_addr *a)
{
	char buf[VT_ADDRSTRLEN];
	jw_str(w, key, addr_fmt(a, buf, sizeof(buf)));
}

static void jw_mac(struct jw *w, const char *key, const uint8_t mac[6])
{
	char buf[VT_MACSTRLEN];
	jw_str(w, key, mac_fmt(mac, buf, sizeof(buf)));
}

static void jw_vm(struct jw *w, const char *key, const struct vm_ident *vm)
{
	char buf[VT_UUIDSTRLEN];

	jw_obj_open(w, key);
	jw_str(w, "uuid", uuid_is_nil(vm->uuid) ? "" : uuid_fmt(vm->uuid, buf, sizeof(buf)));
	jw_str(w, "name", vm->name);
	jw_str(w, "ifname", vm->ifname);
	jw_uint(w, "ifindex", vm->ifindex);
	jw_obj_close(w);
}

static void emit_line(struct run *rn, struct vbuf *b)
{
	fwrite(b->data, 1, b->len, rn->fp);
	fputc('\n', rn->fp);
}

static void record_json(struct run *rn, const struct flow_rec *r, const struct flowdec_src *src)
{
	struct vbuf b;
	struct jw w;

	vbuf_init(&b, 1 << 16);
	jw_init(&w, &b, false);
	jw_obj_open(&w, NULL);
	jw_str(&w, "type", "flow");
	jw_uint(&w, "frame", src->tag);
	jw_uint(&w, "set", src->set);
	jw_uint(&w, "rec", src->rec);
	jw_uint(&w, "first_ms", r->first_ms);
	jw_uint(&w, "last_ms", r->last_ms);
	jw_addr(&w, "src", &r->src);
	jw_addr(&w, "dst", &r->dst);
	jw_uint(&w, "sport", r->sport);
	jw_uint(&w, "dport", r->dport);
	jw_uint(&w, "proto", r->proto);
	jw_uint(&w, "ipver", r->ipver);
	jw_uint(&w, "vlan", r->vlan);
	jw_uint(&w, "in_if", r->in_if);
	jw_uint(&w, "out_if", r->out_if);
	jw_uint(&w, "bytes", r->bytes);
	jw_uint(&w, "packets", r->packets);
	jw_uint(&w, "tcp_flags", r->tcp_flags);
	jw_uint(&w, "tos", r->tos);
	jw_uint(&w, "end_reason", r->end_reason);
	jw_uint(&w, "direction", r->direction);
	jw_mac(&w, "src_mac", r->src_mac);
	jw_mac(&w, "dst_mac", r->dst_mac);
	jw_addr(&w, "nexthop", &r->nexthop);
	jw_uint(&w, "src_as", r->src_as);
	jw_uint(&w, "dst_as", r->dst_as);
	jw_uint(&w, "src_mask", r->src_mask);
	jw_uint(&w, "dst_mask", r->dst_mask);
	jw_uint(&w, "scope", r->scope);
	jw_vm(&w, "vm", &r->vm);
	jw_vm(&w, "peer", &r->peer);
	jw_addr(&w, "exporter", &r->exporter);
	jw_uint(&w, "obs_domain", r->obs_domain);
	jw_uint(&w, "sampling", r->sampling);
	jw_uint(&w, "exp_version", r->exp_version);
	jw_uint(&w, "dec_flags", r->dec_flags);
	jw_bool(&w, "reverse", r->dec_flags & FLOWREC_F_REVERSE);
	jw_bool(&w, "late", r->dec_flags & FLOWREC_F_LATE);
	jw_obj_close(&w);
	emit_line(rn, &b);
	vbuf_free(&b);
}

static const char *proto_name(uint8_t p, char *buf, size_t len)
{
	switch (p) {
	case 1: return "icmp";
	case 6: return "tcp";
	case 17: return "udp";
	case 58: return "icmp6";
	case 132: return "sctp";
	default:
		snprintf(buf, len, "%u", p);
		return buf;
	}
}

static void record_text(struct run *rn, const struct flow_rec *r)
{
	char t[40], s[VT_ADDRSTRLEN], d[VT_ADDRSTRLEN], e[VT_ADDRSTRLEN], p[8];
	char sp[VT_ADDRSTRLEN + 10], dp[VT_ADDRSTRLEN + 10];

	if (!rn->header_done) {
		fprintf(rn->fp, "%-24s %9s %-5s %-41s %-41s %10s %12s %5s %-15s %4s %6s\n",
			"START", "DUR_MS", "PROTO", "SRC", "DST", "PACKETS", "BYTES", "FLAGS",
			"EXPORTER", "VER", "SAMPL");
		rn->header_done = true;
	}
	addr_fmt(&r->src, s, sizeof(s));
	addr_fmt(&r->dst, d, sizeof(d));
	if (r->ipver == 6) {
		snprintf(sp, sizeof(sp), "[%s]:%u", s, r->sport);
		snprintf(dp, sizeof(dp), "[%s]:%u", d, r->dport);
	} else {
		snprintf(sp, sizeof(sp), "%s:%u", s, r->sport);
		snprintf(dp, sizeof(dp), "%s:%u", d, r->dport);
	}
	fprintf(rn->fp, "%-24s %9" PRIu64 " %-5s %-41s %-41s %10" PRIu64 " %12" PRIu64
		" %#5x %-15s %4s %6u%s%s\n",
		fmt_time_ms(r->first_ms, t, sizeof(t)), r->last_ms - r->first_ms,
		proto_name(r->proto, p, sizeof(p)), sp, dp, r->packets, r->bytes, r->tcp_flags,
		addr_fmt(&r->exporter, e, sizeof(e)),
		r->exp_version == 105 ? "sf5" : r->exp_version == 10 ? "ipfx" :
		r->exp_version == 9 ? "v9" : "v5",
		r->sampling, r->dec_flags & FLOWREC_F_REVERSE ? " rev" : "",
		r->dec_flags & FLOWREC_F_LATE ? " late" : "");
}

static void on_record(void *arg, const struct flow_rec *r, const struct flowdec_src *src)
{
	struct run *rn = arg;

	if (rn->o->quiet)
		return;
	if (rn->o->json)
		record_json(rn, r, src);
	else
		record_text(rn, r);
}

static void exporter_json(struct run *rn, const struct fd_exporter_stats *st)
{
	struct flowdec_tmpl_info ti[256];
	struct sflow_ifcounters ic[FD_MAX_IFCOUNTERS];
	size_t nt = flowdec_exporter_templates(rn->fd, &st->addr, ti, ARRAY_SIZE(ti));
	size_t nc = flowdec_exporter_ifcounters(rn->fd, &st->addr, ic, ARRAY_SIZE(ic));
	struct vbuf b;
	struct jw w;

	vbuf_init(&b, 1 << 22);
	jw_init(&w, &b, false);
	jw_obj_open(&w, NULL);
	jw_str(&w, "type", "exporter");
	jw_addr(&w, "exporter", &st->addr);
	jw_uint(&w, "first_seen_ms", st->first_seen_ms);
	jw_uint(&w, "last_seen_ms", st->last_seen_ms);
	jw_uint(&w, "packets", st->packets);
	jw_uint(&w, "bytes", st->bytes);
	jw_uint(&w, "packets_v5", st->packets_v5);
	jw_uint(&w, "packets_v9", st->packets_v9);
	jw_uint(&w, "packets_ipfix", st->packets_ipfix);
	jw_uint(&w, "packets_sflow", st->packets_sflow);
	jw_uint(&w, "records", st->records);
	jw_uint(&w, "options_records", st->options_records);
	jw_uint(&w, "errors", st->errors);
	jw_obj_open(&w, "error");
	for (int i = 0; i < FD_ERR__COUNT; i++)
		if (st->error[i])
			jw_uint(&w, flowdec_err_name((enum fd_err)i), st->error[i]);
	jw_obj_close(&w);
	jw_uint(&w, "held_sets", st->held_sets);
	jw_uint(&w, "late_sets", st->late_sets);
	jw_uint(&w, "no_template_sets", st->no_template_sets);
	jw_uint(&w, "no_template_bytes", st->no_template_bytes);
	jw_uint(&w, "seq_gaps", st->seq_gaps);
	jw_uint(&w, "seq_lost", st->seq_lost);
	jw_uint(&w, "seq_resets", st->seq_resets);
	jw_uint(&w, "seq_quirks", st->seq_quirks);
	jw_uint(&w, "templates", st->templates);
	jw_uint(&w, "templates_defined", st->templates_defined);
	jw_uint(&w, "templates_redefined", st->templates_redefined);
	jw_uint(&w, "templates_withdrawn", st->templates_withdrawn);
	jw_uint(&w, "templates_evicted", st->templates_evicted);
	jw_arr_open(&w, "template_ids");
	for (size_t i = 0; i < nt && i < ARRAY_SIZE(ti); i++) {
		jw_obj_open(&w, NULL);
		jw_uint(&w, "version", ti[i].version);
		jw_uint(&w, "domain", ti[i].domain);
		jw_uint(&w, "id", ti[i].id);
		jw_bool(&w, "options", ti[i].options);
		jw_uint(&w, "fields", ti[i].nfields);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_uint(&w, "sampling", st->sampling);
	jw_uint(&w, "sflow_flow_samples", st->sflow_flow_samples);
	jw_uint(&w, "sflow_counter_samples", st->sflow_counter_samples);
	jw_arr_open(&w, "ifcounters");
	for (size_t i = 0; i < nc && i < ARRAY_SIZE(ic); i++) {
		const struct sflow_ifcounters *c = &ic[i];
		jw_obj_open(&w, NULL);
		jw_uint(&w, "source_id", c->source_id);
		jw_uint(&w, "ifindex", c->ifindex);
		jw_uint(&w, "iftype", c->iftype);
		jw_uint(&w, "ifspeed", c->ifspeed);
		jw_uint(&w, "ifstatus", c->ifstatus);
		jw_uint(&w, "in_octets", c->in_octets);
		jw_uint(&w, "in_ucast", c->in_ucast);
		jw_uint(&w, "in_errors", c->in_errors);
		jw_uint(&w, "in_discards", c->in_discards);
		jw_uint(&w, "out_octets", c->out_octets);
		jw_uint(&w, "out_ucast", c->out_ucast);
		jw_uint(&w, "out_errors", c->out_errors);
		jw_uint(&w, "out_discards", c->out_discards);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_uint(&w, "ifcounters_dropped", st->ifcounters_dropped);
	jw_uint(&w, "samplers_dropped", st->samplers_dropped);
	jw_uint(&w, "domains_dropped", st->domains_dropped);
	jw_obj_close(&w);
	emit_line(rn, &b);
	vbuf_free(&b);
}

static void exporter_text(struct run *rn, const struct fd_exporter_stats *st)
{
	char a[VT_ADDRSTRLEN];
	struct flowdec_tmpl_info ti[256];
	size_t nt = flowdec_exporter_templates(rn->fd, &st->addr, ti, ARRAY_SIZE(ti));
	FILE *fp = rn->fp;

	fprintf(fp, "\nexporter %s\n", addr_fmt(&st->addr, a, sizeof(a)));
	fprintf(fp, "  datagrams %" PRIu64 " (v5 %" PRIu64 ", v9 %" PRIu64 ", ipfix %" PRIu64
		", sflow %" PRIu64 "), %" PRIu64 " bytes\n", st->packets, st->packets_v5,
		st->packets_v9, st->packets_ipfix, st->packets_sflow, st->bytes);
	fprintf(fp, "  records %" PRIu64 ", options records %" PRIu64 ", sampling in effect %u\n",
		st->records, st->options_records, st->sampling);
	fprintf(fp, "  errors %" PRIu64, st->errors);
	for (int i = 0; i < FD_ERR__COUNT; i++)
		if (st->error[i])
			fprintf(fp, " %s=%" PRIu64, flowdec_err_name((enum fd_err)i), st->error[i]);
	fprintf(fp, "\n  held sets %" PRIu64 ", decoded late %" PRIu64 ", no template %" PRIu64
		" (%" PRIu64 " bytes)\n", st->held_sets, st->late_sets, st->no_template_sets,
		st->no_template_bytes);
	fprintf(fp, "  sequence: gaps %" PRIu64 ", lost %" PRIu64 ", resets %" PRIu64
		", tolerated quirks %" PRIu64 "\n", st->seq_gaps, st->seq_lost, st->seq_resets,
		st->seq_quirks);
	fprintf(fp, "  templates %u (defined %" PRIu64 ", redefined %" PRIu64 ", withdrawn %"
		PRIu64 ", evicted %" PRIu64 "):", st->templates, st->templates_defined,
		st->templates_redefined, st->templates_withdrawn, st->templates_evicted);
	for (size_t i = 0; i < nt && i < ARRAY_SIZE(ti); i++)
		fprintf(fp, " %s%u/%u%s", ti[i].version == 9 ? "v9:" : "ipfix:", ti[i].domain,
			ti[i].id, ti[i].options ? "(opt)" : "");
	fputc('\n', fp);
	if (st->packets_sflow)
		fprintf(fp, "  sflow: flow samples %" PRIu64 ", counter samples %" PRIu64
			", interfaces %u\n", st->sflow_flow_samples, st->sflow_counter_samples,
			st->ifcounters);
}

static void on_exporter(void *arg, const struct fd_exporter_stats *st)
{
	struct run *rn = arg;

	if (rn->o->json)
		exporter_json(rn, st);
	else
		exporter_text(rn, st);
}

static void summary(struct run *rn)
{
	struct flowdec_stats st;

	flowdec_stats(rn->fd, &st);
	if (rn->o->json) {
		struct vbuf b;
		struct jw w;
		vbuf_init(&b, 1 << 16);
		jw_init(&w, &b, false);
		jw_obj_open(&w, NULL);
		jw_str(&w, "type", "summary");
		jw_uint(&w, "frames", rn->frames);
		jw_uint(&w, "datagrams", rn->datagrams);
		jw_uint(&w, "not_udp", rn->not_udp);
		jw_uint(&w, "other_port", rn->not_port);
		jw_uint(&w, "fragments", rn->fragments);
		jw_uint(&w, "packet_errors", rn->pkt_errors);
		jw_uint(&w, "truncated", rn->truncated);
		if (rn->o->tcp) {
			jw_uint(&w, "tcp_streams", rn->tcp_streams);
			jw_uint(&w, "tcp_messages", rn->tcp_messages);
			jw_uint(&w, "tcp_gaps", rn->tcp_gaps);
			jw_uint(&w, "tcp_desync", rn->tcp_desync);
			jw_uint(&w, "tcp_over_limit", rn->tcp_over_limit);
		}
		jw_uint(&w, "records", st.records);
		jw_uint(&w, "exporters", st.exporters);
		jw_uint(&w, "templates", st.templates);
		jw_uint(&w, "template_bytes", st.template_bytes);
		jw_obj_close(&w);
		emit_line(rn, &b);
		vbuf_free(&b);
		return;
	}
	fprintf(rn->fp, "\n%" PRIu64 " records from %" PRIu64 " datagrams (%" PRIu64
		" frames; not UDP %" PRIu64 ", other ports %" PRIu64 ", fragments %" PRIu64
		", undecodable %" PRIu64 ", truncated %" PRIu64 "); %" PRIu64 " templates\n",
		st.records, rn->datagrams, rn->frames, rn->not_udp, rn->not_port, rn->fragments,
		rn->pkt_errors, rn->truncated, st.templates);
	if (rn->o->tcp)
		fprintf(rn->fp, "IPFIX over TCP: %" PRIu64 " streams (one per direction), %" PRIu64
			" messages, %" PRIu64 " abandoned for lost data, %" PRIu64 " for bad framing, %"
			PRIu64 " beyond %d streams\n", rn->tcp_streams, rn->tcp_messages,
			rn->tcp_gaps, rn->tcp_desync, rn->tcp_over_limit, MAX_TCP_STREAMS);
}

/* ---- input ---------------------------------------------------------------- */

static bool port_wanted(const struct run *rn, uint16_t port)
{
	if (!rn->nports)
		return true;
	for (size_t i = 0; i < rn->nports; i++)
		if (rn->ports[i] == port)
			return true;
	return false;
}

static void on_tcp_msg(void *arg, const uint8_t *msg, size_t len)
{
	struct run *rn = arg;

	rn->tcp_messages++;
	rn->datagrams++;
	flowdec_input(rn->fd, &rn->cur_src, rn->cur_sport, rn->cur_now, msg, len, rn->cur_frame);
}

static struct tcp_stream *tcp_find(struct run *rn, const struct pkt_info *pi, bool create)
{
	struct tcp_stream *free_slot = NULL;

	for (int i = 0; i < MAX_TCP_STREAMS; i++) {
		struct tcp_stream *t = &rn->tcp[i];
		if (!t->used) {
			if (!free_slot)
				free_slot = t;
			continue;
		}
		if (t->sport == pi->sport && t->dport == pi->dport &&
		    addr_cmp(&t->src, &pi->src) == 0 && addr_cmp(&t->dst, &pi->dst) == 0)
			return t;
	}
	if (!create)
		return NULL;
	if (!free_slot) {
		rn->tcp_over_limit++;
		return NULL;
	}
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->src = pi->src;
	free_slot->dst = pi->dst;
	free_slot->sport = pi->sport;
	free_slot->dport = pi->dport;
	ipfix_stream_init(&free_slot->s);
	rn->tcp_streams++;
	return free_slot;
}

static void tcp_close(struct tcp_stream *t)
{
	ipfix_stream_free(&t->s);
	t->used = false;
}

/* One TCP segment of an exporter's connection: in-order bytes go to the
 * IPFIX framing, duplicates are skipped, a hole abandons the connection
 * (IPFIX cannot resynchronise inside a stream). */
static void tcp_segment(struct run *rn, const struct pcap_rec *rec, const struct pkt_info *pi,
			uint64_t now)
{
	uint32_t seq = ld_be32(rec->data + pi->l4_off + 4);
	size_t end = (size_t)pi->l3_off + pi->ip_len;
	bool syn = pi->tcp_flags & 0x02, fin_rst = pi->tcp_flags & 0x05;

	if (end > rec->caplen)
		end = rec->caplen;
	size_t plen = end > pi->payload_off ? end - pi->payload_off : 0;
	struct tcp_stream *t = tcp_find(rn, pi, syn || plen);
	if (!t)
		return;
	if (syn) {
		t->next_seq = seq + 1;
		t->dead = false;
		return;
	}
	if (plen && !t->dead) {
		const uint8_t *p = rec->data + pi->payload_off;
		int32_t ahead = (int32_t)(seq - t->next_seq);
		if (t->s.bytes == 0 && t->next_seq == 0)
			ahead = 0;         /* joined after the handshake */
		if (ahead > 0) {
			rn->tcp_gaps++;
			t->dead = true;
		} else if ((uint32_t)-ahead < plen) {
			size_t skip = (size_t)(uint32_t)-ahead;
			rn->cur_frame = rn->frames;
			rn->cur_now = now;
			rn->cur_src = pi->src;
			rn->cur_sport = pi->sport;
			if (ipfix_stream_feed(&t->s, p + skip, plen - skip, on_tcp_msg, rn) < 0) {
				rn->tcp_desync++;
				t->dead = true;
			}
			t->next_seq = seq + (uint32_t)plen;
		}
	}
	if (fin_rst)
		tcp_close(t);
}

/* Finds the UDP payload of one captured frame: 1 with <exp>, <payload>,
 * <plen> set, 0 when the frame is skipped (counted). */
static int udp_payload(struct run *rn, const struct pcap_rec *rec, struct vt_addr *exp,
		       uint16_t *sport, const uint8_t **payload, size_t *plen)
{
	struct pkt_info pi;
	int r = pkt_decode(&pi, rec->link, rec->data, rec->caplen);

	if (r != 0) {
		if (r < 0)
			rn->pkt_errors++;
		else
			rn->not_udp++;
		return 0;
	}
	if (pi.proto == 6 && rn->o->tcp && pi.has_l4 && !pi.is_frag &&
	    pi.l4_off + 20u <= rec->caplen && port_wanted(rn, pi.dport)) {
		tcp_segment(rn, rec, &pi, rec->ts_ns / 1000000);
		return 0;
	}
	if (pi.proto != 17) {
		rn->not_udp++;
		return 0;
	}
	if (pi.is_frag) {
		rn->fragments++;
		return 0;
	}
	if (!pi.has_l4 || pi.l4_off + 8u > rec->caplen) {
		rn->pkt_errors++;
		return 0;
	}
	if (!port_wanted(rn, pi.dport)) {
		rn->not_port++;
		return 0;
	}
	/* the UDP length, not the captured length: frames may carry an
	 * Ethernet trailer after the datagram */
	uint16_t ulen = ld_be16(rec->data + pi.l4_off + 4);
	size_t avail = rec->caplen - (pi.l4_off + 8u);
	if (ulen < 8) {
		rn->pkt_errors++;
		return 0;
	}
	if ((size_t)ulen - 8 > avail) {
		rn->truncated++; /* snapped: decode what was captured */
		*plen = avail;
	} else {
		*plen = (size_t)ulen - 8;
	}
	*payload = rec->data + pi.l4_off + 8;
	*exp = pi.src;
	*sport = pi.sport;
	return 1;
}

static int read_pcap(struct run *rn, const char *path)
{
	struct vt_err err = { 0 };
	struct pcapfile *pf = pcapfile_open(path, &err);
	struct pcap_rec rec;
	int r;

	if (!pf) {
		fprintf(stderr, "vtap flowdecode: %s\n", err.msg);
		return 1;
	}
	while ((r = pcapfile_next(pf, &rec, &err)) == 1) {
		struct vt_addr exp;
		const uint8_t *p;
		size_t n;
		uint16_t sport;
		uint64_t now = rec.ts_ns / 1000000;

		rn->frames++;
		flowdec_expire(rn->fd, now);
		if (!udp_payload(rn, &rec, &exp, &sport, &p, &n))
			continue;
		rn->datagrams++;
		flowdec_input(rn->fd, &exp, sport, now, p, n, rn->frames);
	}
	pcapfile_close(pf);
	if (r < 0) {
		fprintf(stderr, "vtap flowdecode: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static int read_raw(struct run *rn, const char *path, const struct vt_addr *exp)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 1;

	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "vtap flowdecode: %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (st.st_size > (off_t)RAW_FILE_MAX) {
		fprintf(stderr, "vtap flowdecode: %s: larger than %u bytes\n", path, RAW_FILE_MAX);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fprintf(stderr, "vtap flowdecode: %s: out of memory\n", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "vtap flowdecode: %s: read error\n", path);
			goto out;
		}
		len += (size_t)n;
	}
	/* datagrams back to back: each one's length from its own header */
	for (size_t off = 0; off < len;) {
		size_t n = flowdec_frame_len(buf + off, len - off);
		rn->frames++;
		rn->datagrams++;
		flowdec_input(rn->fd, exp, 0, wall_ms(), buf + off, n, rn->frames);
		off += n;
	}
	ret = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return ret;
}

static int flowdecode_run(const struct cmd *c, void *o, int argc, char **argv)
{
	const struct flowdecode_opts *opts = o;
	struct flowdec_ops ops = { .record = on_record };
	struct flowdec_conf conf;
	struct vt_addr exp;
	struct run rn;
	int ret = 0;

	(void)c;
	(void)argc;
	(void)argv;
	memset(&rn, 0, sizeof(rn));
	rn.o = opts;
	rn.fp = stdout;
	if (!opts->read.n && !opts->raw.n) {
		fprintf(stderr, "vtap flowdecode: give -r/--read FILE or --raw FILE\n");
		return 2;
	}
	if (addr_parse(opts->exporter, &exp) < 0) {
		fprintf(stderr, "vtap flowdecode: option -e/--exporter: '%s' is not an IP address\n",
			opts->exporter);
		return 2;
	}
	for (size_t i = 0; i < opts->port.n; i++) {
		uint64_t v;
		if (parse_u64(opts->port.v[i], 1, 65535, &v) < 0) {
			fprintf(stderr, "vtap flowdecode: option -p/--port: '%s' is not a port "
				"(1-65535)\n", opts->port.v[i]);
			return 2;
		}
		rn.ports[rn.nports++] = (uint16_t)v;
	}
	if (opts->tcp) {
		rn.tcp = calloc(MAX_TCP_STREAMS, sizeof(*rn.tcp));
		if (!rn.tcp) {
			fprintf(stderr, "vtap flowdecode: out of memory\n");
			return 1;
		}
	}
	flowdec_conf_defaults(&conf);
	conf.hold_ms = opts->hold_ms;
	rn.fd = flowdec_new(&conf, &ops, &rn);
	if (!rn.fd) {
		fprintf(stderr, "vtap flowdecode: %s\n", strerror(errno));
		ret = 1;
		goto out;
	}
	if (opts->templates) {
		struct vt_err err = { 0 };
		int r = flowdec_templates_load(rn.fd, opts->templates, 0, &err);
		if (r < 0 && r != -ENOENT) {
			fprintf(stderr, "vtap flowdecode: option -t/--templates: %s\n", err.msg);
			ret = 1;
			goto out;
		}
	}
	for (size_t i = 0; i < opts->read.n && !ret; i++)
		ret = read_pcap(&rn, opts->read.v[i]);
	for (size_t i = 0; i < opts->raw.n && !ret; i++)
		ret = read_raw(&rn, opts->raw.v[i], &exp);
	/* what still waits for a template at the end never gets one */
	flowdec_expire(rn.fd, UINT64_MAX);
	if (!ret || rn.frames) {
		/* (a damaged capture: what came before the damage counts) */
		flowdec_foreach_exporter(rn.fd, on_exporter, &rn);
		summary(&rn);
	}
	if (opts->templates && !ret) {
		struct vt_err err = { 0 };
		if (flowdec_templates_save(rn.fd, opts->templates, &err) < 0) {
			fprintf(stderr, "vtap flowdecode: option -t/--templates: %s\n", err.msg);
			ret = 1;
		}
	}
out:
	for (int i = 0; rn.tcp && i < MAX_TCP_STREAMS; i++)
		if (rn.tcp[i].used)
			tcp_close(&rn.tcp[i]);
	free(rn.tcp);
	flowdec_free(rn.fd);
	if (fflush(stdout) != 0)
		ret = 1;
	return ret;
}

const struct cmd cmd_flowdecode = {
	.name = "flowdecode",
	.summary = "decode NetFlow v5/v9, IPFIX and sFlow from a capture or raw datagrams",
	.usage = NULL,
	.description =
		"Runs the collector's decoders offline. With -r, every UDP datagram of the "
		"capture (or those to the --port given) is decoded in capture order, the "
		"exporter being the datagram's source address and the time its capture "
		"time. With --raw, the file holds one or more datagrams back to back (NetFlow "
		"v5 and IPFIX carry their length; a v9 or sFlow datagram takes the rest of "
		"the file). Records are printed as they are decoded (records held for a "
		"template that arrives later appear then, marked late), followed by each "
		"exporter's statistics: datagrams, records, errors by reason, data without "
		"template, sequence gaps, templates and sampling.",
	.opts = flowdecode_opts,
	.nopts = ARRAY_SIZE(flowdecode_opts),
	.opts_size = sizeof(struct flowdecode_opts),
	.run = flowdecode_run,
};
