/* cmd_decode.c — `vtap decode`: reads a pcap/pcapng file and prints what
 * the packet decoder (lib/pkt) finds in every frame, one line of text or
 * one JSON object per record, then a summary with per-reason counts. It is
 * how tests compare our decoder with tshark frame by frame, and how an
 * operator finds out why a capture meters the way it does. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/timeutil.h"
#include "pkt/pcapfile.h"
#include "pkt/pkt.h"

struct decode_opts {
	const char *read;
	bool json;
	uint64_t count;
	const char *link;
	bool quiet;
};

static const struct opt_def decode_opt_defs[] = {
	{ "read", 'r', OPT_STR, offsetof(struct decode_opts, read), "FILE",
	  "capture file to decode (pcap or pcapng, detected from its magic number); - for stdin",
	  0, 0, NULL, NULL },
	{ "json", 'j', OPT_FLAG, offsetof(struct decode_opts, json), NULL,
	  "one JSON object per line per record, and a final {\"summary\":...} line",
	  0, 0, NULL, NULL },
	{ "count", 'c', OPT_UINT, offsetof(struct decode_opts, count), "N",
	  "stop after N records (0 = all)", 0, UINT32_MAX, NULL, "0" },
	{ "link", 0, OPT_STR, offsetof(struct decode_opts, link), "TYPE",
	  "decode every record as this link type (LINKTYPE number or a name: ethernet, raw, "
	  "linux_sll, linux_sll2, null, loop, ipv4, ipv6, nflog) instead of the file's",
	  0, 0, NULL, NULL },
	{ "quiet", 'q', OPT_FLAG, offsetof(struct decode_opts, quiet), NULL,
	  "print only the summary", 0, 0, NULL, NULL },
};

/* Totals for the summary. */
struct decode_sum {
	uint64_t records, ip, ipv4, ipv6, non_ip, undecoded, ip_len, l4;
	uint64_t err[PKT_ERR__COUNT];
};

static int parse_link(const char *s, int *link)
{
	static const int known[] = { PKT_LINK_NULL, PKT_LINK_ETHERNET, PKT_LINK_RAW,
				     PKT_LINK_LOOP, PKT_LINK_LINUX_SLL, PKT_LINK_IPV4,
				     PKT_LINK_IPV6, PKT_LINK_NFLOG, PKT_LINK_LINUX_SLL2 };
	uint64_t v;

	if (parse_u64(s, 0, 65535, &v) == 0) {
		*link = (int)v;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		if (strcmp(pkt_link_name(known[i]), s) == 0) {
			*link = known[i];
			return 0;
		}
	}
	return -EINVAL;
}

/* The address as tshark prints it: IPv6 never shown as dotted IPv4. */
static const char *ip_str(const struct pkt_info *pi, const struct vt_addr *a, char *buf,
			  size_t len)
{
	if (pi->ipver == 4)
		return addr_fmt(a, buf, len);
	if (!inet_ntop(AF_INET6, a->b, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

static bool has_ports(const struct pkt_info *pi)
{
	return pi->has_l4 && pi->proto != 1 && pi->proto != 58;
}

static void tcp_flags_str(uint8_t f, char *buf)
{
	static const char names[] = "FSRPAUEC";
	int n = 0;

	for (int i = 0; i < 8; i++)
		if (f & (1u << i))
			buf[n++] = names[i];
	buf[n] = '\0';
}

static void print_text(FILE *fp, uint64_t num, const struct pcap_rec *rec, int link, int ret,
		       const struct pkt_info *pi)
{
	char s[VT_ADDRSTRLEN], d[VT_ADDRSTRLEN], fl[9];
	const char *ln = pkt_link_name(link);

	fprintf(fp, "%" PRIu64 " ", num);
	if (ln)
		fprintf(fp, "%s", ln);
	else
		fprintf(fp, "link%d", link);
	fprintf(fp, " len %u/%u", rec->caplen, rec->wirelen);
	for (unsigned i = 0; i < pi->nvlan; i++)
		fprintf(fp, "%s%u", i ? "," : " vlan ", pi->vlan[i]);
	if (pi->nmpls)
		fprintf(fp, " mpls %u", pi->nmpls);
	if (ret == 1) {
		fprintf(fp, " non-ip ethertype 0x%04x", pi->ethertype);
	} else if (pi->ipver) {
		fprintf(fp, " ipv%u %s > %s proto %u ip_len %u", pi->ipver,
			ip_str(pi, &pi->src, s, sizeof(s)), ip_str(pi, &pi->dst, d, sizeof(d)),
			pi->proto, pi->ip_len);
		if (pi->ip_len_from_frame)
			fprintf(fp, " (from frame)");
		if (pi->is_frag)
			fprintf(fp, " frag id %u off %u%s", pi->frag_id, pi->frag_off,
				pi->frag_first ? " first" : "");
		if (has_ports(pi))
			fprintf(fp, " ports %u > %u", pi->sport, pi->dport);
		if (pi->has_l4 && pi->proto == 6) {
			tcp_flags_str(pi->tcp_flags, fl);
			fprintf(fp, " flags [%s]", fl);
		}
		if (pi->has_l4 && (pi->proto == 1 || pi->proto == 58))
			fprintf(fp, " icmp %u/%u", pi->icmp_type, pi->icmp_code);
	}
	if (pi->err)
		fprintf(fp, " error %s", pkt_err_name(pi->err));
	fputc('\n', fp);
}

static void print_json(FILE *fp, struct vbuf *b, uint64_t num, const struct pcap_rec *rec,
		       int link, int ret, const struct pkt_info *pi)
{
	char s[VT_ADDRSTRLEN], d[VT_ADDRSTRLEN];
	struct jw w;

	vbuf_reset(b);
	jw_init(&w, b, false);
	jw_obj_open(&w, NULL);
	jw_uint(&w, "frame", num);
	jw_int(&w, "link", link);
	jw_uint(&w, "caplen", rec->caplen);
	jw_uint(&w, "wirelen", rec->wirelen);
	jw_uint(&w, "ts_ns", rec->ts_ns);
	jw_int(&w, "ret", ret);
	if (pi->has_eth || pi->ethertype)
		jw_uint(&w, "ethertype", pi->ethertype);
	jw_arr_open(&w, "vlan");
	for (unsigned i = 0; i < pi->nvlan; i++)
		jw_uint(&w, NULL, pi->vlan[i]);
	jw_arr_close(&w);
	if (pi->nmpls)
		jw_uint(&w, "mpls", pi->nmpls);
	jw_uint(&w, "ipver", pi->ipver);
	if (pi->ipver) {
		jw_str(&w, "src", ip_str(pi, &pi->src, s, sizeof(s)));
		jw_str(&w, "dst", ip_str(pi, &pi->dst, d, sizeof(d)));
		jw_uint(&w, "proto", pi->proto);
		jw_uint(&w, "ip_len", pi->ip_len);
		if (pi->ip_len_from_frame)
			jw_bool(&w, "ip_len_from_frame", true);
		jw_bool(&w, "frag", pi->is_frag);
		if (pi->is_frag) {
			jw_bool(&w, "frag_first", pi->frag_first);
			jw_uint(&w, "frag_off", pi->frag_off);
			jw_uint(&w, "frag_id", pi->frag_id);
		}
		if (has_ports(pi)) {
			jw_uint(&w, "sport", pi->sport);
			jw_uint(&w, "dport", pi->dport);
		}
		if (pi->has_l4 && pi->proto == 6)
			jw_uint(&w, "tcp_flags", pi->tcp_flags);
		if (pi->has_l4 && (pi->proto == 1 || pi->proto == 58)) {
			jw_uint(&w, "icmp_type", pi->icmp_type);
			jw_uint(&w, "icmp_code", pi->icmp_code);
		}
	}
	jw_str(&w, "err", pkt_err_name(pi->err));
	jw_obj_close(&w);
	vbuf_addc(b, '\n');
	fwrite(b->data, 1, b->len, fp);
}

static void print_summary(FILE *fp, bool json, struct vbuf *b, const struct decode_sum *sum,
			  const struct pcapfile *pf, const char *read_error)
{
	const struct pcapfile_stats *st = pcapfile_stats(pf);

	if (json) {
		struct jw w;

		vbuf_reset(b);
		jw_init(&w, b, false);
		jw_obj_open(&w, NULL);
		jw_obj_open(&w, "summary");
		jw_str(&w, "format", pcapfile_format(pf));
		jw_uint(&w, "records", sum->records);
		jw_uint(&w, "ip", sum->ip);
		jw_uint(&w, "ipv4", sum->ipv4);
		jw_uint(&w, "ipv6", sum->ipv6);
		jw_uint(&w, "non_ip", sum->non_ip);
		jw_uint(&w, "undecoded", sum->undecoded);
		jw_uint(&w, "l4", sum->l4);
		jw_uint(&w, "ip_len_sum", sum->ip_len);
		jw_obj_open(&w, "errors");
		for (int e = 1; e < PKT_ERR__COUNT; e++)
			if (sum->err[e])
				jw_uint(&w, pkt_err_name((enum pkt_err)e), sum->err[e]);
		jw_obj_close(&w);
		jw_obj_open(&w, "reader");
		jw_uint(&w, "snapped", st->snapped);
		jw_uint(&w, "bad_timestamps", st->bad_timestamps);
		jw_uint(&w, "skipped_blocks", st->skipped_blocks);
		jw_uint(&w, "over_snaplen", st->over_snaplen);
		jw_uint(&w, "short_wirelen", st->short_wirelen);
		jw_uint(&w, "interfaces", st->interfaces);
		jw_uint(&w, "ifs_over_limit", st->ifs_over_limit);
		jw_uint(&w, "skipped_records", st->skipped_records);
		jw_uint(&w, "bad_options", st->bad_options);
		jw_obj_close(&w);
		jw_str(&w, "read_error", read_error);
		jw_obj_close(&w);
		jw_obj_close(&w);
		vbuf_addc(b, '\n');
		fwrite(b->data, 1, b->len, fp);
		return;
	}
	fprintf(fp, "# %s: %" PRIu64 " records, %" PRIu64 " IP (%" PRIu64 " IPv4, %" PRIu64
		    " IPv6), %" PRIu64 " non-IP, %" PRIu64 " undecoded; ip_len sum %" PRIu64 "\n",
		pcapfile_format(pf), sum->records, sum->ip, sum->ipv4, sum->ipv6, sum->non_ip,
		sum->undecoded, sum->ip_len);
	for (int e = 1; e < PKT_ERR__COUNT; e++)
		if (sum->err[e])
			fprintf(fp, "# error %s: %" PRIu64 "\n", pkt_err_name((enum pkt_err)e),
				sum->err[e]);
	if (st->snapped || st->bad_timestamps || st->skipped_blocks || st->over_snaplen ||
	    st->short_wirelen || st->ifs_over_limit || st->skipped_records || st->bad_options)
		fprintf(fp, "# reader: %" PRIu64 " snapped, %" PRIu64 " bad timestamps, %" PRIu64
			    " skipped blocks, %" PRIu64 " over snaplen, %" PRIu64
			    " short wirelen, %" PRIu64 " interfaces over limit, %" PRIu64
			    " skipped records, %" PRIu64 " bad options\n",
			st->snapped, st->bad_timestamps, st->skipped_blocks, st->over_snaplen,
			st->short_wirelen, st->ifs_over_limit, st->skipped_records,
			st->bad_options);
}

static int decode_run(const struct cmd *c, void *o, int argc, char **argv)
{
	const struct decode_opts *opts = o;
	struct decode_sum sum = { 0 };
	struct vt_err err = { 0 };
	struct pcapfile *pf;
	struct pcap_rec rec;
	struct pkt_info pi;
	struct vbuf b;
	int link = -1, r, rc = 0;

	(void)c;
	(void)argc;
	(void)argv;
	if (!opts->read) {
		fprintf(stderr, "vtap decode: option -r/--read FILE is required\n");
		return 2;
	}
	if (opts->link && parse_link(opts->link, &link) < 0) {
		fprintf(stderr,
			"vtap decode: option --link: '%s' is not a link type number (0-65535) or "
			"name (ethernet, raw, linux_sll, linux_sll2, null, loop, ipv4, ipv6, nflog)\n",
			opts->link);
		return 2;
	}
	pf = pcapfile_open(opts->read, &err);
	if (!pf) {
		fprintf(stderr, "vtap decode: %s\n", err.msg);
		return 1;
	}
	vbuf_init(&b, 1 << 16);
	while (!opts->count || sum.records < opts->count) {
		int l;

		r = pcapfile_next(pf, &rec, &err);
		if (r <= 0)
			break;
		l = link >= 0 ? link : rec.link;
		r = pkt_decode_frame(&pi, l, rec.data, rec.caplen, rec.wirelen);
		sum.records++;
		if (r == 0) {
			sum.ip++;
			if (pi.ipver == 4)
				sum.ipv4++;
			else
				sum.ipv6++;
			sum.ip_len += pi.ip_len;
			sum.l4 += pi.has_l4;
		} else if (r == 1) {
			sum.non_ip++;
		} else {
			sum.undecoded++;
		}
		sum.err[pi.err]++;
		if (!opts->quiet) {
			if (opts->json)
				print_json(stdout, &b, sum.records, &rec, l, r, &pi);
			else
				print_text(stdout, sum.records, &rec, l, r, &pi);
		}
		r = 0;
	}
	if (r < 0) {
		fprintf(stderr, "vtap decode: %s: %s\n",
			strcmp(opts->read, "-") ? opts->read : "stdin", err.msg);
		rc = 1;
	}
	print_summary(stdout, opts->json, &b, &sum, pf, r < 0 ? err.msg : NULL);
	vbuf_free(&b);
	pcapfile_close(pf);
	if (fflush(stdout) != 0 && rc == 0)
		rc = 1;
	return rc;
}

const struct cmd cmd_decode = {
	.name = "decode",
	.summary = "decode every frame of a pcap/pcapng file and print the fields vtap meters",
	.usage = NULL,
	.description =
		"Reads FILE with vtap's capture reader and decodes each record with the packet "
		"decoder the meter uses: link type, VLAN IDs, MPLS depth, IP version, addresses, "
		"protocol, ports or ICMP type/code, TCP flags, the IP length counted in flows, "
		"fragment information and, for a frame that could not be decoded to the end, "
		"the reason. A summary follows: records, IP and non-IP frames, the sum of ip_len "
		"and a count per error reason. A damaged file is decoded up to the damage, then "
		"the command prints the reader's message (with the byte offset) and exits 1.",
	.opts = decode_opt_defs,
	.nopts = ARRAY_SIZE(decode_opt_defs),
	.opts_size = sizeof(struct decode_opts),
	.run = decode_run,
};
