/* id_inventory.c — the inventory file as an identity source: the lab's
 * inventory.json format (docs/lab.md), usable by any orchestrator that can
 * write a JSON file:
 *
 *	{"vms": [{"name": "vm1", "uuid": "6d83961b-...", "mac": "52:54:00:18:00:01",
 *	          "port": "vp-vm1", "host": "h1", ...}, ...]}
 *
 * "name" or "uuid" is required per VM, "mac" and "port" are how it is
 * matched to a port (at least one), other members are ignored. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/identity.h"
#include "core/compiler.h"
#include "core/fileio.h"
#include "core/json.h"
#include "flow/addr.h"

/* get_str() : member <key> of <o> as a string of at most <max> bytes (NUL
 * excluded); NULL and no error when absent; error when of another type or
 * too long. */
static int get_str(const struct json_val *o, const char *key, size_t idx, size_t max,
		   const char **out, struct vt_err *err)
{
	const struct json_val *v = json_get(o, key);

	*out = NULL;
	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_STR)
		return vt_err_set(err, -EINVAL, "vms[%zu].%s: not a string", idx, key);
	if (v->u.str.len > max || strlen(v->u.str.s) != v->u.str.len)
		return vt_err_set(err, -EINVAL, "vms[%zu].%s: longer than %zu bytes or holds a NUL",
				  idx, key, max);
	*out = v->u.str.s;
	return 0;
}

int id_parse_inventory(const char *text, size_t len, struct id_set *out, struct vt_err *err)
{
	struct json_val *doc;
	const struct json_val *vms;
	int r = 0;

	/* a node per member and value: 16 per VM is plenty for the lab's 11 */
	doc = json_parse(text, len, VT_MAX(out->max, (size_t)1) * 32 + 256, err);
	if (!doc)
		return err && err->code ? err->code : -EINVAL;
	if (doc->type != JSON_OBJ) {
		r = vt_err_set(err, -EINVAL, "not a JSON object");
		goto out;
	}
	vms = json_get(doc, "vms");
	if (!vms || vms->type != JSON_ARR) {
		r = vt_err_set(err, -EINVAL, "no \"vms\" array");
		goto out;
	}
	for (size_t i = 0; i < json_len(vms); i++) {
		const struct json_val *o = json_at(vms, i);
		const char *name, *uuid, *mac, *port, *host;
		struct id_entry e;

		if (!o || o->type != JSON_OBJ) {
			r = vt_err_set(err, -EINVAL, "vms[%zu]: not an object", i);
			goto out;
		}
		if ((r = get_str(o, "name", i, VT_NAME_MAX - 1, &name, err)) < 0 ||
		    (r = get_str(o, "uuid", i, VT_UUIDSTRLEN, &uuid, err)) < 0 ||
		    (r = get_str(o, "mac", i, VT_MACSTRLEN, &mac, err)) < 0 ||
		    (r = get_str(o, "port", i, VT_IFNAME_MAX - 1, &port, err)) < 0 ||
		    (r = get_str(o, "host", i, VT_NAME_MAX - 1, &host, err)) < 0)
			goto out;
		memset(&e, 0, sizeof(e));
		if ((!name || !name[0]) && !uuid) {
			r = vt_err_set(err, -EINVAL, "vms[%zu]: neither \"name\" nor \"uuid\"", i);
			goto out;
		}
		if (name)
			snprintf(e.name, sizeof(e.name), "%s", name);
		if (uuid && (uuid_parse(uuid, e.uuid) < 0 || uuid_is_nil(e.uuid))) {
			r = vt_err_set(err, -EINVAL, "vms[%zu].uuid: '%s' is not a UUID", i, uuid);
			goto out;
		}
		if (mac) {
			if (mac_parse(mac, e.mac) < 0 || (e.mac[0] & 1)) {
				r = vt_err_set(err, -EINVAL, "vms[%zu].mac: '%s' is not a unicast MAC", i,
					       mac);
				goto out;
			}
			e.has_mac = true;
		}
		if (port)
			snprintf(e.port, sizeof(e.port), "%s", port);
		if (host)
			snprintf(e.host, sizeof(e.host), "%s", host);
		if (!e.has_mac && !e.port[0]) {
			r = vt_err_set(err, -EINVAL, "vms[%zu]: neither \"mac\" nor \"port\" to match it by",
				       i);
			goto out;
		}
		r = id_set_add(out, &e);
		if (r < 0) {
			vt_err_set(err, r, "more than %zu VMs", out->max);
			goto out;
		}
	}
out:
	json_free(doc);
	return r;
}

int id_load_inventory(const char *path, struct id_set *out, struct vt_err *err)
{
	struct vbuf b;
	int r;

	r = file_read_all(path, ID_FILE_MAX, false, &b, err);
	if (r == 0) {
		r = id_parse_inventory((const char *)b.data, b.len, out, err);
		if (r < 0) {     /* say which file */
			char msg[VT_ERR_MSG_MAX];
			snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
			vt_err_set(err, r, "%s: %s", path, msg);
		}
	}
	vbuf_free(&b);
	return r;
}
