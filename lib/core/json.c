/* json.c — see json.h. */
#include "core/json.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writer ------------------------------------------------------------ */

void jw_init(struct jw *w, struct vbuf *out, bool pretty)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->pretty = pretty;
}

static void jw_chk(struct jw *w, int r)
{
	if (r < 0 && !w->err)
		w->err = r;
}

static void jw_indent(struct jw *w)
{
	if (!w->pretty)
		return;
	jw_chk(w, vbuf_addc(w->out, '\n'));
	for (int i = 0; i < w->depth; i++)
		jw_chk(w, vbuf_adds(w->out, "  "));
}

/* Emits the separator and the key (when inside an object). */
static void jw_prefix(struct jw *w, const char *key)
{
	if (w->depth > 0) {
		if (w->need_comma[w->depth])
			jw_chk(w, vbuf_addc(w->out, ','));
		w->need_comma[w->depth] = true;
		jw_indent(w);
	}
	if (key) {
		jw_chk(w, json_escape(w->out, key, strlen(key)));
		jw_chk(w, vbuf_adds(w->out, w->pretty ? ": " : ":"));
	}
}

static void jw_open(struct jw *w, const char *key, char c)
{
	jw_prefix(w, key);
	jw_chk(w, vbuf_addc(w->out, c));
	if (w->depth + 1 >= JSON_MAX_DEPTH) {
		jw_chk(w, -E2BIG);
		return;
	}
	w->depth++;
	w->need_comma[w->depth] = false;
}

static void jw_close(struct jw *w, char c)
{
	bool had = w->need_comma[w->depth];

	if (w->depth > 0)
		w->depth--;
	if (had)
		jw_indent(w);
	jw_chk(w, vbuf_addc(w->out, c));
}

void jw_obj_open(struct jw *w, const char *key) { jw_open(w, key, '{'); }
void jw_obj_close(struct jw *w) { jw_close(w, '}'); }
void jw_arr_open(struct jw *w, const char *key) { jw_open(w, key, '['); }
void jw_arr_close(struct jw *w) { jw_close(w, ']'); }

void jw_str(struct jw *w, const char *key, const char *v)
{
	if (!v) {
		jw_null(w, key);
		return;
	}
	jw_strn(w, key, v, strlen(v));
}

void jw_strn(struct jw *w, const char *key, const char *v, size_t n)
{
	jw_prefix(w, key);
	jw_chk(w, json_escape(w->out, v, n));
}

void jw_uint(struct jw *w, const char *key, uint64_t v)
{
	jw_prefix(w, key);
	jw_chk(w, vbuf_printf(w->out, "%llu", (unsigned long long)v));
}

void jw_int(struct jw *w, const char *key, int64_t v)
{
	jw_prefix(w, key);
	jw_chk(w, vbuf_printf(w->out, "%lld", (long long)v));
}

void jw_double(struct jw *w, const char *key, double v)
{
	jw_prefix(w, key);
	if (!isfinite(v)) {
		jw_chk(w, vbuf_adds(w->out, "null"));
		return;
	}
	/* the shortest of %.15g..%.17g that reads back as the same double:
	 * a reader must get the value, not a display rounding of it */
	char tmp[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	jw_chk(w, vbuf_adds(w->out, tmp));
}

void jw_bool(struct jw *w, const char *key, bool v)
{
	jw_prefix(w, key);
	jw_chk(w, vbuf_adds(w->out, v ? "true" : "false"));
}

void jw_null(struct jw *w, const char *key)
{
	jw_prefix(w, key);
	jw_chk(w, vbuf_adds(w->out, "null"));
}

void jw_raw(struct jw *w, const char *key, const char *json)
{
	jw_prefix(w, key);
	jw_chk(w, vbuf_adds(w->out, json));
}

/* Length of the valid UTF-8 sequence at <s> (of <n> bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) { len = 2; cp = s[0] & 0x1f; }
	else if ((s[0] & 0xf0) == 0xe0) { len = 3; cp = s[0] & 0x0f; }
	else if ((s[0] & 0xf8) == 0xf0) { len = 4; cp = s[0] & 0x07; }
	else return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int json_escape(struct vbuf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	int r = vbuf_addc(b, '"');

	for (size_t i = 0; i < n && r == 0;) {
		unsigned char c = p[i];
		size_t l;

		switch (c) {
		case '"': r = vbuf_adds(b, "\\\""); i++; continue;
		case '\\': r = vbuf_adds(b, "\\\\"); i++; continue;
		case '\n': r = vbuf_adds(b, "\\n"); i++; continue;
		case '\r': r = vbuf_adds(b, "\\r"); i++; continue;
		case '\t': r = vbuf_adds(b, "\\t"); i++; continue;
		default: break;
		}
		if (c < 0x20) {
			r = vbuf_printf(b, "\\u%04x", c);
			i++;
			continue;
		}
		l = utf8_seq(p + i, n - i);
		if (l == 0) {
			r = vbuf_printf(b, "\\u%04x", c);
			i++;
			continue;
		}
		r = vbuf_add(b, p + i, l);
		i += l;
	}
	if (r == 0)
		r = vbuf_addc(b, '"');
	return r;
}

/* ---- parser ------------------------------------------------------------ */

struct jp {
	const char *s;
	size_t len, pos;
	size_t nodes, max_nodes;
	struct vt_err *err;
	int depth;
};

static int jp_fail(struct jp *p, const char *what)
{
	return vt_err_set(p->err, -EINVAL, "JSON: %s at byte %zu", what, p->pos);
}

static void jp_ws(struct jp *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

static struct json_val *jp_new(struct jp *p, enum json_type t)
{
	struct json_val *v;

	if (++p->nodes > p->max_nodes) {
		vt_err_set(p->err, -E2BIG, "JSON: more than %zu values", p->max_nodes);
		return NULL;
	}
	v = calloc(1, sizeof(*v));
	if (v)
		v->type = t;
	else
		vt_err_set(p->err, -ENOMEM, "JSON: out of memory");
	return v;
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

static void put_utf8(struct vbuf *b, uint32_t cp, int *r)
{
	char o[4];
	size_t n;

	if (cp < 0x80) { o[0] = (char)cp; n = 1; }
	else if (cp < 0x800) { o[0] = (char)(0xc0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3f)); n = 2; }
	else if (cp < 0x10000) { o[0] = (char)(0xe0 | cp >> 12); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[2] = (char)(0x80 | (cp & 0x3f)); n = 3; }
	else { o[0] = (char)(0xf0 | cp >> 18); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f)); o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f)); n = 4; }
	if (*r == 0)
		*r = vbuf_add(b, o, n);
}

/* Parses a string at p->pos (which is at the opening quote). */
static int jp_string(struct jp *p, char **out, size_t *outlen)
{
	struct vbuf b;
	int r = 0;

	vbuf_init(&b, p->len + 1);
	p->pos++;
	while (p->pos < p->len) {
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->pos++;
			if (r == 0)
				r = vbuf_reserve(&b, 0);
			if (r < 0) {
				vbuf_free(&b);
				return vt_err_set(p->err, r, "JSON: out of memory");
			}
			*outlen = b.len;
			if (!b.data) { /* empty string */
				vbuf_free(&b);
				*out = strdup("");
				return *out ? 0 : -ENOMEM;
			}
			*out = vbuf_steal(&b);
			return 0;
		}
		if (c < 0x20) {
			vbuf_free(&b);
			return jp_fail(p, "control character in string");
		}
		if (c != '\\') {
			if (r == 0)
				r = vbuf_addc(&b, (char)c);
			p->pos++;
			continue;
		}
		if (++p->pos >= p->len)
			break;
		c = (unsigned char)p->s[p->pos++];
		switch (c) {
		case '"': case '\\': case '/':
			if (r == 0) r = vbuf_addc(&b, (char)c);
			break;
		case 'b': if (r == 0) r = vbuf_addc(&b, '\b'); break;
		case 'f': if (r == 0) r = vbuf_addc(&b, '\f'); break;
		case 'n': if (r == 0) r = vbuf_addc(&b, '\n'); break;
		case 'r': if (r == 0) r = vbuf_addc(&b, '\r'); break;
		case 't': if (r == 0) r = vbuf_addc(&b, '\t'); break;
		case 'u': {
			uint32_t cp, lo;
			if (p->len - p->pos < 4 || hex4(p->s + p->pos, &cp) < 0) {
				vbuf_free(&b);
				return jp_fail(p, "bad \\u escape");
			}
			p->pos += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (p->len - p->pos < 6 || p->s[p->pos] != '\\' ||
				    p->s[p->pos + 1] != 'u' ||
				    hex4(p->s + p->pos + 2, &lo) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff) {
					vbuf_free(&b);
					return jp_fail(p, "unpaired surrogate");
				}
				p->pos += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				vbuf_free(&b);
				return jp_fail(p, "unpaired surrogate");
			}
			put_utf8(&b, cp, &r);
			break;
		}
		default:
			vbuf_free(&b);
			return jp_fail(p, "bad escape");
		}
	}
	vbuf_free(&b);
	return jp_fail(p, "unterminated string");
}

static struct json_val *jp_value(struct jp *p);

/* jp_push() : appends a member. The lists grow geometrically, their
 * capacity implied by the count (4, then the next power of two), so a
 * list of n members costs O(n) copies, not O(n^2). */
static int jp_push(struct json_val *v, struct json_val *item, char *key)
{
	size_t n = v->u.list.n;
	struct json_val **items = v->u.list.items;

	if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
		size_t cap = n ? n * 2 : 4;
		items = realloc(items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		v->u.list.items = items;
		if (v->type == JSON_OBJ) {
			char **keys = realloc(v->u.list.keys, cap * sizeof(*keys));
			if (!keys)
				return -ENOMEM;
			v->u.list.keys = keys;
		}
	}
	if (v->type == JSON_OBJ)
		v->u.list.keys[n] = key;
	items[n] = item;
	v->u.list.n = n + 1;
	return 0;
}

static struct json_val *jp_container(struct jp *p, bool obj)
{
	struct json_val *v = jp_new(p, obj ? JSON_OBJ : JSON_ARR);
	char close = obj ? '}' : ']';

	if (!v)
		return NULL;
	if (++p->depth > JSON_MAX_DEPTH) {
		jp_fail(p, "nesting too deep");
		goto err;
	}
	p->pos++;
	jp_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		p->depth--;
		return v;
	}
	for (;;) {
		char *key = NULL;
		size_t klen;
		struct json_val *item;

		jp_ws(p);
		if (obj) {
			if (p->pos >= p->len || p->s[p->pos] != '"') {
				jp_fail(p, "expected object key");
				goto err;
			}
			if (jp_string(p, &key, &klen) < 0)
				goto err;
			jp_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':') {
				free(key);
				jp_fail(p, "expected ':'");
				goto err;
			}
			p->pos++;
		}
		item = jp_value(p);
		if (!item) {
			free(key);
			goto err;
		}
		if (jp_push(v, item, key) < 0) {
			free(key);
			json_free(item);
			vt_err_set(p->err, -ENOMEM, "JSON: out of memory");
			goto err;
		}
		jp_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			break;
		}
		jp_fail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		goto err;
	}
	p->depth--;
	return v;
err:
	json_free(v);
	return NULL;
}

static struct json_val *jp_number(struct jp *p)
{
	char tmp[64];
	size_t start = p->pos, n;
	bool is_int = true;
	struct json_val *v;
	char *end;

	if (p->pos < p->len && p->s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9') {
		jp_fail(p, "bad number");
		return NULL;
	}
	while (p->pos < p->len) {
		char c = p->s[p->pos];
		if (c >= '0' && c <= '9') { p->pos++; continue; }
		if (c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			is_int = false;
			p->pos++;
			continue;
		}
		break;
	}
	n = p->pos - start;
	if (n >= sizeof(tmp)) {
		jp_fail(p, "number too long");
		return NULL;
	}
	memcpy(tmp, p->s + start, n);
	tmp[n] = 0;
	v = jp_new(p, JSON_NUM);
	if (!v)
		return NULL;
	errno = 0;
	v->u.num = strtod(tmp, &end);
	if (*end) {
		json_free(v);
		jp_fail(p, "bad number");
		return NULL;
	}
	if (is_int) {
		errno = 0;
		long long ll = strtoll(tmp, &end, 10);
		if (errno == 0 && !*end) {
			v->is_int = true;
			v->i = ll;
		}
	}
	return v;
}

static struct json_val *jp_value(struct jp *p)
{
	struct json_val *v;

	jp_ws(p);
	if (p->pos >= p->len) {
		jp_fail(p, "unexpected end");
		return NULL;
	}
	switch (p->s[p->pos]) {
	case '{': return jp_container(p, true);
	case '[': return jp_container(p, false);
	case '"':
		v = jp_new(p, JSON_STR);
		if (!v)
			return NULL;
		if (jp_string(p, &v->u.str.s, &v->u.str.len) < 0) {
			free(v);
			return NULL;
		}
		return v;
	case 't': case 'f': case 'n': {
		static const struct { const char *w; enum json_type t; bool b; } lit[] = {
			{ "true", JSON_BOOL, true }, { "false", JSON_BOOL, false },
			{ "null", JSON_NULL, false },
		};
		for (size_t i = 0; i < 3; i++) {
			size_t l = strlen(lit[i].w);
			if (p->len - p->pos >= l && memcmp(p->s + p->pos, lit[i].w, l) == 0) {
				p->pos += l;
				v = jp_new(p, lit[i].t);
				if (v)
					v->u.b = lit[i].b;
				return v;
			}
		}
		jp_fail(p, "bad literal");
		return NULL;
	}
	default:
		return jp_number(p);
	}
}

struct json_val *json_parse(const char *text, size_t len, size_t max_nodes,
			    struct vt_err *err)
{
	struct jp p = { .s = text, .len = len, .max_nodes = max_nodes, .err = err };
	struct json_val *v = jp_value(&p);

	if (!v)
		return NULL;
	jp_ws(&p);
	if (p.pos != p.len) {
		jp_fail(&p, "trailing characters");
		json_free(v);
		return NULL;
	}
	return v;
}

void json_free(struct json_val *v)
{
	if (!v)
		return;
	if (v->type == JSON_STR) {
		free(v->u.str.s);
	} else if (v->type == JSON_ARR || v->type == JSON_OBJ) {
		for (size_t i = 0; i < v->u.list.n; i++) {
			json_free(v->u.list.items[i]);
			if (v->u.list.keys)
				free(v->u.list.keys[i]);
		}
		free(v->u.list.items);
		free(v->u.list.keys);
	}
	free(v);
}

const struct json_val *json_get(const struct json_val *obj, const char *key)
{
	if (!obj || obj->type != JSON_OBJ)
		return NULL;
	for (size_t i = 0; i < obj->u.list.n; i++)
		if (strcmp(obj->u.list.keys[i], key) == 0)
			return obj->u.list.items[i];
	return NULL;
}

const char *json_get_str(const struct json_val *obj, const char *key)
{
	const struct json_val *v = json_get(obj, key);

	return v && v->type == JSON_STR ? v->u.str.s : NULL;
}

bool json_get_int(const struct json_val *obj, const char *key, int64_t *out)
{
	const struct json_val *v = json_get(obj, key);

	if (!v || v->type != JSON_NUM || !v->is_int)
		return false;
	*out = v->i;
	return true;
}

size_t json_len(const struct json_val *arr)
{
	if (!arr || (arr->type != JSON_ARR && arr->type != JSON_OBJ))
		return 0;
	return arr->u.list.n;
}

const struct json_val *json_at(const struct json_val *arr, size_t i)
{
	if (i >= json_len(arr))
		return NULL;
	return arr->u.list.items[i];
}

const char *json_str_or(const struct json_val *obj, const char *key, const char *def)
{
	const char *s = json_get_str(obj, key);

	return s ? s : def;
}

uint64_t json_u64(const struct json_val *obj, const char *key)
{
	int64_t v = 0;

	return json_get_int(obj, key, &v) && v > 0 ? (uint64_t)v : 0;
}
