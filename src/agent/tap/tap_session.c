/* tap_session.c — mirror session definitions: JSON in and out, checks that
 * name the field at fault, and compilation into the eBPF map entries (see
 * tap_session.h). */
#include "agent/tap/tap_session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/timeutil.h"
#include "wire/encap.h"

static const char *const dest_names[TAP_DEST__COUNT] = {
	"vxlan", "gre", "erspan2", "erspan3", "tzsp", "pcapng",
};

const char *tap_dest_name(enum tap_dest_type t)
{
	return (unsigned)t < TAP_DEST__COUNT ? dest_names[t] : "?";
}

static const char *const dir_names[4] = { NULL, "from_vm", "to_vm", "both" };
static const char *const mtu_names[3] = { "segment", "slice", "drop" };

/* Protocol names a rule may use, besides a number. */
static const struct {
	const char *name;
	uint8_t num;
} protos[] = {
	{ "icmp", 1 }, { "tcp", 6 }, { "udp", 17 }, { "gre", 47 }, { "esp", 50 },
	{ "ah", 51 }, { "icmp6", 58 }, { "icmpv6", 58 }, { "sctp", 132 },
};

/* ---- small JSON helpers: every error names <path> ----------------------- */

/* Context for error messages: "session 'web' (id 3): destination.vni: ..." */
struct pctx {
	const struct tap_session_def *s;
	struct vt_err *err;
};

static int perr(const struct pctx *c, const char *path, const char *fmt, ...) VT_PRINTF(3, 4);
static int perr(const struct pctx *c, const char *path, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->s && c->s->id)
		return vt_err_set(c->err, -EINVAL, "session %u%s%s%s: %s: %s", c->s->id,
				  c->s->name[0] ? " '" : "", c->s->name,
				  c->s->name[0] ? "'" : "", path, msg);
	return vt_err_set(c->err, -EINVAL, "session: %s: %s", path, msg);
}

static void join(char *out, size_t len, const char *pfx, const char *key)
{
	snprintf(out, len, "%s%s%s", pfx, *pfx ? "." : "", key);
}

/* Only the listed keys may appear: a typo is an error, not a silent default. */
static int check_keys(const struct pctx *c, const struct json_val *o, const char *pfx,
		      const char *const *keys)
{
	for (size_t i = 0; i < o->u.list.n; i++) {
		const char *k = o->u.list.keys[i];
		size_t j;
		char p[128];

		for (j = 0; keys[j]; j++)
			if (strcmp(keys[j], k) == 0)
				break;
		if (!keys[j]) {
			join(p, sizeof(p), pfx, k);
			return perr(c, p, "unknown key");
		}
	}
	return 0;
}

/* An unsigned integer: a JSON integer, or a string parse_u64 accepts. */
static int get_uint(const struct pctx *c, const struct json_val *o, const char *pfx,
		    const char *key, uint64_t min, uint64_t max, uint64_t *out, bool *found)
{
	const struct json_val *v = json_get(o, key);
	char p[128];
	uint64_t x;

	*found = v != NULL;
	if (!v)
		return 0;
	join(p, sizeof(p), pfx, key);
	if (v->type == JSON_NUM && v->is_int) {
		if (v->i < 0 || (uint64_t)v->i < min || (uint64_t)v->i > max)
			return perr(c, p, "%lld is out of range %llu..%llu", (long long)v->i,
				    (unsigned long long)min, (unsigned long long)max);
		*out = (uint64_t)v->i;
		return 0;
	}
	if (v->type == JSON_STR && parse_u64(v->u.str.s, min, max, &x) == 0) {
		*out = x;
		return 0;
	}
	return perr(c, p, "expected an integer in %llu..%llu", (unsigned long long)min,
		    (unsigned long long)max);
}

/* A size in bytes: an integer or "64M" (powers of 1024). */
static int get_size(const struct pctx *c, const struct json_val *o, const char *pfx,
		    const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
	const struct json_val *v = json_get(o, key);
	char p[128];
	uint64_t x;

	if (!v)
		return 0;
	join(p, sizeof(p), pfx, key);
	if (v->type == JSON_NUM && v->is_int && v->i >= 0)
		x = (uint64_t)v->i;
	else if (v->type != JSON_STR || parse_size(v->u.str.s, &x) != 0)
		return perr(c, p, "expected a size such as 1048576 or \"64M\"");
	if (x < min || x > max)
		return perr(c, p, "%llu is out of range %llu..%llu", (unsigned long long)x,
			    (unsigned long long)min, (unsigned long long)max);
	*out = x;
	return 0;
}

/* A rate: an integer, or a string with an SI suffix k/M/G (powers of 1000):
 * "100M" bits per second. */
static int get_rate(const struct pctx *c, const struct json_val *o, const char *pfx,
		    const char *key, uint64_t max, uint64_t *out)
{
	const struct json_val *v = json_get(o, key);
	char p[128], num[32];
	uint64_t x, mult = 1;
	size_t n;

	if (!v)
		return 0;
	join(p, sizeof(p), pfx, key);
	if (v->type == JSON_NUM && v->is_int && v->i >= 0) {
		x = (uint64_t)v->i;
	} else if (v->type == JSON_STR && (n = strlen(v->u.str.s)) > 0 && n < sizeof(num)) {
		memcpy(num, v->u.str.s, n + 1);
		switch (num[n - 1]) {
		case 'k': case 'K': mult = 1000; break;
		case 'M': mult = 1000000; break;
		case 'G': mult = 1000000000; break;
		default: break;
		}
		if (mult > 1)
			num[n - 1] = '\0';
		if (parse_u64(num, 0, UINT64_MAX / mult, &x) != 0)
			return perr(c, p, "expected a rate such as 1000 or \"100M\"");
		x *= mult;
	} else {
		return perr(c, p, "expected a rate such as 1000 or \"100M\"");
	}
	if (x > max)
		return perr(c, p, "%llu is above the maximum %llu", (unsigned long long)x,
			    (unsigned long long)max);
	*out = x;
	return 0;
}

/* Printable UTF-8 only: names and addresses are shown, logged, written to
 * pcapng options and sent back as JSON. */
static bool text_ok(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s, *end = p + n;

	while (p < end) {
		unsigned len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
			       (*p & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp;

		if (!len || (size_t)(end - p) < len)
			return false;
		cp = len == 1 ? *p : (uint32_t)(*p & (0x7f >> len));
		for (unsigned i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		/* no control characters, overlong forms, surrogates or > U+10FFFF */
		if (cp < 0x20 || cp == 0x7f || (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += len;
	}
	return true;
}

static int get_str(const struct pctx *c, const struct json_val *o, const char *pfx,
		   const char *key, size_t max, const char **out)
{
	const struct json_val *v = json_get(o, key);
	char p[128];

	*out = NULL;
	if (!v)
		return 0;
	join(p, sizeof(p), pfx, key);
	if (v->type != JSON_STR)
		return perr(c, p, "expected a string");
	if (v->u.str.len == 0 || v->u.str.len > max || strlen(v->u.str.s) != v->u.str.len)
		return perr(c, p, "expected 1..%zu characters", max);
	if (!text_ok(v->u.str.s, v->u.str.len))
		return perr(c, p, "not printable UTF-8");
	*out = v->u.str.s;
	return 0;
}

static int get_enum(const struct pctx *c, const struct json_val *o, const char *pfx,
		    const char *key, const char *const *names, size_t n, int *out)
{
	const char *s;
	char p[128], list[128] = "";
	int rc = get_str(c, o, pfx, key, 64, &s);

	if (rc || !s)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (names[i] && strcmp(names[i], s) == 0) {
			*out = (int)i;
			return 0;
		}
		if (names[i])
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 list[0] ? ", " : "", names[i]);
	}
	join(p, sizeof(p), pfx, key);
	return perr(c, p, "'%s' is not one of %s", s, list);
}

static int get_bool(const struct pctx *c, const struct json_val *o, const char *pfx,
		    const char *key, bool *out)
{
	const struct json_val *v = json_get(o, key);
	char p[128];

	if (!v)
		return 0;
	if (v->type != JSON_BOOL) {
		join(p, sizeof(p), pfx, key);
		return perr(c, p, "expected true or false");
	}
	*out = v->u.b;
	return 0;
}

/* ---- rules ------------------------------------------------------------- */

static int parse_prefix(const struct pctx *c, const char *path, const char *s,
			struct vt_addr *a, unsigned *plen)
{
	if (prefix_parse(s, a, plen) != 0)
		return perr(c, path, "'%s' is not an address or prefix (198.18.0.0/15, 2001:db8::/32)", s);
	/* keep only the prefix bits, so compiled entries are pre-masked */
	for (unsigned i = 0; i < 16; i++) {
		unsigned bits = *plen > i * 8 ? *plen - i * 8 : 0;
		if (bits < 8)
			a->b[i] &= (uint8_t)(0xff00u >> bits);
	}
	return 0;
}

/* "443", 443, "1024-65535" */
static int parse_ports(const struct pctx *c, const struct json_val *o, const char *pfx,
		       const char *key, bool *has, uint16_t *lo, uint16_t *hi)
{
	const struct json_val *v = json_get(o, key);
	char p[128], a[16], b[16];
	uint64_t x, y;

	if (!v)
		return 0;
	join(p, sizeof(p), pfx, key);
	*has = true;
	if (v->type == JSON_NUM && v->is_int && v->i >= 0 && v->i <= 65535) {
		*lo = *hi = (uint16_t)v->i;
		return 0;
	}
	if (v->type == JSON_STR) {
		const char *dash = strchr(v->u.str.s, '-');
		size_t n = dash ? (size_t)(dash - v->u.str.s) : strlen(v->u.str.s);

		if (n < sizeof(a) && (!dash || strlen(dash + 1) < sizeof(b))) {
			memcpy(a, v->u.str.s, n);
			a[n] = '\0';
			snprintf(b, sizeof(b), "%s", dash ? dash + 1 : a);
			if (parse_u64(a, 0, 65535, &x) == 0 && parse_u64(b, 0, 65535, &y) == 0 &&
			    x <= y) {
				*lo = (uint16_t)x;
				*hi = (uint16_t)y;
				return 0;
			}
		}
	}
	return perr(c, p, "expected a port (0..65535) or a range \"1024-65535\"");
}

static int parse_rule(const struct pctx *c, const struct json_val *o, size_t idx,
		      struct tap_rule_def *r)
{
	static const char *const keys[] = { "action", "proto", "ip", "src", "dst", "sport",
					    "dport", "bidir", NULL };
	static const char *const actions[] = { NULL, "accept", "reject" };
	char pfx[48], p[80];
	const char *s;
	const struct json_val *pv;
	int act = 0, rc;
	uint64_t ipv = 0;
	bool found;

	snprintf(pfx, sizeof(pfx), "rules[%zu]", idx);
	memset(r, 0, sizeof(*r));
	if (o->type != JSON_OBJ)
		return perr(c, pfx, "expected an object");
	if ((rc = check_keys(c, o, pfx, keys)))
		return rc;
	if ((rc = get_enum(c, o, pfx, "action", actions, 3, &act)))
		return rc;
	if (!act) {
		join(p, sizeof(p), pfx, "action");
		return perr(c, p, "required: accept or reject");
	}
	r->action = (uint8_t)act;
	pv = json_get(o, "proto");
	if (pv) {
		join(p, sizeof(p), pfx, "proto");
		if (pv->type == JSON_NUM && pv->is_int && pv->i >= 0 && pv->i <= 255) {
			r->proto = (uint8_t)pv->i;
		} else if (pv->type == JSON_STR) {
			size_t i;
			for (i = 0; i < ARRAY_SIZE(protos); i++)
				if (strcmp(protos[i].name, pv->u.str.s) == 0)
					break;
			if (i == ARRAY_SIZE(protos))
				return perr(c, p, "'%s' is not tcp, udp, icmp, icmp6, sctp, gre, esp, ah or 0..255",
					    pv->u.str.s);
			r->proto = protos[i].num;
		} else {
			return perr(c, p, "expected a protocol name or number");
		}
	}
	if ((rc = get_uint(c, o, pfx, "ip", 4, 6, &ipv, &found)))
		return rc;
	if (found && ipv == 5) {
		join(p, sizeof(p), pfx, "ip");
		return perr(c, p, "expected 4 or 6");
	}
	r->ipver = (uint8_t)ipv;
	if ((rc = get_str(c, o, pfx, "src", 64, &s)))
		return rc;
	if (s) {
		join(p, sizeof(p), pfx, "src");
		if ((rc = parse_prefix(c, p, s, &r->src, &r->src_plen)))
			return rc;
		r->has_src = true;
	}
	if ((rc = get_str(c, o, pfx, "dst", 64, &s)))
		return rc;
	if (s) {
		join(p, sizeof(p), pfx, "dst");
		if ((rc = parse_prefix(c, p, s, &r->dst, &r->dst_plen)))
			return rc;
		r->has_dst = true;
	}
	if ((rc = parse_ports(c, o, pfx, "sport", &r->has_sport, &r->sport_lo, &r->sport_hi)) ||
	    (rc = parse_ports(c, o, pfx, "dport", &r->has_dport, &r->dport_lo, &r->dport_hi)))
		return rc;
	if ((r->has_sport || r->has_dport) && r->proto && r->proto != 6 && r->proto != 17 &&
	    r->proto != 132 && r->proto != 136) {
		join(p, sizeof(p), pfx, "proto");
		return perr(c, p, "ports need tcp, udp or sctp");
	}
	if ((rc = get_bool(c, o, pfx, "bidir", &r->bidir)))
		return rc;
	return 0;
}

/* ---- destination ------------------------------------------------------- */

static int parse_dest(const struct pctx *c, const struct json_val *o, struct tap_session_def *s)
{
	static const char *const keys[] = { "type", "remote", "port", "vni", "key", "session_id",
					    "mtu", "mtu_policy", "tos", "ttl", "hw_id", "encap",
					    "dir", "prefix", "file_size", "file_count", NULL };
	static const char *const encaps[] = { "kernel", "user" };
	struct tap_dest *d = &s->dest;
	const char *str;
	uint64_t x;
	bool found;
	int t = -1, rc, pol = TAP_MTU_SEGMENT, enc = 0;

	if (!o)
		return perr(c, "destination", "required");
	if (o->type != JSON_OBJ)
		return perr(c, "destination", "expected an object");
	if ((rc = check_keys(c, o, "destination", keys)) ||
	    (rc = get_enum(c, o, "destination", "type", dest_names, TAP_DEST__COUNT, &t)))
		return rc;
	if (t < 0)
		return perr(c, "destination.type", "required: vxlan, gre, erspan2, erspan3, tzsp or pcapng");
	d->type = (enum tap_dest_type)t;
	d->key = s->id;
	if (d->type == TAP_DEST_PCAPNG) {
		static const char *const tunnel_only[] = { "remote", "port", "vni", "key",
							   "session_id", "mtu", "mtu_policy", "tos",
							   "ttl", "hw_id", "encap", NULL };
		for (size_t i = 0; tunnel_only[i]; i++) {
			char p[64];
			if (json_get(o, tunnel_only[i])) {
				join(p, sizeof(p), "destination", tunnel_only[i]);
				return perr(c, p, "not used by pcapng destinations");
			}
		}
		if ((rc = get_str(c, o, "destination", "dir", 4000, &str)))
			return rc;
		if (!str)
			return perr(c, "destination.dir", "required for pcapng: an existing directory");
		d->dir = strdup(str);
		if ((rc = get_str(c, o, "destination", "prefix", 64, &str)))
			return rc;
		if (str && strchr(str, '/'))
			return perr(c, "destination.prefix", "must not contain '/'");
		d->prefix = strdup(str ? str : s->name);
		d->file_size = 64ull << 20;
		d->file_count = 8;
		if ((rc = get_size(c, o, "destination", "file_size", 4096, 1ull << 40, &d->file_size)) ||
		    (rc = get_uint(c, o, "destination", "file_count", 0, 100000, &x, &found)))
			return rc;
		if (found)
			d->file_count = (uint32_t)x;
		if (!d->dir || !d->prefix)
			return vt_err_set(c->err, -ENOMEM, "out of memory");
		return 0;
	}
	if (json_get(o, "dir") || json_get(o, "prefix") || json_get(o, "file_size") ||
	    json_get(o, "file_count"))
		return perr(c, "destination", "dir, prefix, file_size and file_count are for pcapng");
	if ((rc = get_str(c, o, "destination", "remote", 64, &str)))
		return rc;
	if (!str)
		return perr(c, "destination.remote", "required: the analyzer's address");
	if (addr_parse(str, &d->remote) != 0 || addr_is_zero(&d->remote))
		return perr(c, "destination.remote", "'%s' is not an IPv4 or IPv6 address", str);
	d->port = d->type == TAP_DEST_VXLAN ? VXLAN_UDP_PORT :
		  d->type == TAP_DEST_TZSP ? TZSP_UDP_PORT : 0;
	if (json_get(o, "port") && d->type != TAP_DEST_VXLAN && d->type != TAP_DEST_TZSP)
		return perr(c, "destination.port", "only VXLAN and TZSP run over UDP");
	if ((rc = get_uint(c, o, "destination", "port", 1, 65535, &x, &found)))
		return rc;
	if (found)
		d->port = (uint16_t)x;
	/* the id field of each tunnel, named as its standard names it */
	{
		const char *idkey = d->type == TAP_DEST_VXLAN ? "vni" :
				    d->type == TAP_DEST_GRE ? "key" :
				    d->type == TAP_DEST_TZSP ? NULL : "session_id";
		uint64_t max = d->type == TAP_DEST_VXLAN ? 0xffffff :
			       d->type == TAP_DEST_GRE ? 0xffffffff : 0x3ff;
		static const char *const idkeys[] = { "vni", "key", "session_id" };
		char p[64];

		for (size_t i = 0; i < ARRAY_SIZE(idkeys); i++) {
			if (json_get(o, idkeys[i]) && (!idkey || strcmp(idkeys[i], idkey) != 0)) {
				join(p, sizeof(p), "destination", idkeys[i]);
				return perr(c, p, "not a field of %s destinations", tap_dest_name(d->type));
			}
		}
		if (idkey) {
			if ((rc = get_uint(c, o, "destination", idkey, 0, max, &x, &found)))
				return rc;
			if (found) {
				d->key = (uint32_t)x;
			} else if (s->id > max) {
				join(p, sizeof(p), "destination", idkey);
				return perr(c, p, "session id %u does not fit in %llu; set it", s->id,
					    (unsigned long long)max);
			}
		}
	}
	if ((rc = get_uint(c, o, "destination", "mtu", 576, 65535, &x, &found)))
		return rc;
	if (found)
		d->mtu = (uint32_t)x;
	if ((rc = get_enum(c, o, "destination", "mtu_policy", mtu_names, 3, &pol)))
		return rc;
	d->mtu_policy = (uint8_t)pol;
	if ((rc = get_uint(c, o, "destination", "tos", 0, 255, &x, &found)))
		return rc;
	d->tos = (uint8_t)(found ? x : 0);
	if ((rc = get_uint(c, o, "destination", "ttl", 1, 255, &x, &found)))
		return rc;
	d->ttl = (uint8_t)(found ? x : 64);
	if (json_get(o, "hw_id") && d->type != TAP_DEST_ERSPAN3)
		return perr(c, "destination.hw_id", "only ERSPAN III has a hardware id");
	if ((rc = get_uint(c, o, "destination", "hw_id", 0, 63, &x, &found)))
		return rc;
	d->hw_id = (uint8_t)(found ? x : 0);
	if (json_get(o, "encap") && d->type != TAP_DEST_VXLAN)
		return perr(c, "destination.encap", "only VXLAN can be encapsulated in the kernel");
	if ((rc = get_enum(c, o, "destination", "encap", encaps, 2, &enc)))
		return rc;
	d->user_space = enc == 1;
	return 0;
}

/* ---- session ------------------------------------------------------------ */

static int parse_target(const struct pctx *c, const struct json_val *t, struct tap_session_def *s)
{
	const struct json_val *list = NULL;

	if (!t)
		return perr(c, "target", "required: \"all\", a list of VM UUIDs or names, or {\"vms\": [...]}");
	if (t->type == JSON_STR) {
		if (strcmp(t->u.str.s, "all") != 0)
			return perr(c, "target", "'%s': expected \"all\" or a list of VMs", t->u.str.s);
		s->all_vms = true;
		return 0;
	}
	if (t->type == JSON_OBJ) {
		static const char *const keys[] = { "all", "vms", NULL };
		int rc = check_keys(c, t, "target", keys);

		if (rc || (rc = get_bool(c, t, "target", "all", &s->all_vms)))
			return rc;
		list = json_get(t, "vms");
		if (s->all_vms && list)
			return perr(c, "target", "either all or vms");
		if (s->all_vms)
			return 0;
		if (!list)
			return perr(c, "target.vms", "required");
	} else if (t->type == JSON_ARR) {
		list = t;
	} else {
		return perr(c, "target", "expected \"all\", a list or an object");
	}
	if (list->type != JSON_ARR || json_len(list) == 0)
		return perr(c, "target.vms", "expected a non-empty list of VM UUIDs or names");
	if (json_len(list) > TAP_MAX_TARGETS)
		return perr(c, "target.vms", "at most %d VMs", TAP_MAX_TARGETS);
	for (size_t i = 0; i < json_len(list); i++) {
		const struct json_val *v = json_at(list, i);
		char p[48];

		snprintf(p, sizeof(p), "target.vms[%zu]", i);
		if (v->type != JSON_STR || v->u.str.len == 0 || v->u.str.len >= VT_NAME_MAX ||
		    strlen(v->u.str.s) != v->u.str.len)
			return perr(c, p, "expected a VM UUID or name of 1..%d characters", VT_NAME_MAX - 1);
		if (!text_ok(v->u.str.s, v->u.str.len))
			return perr(c, p, "not printable UTF-8");
		memcpy(s->targets[i], v->u.str.s, v->u.str.len + 1);
	}
	s->ntargets = json_len(list);
	return 0;
}

static int parse_rate(const struct pctx *c, const struct json_val *o, struct tap_session_def *s)
{
	static const char *const keys[] = { "pps", "bps", "burst_packets", "burst_bytes", NULL };
	uint64_t x;
	bool found;
	int rc;

	if (!o)
		return 0;
	if (o->type != JSON_OBJ)
		return perr(c, "rate_limit", "expected an object");
	/* bounds keep the kernel's token arithmetic (units of 1e-9) in 64 bits */
	if ((rc = check_keys(c, o, "rate_limit", keys)) ||
	    (rc = get_rate(c, o, "rate_limit", "pps", 1000000000ull, &s->rate_pps)) ||
	    (rc = get_rate(c, o, "rate_limit", "bps", 100000000000ull, &s->rate_bps)) ||
	    (rc = get_uint(c, o, "rate_limit", "burst_packets", 1, 1000000000ull, &x, &found)))
		return rc;
	if (found)
		s->burst_pkts = x;
	if ((rc = get_size(c, o, "rate_limit", "burst_bytes", 65536, 4000000000ull, &s->burst_bytes)))
		return rc;
	if (!s->rate_pps && !s->rate_bps)
		return perr(c, "rate_limit", "give pps, bps or both");
	return 0;
}

int tap_session_from_json(const struct json_val *v, struct tap_session_def *s, struct vt_err *err)
{
	static const char *const keys[] = { "id", "name", "target", "direction", "rules", "default",
					    "pcap_filter", "slice", "sample", "rate_limit",
					    "destination", NULL };
	static const char *const actions[] = { NULL, "accept", "reject" };
	struct pctx c = { s, err };
	const struct json_val *rl;
	const char *str;
	uint64_t x;
	bool found;
	int rc, e;

	memset(s, 0, sizeof(*s));
	if (!v || v->type != JSON_OBJ) {
		rc = perr(&c, "session", "expected an object");
		goto fail;
	}
	if ((rc = get_uint(&c, v, "", "id", 1, UINT32_MAX, &x, &found)))
		goto fail;
	if (!found) {
		rc = perr(&c, "id", "required: 1..4294967295");
		goto fail;
	}
	s->id = (uint32_t)x;
	if ((rc = get_str(&c, v, "", "name", TAP_SESS_NAME_MAX - 1, &str)))
		goto fail;
	if (str) {
		for (const char *q = str; *q; q++) {
			if (*q == '/' || (unsigned char)*q < 0x20) {
				rc = perr(&c, "name", "no '/' or control characters");
				goto fail;
			}
		}
		snprintf(s->name, sizeof(s->name), "%s", str);
	} else {
		snprintf(s->name, sizeof(s->name), "session-%u", s->id);
	}
	if ((rc = check_keys(&c, v, "", keys)) || (rc = parse_target(&c, json_get(v, "target"), s)))
		goto fail;
	e = TAP_DIRECTION_BOTH;
	if ((rc = get_enum(&c, v, "", "direction", dir_names, 4, &e)))
		goto fail;
	s->direction = (uint8_t)e;
	rl = json_get(v, "rules");
	if ((rc = get_str(&c, v, "", "pcap_filter", TAP_PCAP_FILTER_MAX, &str)))
		goto fail;
	if (str && (rl || json_get(v, "default"))) {
		rc = perr(&c, "pcap_filter", "either pcap_filter or rules/default, not both");
		goto fail;
	}
	if (str && !(s->pcap_filter = strdup(str))) {
		rc = vt_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (rl) {
		if (rl->type != JSON_ARR || json_len(rl) > TAP_MAX_RULES) {
			rc = perr(&c, "rules", "expected a list of at most %d rules", TAP_MAX_RULES);
			goto fail;
		}
		for (size_t i = 0; i < json_len(rl); i++)
			if ((rc = parse_rule(&c, json_at(rl, i), i, &s->rules[i])))
				goto fail;
		s->nrules = json_len(rl);
	}
	/* with rules, what no rule accepts is left out; without, all is in */
	e = s->nrules ? TAP_ACT_REJECT : TAP_ACT_ACCEPT;
	if ((rc = get_enum(&c, v, "", "default", actions, 3, &e)))
		goto fail;
	s->dflt = (uint8_t)e;
	if ((rc = get_uint(&c, v, "", "slice", 64, 65535, &x, &found)))
		goto fail;
	s->slice = found ? (uint32_t)x : 0;
	if ((rc = get_uint(&c, v, "", "sample", 1, 1000000, &x, &found)))
		goto fail;
	s->sample = found ? (uint32_t)x : 1;
	if ((rc = parse_rate(&c, json_get(v, "rate_limit"), s)) ||
	    (rc = parse_dest(&c, json_get(v, "destination"), s)))
		goto fail;
	return 0;
fail:
	tap_session_free(s);
	return rc ? rc : -EINVAL;
}

int tap_sessions_parse(const char *text, size_t len, struct tap_session_def **out,
		       struct vt_err *err)
{
	struct json_val *doc = json_parse(text, len, 100000, err);
	const struct json_val *list;
	struct tap_session_def *v = NULL;
	size_t n = 0, want;
	int rc = 0;

	*out = NULL;
	if (!doc)
		return -EINVAL;
	list = doc;
	if (doc->type == JSON_OBJ && json_get(doc, "sessions"))
		list = json_get(doc, "sessions");
	want = list->type == JSON_ARR ? json_len(list) : 1;
	if (list->type != JSON_ARR && list->type != JSON_OBJ) {
		rc = vt_err_set(err, -EINVAL, "sessions: expected an object or a list of objects");
		goto out;
	}
	if (want > TAP_MAX_SESSIONS) {
		rc = vt_err_set(err, -EINVAL, "sessions: at most %d", TAP_MAX_SESSIONS);
		goto out;
	}
	v = calloc(want ? want : 1, sizeof(*v));
	if (!v) {
		rc = vt_err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (n = 0; n < want; n++) {
		const struct json_val *o = list->type == JSON_ARR ? json_at(list, n) : list;

		rc = tap_session_from_json(o, &v[n], err);
		if (rc)
			goto out;
		for (size_t j = 0; j < n; j++) {
			if (v[j].id == v[n].id) {
				rc = vt_err_set(err, -EINVAL, "session %u: id used twice", v[n].id);
				n++;
				goto out;
			}
		}
	}
out:
	json_free(doc);
	if (rc) {
		tap_sessions_free(v, n);
		return rc;
	}
	*out = v;
	return (int)n;
}

void tap_sessions_free(struct tap_session_def *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		tap_session_free(&v[i]);
	free(v);
}

void tap_session_free(struct tap_session_def *s)
{
	if (!s)
		return;
	VT_FREE(s->pcap_filter);
	VT_FREE(s->dest.dir);
	VT_FREE(s->dest.prefix);
}

int tap_session_copy(struct tap_session_def *dst, const struct tap_session_def *src)
{
	*dst = *src;
	dst->pcap_filter = src->pcap_filter ? strdup(src->pcap_filter) : NULL;
	dst->dest.dir = src->dest.dir ? strdup(src->dest.dir) : NULL;
	dst->dest.prefix = src->dest.prefix ? strdup(src->dest.prefix) : NULL;
	if ((src->pcap_filter && !dst->pcap_filter) || (src->dest.dir && !dst->dest.dir) ||
	    (src->dest.prefix && !dst->dest.prefix)) {
		tap_session_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/* ---- JSON out ------------------------------------------------------------ */

static void write_prefix(struct jw *w, const char *key, const struct vt_addr *a, unsigned plen)
{
	char buf[VT_ADDRSTRLEN + 8];
	size_t n;

	addr_fmt(a, buf, sizeof(buf));
	n = strlen(buf);
	if (plen != 128)
		snprintf(buf + n, sizeof(buf) - n, "/%u", addr_is_v4(a) ? plen - 96 : plen);
	jw_str(w, key, buf);
}

static void write_ports(struct jw *w, const char *key, uint16_t lo, uint16_t hi)
{
	char buf[16];

	if (lo == hi) {
		jw_uint(w, key, lo);
		return;
	}
	snprintf(buf, sizeof(buf), "%u-%u", lo, hi);
	jw_str(w, key, buf);
}

void tap_session_to_json(struct jw *w, const char *key, const struct tap_session_def *s)
{
	const struct tap_dest *d = &s->dest;
	char buf[VT_ADDRSTRLEN];

	jw_obj_open(w, key);
	jw_uint(w, "id", s->id);
	jw_str(w, "name", s->name);
	if (s->all_vms) {
		jw_str(w, "target", "all");
	} else {
		jw_obj_open(w, "target");
		jw_arr_open(w, "vms");
		for (size_t i = 0; i < s->ntargets; i++)
			jw_str(w, NULL, s->targets[i]);
		jw_arr_close(w);
		jw_obj_close(w);
	}
	jw_str(w, "direction", dir_names[s->direction & 3]);
	if (s->pcap_filter) {
		jw_str(w, "pcap_filter", s->pcap_filter);
	} else {
		jw_arr_open(w, "rules");
		for (size_t i = 0; i < s->nrules; i++) {
			const struct tap_rule_def *r = &s->rules[i];

			jw_obj_open(w, NULL);
			jw_str(w, "action", r->action == TAP_ACT_ACCEPT ? "accept" : "reject");
			if (r->proto)
				jw_uint(w, "proto", r->proto);
			if (r->ipver)
				jw_uint(w, "ip", r->ipver);
			if (r->has_src)
				write_prefix(w, "src", &r->src, r->src_plen);
			if (r->has_dst)
				write_prefix(w, "dst", &r->dst, r->dst_plen);
			if (r->has_sport)
				write_ports(w, "sport", r->sport_lo, r->sport_hi);
			if (r->has_dport)
				write_ports(w, "dport", r->dport_lo, r->dport_hi);
			if (r->bidir)
				jw_bool(w, "bidir", true);
			jw_obj_close(w);
		}
		jw_arr_close(w);
		jw_str(w, "default", s->dflt == TAP_ACT_ACCEPT ? "accept" : "reject");
	}
	if (s->slice)
		jw_uint(w, "slice", s->slice);
	if (s->sample > 1)
		jw_uint(w, "sample", s->sample);
	if (s->rate_pps || s->rate_bps) {
		jw_obj_open(w, "rate_limit");
		if (s->rate_pps)
			jw_uint(w, "pps", s->rate_pps);
		if (s->rate_bps)
			jw_uint(w, "bps", s->rate_bps);
		if (s->burst_pkts)
			jw_uint(w, "burst_packets", s->burst_pkts);
		if (s->burst_bytes)
			jw_uint(w, "burst_bytes", s->burst_bytes);
		jw_obj_close(w);
	}
	jw_obj_open(w, "destination");
	jw_str(w, "type", tap_dest_name(d->type));
	if (d->type == TAP_DEST_PCAPNG) {
		jw_str(w, "dir", d->dir);
		jw_str(w, "prefix", d->prefix);
		jw_uint(w, "file_size", d->file_size);
		jw_uint(w, "file_count", d->file_count);
	} else {
		jw_str(w, "remote", addr_fmt(&d->remote, buf, sizeof(buf)));
		if (d->type == TAP_DEST_VXLAN || d->type == TAP_DEST_TZSP)
			jw_uint(w, "port", d->port);
		if (d->type == TAP_DEST_VXLAN)
			jw_uint(w, "vni", d->key);
		else if (d->type == TAP_DEST_GRE)
			jw_uint(w, "key", d->key);
		else if (d->type != TAP_DEST_TZSP)
			jw_uint(w, "session_id", d->key);
		if (d->mtu)
			jw_uint(w, "mtu", d->mtu);
		jw_str(w, "mtu_policy", mtu_names[d->mtu_policy % 3]);
		if (d->tos)
			jw_uint(w, "tos", d->tos);
		jw_uint(w, "ttl", d->ttl);
		if (d->type == TAP_DEST_ERSPAN3)
			jw_uint(w, "hw_id", d->hw_id);
		if (d->type == TAP_DEST_VXLAN)
			jw_str(w, "encap", d->user_space ? "user" : "kernel");
	}
	jw_obj_close(w);
	jw_obj_close(w);
}

/* ---- matching and compilation ------------------------------------------- */

bool tap_session_targets(const struct tap_session_def *s, const struct vm_ident *vm)
{
	if (s->all_vms)
		return true;
	for (size_t i = 0; i < s->ntargets; i++) {
		uint8_t u[16];

		if (uuid_parse(s->targets[i], u) == 0) {
			if (!uuid_is_nil(vm->uuid) && memcmp(u, vm->uuid, 16) == 0)
				return true;
		} else if (vm->name[0] && strcmp(s->targets[i], vm->name) == 0) {
			return true;
		}
	}
	return false;
}

static void mask_words(unsigned plen, __u32 *mask)
{
	for (unsigned i = 0; i < 4; i++) {
		unsigned bits = plen > i * 32 ? plen - i * 32 : 0;
		uint32_t m = bits >= 32 ? 0xffffffffu : bits ? ~(0xffffffffu >> bits) : 0;
		mask[i] = __builtin_bswap32(m);
	}
}

static void addr_words(const struct vt_addr *a, __u32 *w)
{
	memcpy(w, a->b, 16);
}

void tap_rule_compile(const struct tap_rule_def *d, struct tap_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->action = d->action;
	r->proto = d->proto;
	r->ipver = d->ipver;
	if (d->has_src) {
		r->flags |= TAP_RF_SRC;
		addr_words(&d->src, r->src);
		mask_words(d->src_plen, r->src_mask);
	}
	if (d->has_dst) {
		r->flags |= TAP_RF_DST;
		addr_words(&d->dst, r->dst);
		mask_words(d->dst_plen, r->dst_mask);
	}
	if (d->has_sport) {
		r->flags |= TAP_RF_SPORT;
		r->sport_lo = d->sport_lo;
		r->sport_hi = d->sport_hi;
	}
	if (d->has_dport) {
		r->flags |= TAP_RF_DPORT;
		r->dport_lo = d->dport_lo;
		r->dport_hi = d->dport_hi;
	}
	if (d->bidir)
		r->flags |= TAP_RF_BIDIR;
}

unsigned tap_dest_overhead(const struct tap_dest *d)
{
	static const enum encap_type map[TAP_DEST__COUNT] = {
		ENCAP_VXLAN, ENCAP_L2GRE, ENCAP_ERSPAN2, ENCAP_ERSPAN3, ENCAP_TZSP, ENCAP__COUNT,
	};
	const struct encap_ops *o = d->type < TAP_DEST__COUNT ? encap_ops_get(map[d->type]) : NULL;

	return o ? encap_overhead(o, !addr_is_v4(&d->remote)) : 0;
}

void tap_session_compile(const struct tap_session_def *s, struct tap_session *ks,
			 struct tap_rule *kr)
{
	memset(ks, 0, sizeof(*ks));
	if (s->pcap_filter)
		ks->flags |= TAP_SF_USER_FILTER;
	if (s->nrules) {
		ks->flags |= TAP_SF_RULES;
		for (size_t i = 0; i < s->nrules && i < TAP_MAX_RULES; i++)
			tap_rule_compile(&s->rules[i], &kr[i]);
	} else if (s->dflt == TAP_ACT_REJECT) {
		ks->flags |= TAP_SF_RULES;   /* no rules, reject by default: nothing */
	}
	ks->nrules = (uint8_t)s->nrules;
	ks->dflt = s->dflt;
	ks->kind = s->dest.type == TAP_DEST_VXLAN && !s->dest.user_space ? TAP_KIND_VXLAN
									 : TAP_KIND_RING;
	ks->mtu_policy = s->dest.mtu_policy;
	ks->slice = s->slice;
	ks->sample = s->sample > 1 ? s->sample : 0;
	ks->rate_pps = s->rate_pps;
	ks->rate_Bps = s->rate_bps / 8;
	if (s->rate_bps && !ks->rate_Bps)
		ks->rate_Bps = 1;
	/* default bursts: 100 ms of the rate, at least one GSO super-frame */
	ks->burst_pkts = s->burst_pkts ? s->burst_pkts : VT_MAX(s->rate_pps / 10, 64u);
	ks->burst_bytes = s->burst_bytes ? s->burst_bytes : VT_MAX(ks->rate_Bps / 10, 131072u);
	if (s->dest.type == TAP_DEST_VXLAN) {
		ks->vni = s->dest.key;
		if (addr_is_v4(&s->dest.remote)) {
			ks->remote4 = addr_v4(&s->dest.remote);
		} else {
			ks->flags |= TAP_SF_VX6;
			for (int i = 0; i < 4; i++)
				ks->remote6[i] = ld_be32(s->dest.remote.b + 4 * i);
		}
	}
	ks->tos = s->dest.tos;
	ks->ttl = s->dest.ttl;
}
