/* enrich.h — who a flow belongs to: VM attribution, zones and locality.
 *
 * The collector's ingest workers call enrich_flow() for every decoded
 * record: it fills struct flow_attr (source and destination VM, their
 * zones, and whether the flow is same-host VM-to-VM, cross-host VM-to-VM
 * or involves the outside) from
 *  1. the virtual-station elements the agent exports (IEs 347-350: the VM
 *     whose port observed the flow, and a second occurrence for the local
 *     peer), placed on the source or destination side by flowDirection;
 *  2. otherwise an inventory (the lab's inventory.json format, files or
 *     libvirt), matched by MAC first, then by IP address.
 * The VM's UUID is its identity: a VM that migrates keeps its UUID, so it
 * keeps its statistics and its zone.
 *
 * Zones ([zone NAME] sections) group endpoints by VM name pattern, by
 * inventory attribute (key=glob, e.g. host=h1) or by CIDR; the first zone
 * in file order that matches wins, endpoints that match none are
 * "outside" (zone 0).
 *
 * Threading: an enrich_snap (inventory + zones, built once, never changed)
 * is read by any number of threads without locks. struct enrich holds the
 * current snapshot; a reload builds a new one and swaps it; readers hold a
 * reference (enrich_get/enrich_put) so the old one is freed when the last
 * reader lets go.
 *
 * The count-once rule for flows that two observation points export
 * (enrich_is_primary) lives here too, as a pure function: the collector's
 * writer thread supplies what it knows about which VMs are metered. */
#ifndef VT_COLLECTOR_ENRICH_H
#define VT_COLLECTOR_ENRICH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collector/inventory.h"
#include "core/conf.h"
#include "core/err.h"
#include "flow/flowrec.h"

#define ZONE_MAX 1000          /* zones: indexes 1..ZONE_MAX fit the store's u16 */
#define ZONE_NAME_MAX VT_NAME_MAX

/* ---- zones ------------------------------------------------------------- */

/* One [zone NAME] section as the config file gives it (conf tables fill
 * it; the strings are owned by the config). */
struct zone_conf {
	char name[ZONE_NAME_MAX];
	struct conf_strlist vm;     /* VM name globs */
	struct conf_strlist attr;   /* KEY=GLOB over the VM's inventory attributes */
	struct conf_strlist net;    /* CIDR prefixes (any endpoint) */
};

struct zones;

/* zones_new() : compiles <n> zone definitions (in file order). Errors name
 * the zone and the bad value. NULL with <err> set. */
struct zones *zones_new(const struct zone_conf *zc, size_t n, struct vt_err *err);
void zones_free(struct zones *z);
size_t zones_count(const struct zones *z);
/* zones_name() : the name of zone index <idx> (1-based); "outside" for 0;
 * NULL beyond the count. */
const char *zones_name(const struct zones *z, uint16_t idx);
/* zones_names() : the array of names, index i = zone i + 1 (for the store). */
const char *const *zones_names(const struct zones *z);

/* ---- snapshots --------------------------------------------------------- */

struct enrich_snap;

/* enrich_snap_new() : freezes <inv> (owned afterwards, also on error) with
 * <zones> (not owned; must outlive the snapshot): builds the lookup tables
 * and each VM's zone. NULL with errno. */
struct enrich_snap *enrich_snap_new(struct inventory *inv, const struct zones *zones);
void enrich_snap_free(struct enrich_snap *s);

const struct inventory *enrich_snap_inventory(const struct enrich_snap *s);
const struct inv_vm *enrich_by_mac(const struct enrich_snap *s, const uint8_t mac[6]);
const struct inv_vm *enrich_by_ip(const struct enrich_snap *s, const struct vt_addr *a);
const struct inv_vm *enrich_by_uuid(const struct enrich_snap *s, const uint8_t uuid[16]);
const struct inv_vm *enrich_by_name(const struct enrich_snap *s, const char *name);
/* enrich_host_by_addr() : the host whose management address is <a>. */
const struct inv_host *enrich_host_by_addr(const struct enrich_snap *s, const struct vt_addr *a);

/* How each side of a flow was attributed (for counters and tests). */
enum attr_src {
	ATTR_NONE = 0,       /* not a VM */
	ATTR_ELEMENT,        /* virtual-station elements of the record */
	ATTR_MAC,            /* inventory, by MAC */
	ATTR_IP,             /* inventory, by IP address */
};

struct enrich_info {
	uint8_t src_by, dst_by;     /* enum attr_src */
};

/* enrich_flow() : fills <a> for record <r> (see the file comment). <s> may
 * be NULL (no inventory, no zones): only the record's own elements count.
 * <info> may be NULL. Pure: safe from any thread. */
void enrich_flow(const struct enrich_snap *s, const struct flow_rec *r, struct flow_attr *a,
		 struct enrich_info *info);

/* vm_known() : the identity names a VM (UUID or name). Inline: it runs
 * several times per record on the ingest and writer paths. */
static inline bool vm_known(const struct vm_ident *v)
{
	uint64_t a, b;

	if (v->name[0])
		return true;
	memcpy(&a, v->uuid, 8);
	memcpy(&b, v->uuid + 8, 8);
	return (a | b) != 0;
}

/* attr_vm_known() : vm_known(<v>) for an identity of a row whose nil hint
 * (flow_attr.nil_vms) holds <bit> for it: a set bit answers without
 * reading the identity, 100 bytes of the row; 0 (not known) reads it. */
static inline bool attr_vm_known(const struct flow_attr *a, uint8_t bit,
				 const struct vm_ident *v)
{
	return !(a->nil_vms & bit) && vm_known(v);
}

/* ---- count once --------------------------------------------------------
 *
 * Two observation points can export the same flow: the agents of both
 * hosts of a cross-host VM-to-VM flow (the sender's at the sender's port,
 * ingress; the receiver's at the receiver's port, egress), and a third
 * exporter (a router, softflowd on a SPAN port) next to the agents. The
 * rule: a flow counts where it is observed closest to its sender.
 *  - a record observed at the source VM's port (the observing VM is the
 *    source): primary;
 *  - a record observed at the destination VM's port: primary unless the
 *    source is a VM that an agent meters (then the sender's record counts);
 *  - a record without VM elements (not from an agent): primary unless
 *    either end is a VM an agent meters.
 * A VM is "metered" when an agent has exported a record observed at its
 * port recently (the writer keeps that table; see docs/collector.md). */
enum obs_side { OBS_NONE = 0, OBS_SRC, OBS_DST };

/* enrich_obs_side() : which end of <r> observed it (the observing VM is
 * the source or the destination), from <a> as enrich_flow() filled it. */
enum obs_side enrich_obs_side(const struct flow_rec *r, const struct flow_attr *a);
bool enrich_is_primary(const struct flow_rec *r, const struct flow_attr *a, bool src_metered,
		       bool dst_metered);

/* ---- the current snapshot, shared -------------------------------------- */

struct enrich {
	pthread_mutex_t mu;
	struct enrich_snap *cur;    /* owned; refcounted */
	uint64_t generation;        /* bumped at each swap */
};

void enrich_init(struct enrich *e);
/* enrich_destroy() : drops the current snapshot; readers must be gone. */
void enrich_destroy(struct enrich *e);
/* enrich_swap() : installs <s> (owned) as the current snapshot. */
void enrich_swap(struct enrich *e, struct enrich_snap *s);
/* enrich_get() : a reference to the current snapshot (NULL when none);
 * release it with enrich_put(). */
struct enrich_snap *enrich_get(struct enrich *e);
void enrich_put(struct enrich *e, struct enrich_snap *s);
uint64_t enrich_generation(struct enrich *e);

#endif
