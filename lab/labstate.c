/* labstate.c — the lab's model, its files and its process checks (see
 * labstate.h). */
#include "lab/labstate.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/json.h"
#include "core/timeutil.h"

#define LAB_FILE_MAX (4u << 20)

bool lab_prefix_ok(const char *p)
{
	size_t n = 0;

	if (!p || !(*p >= 'a' && *p <= 'z'))
		return false;
	for (; p[n]; n++)
		if (!((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9')))
			return false;
	return n <= LAB_PREFIX_MAX;
}

const char *lab_prefix_default(void)
{
	const char *e = getenv("VTAP_LAB_PREFIX");

	return e && *e ? e : LAB_DEFAULT_PREFIX;
}

int lab_ns_name(char *out, size_t cap, const char *prefix, const char *role)
{
	return (size_t)snprintf(out, cap, "%s-%s", prefix, role) < cap ? 0 : -ENAMETOOLONG;
}

int lab_path(char *out, size_t cap, const char *prefix, const char *file)
{
	int n = file ? snprintf(out, cap, "%s/%s/%s", LAB_RUN_DIR, prefix, file) :
		       snprintf(out, cap, "%s/%s", LAB_RUN_DIR, prefix);
	return n > 0 && (size_t)n < cap ? 0 : -ENAMETOOLONG;
}

/* "h12" / "vm7": <pfx> then 1..4 digits without a leading zero */
static bool numbered(const char *s, const char *pfx, unsigned *num)
{
	size_t pl = strlen(pfx);
	uint64_t v;

	if (strncmp(s, pfx, pl) != 0 || !isdigit((unsigned char)s[pl]) || s[pl] == '0' ||
	    strlen(s + pl) > 4)
		return false;
	if (parse_u64(s + pl, 1, 9999, &v) < 0)
		return false;
	if (num)
		*num = (unsigned)v;
	return true;
}

bool lab_ns_role_ok(const char *role)
{
	return strcmp(role, "fabric") == 0 || strcmp(role, "ext") == 0 ||
	       strcmp(role, "mgmt") == 0 || strcmp(role, "analyzer") == 0 ||
	       numbered(role, "h", NULL) || numbered(role, "vm", NULL);
}

void lab_host_mgmt_ip(unsigned host, char *out, size_t cap)
{
	snprintf(out, cap, "198.19.0.%u", 10 + host);
}

static void vm_addresses(struct lab_vm *vm)
{
	uint8_t v4[4] = { 198, 18, 1, (uint8_t)vm->id };
	uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x18 };

	addr_set_v4(&vm->ip4, v4);
	v6[13] = 1; /* 2001:db8:18::1:K */
	v6[14] = (uint8_t)(vm->id >> 8);
	v6[15] = (uint8_t)vm->id;
	addr_set_v6(&vm->ip6, v6);
	vm->mac[0] = 0x52;
	vm->mac[1] = 0x54;
	vm->mac[2] = 0x00;
	vm->mac[3] = 0x18;
	vm->mac[4] = (uint8_t)(vm->id >> 8);
	vm->mac[5] = (uint8_t)vm->id;
}

static void set_port_name(struct lab_vm *vm)
{
	char port[IFNAMSIZ];

	snprintf(port, sizeof(port), "%s-%s", vm->port_type == LAB_PORT_TAP ? "tp" : "vp",
		 vm->name);
	memcpy(vm->port, port, sizeof(port));
}

int lab_init(struct lab *lab, const char *prefix, unsigned nhosts, unsigned per_host,
	     const char *tap_vms, struct vt_err *err)
{
	if (!lab_prefix_ok(prefix))
		return vt_err_set(err, -EINVAL,
				  "option --prefix: '%s' must be 1-%d characters of a-z and 0-9, starting with a letter",
				  prefix, LAB_PREFIX_MAX);
	if (nhosts < 1 || nhosts > LAB_MAX_HOSTS)
		return vt_err_set(err, -EINVAL, "option --hosts: %u is out of range [1, %d]",
				  nhosts, LAB_MAX_HOSTS);
	if (per_host < 1 || (uint64_t)nhosts * per_host > LAB_MAX_VMS)
		return vt_err_set(err, -EINVAL,
				  "option --vms-per-host: %u x %u hosts is more than %d VMs",
				  per_host, nhosts, LAB_MAX_VMS);
	memset(lab, 0, sizeof(*lab));
	snprintf(lab->prefix, sizeof(lab->prefix), "%s", prefix);
	lab->nhosts = nhosts;
	lab->vms_per_host = per_host;
	lab->nvms = nhosts * per_host;
	lab->monitor_mtu = 1500;
	lab->ipv6 = true;
	lab->created_ms = wall_ms();
	for (unsigned i = 0; i < lab->nvms; i++) {
		struct lab_vm *vm = &lab->vms[i];
		vm->id = i + 1;
		vm->host = i / per_host + 1;
		snprintf(vm->name, sizeof(vm->name), "vm%u", vm->id);
		vm_addresses(vm);
		if (getrandom(vm->uuid, sizeof(vm->uuid), 0) != sizeof(vm->uuid))
			return vt_err_set(err, -EIO, "cannot get random bytes for VM UUIDs");
		vm->uuid[6] = (uint8_t)((vm->uuid[6] & 0x0f) | 0x40); /* RFC 4122 v4 */
		vm->uuid[8] = (uint8_t)((vm->uuid[8] & 0x3f) | 0x80);
		vm->port_type = LAB_PORT_VETH;
	}
	if (!tap_vms) {
		lab->vms[per_host - 1].port_type = LAB_PORT_TAP;
	} else if (*tap_vms && strcmp(tap_vms, "none") != 0) {
		char list[256], *save = NULL;
		if (strlen(tap_vms) >= sizeof(list))
			return vt_err_set(err, -EINVAL, "option --tap-vms: list too long");
		snprintf(list, sizeof(list), "%s", tap_vms);
		for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			struct lab_vm *vm = lab_vm_find(lab, t);
			if (!vm)
				return vt_err_set(err, -EINVAL,
						  "option --tap-vms: '%s' is not a VM of this lab (vm1..vm%u)",
						  t, lab->nvms);
			vm->port_type = LAB_PORT_TAP;
		}
	}
	for (unsigned i = 0; i < lab->nvms; i++)
		set_port_name(&lab->vms[i]);
	return 0;
}

struct lab_vm *lab_vm_find(struct lab *lab, const char *name)
{
	size_t pl = strlen(lab->prefix);
	unsigned k;

	if (strncmp(name, lab->prefix, pl) == 0 && name[pl] == '-')
		name += pl + 1;
	if (!numbered(name, "vm", &k))
		return NULL;
	for (unsigned i = 0; i < lab->nvms; i++)
		if (lab->vms[i].id == k)
			return &lab->vms[i];
	return NULL;
}

int lab_host_parse(const struct lab *lab, const char *name)
{
	unsigned h;
	size_t pl = strlen(lab->prefix);

	if (strncmp(name, lab->prefix, pl) == 0 && name[pl] == '-')
		name += pl + 1;
	if (!numbered(name, "h", &h) || h > lab->nhosts)
		return -EINVAL;
	return (int)h;
}

/* ---- writing ----------------------------------------------------------- */

static void jw_addr(struct jw *w, const char *key, const struct vt_addr *a)
{
	char s[VT_ADDRSTRLEN];
	jw_str(w, key, addr_fmt(a, s, sizeof(s)));
}

int lab_inventory_json(const struct lab *lab, struct vbuf *out, bool pretty)
{
	struct jw w;
	char s[128], ns[64];

	jw_init(&w, out, pretty);
	jw_obj_open(&w, NULL);
	jw_str(&w, "prefix", lab->prefix);
	jw_uint(&w, "created_ms", lab->created_ms);
	lab_path(s, sizeof(s), lab->prefix, NULL);
	jw_str(&w, "dir", s);
	jw_uint(&w, "monitor_mtu", lab->monitor_mtu);
	jw_bool(&w, "ipv6", lab->ipv6);
	jw_uint(&w, "vms_per_host", lab->vms_per_host);

	jw_obj_open(&w, "networks");
	jw_obj_open(&w, "vm");
	jw_str(&w, "ipv4", "198.18.0.0/16");
	jw_str(&w, "gateway4", LAB_EXT_IP4);
	if (lab->ipv6) {
		jw_str(&w, "ipv6", "2001:db8:18::/64");
		jw_str(&w, "gateway6", LAB_EXT_IP6);
	}
	jw_obj_close(&w);
	jw_obj_open(&w, "mgmt");
	jw_str(&w, "ipv4", "198.19.0.0/24");
	jw_uint(&w, "mtu", lab->monitor_mtu);
	jw_obj_close(&w);
	jw_obj_open(&w, "internet");
	jw_str(&w, "ipv4", LAB_INET_NET4 "/24");
	if (lab->ipv6)
		jw_str(&w, "ipv6", LAB_INET_NET6 "/64");
	jw_obj_close(&w);
	jw_obj_close(&w);

	jw_arr_open(&w, "hosts");
	for (unsigned h = 1; h <= lab->nhosts; h++) {
		char role[16];
		snprintf(role, sizeof(role), "h%u", h);
		lab_ns_name(ns, sizeof(ns), lab->prefix, role);
		jw_obj_open(&w, NULL);
		jw_str(&w, "name", role);
		jw_str(&w, "namespace", ns);
		jw_str(&w, "bridge", "br0");
		jw_str(&w, "uplink", "up0");
		jw_str(&w, "mgmt_if", "mgmt0");
		lab_host_mgmt_ip(h, s, sizeof(s));
		jw_str(&w, "mgmt_ip", s);
		{
			char path[128], uri[160];
			snprintf(role, sizeof(role), "h%u.xml", h);
			lab_path(path, sizeof(path), lab->prefix, role);
			snprintf(uri, sizeof(uri), "test://%s", path);
			jw_str(&w, "libvirt_uri", uri);
		}
		jw_arr_open(&w, "vms");
		for (unsigned i = 0; i < lab->nvms; i++)
			if (lab->vms[i].host == h)
				jw_str(&w, NULL, lab->vms[i].name);
		jw_arr_close(&w);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);

	jw_arr_open(&w, "vms");
	for (unsigned i = 0; i < lab->nvms; i++) {
		const struct lab_vm *vm = &lab->vms[i];
		char host[16];
		jw_obj_open(&w, NULL);
		jw_str(&w, "name", vm->name);
		jw_uint(&w, "id", vm->id);
		jw_str(&w, "uuid", uuid_fmt(vm->uuid, s, sizeof(s)));
		jw_str(&w, "mac", mac_fmt(vm->mac, s, sizeof(s)));
		jw_addr(&w, "ipv4", &vm->ip4);
		if (lab->ipv6)
			jw_addr(&w, "ipv6", &vm->ip6);
		snprintf(host, sizeof(host), "h%u", vm->host);
		jw_str(&w, "host", host);
		lab_ns_name(ns, sizeof(ns), lab->prefix, vm->name);
		jw_str(&w, "namespace", ns);
		jw_str(&w, "interface", "eth0");
		jw_str(&w, "port", vm->port);
		jw_str(&w, "port_type", vm->port_type == LAB_PORT_TAP ? "tap" : "veth");
		jw_obj_close(&w);
	}
	jw_arr_close(&w);

	static const struct { const char *role, *ip; } others[] = {
		{ "mgmt", LAB_MGMT_IP }, { "analyzer", LAB_ANALYZER_IP },
	};
	for (size_t i = 0; i < ARRAY_SIZE(others); i++) {
		jw_obj_open(&w, others[i].role);
		lab_ns_name(ns, sizeof(ns), lab->prefix, others[i].role);
		jw_str(&w, "namespace", ns);
		jw_str(&w, "interface", "eth0");
		jw_str(&w, "ipv4", others[i].ip);
		jw_obj_close(&w);
	}
	jw_obj_open(&w, "ext");
	lab_ns_name(ns, sizeof(ns), lab->prefix, "ext");
	jw_str(&w, "namespace", ns);
	jw_str(&w, "interface", "eth0");
	jw_str(&w, "ipv4", LAB_EXT_IP4);
	if (lab->ipv6)
		jw_str(&w, "ipv6", LAB_EXT_IP6);
	jw_obj_close(&w);
	jw_obj_open(&w, "fabric");
	lab_ns_name(ns, sizeof(ns), lab->prefix, "fabric");
	jw_str(&w, "namespace", ns);
	jw_arr_open(&w, "bridges");
	jw_str(&w, NULL, "vmnet");
	jw_str(&w, NULL, "mgmt");
	jw_arr_close(&w);
	jw_obj_close(&w);
	jw_obj_close(&w);
	return w.err;
}

int lab_host_xml(const struct lab *lab, unsigned host, struct vbuf *out)
{
	char s[64];
	int r = 0;

	r |= vbuf_printf(out, "<?xml version='1.0'?>\n"
			 "<!-- vtap lab '%s', host h%u: libvirt test driver node, open it as\n"
			 "     test://%s/%s/h%u.xml (rewritten by `vtap lab`) -->\n<node>\n",
			 lab->prefix, host, LAB_RUN_DIR, lab->prefix, host);
	for (unsigned i = 0; i < lab->nvms; i++) {
		const struct lab_vm *vm = &lab->vms[i];
		if (vm->host != host)
			continue;
		r |= vbuf_printf(out, "  <domain type='test'>\n    <name>%s</name>\n", vm->name);
		r |= vbuf_printf(out, "    <uuid>%s</uuid>\n", uuid_fmt(vm->uuid, s, sizeof(s)));
		r |= vbuf_printf(out, "    <description>vtap lab %s</description>\n"
				 "    <memory unit='MiB'>512</memory>\n    <vcpu>1</vcpu>\n"
				 "    <os><type arch='x86_64'>hvm</type></os>\n    <devices>\n",
				 lab->prefix);
		r |= vbuf_printf(out, "      <interface type='bridge'>\n"
				 "        <mac address='%s'/>\n", mac_fmt(vm->mac, s, sizeof(s)));
		r |= vbuf_printf(out, "        <source bridge='br0'/>\n"
				 "        <target dev='%s'/>\n"
				 "        <model type='virtio'/>\n"
				 "      </interface>\n    </devices>\n  </domain>\n", vm->port);
	}
	r |= vbuf_printf(out, "</node>\n");
	return r < 0 ? -ENOSPC : 0;
}

static int write_state_json(const struct lab *lab, struct vbuf *out)
{
	struct jw w;
	char ns[64];

	jw_init(&w, out, true);
	jw_obj_open(&w, NULL);
	jw_str(&w, "prefix", lab->prefix);
	jw_uint(&w, "hosts", lab->nhosts);
	jw_uint(&w, "vms", lab->nvms);
	jw_arr_open(&w, "namespaces");
	static const char *const fixed[] = { "fabric", "ext", "mgmt", "analyzer" };
	for (size_t i = 0; i < ARRAY_SIZE(fixed); i++) {
		lab_ns_name(ns, sizeof(ns), lab->prefix, fixed[i]);
		jw_str(&w, NULL, ns);
	}
	for (unsigned h = 1; h <= lab->nhosts; h++) {
		char role[16];
		snprintf(role, sizeof(role), "h%u", h);
		lab_ns_name(ns, sizeof(ns), lab->prefix, role);
		jw_str(&w, NULL, ns);
	}
	for (unsigned i = 0; i < lab->nvms; i++) {
		lab_ns_name(ns, sizeof(ns), lab->prefix, lab->vms[i].name);
		jw_str(&w, NULL, ns);
	}
	jw_arr_close(&w);
	jw_arr_open(&w, "processes");
	for (unsigned i = 0; i < lab->nvms; i++) {
		const struct lab_vm *vm = &lab->vms[i];
		if (!vm->tapd_pid)
			continue;
		jw_obj_open(&w, NULL);
		jw_uint(&w, "pid", (uint64_t)vm->tapd_pid);
		jw_uint(&w, "start", vm->tapd_start);
		jw_str(&w, "role", "tapd");
		jw_str(&w, "vm", vm->name);
		jw_obj_close(&w);
	}
	jw_arr_close(&w);
	jw_obj_close(&w);
	return w.err;
}

static int write_atomic(const char *prefix, const char *file, const struct vbuf *b)
{
	char path[256], tmp[272];
	int fd, r = 0;

	if (lab_path(path, sizeof(path), prefix, file) < 0)
		return -ENAMETOOLONG;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < b->len;) {
		ssize_t n = write(fd, b->data + off, b->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	return r;
}

static int mkdirs(const char *prefix)
{
	char path[256];

	if (mkdir("/run/vtap", 0755) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(LAB_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	lab_path(path, sizeof(path), prefix, NULL);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int lab_save(const struct lab *lab)
{
	struct vbuf b;
	int r = mkdirs(lab->prefix);

	vbuf_init(&b, LAB_FILE_MAX);
	/* state first: it is what `lab down` needs most */
	if (!r)
		r = write_state_json(lab, &b);
	if (!r)
		r = vbuf_addc(&b, '\n');
	if (!r)
		r = write_atomic(lab->prefix, "state.json", &b);
	vbuf_reset(&b);
	if (!r)
		r = lab_inventory_json(lab, &b, true);
	if (!r)
		r = vbuf_addc(&b, '\n');
	if (!r)
		r = write_atomic(lab->prefix, "inventory.json", &b);
	for (unsigned h = 1; !r && h <= lab->nhosts; h++) {
		char file[32];
		vbuf_reset(&b);
		snprintf(file, sizeof(file), "h%u.xml", h);
		r = lab_host_xml(lab, h, &b);
		if (!r)
			r = write_atomic(lab->prefix, file, &b);
	}
	vbuf_free(&b);
	return r;
}

/* ---- reading ----------------------------------------------------------- */

static struct json_val *read_json(const char *prefix, const char *file, struct vt_err *err)
{
	char path[256];
	struct vbuf b;
	struct json_val *v = NULL;
	int fd;

	lab_path(path, sizeof(path), prefix, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		vt_err_set(err, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	vbuf_init(&b, LAB_FILE_MAX);
	for (;;) {
		ssize_t n;
		if (vbuf_reserve(&b, 4096) < 0) {
			vt_err_set(err, -EFBIG, "%s: larger than %u bytes", path, LAB_FILE_MAX);
			goto out;
		}
		n = read(fd, b.data + b.len, b.cap - b.len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vt_err_set(err, -errno, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
	}
	v = json_parse((const char *)b.data, b.len, 100000, err);
	if (!v) {
		char msg[VT_ERR_MSG_MAX];
		snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
		vt_err_set(err, -EINVAL, "%s: %s", path, msg);
	}
out:
	close(fd);
	vbuf_free(&b);
	return v;
}

static int bad(struct vt_err *err, const char *prefix, const char *what)
{
	return vt_err_set(err, -EINVAL, "%s/%s/inventory.json: %s", LAB_RUN_DIR, prefix, what);
}

int lab_load(struct lab *lab, const char *prefix, struct vt_err *err)
{
	struct json_val *inv, *st;
	const struct json_val *vms, *hosts, *procs;
	int64_t v;
	int r = 0;

	if (!lab_prefix_ok(prefix))
		return vt_err_set(err, -EINVAL, "option --prefix: '%s' is not a lab prefix", prefix);
	inv = read_json(prefix, "inventory.json", err);
	if (!inv)
		return err ? err->code : -ENOENT;
	memset(lab, 0, sizeof(*lab));
	snprintf(lab->prefix, sizeof(lab->prefix), "%s", prefix);
	hosts = json_get(inv, "hosts");
	vms = json_get(inv, "vms");
	if (!hosts || hosts->type != JSON_ARR || !vms || vms->type != JSON_ARR) {
		r = bad(err, prefix, "no hosts or vms array");
		goto out;
	}
	lab->nhosts = (unsigned)json_len(hosts);
	lab->nvms = (unsigned)json_len(vms);
	if (lab->nhosts < 1 || lab->nhosts > LAB_MAX_HOSTS || lab->nvms > LAB_MAX_VMS) {
		r = bad(err, prefix, "host or VM count out of range");
		goto out;
	}
	lab->monitor_mtu = json_get_int(inv, "monitor_mtu", &v) && v > 0 && v < 65536 ?
		(uint32_t)v : 1500;
	lab->vms_per_host = json_get_int(inv, "vms_per_host", &v) && v > 0 ? (unsigned)v : 1;
	lab->created_ms = json_get_int(inv, "created_ms", &v) && v > 0 ? (uint64_t)v : 0;
	{
		const struct json_val *b6 = json_get(inv, "ipv6");
		lab->ipv6 = b6 && b6->type == JSON_BOOL && b6->u.b;
	}
	for (unsigned i = 0; i < lab->nvms; i++) {
		const struct json_val *o = json_at(vms, i);
		struct lab_vm *vm = &lab->vms[i];
		const char *name = json_get_str(o, "name"), *uuid = json_get_str(o, "uuid"),
			   *mac = json_get_str(o, "mac"), *ip4 = json_get_str(o, "ipv4"),
			   *ip6 = json_get_str(o, "ipv6"), *host = json_get_str(o, "host"),
			   *pt = json_get_str(o, "port_type");
		unsigned k, h;

		if (!name || !numbered(name, "vm", &k) || k > LAB_MAX_VMS || !uuid ||
		    uuid_parse(uuid, vm->uuid) < 0 || !mac || mac_parse(mac, vm->mac) < 0 ||
		    !ip4 || addr_parse(ip4, &vm->ip4) < 0 ||
		    (ip6 && addr_parse(ip6, &vm->ip6) < 0) ||
		    !host || !numbered(host, "h", &h) || h > lab->nhosts || !pt ||
		    (strcmp(pt, "tap") != 0 && strcmp(pt, "veth") != 0)) {
			char what[96];
			snprintf(what, sizeof(what), "VM entry %u is incomplete or invalid", i + 1);
			r = bad(err, prefix, what);
			goto out;
		}
		vm->id = k;
		vm->host = h;
		snprintf(vm->name, sizeof(vm->name), "vm%u", k);
		vm->port_type = strcmp(pt, "tap") == 0 ? LAB_PORT_TAP : LAB_PORT_VETH;
		set_port_name(vm);
	}
	/* state.json: processes (optional: a lost state file is not fatal) */
	st = read_json(prefix, "state.json", NULL);
	procs = st ? json_get(st, "processes") : NULL;
	for (size_t i = 0; procs && i < json_len(procs); i++) {
		const struct json_val *p = json_at(procs, i);
		const char *vmname = json_get_str(p, "vm");
		int64_t pid, start;
		struct lab_vm *vm = vmname ? lab_vm_find(lab, vmname) : NULL;
		if (vm && json_get_int(p, "pid", &pid) && pid > 0 && pid < INT32_MAX &&
		    json_get_int(p, "start", &start) && start >= 0) {
			vm->tapd_pid = (pid_t)pid;
			vm->tapd_start = (uint64_t)start;
		}
	}
	json_free(st);
out:
	json_free(inv);
	return r;
}

int lab_remove_files(const char *prefix)
{
	char dir[256], path[512];
	DIR *d;
	struct dirent *de;

	if (!lab_prefix_ok(prefix))
		return -EINVAL;
	lab_path(dir, sizeof(dir), prefix, NULL);
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	/* called with the lab's lock held: unlinking the lock file is safe,
	 * lab_lock() re-checks the inode after acquiring it */
	if (snprintf(path, sizeof(path), "%s/.locks/%s", LAB_RUN_DIR, prefix) < (int)sizeof(path))
		unlink(path);
	return rmdir(dir) < 0 && errno != ENOENT ? -errno : 0;
}

int lab_lock(const char *prefix, unsigned wait_ms, bool create)
{
	char path[256];
	uint64_t until = mono_ms() + wait_ms;
	int fd, r;

	if (create) {
		if ((r = mkdirs(prefix)) < 0)
			return r;
	} else {
		lab_path(path, sizeof(path), prefix, NULL);
		if (access(path, F_OK) < 0)
			return -errno;   /* -ENOENT: no such lab */
	}
	/* The lock file lives outside the lab's directory, which a failed
	 * `lab up` or a `lab down` removes while holding the lock: a lock on
	 * an unlinked file would no longer exclude the next command. */
	if (mkdir(LAB_RUN_DIR "/.locks", 0755) < 0 && errno != EEXIST)
		return -errno;
	if (snprintf(path, sizeof(path), "%s/.locks/%s", LAB_RUN_DIR, prefix) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	for (;;) {
		struct stat held, now;

		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
		while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno != EWOULDBLOCK || mono_ms() >= until) {
				r = errno == EWOULDBLOCK ? -EBUSY : -errno;
				close(fd);
				return r;
			}
			usleep(20000);
		}
		/* the holder before us may have removed the lab and unlinked
		 * the lock file (lab_remove_files): a lock on that inode
		 * excludes nobody, so start over on the file now at <path> */
		if (fstat(fd, &held) == 0 && stat(path, &now) == 0 &&
		    held.st_ino == now.st_ino && held.st_dev == now.st_dev)
			return fd;
		close(fd);
	}
}

/* ---- processes --------------------------------------------------------- */

uint64_t lab_proc_start(pid_t pid)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* the command name may hold spaces and ')': fields restart after the
	 * last ')'; starttime is field 22, the 20th after it */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return 0;
	}
	return strtoull(p + 1, NULL, 10);
}

/* tapd_cmdline() : whether <pid> runs `vtap lab tapd` for lab <prefix>
 * and, when <vm> is not NULL, for that VM. */
static bool tapd_cmdline(pid_t pid, const char *prefix, const char *vm)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;
	bool lab = false, tapd = false, ours = false, its = vm == NULL;

	if (pid <= 1)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	/* argv: EXE lab tapd --prefix P ... (NUL-separated) */
	for (const char *a = buf, *prev = ""; a < buf + n; prev = a, a += strlen(a) + 1) {
		if (strcmp(a, "lab") == 0)
			lab = true;
		else if (lab && strcmp(prev, "lab") == 0 && strcmp(a, "tapd") == 0)
			tapd = true;
		else if (strcmp(prev, "--prefix") == 0 && strcmp(a, prefix) == 0)
			ours = true;
		else if (vm && strcmp(prev, "--vm") == 0 && strcmp(a, vm) == 0)
			its = true;
	}
	return lab && tapd && ours && its;
}

bool lab_proc_is_tapd(pid_t pid, const char *prefix, uint64_t start)
{
	if (!tapd_cmdline(pid, prefix, NULL))
		return false;
	return start == 0 || lab_proc_start(pid) == start;
}

bool lab_proc_is_tapd_of(pid_t pid, const char *prefix, const char *vm)
{
	return tapd_cmdline(pid, prefix, vm);
}
