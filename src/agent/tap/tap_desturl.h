/* tap_desturl.h — `--dest` URLs for mirror sessions:
 *
 *	vxlan://IP[:PORT]?vni=N      gre://IP[?key=N]
 *	erspan2://IP?session_id=N    erspan3://IP?session_id=N[&hw_id=N]
 *	tzsp://IP[:PORT]             pcapng:DIR[?file_size=64M&file_count=8]
 *	IPv6 in brackets: vxlan://[2001:db8::1]:4789?vni=7
 *
 * Any further destination field goes in the query (mtu, mtu_policy, tos,
 * ttl, encap, prefix ...). */
#ifndef VT_TAP_DESTURL_H
#define VT_TAP_DESTURL_H

#include "core/err.h"
#include "core/json.h"

/* tap_dest_url_json() : writes object <key> for <url> into <w>. -EINVAL
 * with a message naming --dest when the URL is malformed (then <w> holds
 * a partial object: discard it). */
int tap_dest_url_json(struct jw *w, const char *key, const char *url, struct vt_err *err);

#endif
