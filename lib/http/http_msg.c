/* http_msg.c — see http_msg.h. The request parser works on a complete head
 * (the server finds its end incrementally with http_head_end) and refuses
 * anything RFC 9112 lets a server refuse when accepting it would make
 * request smuggling or header confusion possible: bare CR, obs-fold,
 * whitespace before the colon, duplicate or conflicting Content-Length,
 * Transfer-Encoding with Content-Length. */
#include "http/http_msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/compiler.h"

#define MAX_CHUNK_LINE 1024   /* chunk size + extensions */
#define MAX_TRAILERS 8192

void http_limits_default(struct http_limits *l)
{
	l->max_request_line = HTTP_DEFAULT_MAX_REQUEST_LINE;
	l->max_head = HTTP_DEFAULT_MAX_HEAD;
	l->max_headers = HTTP_DEFAULT_MAX_HEADERS;
	l->max_query_params = HTTP_DEFAULT_MAX_QUERY_PARAMS;
	l->max_body = HTTP_DEFAULT_MAX_BODY;
}

static const char *const method_names[HTTP_METHOD_COUNT] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
};

const char *http_method_name(enum http_method m)
{
	return (unsigned)m < HTTP_METHOD_COUNT ? method_names[m] : "?";
}

/* RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" /
 * "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar / SP / HTAB (obs-text allowed on input). */
static bool is_value_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

bool http_token_valid(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

bool http_value_valid(const char *s)
{
	if (!s)
		return false;
	for (; *s; s++)
		if (!is_value_char((unsigned char)*s))
			return false;
	return true;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t http_pct_decode(char *dst, const char *src, size_t n, bool plus_space)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c == '%') {
			int hi, lo;
			if (n - i < 3)
				return -EINVAL;
			hi = hexval((unsigned char)src[i + 1]);
			lo = hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -EINVAL;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		} else if (c == 0) {
			return -EINVAL;
		}
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return (ssize_t)o;
}

int http_pct_encode(struct vbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int r;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
			r = vbuf_addc(b, (char)c);
		} else {
			char e[3] = { '%', hex[c >> 4], hex[c & 15] };
			r = vbuf_add(b, e, 3);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

size_t http_head_end(const char *buf, size_t len, size_t *scan)
{
	size_t i = *scan;

	/* A head ends at LF (CR)? LF. Resume one or two bytes back so a
	 * terminator split across reads is still seen. */
	i = i > 2 ? i - 2 : 0;
	for (; i < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	*scan = len;
	return 0;
}

/* ---- request head ------------------------------------------------------ */

static ssize_t fail(struct http_reqhead *h, int status, const char *why)
{
	h->status = status;
	h->error = why;
	return -1;
}

/* The end (exclusive, CR stripped) of the line starting at <p>, with *<next>
 * set to the start of the following line; NULL on a bare CR. The caller
 * guarantees an LF exists before <end>. */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	const char *e = lf;

	*next = lf + 1;
	if (e > p && e[-1] == '\r')
		e--;
	if (memchr(p, '\r', (size_t)(e - p)))
		return NULL;
	return e;
}

static bool ieq(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/* Walks a comma-separated header list; returns the trimmed elements. */
static bool list_next(const char **p, const char **el, size_t *ellen)
{
	const char *s = *p, *e;

	while (*s == ' ' || *s == '\t' || *s == ',')
		s++;
	if (!*s)
		return false;
	e = s;
	while (*e && *e != ',')
		e++;
	*p = e;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*el = s;
	*ellen = (size_t)(e - s);
	return true;
}

static bool path_segments_ok(const char *path, size_t n, char *scratch)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;
		ssize_t d;
		while (j < n && path[j] != '/')
			j++;
		d = http_pct_decode(scratch, path + i, j - i, false);
		if (d < 0)
			return false;
		/* dot segments would make routes and files ambiguous */
		if ((d == 1 && scratch[0] == '.') ||
		    (d == 2 && scratch[0] == '.' && scratch[1] == '.'))
			return false;
		i = j + 1;
	}
	return true;
}

struct reqline {
	const char *m, *t, *v;
	size_t mlen, tlen;
};

/* Splits "METHOD SP TARGET SP HTTP/x.y"; returns a status or 0. */
static int split_request_line(const char *p, const char *e, struct reqline *rl,
			      const char **why)
{
	const char *sp1, *sp2;

	rl->m = p;
	sp1 = memchr(p, ' ', (size_t)(e - p));
	if (!sp1 || sp1 == p) {
		*why = "malformed request line";
		return 400;
	}
	rl->mlen = (size_t)(sp1 - p);
	rl->t = sp1 + 1;
	sp2 = memchr(rl->t, ' ', (size_t)(e - rl->t));
	if (!sp2 || sp2 == rl->t) {
		*why = "malformed request line";
		return 400;
	}
	rl->tlen = (size_t)(sp2 - rl->t);
	rl->v = sp2 + 1;
	for (size_t i = 0; i < rl->mlen; i++) {
		if (!is_tchar((unsigned char)p[i])) {
			*why = "malformed method";
			return 400;
		}
	}
	for (size_t i = 0; i < rl->tlen; i++) {
		unsigned char c = (unsigned char)rl->t[i];
		if (c <= 0x20 || c >= 0x7f || c == '#') {
			*why = "invalid character in request target";
			return 400;
		}
	}
	if (e - rl->v != 8 || memcmp(rl->v, "HTTP/", 5) != 0 ||
	    rl->v[5] < '0' || rl->v[5] > '9' || rl->v[6] != '.' ||
	    rl->v[7] < '0' || rl->v[7] > '9') {
		*why = "malformed HTTP version";
		return 400;
	}
	if (rl->v[5] != '1') {
		*why = "only HTTP/1.0 and HTTP/1.1 are supported";
		return 505;
	}
	return 0;
}

ssize_t http_reqhead_parse(struct http_reqhead *h, const char *buf, size_t len,
			   const struct http_limits *lim)
{
	const char *p = buf, *end = buf + len, *lend, *next, *why = NULL;
	size_t start, scan, headlen, nlines = 0, nq = 0;
	struct reqline rl;
	int st;

	memset(h, 0, sizeof(*h));
	/* RFC 9112 §2.2: ignore empty lines before the request line. */
	while (p < end && (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')))
		p += *p == '\n' ? 1 : 2;
	start = (size_t)(p - buf);
	if (start > lim->max_head)
		return fail(h, 431, "request head too large");
	lend = memchr(p, '\n', (size_t)(end - p));
	if (!lend) {
		if ((size_t)(end - p) > lim->max_request_line)
			return fail(h, 414, "request line too long");
		if (len > lim->max_head)
			return fail(h, 431, "request head too large");
		return 0;
	}
	if ((size_t)(lend - p) + 1 > lim->max_request_line)
		return fail(h, 414, "request line too long");
	scan = (size_t)(lend - buf);
	headlen = http_head_end(buf, len, &scan);
	if (!headlen || headlen > lim->max_head) {
		if (len > lim->max_head || headlen > lim->max_head)
			return fail(h, 431, "request head too large");
		return 0;
	}
	/* The request line, on the caller's bytes. */
	lend = line_end(p, buf + headlen, &next);
	if (!lend)
		return fail(h, 400, "bare CR in request line");
	st = split_request_line(p, lend, &rl, &why);
	if (st)
		return fail(h, st, why);
	for (const char *q = next; q < buf + headlen; q++)
		nlines += *q == '\n';
	if (nlines - 1 > lim->max_headers)
		return fail(h, 431, "too many header fields");
	const char *qm = memchr(rl.t, '?', rl.tlen);
	if (qm) {
		nq = 1;
		for (const char *q = qm + 1; q < rl.t + rl.tlen; q++)
			nq += *q == '&';
	}

	/* One allocation: arrays, then a copy of the head whose fields are
	 * NUL-terminated in place, then room for path, query and scratch. */
	size_t nh = nlines, asz = nh * sizeof(struct http_hdr) + nq * sizeof(struct http_kv);
	char *store = malloc(asz + (headlen + 1) * 4);
	if (!store)
		return fail(h, 503, "out of memory");
	h->store = store;
	h->hdrs = (struct http_hdr *)(void *)store;
	h->qs = (struct http_kv *)(void *)(store + nh * sizeof(struct http_hdr));
	char *text = store + asz, *pathc = text + headlen + 1;
	char *queryc = pathc + headlen + 1, *scratch = queryc + headlen + 1;
	memcpy(text, buf, headlen);
	text[headlen] = '\0';

	char *m = text + (rl.m - buf), *t = text + (rl.t - buf);
	m[rl.mlen] = '\0';
	t[rl.tlen] = '\0';
	h->method_str = m;
	h->target = t;
	h->minor = rl.v[7] == '0' ? 0 : 1;
	h->method = HTTP_METHOD_COUNT;
	for (int i = 0; i < HTTP_METHOD_COUNT; i++)
		if (strcmp(m, method_names[i]) == 0)
			h->method = (enum http_method)i;

	/* request-target: origin-form, absolute-form, or "*" for OPTIONS */
	const char *pth = t;
	if (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0) {
		pth = strstr(t, "//") + 2;
		while (*pth && *pth != '/' && *pth != '?')
			pth++;
	} else if (strcmp(t, "*") == 0) {
		if (h->method != HTTP_OPTIONS)
			goto bad_target;
	} else if (t[0] != '/') {
		goto bad_target;
	}
	{
		const char *q = strchr(pth, '?');
		size_t plen = q ? (size_t)(q - pth) : strlen(pth);
		if (plen == 0) {
			pathc[0] = '/';
			pathc[1] = '\0';
		} else {
			memcpy(pathc, pth, plen);
			pathc[plen] = '\0';
		}
		h->path = pathc;
		if (strcmp(pathc, "*") != 0 && !path_segments_ok(pathc, strlen(pathc), scratch)) {
			http_reqhead_free(h);
			return fail(h, 400, "bad percent-encoding or dot segment in path");
		}
		if (q) {
			size_t ql = strlen(q + 1);
			memcpy(queryc, q + 1, ql + 1);
			h->query = queryc;
			/* decode a second copy in place: decoding only shrinks */
			memcpy(scratch, q + 1, ql + 1);
			char *s = scratch;
			while (s) {
				char *amp = strchr(s, '&'), *eq;
				if (amp)
					*amp = '\0';
				if (*s) {
					ssize_t kl, vl;
					eq = strchr(s, '=');
					if (eq)
						*eq = '\0';
					if (h->nqs >= lim->max_query_params) {
						http_reqhead_free(h);
						return fail(h, 400, "too many query parameters");
					}
					kl = http_pct_decode(s, s, strlen(s), true);
					vl = eq ? http_pct_decode(eq + 1, eq + 1, strlen(eq + 1), true) : 0;
					if (kl < 0 || vl < 0) {
						http_reqhead_free(h);
						return fail(h, 400, "bad percent-encoding in query");
					}
					h->qs[h->nqs].key = s;
					h->qs[h->nqs].value = eq ? eq + 1 : "";
					h->nqs++;
				}
				s = amp ? amp + 1 : NULL;
			}
		} else {
			h->query = "";
		}
	}

	/* header fields */
	{
		int nhost = 0;
		bool has_cl = false, has_te = false, te_chunked = false;
		bool conn_close = false, conn_keep = false;
		const char *tend = text + headlen;
		char *l = text + (next - buf);

		while (l < tend) {
			const char *nx;
			char *le = (char *)line_end(l, tend, &nx), *colon, *v, *ve;
			if (!le) {
				why = "bare CR in header";
				goto bad;
			}
			if (le == l)
				break; /* the empty line */
			if (*l == ' ' || *l == '\t') {
				why = "obsolete line folding in header";
				goto bad;
			}
			colon = memchr(l, ':', (size_t)(le - l));
			if (!colon || colon == l) {
				why = "malformed header field";
				goto bad;
			}
			for (char *c = l; c < colon; c++) {
				if (!is_tchar((unsigned char)*c)) {
					why = "malformed header field name";
					goto bad;
				}
			}
			v = colon + 1;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			ve = le;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			for (char *c = v; c < ve; c++) {
				if (!is_value_char((unsigned char)*c)) {
					why = "invalid character in header value";
					goto bad;
				}
			}
			*colon = '\0';
			*ve = '\0';
			h->hdrs[h->nhdrs].name = l;
			h->hdrs[h->nhdrs].value = v;
			h->nhdrs++;

			if (strcasecmp(l, "Host") == 0) {
				nhost++;
			} else if (strcasecmp(l, "Content-Length") == 0) {
				uint64_t n = 0;
				if (!*v) {
					why = "invalid Content-Length";
					goto bad;
				}
				for (const char *c = v; *c; c++) {
					if (*c < '0' || *c > '9') {
						why = "invalid Content-Length";
						goto bad;
					}
					if (n > (UINT64_MAX - 9) / 10) {
						http_reqhead_free(h);
						return fail(h, 413, "request body too large");
					}
					n = n * 10 + (uint64_t)(*c - '0');
				}
				if (has_cl && n != h->content_length) {
					why = "conflicting Content-Length headers";
					goto bad;
				}
				has_cl = true;
				h->content_length = n;
			} else if (strcasecmp(l, "Transfer-Encoding") == 0) {
				const char *it = v, *el;
				size_t ell;
				has_te = true;
				te_chunked = false;
				while (list_next(&it, &el, &ell))
					te_chunked = ieq(el, ell, "chunked");
			} else if (strcasecmp(l, "Connection") == 0) {
				const char *it = v, *el;
				size_t ell;
				while (list_next(&it, &el, &ell)) {
					conn_close |= ieq(el, ell, "close");
					conn_keep |= ieq(el, ell, "keep-alive");
				}
			} else if (strcasecmp(l, "Expect") == 0) {
				if (strcasecmp(v, "100-continue") != 0) {
					http_reqhead_free(h);
					return fail(h, 417, "only Expect: 100-continue is supported");
				}
				h->expect_continue = h->minor >= 1;
			}
			l = (char *)nx;
		}
		if (h->minor >= 1 && nhost != 1) {
			why = nhost ? "more than one Host header" : "missing Host header";
			goto bad;
		}
		if (nhost > 1) {
			why = "more than one Host header";
			goto bad;
		}
		if (has_te && has_cl) {
			why = "both Transfer-Encoding and Content-Length";
			goto bad;
		}
		if (has_te) {
			http_reqhead_free(h);
			if (te_chunked)
				return fail(h, 411, "chunked request bodies are not accepted; send Content-Length");
			return fail(h, 501, "unsupported Transfer-Encoding");
		}
		if (h->content_length > lim->max_body) {
			http_reqhead_free(h);
			return fail(h, 413, "request body too large");
		}
		h->keep_alive = !conn_close && (h->minor >= 1 || conn_keep);
	}
	if (h->method == HTTP_METHOD_COUNT) {
		http_reqhead_free(h);
		return fail(h, 501, "method not implemented");
	}
	return (ssize_t)headlen;

bad_target:
	http_reqhead_free(h);
	return fail(h, 400, "unsupported request target form");
bad:
	http_reqhead_free(h);
	return fail(h, 400, why);
}

void http_reqhead_free(struct http_reqhead *h)
{
	if (!h)
		return;
	VT_FREE(h->store);
	h->hdrs = NULL;
	h->qs = NULL;
	h->nhdrs = 0;
	h->nqs = 0;
	h->method_str = h->target = h->path = h->query = NULL;
}

const char *http_reqhead_get(const struct http_reqhead *h, const char *name)
{
	for (size_t i = 0; i < h->nhdrs; i++)
		if (strcasecmp(h->hdrs[i].name, name) == 0)
			return h->hdrs[i].value;
	return NULL;
}

const char *http_reqhead_query(const struct http_reqhead *h, const char *key)
{
	for (size_t i = 0; i < h->nqs; i++)
		if (strcmp(h->qs[i].key, key) == 0)
			return h->qs[i].value;
	return NULL;
}

/* ---- reason phrases and dates ------------------------------------------ */

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

static const char wdays[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

const char *http_date(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	/* not strftime: %a and %b follow the locale, HTTP dates must not */
	if (!gmtime_r(&tt, &tm)) {
		snprintf(buf, len, "Thu, 01 Jan 1970 00:00:00 GMT");
		return buf;
	}
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", wdays[tm.tm_wday % 7],
		 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
	return buf;
}

static int two_digits(const char *s)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

int64_t http_date_parse(const char *s)
{
	/* "Sun, 06 Nov 1994 08:49:37 GMT" */
	struct tm tm = { 0 };
	int y1, y2, mon = -1;

	if (!s || strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    strcmp(s + 25, " GMT") != 0)
		return -1;
	for (int i = 0; i < 12; i++)
		if (memcmp(s + 8, months[i], 3) == 0)
			mon = i;
	tm.tm_mday = two_digits(s + 5);
	y1 = two_digits(s + 12);
	y2 = two_digits(s + 14);
	tm.tm_hour = two_digits(s + 17);
	tm.tm_min = two_digits(s + 20);
	tm.tm_sec = two_digits(s + 23);
	if (mon < 0 || tm.tm_mday < 1 || y1 < 0 || y2 < 0 || tm.tm_hour < 0 ||
	    tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 ||
	    tm.tm_sec > 60)
		return -1;
	tm.tm_mon = mon;
	tm.tm_year = y1 * 100 + y2 - 1900;
	return (int64_t)timegm(&tm);
}

/* ---- response head ----------------------------------------------------- */

static void copy_trunc(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

ssize_t http_resphead_parse(struct http_resphead *h, const char *buf, size_t len,
			    size_t max_head)
{
	size_t scan = 0, headlen = http_head_end(buf, len, &scan);
	const char *p, *e, *next, *end;
	bool te = false;

	memset(h, 0, sizeof(*h));
	if (!headlen || headlen > max_head)
		return len > max_head || headlen > max_head ? -EMSGSIZE : 0;
	end = buf + headlen;
	e = line_end(buf, end, &next);
	/* status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ] */
	if (!e || e - buf < 12 || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    buf[7] < '0' || buf[7] > '9' || buf[8] != ' ')
		return -EBADMSG;
	h->minor = buf[7] == '0' ? 0 : 1;
	for (int i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return -EBADMSG;
		h->status = h->status * 10 + (buf[i] - '0');
	}
	if (h->status < 100 || (e - buf > 12 && buf[12] != ' '))
		return -EBADMSG;
	if (e - buf > 13)
		copy_trunc(h->reason, sizeof(h->reason), buf + 13, (size_t)(e - buf - 13));
	h->close = h->minor == 0;
	for (p = next; p < end;) {
		const char *colon, *v, *ve, *nx;
		e = line_end(p, end, &nx);
		if (!e)
			return -EBADMSG;
		if (e == p)
			break;
		colon = memchr(p, ':', (size_t)(e - p));
		if (!colon || colon == p || *p == ' ' || *p == '\t')
			return -EBADMSG;
		for (const char *c = p; c < colon; c++)
			if (!is_tchar((unsigned char)*c))
				return -EBADMSG;
		v = colon + 1;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		ve = e;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		size_t nl = (size_t)(colon - p), vl = (size_t)(ve - v);
		if (ieq(p, nl, "Content-Length")) {
			uint64_t n = 0;
			if (!vl)
				return -EBADMSG;
			for (size_t i = 0; i < vl; i++) {
				if (v[i] < '0' || v[i] > '9' || n > (UINT64_MAX - 9) / 10)
					return -EBADMSG;
				n = n * 10 + (uint64_t)(v[i] - '0');
			}
			if (h->has_length && n != h->content_length)
				return -EBADMSG;
			h->has_length = true;
			h->content_length = n;
		} else if (ieq(p, nl, "Transfer-Encoding")) {
			char tmp[256];
			const char *it = tmp, *el;
			size_t ell;
			copy_trunc(tmp, sizeof(tmp), v, vl);
			te = true;
			h->chunked = false;
			while (list_next(&it, &el, &ell))
				h->chunked = ieq(el, ell, "chunked");
		} else if (ieq(p, nl, "Connection")) {
			char tmp[256];
			const char *it = tmp, *el;
			size_t ell;
			copy_trunc(tmp, sizeof(tmp), v, vl);
			while (list_next(&it, &el, &ell)) {
				if (ieq(el, ell, "close"))
					h->close = true;
				else if (ieq(el, ell, "keep-alive") && h->minor == 0)
					h->close = false;
			}
		} else if (ieq(p, nl, "Content-Type")) {
			copy_trunc(h->content_type, sizeof(h->content_type), v, vl);
		}
		p = nx;
	}
	/* RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; a final
	 * coding other than chunked means the body runs to the close. */
	if (te) {
		h->has_length = false;
		h->content_length = 0;
		if (!h->chunked)
			h->close = true;
	}
	return (ssize_t)headlen;
}

/* ---- chunked bodies ---------------------------------------------------- */

enum {
	CH_SIZE, CH_EXT, CH_SIZE_LF, CH_DATA, CH_DATA_CR, CH_DATA_LF,
	CH_TRAILER_START, CH_TRAILER, CH_TRAILER_LF, CH_END_LF, CH_DONE
};

void http_chunked_init(struct http_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CH_SIZE;
}

ssize_t http_chunked_decode(struct http_chunked *c, char *buf, size_t len, size_t *out)
{
	size_t i = 0, o = 0;

	*out = 0;
	while (i < len && c->state != CH_DONE) {
		unsigned char ch = (unsigned char)buf[i];
		int d;

		if (c->state == CH_DATA) {
			size_t n = len - i;
			if (n > c->left)
				n = (size_t)c->left;
			memmove(buf + o, buf + i, n);
			o += n;
			i += n;
			c->left -= n;
			c->total += n;
			if (!c->left)
				c->state = CH_DATA_CR;
			continue;
		}
		i++;
		switch (c->state) {
		case CH_SIZE:
			d = hexval(ch);
			if (d >= 0) {
				if (++c->line > 16)
					return -EBADMSG;
				c->left = c->left << 4 | (uint64_t)d;
				break;
			}
			if (!c->line)
				return -EBADMSG;
			if (ch == ';' || ch == ' ' || ch == '\t')
				c->state = CH_EXT;
			else if (ch == '\r')
				c->state = CH_SIZE_LF;
			else if (ch == '\n')
				goto size_done;
			else
				return -EBADMSG;
			break;
		case CH_EXT:
			if (ch == '\r') {
				c->state = CH_SIZE_LF;
			} else if (ch == '\n') {
				goto size_done;
			} else if ((ch < 0x20 && ch != '\t') || ch == 0x7f ||
				   ++c->line > MAX_CHUNK_LINE) {
				return -EBADMSG;
			}
			break;
		case CH_SIZE_LF:
			if (ch != '\n')
				return -EBADMSG;
size_done:
			c->line = 0;
			c->state = c->left ? CH_DATA : CH_TRAILER_START;
			break;
		case CH_DATA_CR:
			if (ch == '\r')
				c->state = CH_DATA_LF;
			else if (ch == '\n')
				c->state = CH_SIZE;
			else
				return -EBADMSG;
			break;
		case CH_DATA_LF:
			if (ch != '\n')
				return -EBADMSG;
			c->state = CH_SIZE;
			break;
		case CH_TRAILER_START:
			if (ch == '\r') {
				c->state = CH_END_LF;
			} else if (ch == '\n') {
				c->state = CH_DONE;
			} else {
				if (++c->trailer > MAX_TRAILERS)
					return -EBADMSG;
				c->state = CH_TRAILER;
			}
			break;
		case CH_TRAILER:
			if (++c->trailer > MAX_TRAILERS)
				return -EBADMSG;
			if (ch == '\r')
				c->state = CH_TRAILER_LF;
			else if (ch == '\n')
				c->state = CH_TRAILER_START;
			break;
		case CH_TRAILER_LF:
			if (ch != '\n')
				return -EBADMSG;
			c->state = CH_TRAILER_START;
			break;
		case CH_END_LF:
			if (ch != '\n')
				return -EBADMSG;
			c->state = CH_DONE;
			break;
		default:
			return -EBADMSG;
		}
	}
	c->done = c->state == CH_DONE;
	*out = o;
	return (ssize_t)i;
}
