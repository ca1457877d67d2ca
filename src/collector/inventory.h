/* inventory.h — the VMs and hosts the collector's attribution knows.
 *
 * Sources: inventory documents (the lab's inventory.json format, files
 * named in [inventory] file) and libvirt connections ([inventory]
 * libvirt, inv_libvirt.c). A document is validated whole before anything
 * of it is added, so a bad file never half-replaces a good inventory. An
 * inventory is built by one thread, then handed to enrich_snap_new()
 * (enrich.h), which freezes it for the ingest threads. */
#ifndef VT_COLLECTOR_INVENTORY_H
#define VT_COLLECTOR_INVENTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "flow/flowrec.h"

#define INV_MAX_ADDRS 16       /* MACs / IP addresses per VM */
#define INV_MAX_ATTRS 32       /* attributes per VM */
#define INV_ATTR_MAX 128       /* bytes of an attribute key or value (incl. NUL) */
#define INV_FILE_MAX (64u << 20)

/* ---- inventory --------------------------------------------------------- */

struct inv_attr {
	char key[INV_ATTR_MAX];
	char val[INV_ATTR_MAX];
};

/* One VM as an inventory describes it. */
struct inv_vm {
	char name[VT_NAME_MAX];
	uint8_t uuid[16];           /* nil: unknown */
	char host[VT_NAME_MAX];     /* the host it runs on; "" unknown */
	uint8_t mac[INV_MAX_ADDRS][6];
	uint8_t nmac;
	struct vt_addr ip[INV_MAX_ADDRS];
	uint8_t nip;
	struct inv_attr *attr;      /* owned by the inventory */
	uint8_t nattr;
	uint16_t vm_zone;           /* computed: first zone matched by name/attr; 0 none */
};

struct inv_host {
	char name[VT_NAME_MAX];
	struct vt_addr mgmt[INV_MAX_ADDRS];   /* addresses its agent exports from */
	uint8_t nmgmt;
};

struct inv_stats {
	uint64_t vms, hosts;
	uint64_t dup_mac, dup_ip, dup_uuid, dup_name;   /* first definition kept */
	uint64_t truncated;         /* VMs or addresses beyond a bound, skipped */
	uint64_t sources, source_errors;
};

struct inventory;

/* inv_new() : an empty inventory of at most <max_vms> VMs. NULL with errno. */
struct inventory *inv_new(size_t max_vms);
void inv_free(struct inventory *inv);
/* inv_add_vm() : adds a copy of <vm> (attributes copied); -ENOSPC past the
 * bound (counted). A VM whose UUID or name is already present is merged
 * into the first: its MACs and IPs are added (a VM listed by two sources). */
int inv_add_vm(struct inventory *inv, const struct inv_vm *vm);
int inv_add_host(struct inventory *inv, const struct inv_host *h);
/* inv_parse_json() : adds the hosts and VMs of an inventory document:
 *	{"hosts": [{"name", "mgmt_ip"|"mgmt_ips": [...]}],
 *	 "vms": [{"name", "uuid", "mac"|"macs", "ipv4", "ipv6", "ips": [...],
 *		  "host", "attributes": {...}, other scalar fields}]}
 * (the lab's inventory.json is this format). Scalar fields of a VM other
 * than the addresses become attributes for zones (host, port_type, ...).
 * <source> names the document in messages. An entry with a malformed
 * value fails the whole document ("inventory x.json: vms[3].mac: 'zz' is
 * not a MAC address") and adds nothing. */
int inv_parse_json(struct inventory *inv, const char *text, size_t len, const char *source,
		   struct vt_err *err);
/* inv_load_file() : reads <path> (at most INV_FILE_MAX) and parses it. */
int inv_load_file(struct inventory *inv, const char *path, struct vt_err *err);
/* inv_domain_macs() : the guest MACs of a libvirt domain XML description
 * (<mac address='...'/> inside each <interface>), at most <max>. Returns
 * how many were found; malformed or foreign markup is skipped, never read
 * past <len>. */
size_t inv_domain_macs(const char *xml, size_t len, uint8_t (*macs)[6], size_t max);
/* inv_load_libvirt() : adds every domain of a libvirt connection: name,
 * UUID, guest MACs, on host HOST. <spec> is "HOST=URI" or "URI" (the host
 * is then the connection's hostname). inv_libvirt.c; -ENOTSUP in a build
 * without libvirt. */
int inv_load_libvirt(struct inventory *inv, const char *spec, struct vt_err *err);
void inv_get_stats(const struct inventory *inv, struct inv_stats *st);
size_t inv_count(const struct inventory *inv);
const struct inv_vm *inv_vm_at(const struct inventory *inv, size_t i);
size_t inv_host_count(const struct inventory *inv);
const struct inv_host *inv_host_at(const struct inventory *inv, size_t i);
/* For enrich_snap_new(): each VM's zone, and keys several VMs claimed
 * (the first definition is kept; these count the others). */
void inv_set_vm_zone(struct inventory *inv, size_t i, uint16_t zone);
void inv_note_dups(struct inventory *inv, uint64_t mac, uint64_t ip, uint64_t uuid, uint64_t name);

#endif
