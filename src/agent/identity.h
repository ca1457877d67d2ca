/* identity.h — which VM a port belongs to.
 *
 * A port's VM is looked up, in order, in:
 *  1. libvirt (configurable URI: qemu:///system on a KVM host, the test
 *     driver test:///path/node.xml in the lab): every domain's interfaces,
 *     target dev (the host port name) and guest MAC -> domain UUID and name;
 *  2. the inventory file (the lab's inventory.json format: {"vms": [{"name",
 *     "uuid", "mac", "port", ...}]});
 *  3. the interface alias of the port (IFLA_IFALIAS), "vm=NAME uuid=UUID"
 *     (docs/agent.md).
 * In sources 1 and 2 a VM matches a port by port name, or by MAC: the MAC
 * the VM sends from (learned from its frames) or, for TAP ports, the
 * host-side MAC libvirt derives from it (first octet 0xfe). A port nothing
 * matches is still metered, as "unknown" with its name and MAC.
 *
 * Loading a source can block (libvirt talks to libvirtd; files are read),
 * so it runs on the identity thread: the control thread asks for a
 * refresh, the thread loads fresh snapshots and hands them over through
 * the event loop; resolving a port against the current snapshots is a
 * pure, non-blocking function (id_resolve). */
#ifndef VT_AGENT_IDENTITY_H
#define VT_AGENT_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/evloop.h"
#include "core/json.h"
#include "flow/flowrec.h"

enum id_source {
	ID_SRC_NONE = 0,      /* unknown VM */
	ID_SRC_LIBVIRT,
	ID_SRC_INVENTORY,
	ID_SRC_ALIAS,
	ID_SRC__COUNT
};
/* "unknown", "libvirt", "inventory", "alias" */
const char *id_source_name(enum id_source s);

/* One VM interface as a source describes it. */
struct id_entry {
	char name[VT_NAME_MAX];      /* VM name, "" unknown */
	uint8_t uuid[16];            /* nil unknown */
	char port[VT_IFNAME_MAX];    /* host port (libvirt target dev), "" unknown */
	uint8_t mac[6];              /* the guest's MAC */
	bool has_mac;
	char host[VT_NAME_MAX];      /* inventory: the host it runs on, "" unknown */
};

/* A snapshot of one source, at most <max> entries. */
struct id_set {
	struct id_entry *v;          /* owned */
	size_t n, cap, max;
};

#define ID_SET_MAX_DEFAULT 65536
#define ID_FILE_MAX (16u << 20)  /* inventory files larger than this are refused */

void id_set_init(struct id_set *s, size_t max);
void id_set_free(struct id_set *s);
/* id_set_add() : appends a copy of <e>; -ENOSPC past max, -ENOMEM. */
int id_set_add(struct id_set *s, const struct id_entry *e);

/* ---- parsers (pure; fuzzed by tests/fuzz/fuzz_identity.c) ------------- */

/* id_parse_inventory() : appends the VMs of an inventory document to
 * <out>. A malformed document or entry fails the whole parse with a
 * message naming it ("vms[3].uuid: 'x' is not a UUID"); <out> may then hold
 * a part and must be discarded. */
int id_parse_inventory(const char *text, size_t len, struct id_set *out, struct vt_err *err);
/* id_parse_domain_xml() : appends one entry per <interface> of a libvirt
 * domain XML document (name, uuid, mac address, target dev). */
int id_parse_domain_xml(const char *xml, size_t len, struct id_set *out, struct vt_err *err);
/* id_parse_alias() : an interface alias "vm=NAME uuid=UUID" (keys in any
 * order, either may be missing, other key=value words ignored; a value may
 * be double-quoted to hold spaces). 0 with <out> filled, -ENOENT when the
 * alias names no VM (no vm=/uuid= key: not ours), -EINVAL with <err> set
 * when it does but is malformed. */
int id_parse_alias(const char *alias, struct id_entry *out, struct vt_err *err);

/* ---- resolution ------------------------------------------------------- */

/* What is known about a port. */
struct id_port {
	const char *ifname;
	const uint8_t *link_mac;         /* host-side device MAC, or NULL */
	const uint8_t (*vm_macs)[6];     /* MACs learned from the VM's frames */
	size_t nvm_macs;
	const char *alias;               /* IFLA_IFALIAS, or NULL */
};

struct id_sources {
	const struct id_set *libvirt;    /* NULL: source not configured or not loaded */
	const struct id_set *inventory;  /* NULL: idem */
	bool alias;                      /* consult interface aliases */
};

/* id_resolve() : the VM of port <p>: fills <out> (name, uuid, and the mac
 * when the source gave one) and returns the source that matched, or
 * ID_SRC_NONE (then <out> is zeroed). */
enum id_source id_resolve(const struct id_sources *src, const struct id_port *p,
			  struct id_entry *out);

/* ---- loading (blocking) ------------------------------------------------- */

/* id_load_inventory() : reads and parses the inventory file at <path>. */
int id_load_inventory(const char *path, struct id_set *out, struct vt_err *err);
/* id_load_libvirt() : every domain of the libvirt connection <uri>
 * (opened read-only for the call). -ENOTSUP when built without libvirt. */
int id_load_libvirt(const char *uri, struct id_set *out, struct vt_err *err);
/* id_libvirt_file() : for a test-driver URI "test:///path/node.xml", the
 * file it reads (so changes can be noticed), else NULL. Points into <uri>. */
const char *id_libvirt_file(const char *uri);

/* ---- the identity thread -------------------------------------------- */

struct identity_cfg {
	const char *libvirt_uri;         /* NULL / "": off */
	const char *inventory;           /* NULL / "": off */
	bool alias;
	uint64_t refresh_ms;             /* periodic full reload (0: only on demand) */
	uint64_t watch_ms;               /* file change polling (0: off) */
	uint64_t debounce_ms;            /* port-change refreshes wait this long */
	size_t max_entries;              /* per source */
};

/* Called on the loop thread when new snapshots were installed. */
typedef void (*identity_cb)(void *arg);

struct identity;

/* identity_new() : starts the identity thread and loads every source once
 * (asynchronously; <cb> runs when done). <cfg> strings are copied. NULL
 * with <err> set. */
struct identity *identity_new(struct evloop *ev, const struct identity_cfg *cfg, identity_cb cb,
			      void *arg, struct vt_err *err);
/* identity_free() : stops the thread (waiting for a load in progress) and
 * frees everything. Accepts NULL. */
void identity_free(struct identity *id);
/* identity_refresh() : asks for a reload of every source: at once when
 * <now>, else after debounce_ms (port changes come in bursts). */
void identity_refresh(struct identity *id, bool now);
/* identity_sources() : the snapshots in use (valid until the next <cb>). */
const struct id_sources *identity_sources(const struct identity *id);
/* identity_loads() : completed loads so far (tests wait on it). */
uint64_t identity_loads(const struct identity *id);
/* identity_status_json() : {"libvirt": {...}, "inventory": {...}, ...}
 * with per-source state: configured, entries, loads, errors, last error. */
void identity_status_json(const struct identity *id, struct jw *w);

#endif
