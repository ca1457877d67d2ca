/* filter.c — see filter.h: the filter language's lexer, parser and
 * compiler (evaluation is in feval.c). A recursive-descent parser builds a
 * node array; every term becomes one of four leaf tests (integer range on
 * one or two columns, address prefix, VM dictionary match, zone match),
 * so evaluation, block-summary tests and dumping each have one case per
 * leaf kind instead of one per keyword. */
#include "query/filter_int.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/hash.h"
#include "core/timeutil.h"
#include "flow/addr.h"

#define TOK_MAX 256

/* ---- lexer -------------------------------------------------------------- */

enum tk { TK_END, TK_WORD, TK_LP, TK_RP, TK_NOT, TK_AND, TK_OR, TK_CMP };
enum cmp { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

struct tok {
	enum tk kind;
	enum cmp cmp;
	bool quoted;
	unsigned col;            /* 1-based */
	char s[TOK_MAX];
};

struct parser {
	const char *text;
	size_t pos, len;
	struct tok t;
	struct filter *f;
	struct vt_err *err;
	int depth;
	int failed;
};

static int perr(struct parser *p, int code, unsigned col, const char *fmt, ...) VT_PRINTF(4, 5);
static int perr(struct parser *p, int code, unsigned col, const char *fmt, ...)
{
	char msg[VT_ERR_MSG_MAX - 32];
	va_list ap;

	if (p->failed)
		return p->failed;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->failed = code;
	return vt_err_set(p->err, code, "column %u: %s", col, msg);
}

/* "'word'" or "end of filter", for messages. */
static const char *tdesc(const struct tok *t, char *buf, size_t len)
{
	if (t->kind == TK_END)
		snprintf(buf, len, "end of filter");
	else
		snprintf(buf, len, "'%s'", t->s);
	return buf;
}

static bool word_char(char c)
{
	return c && !isspace((unsigned char)c) && !strchr("()<>=\"'&|", c);
}

static int lex(struct parser *p)
{
	const char *s = p->text;
	struct tok *t = &p->t;

	while (p->pos < p->len && isspace((unsigned char)s[p->pos]))
		p->pos++;
	memset(t, 0, sizeof(*t));
	t->col = (unsigned)p->pos + 1;
	if (p->pos >= p->len) {
		t->kind = TK_END;
		return 0;
	}
	char c = s[p->pos], d = p->pos + 1 < p->len ? s[p->pos + 1] : 0;
	size_t n = 0;
	switch (c) {
	case '(': t->kind = TK_LP; p->pos++; snprintf(t->s, sizeof(t->s), "("); return 0;
	case ')': t->kind = TK_RP; p->pos++; snprintf(t->s, sizeof(t->s), ")"); return 0;
	case '&':
	case '|':
		if (d != c)
			return perr(p, -EINVAL, t->col, "unexpected '%c' (use '%c%c' or '%s')", c,
				    c, c, c == '&' ? "and" : "or");
		t->kind = c == '&' ? TK_AND : TK_OR;
		p->pos += 2;
		snprintf(t->s, sizeof(t->s), "%c%c", c, c);
		return 0;
	case '<': case '>': case '=': case '!':
		if (c == '!' && d != '=') {
			t->kind = TK_NOT;
			p->pos++;
			snprintf(t->s, sizeof(t->s), "!");
			return 0;
		}
		t->kind = TK_CMP;
		if (d == '=') {
			t->cmp = c == '<' ? CMP_LE : c == '>' ? CMP_GE : c == '=' ? CMP_EQ : CMP_NE;
			snprintf(t->s, sizeof(t->s), "%c=", c);
			p->pos += 2;
		} else {
			t->cmp = c == '<' ? CMP_LT : c == '>' ? CMP_GT : CMP_EQ;
			snprintf(t->s, sizeof(t->s), "%c", c);
			p->pos++;
		}
		return 0;
	case '"':
	case '\'': {
		size_t start = ++p->pos;
		while (p->pos < p->len && s[p->pos] != c)
			p->pos++;
		if (p->pos >= p->len)
			return perr(p, -EINVAL, t->col, "unterminated quoted string");
		n = p->pos - start;
		if (n >= sizeof(t->s))
			return perr(p, -E2BIG, t->col, "word longer than %d characters", TOK_MAX - 1);
		memcpy(t->s, s + start, n);
		t->s[n] = '\0';
		p->pos++;
		t->kind = TK_WORD;
		t->quoted = true;
		return 0;
	}
	default:
		break;
	}
	size_t start = p->pos;
	/* "!=" ends a word ("bytes!=5", as "bytes>5" does); a lone '!' stays
	 * in it, for globs such as web-[!0-9]* */
	while (p->pos < p->len && word_char(s[p->pos]) &&
	       !(s[p->pos] == '!' && p->pos + 1 < p->len && s[p->pos + 1] == '='))
		p->pos++;
	n = p->pos - start;
	if (n == 0) /* a character no token starts with */
		return perr(p, -EINVAL, t->col, "unexpected character '%c'", c);
	if (n >= sizeof(t->s))
		return perr(p, -E2BIG, t->col, "word longer than %d characters", TOK_MAX - 1);
	memcpy(t->s, s + start, n);
	t->s[n] = '\0';
	t->kind = TK_WORD;
	if (!strcasecmp(t->s, "and"))
		t->kind = TK_AND;
	else if (!strcasecmp(t->s, "or"))
		t->kind = TK_OR;
	else if (!strcasecmp(t->s, "not"))
		t->kind = TK_NOT;
	return 0;
}

static bool is_kw(const struct tok *t, const char *kw)
{
	return t->kind == TK_WORD && !t->quoted && !strcasecmp(t->s, kw);
}

/* ---- nodes -------------------------------------------------------------- */

/* node_add() : appends a node with children <a>, <b> (-1: none); the
 * caller checked that there is room. */
static int node_add(struct filter *f, enum fn_kind kind, int a, int b)
{
	struct fnode *n = &f->nodes[f->nnodes];

	memset(n, 0, sizeof(*n));
	n->kind = (uint8_t)kind;
	n->a = a;
	n->b = b;
	return f->nnodes++;
}

static int node_new(struct parser *p, enum fn_kind kind)
{
	if (p->f->nnodes >= FILTER_MAX_NODES)
		return perr(p, -E2BIG, p->t.col, "filter has more than %d terms and operators",
			    FILTER_MAX_NODES);
	return node_add(p->f, kind, -1, -1);
}

static int node_bin(struct parser *p, enum fn_kind kind, int a, int b)
{
	int i = node_new(p, kind);
	if (i < 0)
		return i;
	p->f->nodes[i].a = a;
	p->f->nodes[i].b = b;
	return i;
}

/* Sets the columns of a leaf from the direction given (none = either). */
static void leaf_cols(struct fnode *n, uint8_t side, uint8_t src_col, uint8_t dst_col)
{
	n->side = side;
	if (side == SIDE_SRC) {
		n->ncols = 1;
		n->cols[0] = src_col;
	} else if (side == SIDE_DST) {
		n->ncols = 1;
		n->cols[0] = dst_col;
	} else {
		n->ncols = 2;
		n->cols[0] = src_col;
		n->cols[1] = dst_col;
	}
}

/* ---- values ------------------------------------------------------------- */

/* A decimal number with an optional k/M/G/T suffix (powers of 1000). */
static int parse_si(const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	while (isdigit((unsigned char)*p)) {
		unsigned d = (unsigned)(*p++ - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	switch (*p) {
	case 0: break;
	case 'k': case 'K': mul = 1000ull; p++; break;
	case 'm': case 'M': mul = 1000000ull; p++; break;
	case 'g': case 'G': mul = 1000000000ull; p++; break;
	case 't': case 'T': mul = 1000000000000ull; p++; break;
	default: return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

static const struct { const char *name; uint8_t num; } protos[] = {
	{ "icmp", 1 }, { "igmp", 2 }, { "ipip", 4 }, { "tcp", 6 }, { "udp", 17 },
	{ "ipv6", 41 }, { "gre", 47 }, { "esp", 50 }, { "ah", 51 }, { "icmp6", 58 },
	{ "ipv6-icmp", 58 }, { "icmpv6", 58 }, { "ospf", 89 }, { "pim", 103 },
	{ "vrrp", 112 }, { "sctp", 132 },
};

static int parse_port(const char *s, uint64_t *v)
{
	return parse_si(s, v) == 0 && *v <= 65535 && isdigit((unsigned char)s[strlen(s) - 1])
		? 0 : -EINVAL;
}

/* Requires a word argument after the keyword <kw>. */
static int need_word(struct parser *p, const char *kw, const char *what)
{
	char d[TOK_MAX + 8];

	if (lex(p) < 0)
		return p->failed;
	if (p->t.kind != TK_WORD)
		return perr(p, -EINVAL, p->t.col, "expected %s after '%s', got %s", what, kw,
			    tdesc(&p->t, d, sizeof(d)));
	return 0;
}

static void net_prepare(struct fnode *n)
{
	uint8_t mask[16] = { 0 };

	for (unsigned i = 0; i < n->plen; i++)
		mask[i / 8] |= (uint8_t)(0x80u >> (i % 8));
	for (unsigned i = 0; i < 16; i++)
		n->nhi.b[i] = (uint8_t)(n->net.b[i] | (uint8_t)~mask[i]);
	memcpy(n->m, mask, 16);
	memcpy(n->v, n->net.b, 16);
}

/* The `dup` term: the collector's count-once verdict, any non-zero value
 * (an imported CSV may say 2). */
static void dup_leaf(struct fnode *n)
{
	n->what = "dup";
	leaf_cols(n, SIDE_SRC, FC_DUP, FC_DUP);
	n->side = SIDE_NONE;
	n->lo = 1;
	n->hi = UINT8_MAX;
}

/* ---- grammar ------------------------------------------------------------ */

static int parse_or(struct parser *p);

/* A term: [src|dst] vm|zone|ip|host|net|port ARG, or proto, exporter,
 * bytes, packets, vlan, locality, dup, ipv4, ipv6, any. Leaves the lexer
 * on the token after the term. */
static int parse_term(struct parser *p)
{
	char d[TOK_MAX + 8];
	uint8_t side = SIDE_NONE;
	char side_kw[8] = "";
	int i;

	if (is_kw(&p->t, "src") || is_kw(&p->t, "dst")) {
		side = is_kw(&p->t, "src") ? SIDE_SRC : SIDE_DST;
		snprintf(side_kw, sizeof(side_kw), "%s", side == SIDE_SRC ? "src" : "dst");
		if (lex(p) < 0)
			return p->failed;
	}
	if (p->t.kind != TK_WORD || p->t.quoted) {
		if (side)
			return perr(p, -EINVAL, p->t.col,
				    "expected vm, zone, ip, net or port after '%s', got %s",
				    side_kw, tdesc(&p->t, d, sizeof(d)));
		return perr(p, -EINVAL, p->t.col, "expected a filter term, got %s",
			    tdesc(&p->t, d, sizeof(d)));
	}
	char kw[TOK_MAX];
	unsigned kwcol = p->t.col;
	snprintf(kw, sizeof(kw), "%s", p->t.s);
	for (char *c = kw; *c; c++)
		*c = (char)tolower((unsigned char)*c);

	if (!strcmp(kw, "vm") || !strcmp(kw, "zone")) {
		bool vm = kw[0] == 'v';
		if (need_word(p, kw, vm ? "a VM name, glob or UUID" : "a zone name or glob") < 0)
			return p->failed;
		if ((i = node_new(p, vm ? FN_VM : FN_ZONE)) < 0)
			return i;
		struct fnode *n = &p->f->nodes[i];
		n->what = vm ? "vm" : "zone";
		if (vm)
			leaf_cols(n, side, FC_SRC_VM, FC_DST_VM);
		else
			leaf_cols(n, side, FC_SRC_ZONE, FC_DST_ZONE);
		n->pat = strdup(p->t.s);
		if (!n->pat)
			return perr(p, -ENOMEM, p->t.col, "out of memory");
		n->by_uuid = vm && uuid_parse(p->t.s, n->uuid) == 0;
		return lex(p) < 0 ? p->failed : i;
	}
	if (!strcmp(kw, "ip") || !strcmp(kw, "host") || !strcmp(kw, "net")) {
		bool net = kw[0] == 'n';
		if (need_word(p, kw, net ? "a network (ADDR/LEN)" : "an IP address") < 0)
			return p->failed;
		if ((i = node_new(p, FN_NET)) < 0)
			return i;
		struct fnode *n = &p->f->nodes[i];
		n->what = net ? "net" : "ip";
		leaf_cols(n, side, FC_SRC, FC_DST);
		if (net ? prefix_parse(p->t.s, &n->net, &n->plen) < 0 || !strchr(p->t.s, '/')
			: addr_parse(p->t.s, &n->net) < 0)
			return perr(p, -EINVAL, p->t.col, "'%s' is not %s", p->t.s,
				    net ? "a network (e.g. 198.18.0.0/15 or 2001:db8::/32)"
					: "an IPv4 or IPv6 address");
		if (!net)
			n->plen = 128;
		net_prepare(n);
		return lex(p) < 0 ? p->failed : i;
	}
	if (!strcmp(kw, "port")) {
		uint64_t lo, hi;
		if (need_word(p, kw, "a port or range N-M") < 0)
			return p->failed;
		char *dash = strchr(p->t.s, '-');
		int r;
		if (dash) {
			*dash = '\0';
			r = parse_port(p->t.s, &lo) | parse_port(dash + 1, &hi);
			*dash = '-';
			if (r == 0 && lo > hi)
				return perr(p, -EINVAL, p->t.col,
					    "port range '%s' is empty (start above end)", p->t.s);
		} else {
			r = parse_port(p->t.s, &lo);
			hi = lo;
		}
		if (r)
			return perr(p, -EINVAL, p->t.col,
				    "'%s' is not a port or range (0-65535, N-M)", p->t.s);
		if ((i = node_new(p, FN_RANGE)) < 0)
			return i;
		struct fnode *n = &p->f->nodes[i];
		n->what = "port";
		leaf_cols(n, side, FC_SPORT, FC_DPORT);
		n->lo = lo;
		n->hi = hi;
		return lex(p) < 0 ? p->failed : i;
	}
	if (side)
		return perr(p, -EINVAL, kwcol, "expected vm, zone, ip, net or port after '%s', got '%s'",
			    side_kw, kw);

	if (!strcmp(kw, "proto")) {
		uint64_t v = 256;
		if (need_word(p, kw, "a protocol (tcp, udp, icmp, ... or 0-255)") < 0)
			return p->failed;
		for (size_t k = 0; k < ARRAY_SIZE(protos); k++)
			if (!strcasecmp(p->t.s, protos[k].name))
				v = protos[k].num;
		if (v > 255 && (parse_u64(p->t.s, 0, 255, &v) < 0))
			return perr(p, -EINVAL, p->t.col,
				    "'%s' is not a protocol (tcp, udp, icmp, icmp6, gre, esp, sctp, ... or 0-255)",
				    p->t.s);
		if ((i = node_new(p, FN_RANGE)) < 0)
			return i;
		struct fnode *n = &p->f->nodes[i];
		n->what = "proto";
		leaf_cols(n, SIDE_SRC, FC_PROTO, FC_PROTO);
		n->side = SIDE_NONE;
		n->lo = n->hi = v;
		return lex(p) < 0 ? p->failed : i;
	}
	if (!strcmp(kw, "exporter")) {
		if (need_word(p, kw, "an exporter address or network") < 0)
			return p->failed;
		if ((i = node_new(p, FN_NET)) < 0)
			return i;
		struct fnode *n = &p->f->nodes[i];
		n->what = "exporter";
		leaf_cols(n, SIDE_SRC, FC_EXPORTER, FC_EXPORTER);
		n->side = SIDE_NONE;
		if (prefix_parse(p->t.s, &n->net, &n->plen) < 0)
			return perr(p, -EINVAL, p->t.col, "'%s' is not an IP address or network",
				    p->t.s);
		net_prepare(n);
		return lex(p) < 0 ? p->failed : i;
	}
	if (!strcmp(kw, "bytes") || !strcmp(kw, "packets") || !strcmp(kw, "vlan")) {
		enum cmp op = CMP_EQ;
		uint64_t v;
		bool vlan = kw[0] == 'v';
		if (lex(p) < 0)
			return p->failed;
		if (p->t.kind == TK_CMP && !vlan) {
			op = p->t.cmp;
			if (lex(p) < 0)
				return p->failed;
		}
		if (p->t.kind != TK_WORD)
			return perr(p, -EINVAL, p->t.col, "expected %s after '%s', got %s",
				    vlan ? "a VLAN id (0-4095)" : "a number (e.g. 1500, 10k, 2M)",
				    kw, tdesc(&p->t, d, sizeof(d)));
		if (vlan ? parse_u64(p->t.s, 0, 4095, &v) < 0 : parse_si(p->t.s, &v) < 0)
			return perr(p, -EINVAL, p->t.col, "'%s' is not %s", p->t.s,
				    vlan ? "a VLAN id (0-4095)"
					 : "a number (digits with an optional k, M, G or T suffix)");
		uint64_t lo = 0, hi = UINT64_MAX;
		switch (op) {
		case CMP_EQ: case CMP_NE: lo = hi = v; break;
		case CMP_LT:
			if (v == 0)
				return perr(p, -EINVAL, p->t.col, "'%s < 0' never matches", kw);
			hi = v - 1;
			break;
		case CMP_LE: hi = v; break;
		case CMP_GT:
			if (v == UINT64_MAX)
				return perr(p, -EINVAL, p->t.col, "'%s > %s' never matches", kw, p->t.s);
			lo = v + 1;
			break;
		case CMP_GE: lo = v; break;
		}
		if ((i = node_new(p, FN_RANGE)) < 0)
			return i;
		struct fnode *n = &p->f->nodes[i];
		n->what = vlan ? "vlan" : kw[0] == 'b' ? "bytes" : "packets";
		uint8_t col = vlan ? FC_VLAN : kw[0] == 'b' ? FC_BYTES : FC_PACKETS;
		leaf_cols(n, SIDE_SRC, col, col);
		n->side = SIDE_NONE;
		n->lo = lo;
		n->hi = hi;
		if (op == CMP_NE) {
			int j = node_bin(p, FN_NOT, i, -1);
			if (j < 0)
				return j;
			i = j;
		}
		return lex(p) < 0 ? p->failed : i;
	}
	if (!strcmp(kw, "locality")) {
		static const char *const locs[] = { "outside", "same-host", "cross-host" };
		uint64_t v = 3;
		if (need_word(p, kw, "same-host, cross-host or outside") < 0)
			return p->failed;
		for (unsigned k = 0; k < 3; k++)
			if (!strcasecmp(p->t.s, locs[k]))
				v = k;
		if (v > 2)
			return perr(p, -EINVAL, p->t.col,
				    "'%s' is not a locality (same-host, cross-host, outside)", p->t.s);
		if ((i = node_new(p, FN_RANGE)) < 0)
			return i;
		struct fnode *n = &p->f->nodes[i];
		n->what = "locality";
		leaf_cols(n, SIDE_SRC, FC_LOCALITY, FC_LOCALITY);
		n->side = SIDE_NONE;
		n->lo = n->hi = v;
		return lex(p) < 0 ? p->failed : i;
	}
	if (!strcmp(kw, "ipv4") || !strcmp(kw, "inet") || !strcmp(kw, "ipv6") ||
	    !strcmp(kw, "inet6")) {
		if ((i = node_new(p, FN_RANGE)) < 0)
			return i;
		struct fnode *n = &p->f->nodes[i];
		n->what = "ipver";
		leaf_cols(n, SIDE_SRC, FC_IPVER, FC_IPVER);
		n->side = SIDE_NONE;
		n->lo = n->hi = strchr(kw, '6') ? 6 : 4;
		return lex(p) < 0 ? p->failed : i;
	}
	if (!strcmp(kw, "dup")) {
		/* a bare keyword: `not dup` is the count-once view */
		if ((i = node_new(p, FN_RANGE)) < 0)
			return i;
		dup_leaf(&p->f->nodes[i]);
		return lex(p) < 0 ? p->failed : i;
	}
	if (!strcmp(kw, "any") || !strcmp(kw, "all")) {
		if ((i = node_new(p, FN_TRUE)) < 0)
			return i;
		return lex(p) < 0 ? p->failed : i;
	}
	return perr(p, -EINVAL, kwcol,
		    "unknown filter term '%s' (expected vm, zone, ip, net, port, proto, "
		    "exporter, bytes, packets, vlan, locality, dup, ipv4, ipv6, any)", p->t.s);
}

static int parse_unary(struct parser *p)
{
	char d[TOK_MAX + 8];

	if (p->t.kind == TK_NOT || p->t.kind == TK_LP) {
		bool paren = p->t.kind == TK_LP;
		unsigned col = p->t.col;
		int a, i;
		if (++p->depth > FILTER_MAX_DEPTH)
			return perr(p, -E2BIG, col, "filter nested more than %d levels deep",
				    FILTER_MAX_DEPTH);
		if (lex(p) < 0)
			return p->failed;
		a = paren ? parse_or(p) : parse_unary(p);
		if (a < 0)
			return a;
		p->depth--;
		if (!paren)
			return node_bin(p, FN_NOT, a, -1);
		if (p->t.kind != TK_RP)
			return perr(p, -EINVAL, p->t.col,
				    "expected ')' to close '(' at column %u, got %s", col,
				    tdesc(&p->t, d, sizeof(d)));
		i = a;
		return lex(p) < 0 ? p->failed : i;
	}
	if (p->t.kind == TK_RP)
		return perr(p, -EINVAL, p->t.col, "unexpected ')'");
	if (p->t.kind == TK_END || p->t.kind == TK_AND || p->t.kind == TK_OR ||
	    p->t.kind == TK_CMP)
		return perr(p, -EINVAL, p->t.col, "expected a filter term, got %s",
			    tdesc(&p->t, d, sizeof(d)));
	return parse_term(p);
}

static int parse_and(struct parser *p)
{
	int a = parse_unary(p);

	while (a >= 0 && p->t.kind == TK_AND) {
		if (lex(p) < 0)
			return p->failed;
		int b = parse_unary(p);
		if (b < 0)
			return b;
		a = node_bin(p, FN_AND, a, b);
	}
	return a;
}

static int parse_or(struct parser *p)
{
	int a = parse_and(p);

	while (a >= 0 && p->t.kind == TK_OR) {
		if (lex(p) < 0)
			return p->failed;
		int b = parse_and(p);
		if (b < 0)
			return b;
		a = node_bin(p, FN_OR, a, b);
	}
	return a;
}

/* Scratch units evaluation needs below node <i>: the left child of a
 * binary node reuses its parent's units, the right child needs one more
 * (eval_node). */
static int tree_depth(const struct filter *f, int i)
{
	const struct fnode *n = &f->nodes[i];

	if (n->kind == FN_AND || n->kind == FN_OR) {
		/* not VT_MAX(): it evaluates its arguments twice, which made this
		 * exponential in the length of an and-chain */
		int a = tree_depth(f, n->a), b = 1 + tree_depth(f, n->b);
		return a > b ? a : b;
	}
	if (n->kind == FN_NOT)
		return tree_depth(f, n->a);
	return 0;
}

struct filter *filter_compile(const char *text, struct vt_err *err)
{
	struct parser p = { 0 };
	struct filter *f;
	char d[TOK_MAX + 8];
	int root;

	if (!text)
		text = "";
	if (strlen(text) > FILTER_MAX_TEXT) {
		vt_err_set(err, -E2BIG, "column %d: filter longer than %d characters",
			   FILTER_MAX_TEXT + 1, FILTER_MAX_TEXT);
		errno = E2BIG;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->text = strdup(text))) {
		free(f);
		vt_err_set(err, -ENOMEM, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	p.text = f->text;
	p.len = strlen(text);
	p.f = f;
	p.err = err;
	if (lex(&p) < 0)
		goto fail;
	if (p.t.kind == TK_END) {
		root = node_new(&p, FN_TRUE);
	} else {
		root = parse_or(&p);
		if (root >= 0 && p.t.kind != TK_END) {
			if (p.t.kind == TK_RP)
				perr(&p, -EINVAL, p.t.col, "unexpected ')'");
			else
				perr(&p, -EINVAL, p.t.col, "expected 'and' or 'or' before %s",
				     tdesc(&p.t, d, sizeof(d)));
			goto fail;
		}
	}
	if (root < 0)
		goto fail;
	f->root = root;
	f->depth = tree_depth(f, root);
	for (int i = 0; i < f->nnodes; i++)
		for (int k = 0; k < f->nodes[i].ncols; k++)
			f->cols |= FC_BIT(f->nodes[i].cols[k]);
	return f;
fail:
	errno = p.failed ? -p.failed : EINVAL;
	filter_free(f);
	return NULL;
}

struct filter *filter_compile_argv(int argc, char *const *argv, struct vt_err *err)
{
	size_t len = 1;
	char *text;
	struct filter *f;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	text = calloc(1, len);
	if (!text) {
		vt_err_set(err, -ENOMEM, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	for (int i = 0, n = 0; i < argc; i++)
		n += snprintf(text + n, len - (size_t)n, "%s%s", i ? " " : "", argv[i]);
	f = filter_compile(text, err);
	free(text);
	return f;
}

int filter_once(struct filter *f, struct vt_err *err)
{
	bool all = filter_is_true(f);
	char *text;
	int leaf, not;

	if (f->nnodes + 3 > FILTER_MAX_NODES)
		return vt_err_set(err, -E2BIG,
				  "no room to add 'and not dup': the filter has more than %d terms "
				  "and operators", FILTER_MAX_NODES - 3);
	if (all) {
		text = strdup("not dup");
	} else {
		size_t len = strlen(f->text) + sizeof("() and not dup");
		text = malloc(len);
		if (text)
			snprintf(text, len, "(%s) and not dup", f->text);
	}
	if (!text)
		return vt_err_set(err, -ENOMEM, "out of memory");
	free(f->text);
	f->text = text;
	leaf = node_add(f, FN_RANGE, -1, -1);
	dup_leaf(&f->nodes[leaf]);
	not = node_add(f, FN_NOT, leaf, -1);
	f->root = all ? not : node_add(f, FN_AND, f->root, not);
	f->depth = tree_depth(f, f->root);
	f->cols |= FC_BIT(FC_DUP);
	return 0;
}

void filter_free(struct filter *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->nnodes; i++)
		free(f->nodes[i].pat);
	free(f->text);
	free(f);
}

const char *filter_text(const struct filter *f)
{
	return f->text;
}

bool filter_is_true(const struct filter *f)
{
	return f->nodes[f->root].kind == FN_TRUE;
}

uint64_t filter_columns(const struct filter *f)
{
	return f->cols;
}

/* ---- dump --------------------------------------------------------------- */

static void dump(const struct filter *f, int i, char *buf, size_t len, size_t *n)
{
	const struct fnode *nd = &f->nodes[i];
	static const char *const sides[] = { "", "src ", "dst " };
	char a[VT_ADDRSTRLEN];

#define OUT(...) do { if (*n < len) *n += (size_t)snprintf(buf + *n, len - *n, __VA_ARGS__); } while (0)
	switch (nd->kind) {
	case FN_TRUE: OUT("any"); break;
	case FN_AND:
	case FN_OR:
		OUT("(");
		dump(f, nd->a, buf, len, n);
		OUT(nd->kind == FN_AND ? " and " : " or ");
		dump(f, nd->b, buf, len, n);
		OUT(")");
		break;
	case FN_NOT:
		OUT("not ");
		dump(f, nd->a, buf, len, n);
		break;
	case FN_RANGE:
		if (nd->cols[0] == FC_DUP) {   /* a bare keyword */
			OUT("dup");
			break;
		}
		OUT("%s%s %llu", sides[nd->side], nd->what, (unsigned long long)nd->lo);
		if (nd->hi == UINT64_MAX)
			OUT("-max");
		else if (nd->hi != nd->lo)
			OUT("-%llu", (unsigned long long)nd->hi);
		break;
	case FN_NET: {
		unsigned plen = nd->plen;
		if (addr_is_v4(&nd->net) && plen >= 96)
			plen -= 96;
		OUT("%s%s %s/%u", sides[nd->side], nd->what, addr_fmt(&nd->net, a, sizeof(a)), plen);
		break;
	}
	case FN_VM:
	case FN_ZONE:
		OUT("%s%s %s", sides[nd->side], nd->what, nd->pat);
		break;
	}
#undef OUT
}

const char *filter_dump(const struct filter *f, char *buf, size_t len)
{
	size_t n = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	dump(f, f->root, buf, len, &n);
	return buf;
}
