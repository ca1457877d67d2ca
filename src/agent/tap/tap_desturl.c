/* tap_desturl.c — a mirror destination written as a URL (the `--dest` of
 * `vtap session add`) turned into the "destination" object of a session's
 * JSON (tap_session.h), key by key: scheme -> type, host -> remote, port ->
 * port, each query k=v -> a destination key (all digits: a number). Only
 * the URL's syntax is checked here; the keys and their values are checked
 * by the one session parser, so an error names the same field whether the
 * session came from a file or from flags. */
#include "agent/tap/tap_desturl.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/compiler.h"
#include "core/timeutil.h"

/* One "k=v" of the query: a number when it is all digits, else a string;
 * the agent's parser says whether the key exists and the value fits. */
static int put_kv(struct jw *w, const char *kv, size_t n)
{
	const char *eq = memchr(kv, '=', n);
	char key[64];
	size_t kl, vl;
	bool digits = true;

	if (!eq || eq == kv)
		return -1;
	kl = (size_t)(eq - kv);
	vl = n - kl - 1;
	if (kl >= sizeof(key) || vl == 0)
		return -1;
	memcpy(key, kv, kl);
	key[kl] = '\0';
	for (size_t i = 0; i < vl; i++)
		digits &= eq[1 + i] >= '0' && eq[1 + i] <= '9';
	if (digits && vl < 19) {
		uint64_t x = 0;
		for (size_t i = 0; i < vl; i++)
			x = x * 10 + (uint64_t)(eq[1 + i] - '0');
		jw_uint(w, key, x);
	} else {
		jw_strn(w, key, eq + 1, vl);
	}
	return 0;
}

static int put_query(struct jw *w, const char *q)
{
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t n = amp ? (size_t)(amp - q) : strlen(q);

		if (n && put_kv(w, q, n) < 0)
			return -1;
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

int tap_dest_url_json(struct jw *w, const char *key, const char *url, struct vt_err *err)
{
	static const char *const schemes[] = { "vxlan", "gre", "erspan2", "erspan3", "tzsp" };
	const char *sep = strstr(url, "://"), *host, *end, *q;
	char scheme[16], hostbuf[80];
	size_t hl;

	jw_obj_open(w, key);
	if (strncmp(url, "pcapng:", 7) == 0) {
		const char *dir = url + 7;
		q = strchr(dir, '?');
		if ((q ? (size_t)(q - dir) : strlen(dir)) == 0)
			goto bad;
		jw_str(w, "type", "pcapng");
		jw_strn(w, "dir", dir, q ? (size_t)(q - dir) : strlen(dir));
		if (q && put_query(w, q + 1) < 0)
			goto bad;
		jw_obj_close(w);
		return 0;
	}
	if (!sep || (size_t)(sep - url) >= sizeof(scheme))
		goto bad;
	memcpy(scheme, url, (size_t)(sep - url));
	scheme[sep - url] = '\0';
	{
		size_t i;
		for (i = 0; i < ARRAY_SIZE(schemes); i++)
			if (strcmp(scheme, schemes[i]) == 0)
				break;
		if (i == ARRAY_SIZE(schemes)) {
			return vt_err_set(err, -EINVAL, "--dest '%s': '%s' is not vxlan, gre, erspan2, "
					  "erspan3, tzsp or pcapng", url, scheme);
		}
	}
	jw_str(w, "type", scheme);
	host = sep + 3;
	q = strchr(host, '?');
	end = q ? q : host + strlen(host);
	if (*host == '[') {                       /* [2001:db8::1]:4789 */
		const char *close = memchr(host, ']', (size_t)(end - host));
		if (!close)
			goto bad;
		hl = (size_t)(close - host - 1);
		if (hl == 0 || hl >= sizeof(hostbuf))
			goto bad;
		memcpy(hostbuf, host + 1, hl);
		host = close + 1;
	} else {
		const char *colon = memchr(host, ':', (size_t)(end - host));
		const char *stop = colon ? colon : end;
		hl = (size_t)(stop - host);
		if (hl == 0 || hl >= sizeof(hostbuf))
			goto bad;
		memcpy(hostbuf, host, hl);
		host = stop;
	}
	hostbuf[hl] = '\0';
	jw_str(w, "remote", hostbuf);
	if (host < end) {
		char port[8];
		size_t pl = (size_t)(end - host - 1);
		uint64_t p;
		if (*host != ':' || pl == 0 || pl >= sizeof(port))
			goto bad;
		memcpy(port, host + 1, pl);
		port[pl] = '\0';
		if (parse_u64(port, 1, 65535, &p) < 0) {
			return vt_err_set(err, -EINVAL, "--dest '%s': port '%s' is not 1..65535", url,
					  port);
		}
		jw_uint(w, "port", p);
	}
	if (q && put_query(w, q + 1) < 0)
		goto bad;
	jw_obj_close(w);
	return 0;
bad:
	return vt_err_set(err, -EINVAL, "--dest '%s': expected vxlan://IP[:PORT]?vni=N, "
			  "gre://IP[?key=N], erspan2://IP?session_id=N, erspan3://IP?session_id=N, "
			  "tzsp://IP[:PORT] or pcapng:DIR, with further fields as ?k=v&k=v", url);
}
