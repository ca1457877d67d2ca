/* flowcsv.c — see flowcsv.h. A table maps each text column to a field of
 * struct flow_row with a kind that knows how to print and parse it; the
 * nfdump dialect adds its own column names onto the same kinds plus a few
 * of its own (duration, protocol names, flag strings). */
#include "store/flowcsv.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/timeutil.h"
#include "flow/addr.h"

enum fk {
	FK_TIME, FK_U8, FK_U16, FK_U32, FK_U64, FK_ADDR, FK_MAC, FK_UUID, FK_NAME, FK_IFNAME,
	FK_SZNAME, FK_DZNAME,
	/* nfdump-only */
	FK_NF_DURATION, FK_NF_PROTO, FK_NF_FLAGS, FK_IGNORE,
};

struct field {
	const char *name;
	enum fk kind;
	size_t off;          /* in struct flow_row */
};

#define R(f) offsetof(struct flow_row, rec.f)
#define A(f) offsetof(struct flow_row, attr.f)
#define VMF(pfx, base)                                                          \
	{ pfx "_uuid", FK_UUID, base + offsetof(struct vm_ident, uuid) },       \
	{ pfx, FK_NAME, base + offsetof(struct vm_ident, name) },               \
	{ pfx "_if", FK_IFNAME, base + offsetof(struct vm_ident, ifname) },     \
	{ pfx "_ifindex", FK_U32, base + offsetof(struct vm_ident, ifindex) }

/* The vtap columns, in output order. */
static const struct field fields[] = {
	{ "first", FK_TIME, R(first_ms) },
	{ "last", FK_TIME, R(last_ms) },
	{ "proto", FK_U8, R(proto) },
	{ "src", FK_ADDR, R(src) },
	{ "sport", FK_U16, R(sport) },
	{ "dst", FK_ADDR, R(dst) },
	{ "dport", FK_U16, R(dport) },
	{ "packets", FK_U64, R(packets) },
	{ "bytes", FK_U64, R(bytes) },
	{ "tcp_flags", FK_U8, R(tcp_flags) },
	{ "tos", FK_U8, R(tos) },
	{ "ipver", FK_U8, R(ipver) },
	{ "vlan", FK_U16, R(vlan) },
	{ "in_if", FK_U32, R(in_if) },
	{ "out_if", FK_U32, R(out_if) },
	{ "direction", FK_U8, R(direction) },
	{ "end_reason", FK_U8, R(end_reason) },
	{ "src_mac", FK_MAC, R(src_mac) },
	{ "dst_mac", FK_MAC, R(dst_mac) },
	{ "nexthop", FK_ADDR, R(nexthop) },
	{ "src_as", FK_U32, R(src_as) },
	{ "dst_as", FK_U32, R(dst_as) },
	{ "src_mask", FK_U8, R(src_mask) },
	{ "dst_mask", FK_U8, R(dst_mask) },
	{ "scope", FK_U8, R(scope) },
	{ "exporter", FK_ADDR, R(exporter) },
	{ "obs_domain", FK_U32, R(obs_domain) },
	{ "sampling", FK_U32, R(sampling) },
	{ "exp_version", FK_U8, R(exp_version) },
	VMF("vm", R(vm)),
	VMF("peer", R(peer)),
	VMF("srcvm", A(src_vm)),
	VMF("dstvm", A(dst_vm)),
	{ "src_zone", FK_U16, A(src_zone) },
	{ "src_zone_name", FK_SZNAME, 0 },
	{ "dst_zone", FK_U16, A(dst_zone) },
	{ "dst_zone_name", FK_DZNAME, 0 },
	{ "locality", FK_U8, A(locality) },
	{ "dup", FK_U8, A(dup) },
};

/* `nfdump -o csv` columns (nfdump 1.7). Those not listed are ignored. */
static const struct field nf_fields[] = {
	{ "ts", FK_TIME, R(first_ms) },
	{ "te", FK_TIME, R(last_ms) },
	{ "td", FK_NF_DURATION, 0 },
	{ "sa", FK_ADDR, R(src) },
	{ "da", FK_ADDR, R(dst) },
	{ "sp", FK_U16, R(sport) },
	{ "dp", FK_U16, R(dport) },
	{ "pr", FK_NF_PROTO, R(proto) },
	{ "flg", FK_NF_FLAGS, R(tcp_flags) },
	{ "stos", FK_U8, R(tos) },
	{ "ipkt", FK_U64, R(packets) },
	{ "ibyt", FK_U64, R(bytes) },
	{ "in", FK_U32, R(in_if) },
	{ "out", FK_U32, R(out_if) },
	{ "sas", FK_U32, R(src_as) },
	{ "das", FK_U32, R(dst_as) },
	{ "smk", FK_U8, R(src_mask) },
	{ "dmk", FK_U8, R(dst_mask) },
	{ "dir", FK_U8, R(direction) },
	{ "nh", FK_ADDR, R(nexthop) },
	{ "svln", FK_U16, R(vlan) },
	{ "ismc", FK_MAC, R(src_mac) },
	{ "odmc", FK_MAC, R(dst_mac) },
	{ "ra", FK_ADDR, R(exporter) },
};

/* nfdump's protocol names (its output_util.c protoList, 0..137; it prints
 * higher numbers as numbers). Names that are numbers stay numbers. */
static const char *const nf_protos[] = {
	"0", "ICMP", "IGMP", "GGP", "IPIP", "ST", "TCP", "CBT", "EGP", "IGP", "BBN", "NVPII",
	"PUP", "ARGUS", "ENCOM", "XNET", "CHAOS", "UDP", "MUX", "DCN", "HMP", "PRM", "XNS",
	"Trnk1", "Trnk2", "Leaf1", "Leaf2", "RDP", "IRTP", "ISO-4", "NETBK", "MFESP", "MEINP",
	"DCCP", "3PC", "IDPR", "XTP", "DDP", "IDPR", "TP++", "IL", "IPv6", "SDRP", "Rte6",
	"Frag6", "IDRP", "RSVP", "GRE", "MHRP", "BNA", "ESP", "AH", "INLSP", "SWIPE", "NARP",
	"MOBIL", "TLSP", "SKIP", "ICMP6", "NOHE6", "OPTS6", "HOST", "CFTP", "NET", "SATNT",
	"KLAN", "RVD", "IPPC", "FS", "SATM", "VISA", "IPCV", "CPNX", "CPHB", "WSN", "PVP",
	"BSATM", "SUNND", "WBMON", "WBEXP", "ISOIP", "VMTP", "SVMTP", "VINES", "TTP", "NSIGP",
	"DGP", "TCF", "EIGRP", "OSPF", "S-RPC", "LARP", "MTP", "AX.25", "OS", "MICP", "SCCSP",
	"ETHIP", "ENCAP", "99", "GMTP", "IFMP", "PNNI", "PIM", "ARIS", "SCPS", "QNX", "A/N",
	"IPcmp", "SNP", "CpqPP", "IPXIP", "VRRP", "PGM", "0hop", "L2TP", "DDX", "IATP", "STP",
	"SRP", "UTI", "SMP", "SM", "PTP", "ISIS4", "FIRE", "CRTP", "CRUDP", "128", "IPLT",
	"SPS", "PIPE", "SCTP", "FC", "134", "MHEAD", "UDP-L", "MPLS",
};

const char *flowcsv_proto_name(uint8_t p)
{
	return p < ARRAY_SIZE(nf_protos) ? nf_protos[p] : NULL;
}

int flowcsv_proto_parse(const char *s, uint8_t *p)
{
	uint64_t v;

	if (parse_u64(s, 0, 255, &v) == 0) {
		*p = (uint8_t)v;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(nf_protos); i++)
		if (!strcasecmp(s, nf_protos[i])) {
			*p = (uint8_t)i;
			return 0;
		}
	return -EINVAL;
}

/* ---- writing ------------------------------------------------------------- */

static void *fptr(const struct flow_row *row, const struct field *f)
{
	return (uint8_t *)(uintptr_t)row + f->off;
}

/* Formats field <f> into <buf>; returns true when it is a number (for
 * JSON), with the value in *num. */
static bool fmt_field(const struct field *f, const struct flow_row *row, const char *szone,
		      const char *dzone, char *buf, size_t len, uint64_t *num)
{
	const void *p = fptr(row, f);
	uint64_t v = 0;

	buf[0] = '\0';
	switch (f->kind) {
	case FK_TIME:
		memcpy(&v, p, 8);
		fmt_time_ms(v, buf, len);
		return false;
	case FK_U8: v = *(const uint8_t *)p; break;
	case FK_U16: { uint16_t x; memcpy(&x, p, 2); v = x; break; }
	case FK_U32: { uint32_t x; memcpy(&x, p, 4); v = x; break; }
	case FK_U64: memcpy(&v, p, 8); break;
	case FK_ADDR: addr_fmt(p, buf, len); return false;
	case FK_MAC: mac_fmt(p, buf, len); return false;
	case FK_UUID:
		if (!uuid_is_nil(p))
			uuid_fmt(p, buf, len);
		return false;
	case FK_NAME: snprintf(buf, len, "%.*s", VT_NAME_MAX - 1, (const char *)p); return false;
	case FK_IFNAME: snprintf(buf, len, "%.*s", VT_IFNAME_MAX - 1, (const char *)p); return false;
	case FK_SZNAME: snprintf(buf, len, "%s", szone ? szone : ""); return false;
	case FK_DZNAME: snprintf(buf, len, "%s", dzone ? dzone : ""); return false;
	default: return false;
	}
	snprintf(buf, len, "%llu", (unsigned long long)v);
	*num = v;
	return true;
}

static void csv_put(FILE *fp, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', fp);
		if (*s != '\n' && *s != '\r')
			fputc(*s, fp);
	}
	fputc('"', fp);
}

void flowcsv_header(FILE *fp)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		fprintf(fp, "%s%s", i ? "," : "", fields[i].name);
	fputc('\n', fp);
}

void flowcsv_write(FILE *fp, const struct flow_row *row, const char *szone, const char *dzone)
{
	char buf[VT_NAME_MAX + 8];
	uint64_t num;

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (i)
			fputc(',', fp);
		fmt_field(&fields[i], row, szone, dzone, buf, sizeof(buf), &num);
		csv_put(fp, buf);
	}
	fputc('\n', fp);
}

void flowcsv_json(struct jw *w, const struct flow_row *row, const char *szone,
		  const char *dzone)
{
	char buf[VT_NAME_MAX + 8];
	uint64_t num;

	jw_obj_open(w, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (fmt_field(&fields[i], row, szone, dzone, buf, sizeof(buf), &num))
			jw_uint(w, fields[i].name, num);
		else
			jw_str(w, fields[i].name, buf);
		if (fields[i].kind == FK_TIME) {
			char k[24];
			uint64_t t;
			memcpy(&t, fptr(row, &fields[i]), 8);
			snprintf(k, sizeof(k), "%s_ms", fields[i].name);
			jw_uint(w, k, t);
		}
	}
	jw_obj_close(w);
}

/* ---- reading ------------------------------------------------------------- */

#define MAX_COLS 128

struct flowcsv {
	FILE *fp;
	uint8_t rbuf[1 << 16];   /* read buffer: rbuf[rpos..rlen) unread */
	size_t rpos, rlen;
	bool eof;
	char name[256];
	enum flowcsv_dialect dialect;
	uint64_t line;
	const struct field *map[MAX_COLS];   /* per input column; NULL = ignored */
	size_t ncols;
	bool have_td;
	struct vbuf lb;
	char *cells[MAX_COLS];
	bool done;
	uint64_t skipped;      /* nfdump tunnel lines */
	/* zone index -> name, from the *_zone_name columns */
	char *znames[FLOWCSV_MAX_ZONES];
	size_t nz;
};

/* Refills the read buffer, keeping the unread part; the number of new
 * bytes (0 at EOF). */
static size_t refill(struct flowcsv *r)
{
	if (r->rpos) {
		memmove(r->rbuf, r->rbuf + r->rpos, r->rlen - r->rpos);
		r->rlen -= r->rpos;
		r->rpos = 0;
	}
	if (r->eof || r->rlen == sizeof(r->rbuf))
		return 0;
	size_t n = fread(r->rbuf + r->rlen, 1, sizeof(r->rbuf) - r->rlen, r->fp);
	if (n == 0)
		r->eof = true;
	r->rlen += n;
	return n;
}

/* One line without its newline into r->lb; 1, 0 at EOF, -E2BIG (the rest
 * of the line is skipped). */
static int read_line(struct flowcsv *r)
{
	bool skipping = false;

	vbuf_reset(&r->lb);
	for (;;) {
		const uint8_t *start = r->rbuf + r->rpos;
		size_t avail = r->rlen - r->rpos;
		const uint8_t *nl = memchr(start, '\n', avail);
		size_t take = nl ? (size_t)(nl - start) : avail;
		if (!skipping && vbuf_add(&r->lb, start, take) < 0)
			skipping = true;
		r->rpos += take + (nl ? 1 : 0);
		if (nl)
			break;
		if (refill(r) == 0 && r->rpos == r->rlen) {
			if (r->lb.len == 0 && !skipping)
				return 0;   /* end of input */
			break;          /* last line without a newline */
		}
	}
	r->line++;
	if (skipping)
		return -E2BIG;
	if (r->lb.len && r->lb.data[r->lb.len - 1] == '\r')
		r->lb.len--;
	if (vbuf_addc(&r->lb, '\0') < 0)
		return -E2BIG;
	return 1;
}

/* Splits r->lb in place into cells (RFC 4180 quoting); returns the count
 * or -EINVAL. */
static int split(struct flowcsv *r)
{
	char *p = (char *)r->lb.data, *out;
	int n = 0;

	for (;;) {
		if (n == MAX_COLS)
			return -EINVAL;
		r->cells[n++] = out = p;
		if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '\0')
					return -EINVAL;
				if (*p == '"') {
					if (p[1] == '"') {
						*out++ = '"';
						p += 2;
						continue;
					}
					p++;
					break;
				}
				*out++ = *p++;
			}
			if (*p != ',' && *p != '\0')
				return -EINVAL;
		} else {
			while (*p && *p != ',')
				*out++ = *p++;
		}
		char end = *p;
		*out = '\0';
		if (end == '\0')
			return n;
		p++;
	}
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static const struct field *lookup(const struct field *tab, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(tab[i].name, name))
			return &tab[i];
	return NULL;
}

struct flowcsv *flowcsv_open(FILE *fp, const char *name, struct vt_err *err)
{
	struct flowcsv *r = calloc(1, sizeof(*r));
	int n, rc;
	bool src = false, dst = false, time = false;

	if (!r) {
		vt_err_set(err, -ENOMEM, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	r->fp = fp;
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "input");
	vbuf_init(&r->lb, FLOWCSV_MAX_LINE);
	rc = read_line(r);
	if (rc <= 0) {
		vt_err_set(err, -EINVAL, "%s: %s", r->name,
			   rc == 0 ? "empty input (expected a CSV header line)"
				   : "header line too long");
		goto fail;
	}
	if ((n = split(r)) < 0) {
		vt_err_set(err, -EINVAL, "%s:1: malformed CSV header", r->name);
		goto fail;
	}
	r->dialect = lookup(nf_fields, ARRAY_SIZE(nf_fields), trim(r->cells[0])) &&
		     !lookup(fields, ARRAY_SIZE(fields), trim(r->cells[0]))
		     ? FLOWCSV_NFDUMP : FLOWCSV_VTAP;
	for (int i = 0; i < n; i++) {
		const char *c = trim(r->cells[i]);
		const struct field *f = r->dialect == FLOWCSV_NFDUMP
			? lookup(nf_fields, ARRAY_SIZE(nf_fields), c)
			: lookup(fields, ARRAY_SIZE(fields), c);
		for (int j = 0; j < i && f; j++)
			if (r->map[j] == f) {
				vt_err_set(err, -EINVAL, "%s:1: column '%s' appears twice", r->name, c);
				goto fail;
			}
		r->map[i] = f;
		if (f && f->kind == FK_NF_DURATION)
			r->have_td = true;
		if (f && f->kind == FK_ADDR && f->off == R(src))
			src = true;
		if (f && f->kind == FK_ADDR && f->off == R(dst))
			dst = true;
		if (f && f->kind == FK_TIME)
			time = true;
	}
	r->ncols = (size_t)n;
	if (!src || !dst || !time) {
		vt_err_set(err, -EINVAL,
			   "%s:1: the header names no %s column (expected the columns of "
			   "`vtap flows --csv` or `nfdump -o csv`)", r->name,
			   !src ? "source address" : !dst ? "destination address" : "time");
		goto fail;
	}
	return r;
fail:
	flowcsv_close(r);
	errno = EINVAL;
	return NULL;
}

/* The last millisecond of year 9999: times beyond cannot be printed back
 * as ISO 8601. */
#define TS_MAX 253402300799999ull

/* "2026-11-21T10:00:00.123Z", "2026-11-21 10:00:00" (nfdump), or epoch
 * milliseconds, up to the end of year 9999. */
static int parse_ts(const char *s, uint64_t *out)
{
	struct tm tm;
	const char *p;
	uint64_t ms = 0;

	if (isdigit((unsigned char)s[0]) && parse_u64(s, 0, TS_MAX, out) == 0)
		return 0;
	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p || (*p != 'T' && *p != ' '))
		return -EINVAL;
	p = strptime(p + 1, "%H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		int digits = 0;
		p++;
		while (isdigit((unsigned char)*p)) {
			if (digits < 3)
				ms = ms * 10 + (uint64_t)(*p - '0');
			digits++;
			p++;
		}
		if (!digits)
			return -EINVAL;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*p == 'Z')
		p++;
	if (*p)
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t < 0 || (uint64_t)t * 1000 + ms > TS_MAX)
		return -ERANGE;
	*out = (uint64_t)t * 1000 + ms;
	return 0;
}

/* nfdump's duration: seconds with a fraction ("1.291"). */
static int parse_secs_ms(const char *s, uint64_t *ms)
{
	uint64_t sec = 0, frac = 0;
	int digits = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p)) {
		if (sec > UINT64_MAX / 10 / 1000)
			return -ERANGE;
		sec = sec * 10 + (uint64_t)(*p++ - '0');
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			if (digits < 3)
				frac = frac * 10 + (uint64_t)(*p - '0');
			digits++;
			p++;
		}
	}
	if (*p)
		return -EINVAL;
	for (; digits < 3; digits++)
		frac *= 10;
	*ms = sec * 1000 + frac;
	return 0;
}

static int zone_name_set(struct flowcsv *r, uint16_t idx, const char *name, struct vt_err *err)
{
	if (!idx || !name[0])
		return 0;
	if (idx > FLOWCSV_MAX_ZONES)
		return vt_err_set(err, -EINVAL, "zone index %u above %d", idx, FLOWCSV_MAX_ZONES);
	if (r->znames[idx - 1]) {
		if (strcmp(r->znames[idx - 1], name))
			return vt_err_set(err, -EINVAL, "zone %u named both '%s' and '%s'", idx,
					  r->znames[idx - 1], name);
		return 0;
	}
	r->znames[idx - 1] = strdup(name);
	if (!r->znames[idx - 1])
		return -ENOMEM;
	if (idx > r->nz)
		r->nz = idx;
	return 0;
}

static int set_field(struct flowcsv *r, const struct field *f, char *s, struct flow_row *row,
		     uint64_t *td, const char **szn, const char **dzn, struct vt_err *err)
{
	void *p = fptr(row, f);
	uint64_t v;
	int rc = 0;

	if (f->kind != FK_NAME && f->kind != FK_IFNAME && f->kind != FK_SZNAME &&
	    f->kind != FK_DZNAME)
		s = trim(s);
	switch (f->kind) {
	case FK_TIME:
		if (parse_ts(s, &v) < 0)
			return vt_err_set(err, -EINVAL, "'%s' is not a time", s);
		memcpy(p, &v, 8);
		return 0;
	case FK_U8: case FK_U16: case FK_U32: case FK_U64: {
		static const uint64_t maxv[] = { 0xff, 0xffff, 0xffffffffull, UINT64_MAX };
		uint64_t max = maxv[f->kind - FK_U8];
		if (!*s) {
			v = 0;
		} else if (parse_u64(s, 0, max, &v) < 0) {
			return vt_err_set(err, -EINVAL, "'%s' is not a number (0-%llu)", s,
					  (unsigned long long)max);
		}
		switch (f->kind) {
		case FK_U8: *(uint8_t *)p = (uint8_t)v; break;
		case FK_U16: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
		case FK_U32: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
		default: memcpy(p, &v, 8); break;
		}
		return 0;
	}
	case FK_ADDR:
		if (!*s) {
			memset(p, 0, 16);
			return 0;
		}
		rc = addr_parse(s, p);
		return rc < 0 ? vt_err_set(err, -EINVAL, "'%s' is not an IP address", s) : 0;
	case FK_MAC:
		if (!*s) {
			memset(p, 0, 6);
			return 0;
		}
		return mac_parse(s, p) < 0 ? vt_err_set(err, -EINVAL, "'%s' is not a MAC address", s) : 0;
	case FK_UUID:
		if (!*s) {
			memset(p, 0, 16);
			return 0;
		}
		return uuid_parse(s, p) < 0 ? vt_err_set(err, -EINVAL, "'%s' is not a UUID", s) : 0;
	case FK_NAME:
	case FK_IFNAME: {
		size_t max = f->kind == FK_NAME ? VT_NAME_MAX : VT_IFNAME_MAX;
		if (strlen(s) >= max)
			return vt_err_set(err, -EINVAL, "longer than %zu characters", max - 1);
		memset(p, 0, max);
		memcpy(p, s, strlen(s));
		return 0;
	}
	case FK_SZNAME: *szn = s; return 0;
	case FK_DZNAME: *dzn = s; return 0;
	case FK_NF_DURATION:
		return parse_secs_ms(s, td) < 0
			? vt_err_set(err, -EINVAL, "'%s' is not a duration in seconds", s) : 0;
	case FK_NF_PROTO:
		return flowcsv_proto_parse(s, p) < 0
			? vt_err_set(err, -EINVAL, "'%s' is not a protocol", s) : 0;
	case FK_NF_FLAGS: {
		/* "CEUAPRSF" by position, '.' = clear (nfdump FlagsString) */
		uint8_t fl = 0;
		if (strlen(s) == 8 && !isdigit((unsigned char)s[0])) {
			for (int i = 0; i < 8; i++)
				if (s[i] != '.')
					fl |= (uint8_t)(0x80u >> i);
		} else if (parse_u64(s, 0, 255, &v) == 0) {
			fl = (uint8_t)v;
		} else {
			return vt_err_set(err, -EINVAL, "'%s' is not a TCP flags string", s);
		}
		*(uint8_t *)p = fl;
		return 0;
	}
	case FK_IGNORE:
		return 0;
	}
	(void)r;
	return 0;
}

static bool unspecified(const struct vt_addr *a)
{
	return addr_is_zero(a) || (addr_is_v4(a) && addr_v4(a) == 0);
}

/* Reads one line into <row>: 1 a flow, 2 a line to skip, 0 the end, <0. */
static int next_line(struct flowcsv *r, struct flow_row *row, struct vt_err *err)
{
	struct vt_err ferr = { 0 };
	int n, rc;

	for (;;) {
		if (r->done)
			return 0;
		rc = read_line(r);
		if (rc == 0)
			return 0;
		if (rc < 0)
			return vt_err_set(err, -EINVAL, "%s:%llu: line longer than %u bytes", r->name,
					  (unsigned long long)r->line, FLOWCSV_MAX_LINE);
		const char *l = (const char *)r->lb.data;
		if (!l[strspn(l, " \t")])
			continue;   /* blank */
		/* nfdump ends with "Summary" and a totals header + line */
		if (r->dialect == FLOWCSV_NFDUMP && !isdigit((unsigned char)l[0])) {
			r->done = true;
			return 0;
		}
		break;
	}
	if ((n = split(r)) < 0)
		return vt_err_set(err, -EINVAL, "%s:%llu: malformed CSV (quotes or more than %d columns)",
				  r->name, (unsigned long long)r->line, MAX_COLS);
	if ((size_t)n != r->ncols)
		return vt_err_set(err, -EINVAL, "%s:%llu: %d columns, the header has %zu", r->name,
				  (unsigned long long)r->line, n, r->ncols);
	memset(row, 0, sizeof(*row));
	uint64_t td = 0;
	const char *szn = NULL, *dzn = NULL;
	for (int i = 0; i < n; i++) {
		const struct field *f = r->map[i];
		if (!f)
			continue;
		if (set_field(r, f, r->cells[i], row, &td, &szn, &dzn, &ferr) < 0)
			return vt_err_set(err, -EINVAL, "%s:%llu: column '%s': %s", r->name,
					  (unsigned long long)r->line, f->name, ferr.msg);
	}
	if (r->dialect == FLOWCSV_NFDUMP) {
		/* te is printed in whole seconds; ts + td keeps the milliseconds
		 * of the duration */
		if (r->have_td) {
			if (td > TS_MAX - row->rec.first_ms)
				return vt_err_set(err, -EINVAL, "%s:%llu: column 'td': duration past year 9999",
						  r->name, (unsigned long long)r->line);
			row->rec.last_ms = row->rec.first_ms + td;
		}
		row->rec.ipver = addr_is_v4(&row->rec.src) ? 4 : 6;
		/* nfdump prints a tunnel record's outer header as a line of its
		 * own, before the flow: zero counters, zero addresses. It is not a
		 * flow (nfdump's totals do not count it). */
		if (!row->rec.packets && !row->rec.bytes && unspecified(&row->rec.src) &&
		    unspecified(&row->rec.dst)) {
			r->skipped++;
			return 2;
		}
	}
	if ((szn && (rc = zone_name_set(r, row->attr.src_zone, szn, &ferr)) < 0) ||
	    (dzn && (rc = zone_name_set(r, row->attr.dst_zone, dzn, &ferr)) < 0))
		return vt_err_set(err, rc, "%s:%llu: %s", r->name, (unsigned long long)r->line,
				  ferr.msg);
	return 1;
}

int flowcsv_next(struct flowcsv *r, struct flow_row *row, struct vt_err *err)
{
	int rc;

	while ((rc = next_line(r, row, err)) == 2)
		;
	return rc;
}

enum flowcsv_dialect flowcsv_dialect(const struct flowcsv *r)
{
	return r->dialect;
}

uint64_t flowcsv_line(const struct flowcsv *r)
{
	return r->line;
}

uint64_t flowcsv_skipped(const struct flowcsv *r)
{
	return r->skipped;
}

void flowcsv_zones(const struct flowcsv *r, struct fc_zonemap *zm)
{
	zm->names = (const char *const *)r->znames;
	zm->n = r->nz;
}

void flowcsv_close(struct flowcsv *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < FLOWCSV_MAX_ZONES; i++)
		free(r->znames[i]);
	vbuf_free(&r->lb);
	free(r);
}
