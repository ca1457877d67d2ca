/* ports.h — which links of this host are VM ports, followed live.
 *
 * The agent feeds every rtnetlink link message of its namespace into
 * ports_update() — a dump at start (and after lost events), then the
 * RTNLGRP_LINK events — and this module keeps the set of VM ports:
 *  - every link enslaved to a configured bridge whose kind is allowed
 *    (veth and TAP by default; the uplink is excluded by name), and
 *  - every explicitly listed interface, whatever it is.
 * It calls back when a port appears, changes (rename, MAC, alias,
 * re-enslavement to another configured bridge, up/down) or goes away
 * (deleted, moved to another namespace, released from the bridge,
 * renamed out of the list, the bridge itself deleted), so the agent can
 * start or stop capturing and re-resolve identities.
 *
 * Each port gets a small "slot" number, the port id of the flow key and
 * of the count-once MAC table; slots are reused oldest-freed first, so a
 * slot number does not come back while flows naming it may still be in
 * the tables. Bounded by max_ports (refusals counted). Runs on the
 * control thread; pure logic over link messages (unit-tested without a
 * kernel). */
#ifndef VT_AGENT_PORTS_H
#define VT_AGENT_PORTS_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nl/link.h"

enum port_kind {
	PORT_KIND_VETH = 1u << 0,
	PORT_KIND_TAP = 1u << 1,
	PORT_KIND_OTHER = 1u << 2,
};
/* "veth", "tap", "other" */
const char *port_kind_name(enum port_kind k);
/* port_kind_of() : the kind of a link as rtnetlink describes it. */
enum port_kind port_kind_of(const struct nl_link_info *li);

/* What changed in a port (PORTS_CHANGED). */
enum {
	PORT_CH_NAME = 1u << 0,
	PORT_CH_MAC = 1u << 1,
	PORT_CH_ALIAS = 1u << 2,
	PORT_CH_BRIDGE = 1u << 3,
	PORT_CH_STATE = 1u << 4,   /* IFF_UP */
};

struct port {
	uint32_t slot;             /* flow-key port id, < max_ports */
	uint32_t ifindex;
	char name[IFNAMSIZ];
	enum port_kind kind;
	bool explicit_if;          /* listed in `interface`, not found on a bridge */
	uint32_t master;           /* bridge ifindex, 0 none */
	char bridge[IFNAMSIZ];     /* "" none */
	uint8_t mac[6];            /* the host-side link MAC */
	bool has_mac;
	char alias[256];
	bool up;
	void *priv;                /* the caller's (set in the ADDED callback) */
};

enum ports_ev { PORTS_ADDED, PORTS_CHANGED, PORTS_REMOVED };

/* <p> is valid during the call; after PORTS_REMOVED it is freed, so the
 * caller must have released p->priv by then. */
typedef void (*ports_fn)(void *arg, enum ports_ev ev, struct port *p, unsigned changes);

#define PORTS_MAX_LIST 64

struct ports_cfg {
	const char *const *bridges;       /* bridge names */
	size_t nbridges;
	const char *const *interfaces;    /* explicit interfaces */
	size_t ninterfaces;
	const char *const *exclude;       /* fnmatch() globs on port names */
	size_t nexclude;
	unsigned kinds;                   /* enum port_kind mask for bridge ports */
	uint32_t max_ports;               /* <= 65534 */
};

struct ports;

/* ports_new() : an empty table; <cfg> strings are copied. NULL with errno. */
struct ports *ports_new(const struct ports_cfg *cfg, ports_fn fn, void *arg);
/* ports_free() : frees the table without callbacks. Accepts NULL. */
void ports_free(struct ports *ps);

/* ports_update() : one link message (dump entry or event). Returns 0, or
 * -ENOSPC when a new port was refused (max_ports; counted). Messages of
 * the AF_BRIDGE family are the bridge's view of its ports and are ignored
 * (the link's own messages say the same and more). */
int ports_update(struct ports *ps, bool deleted, const struct nl_link_info *li);
/* A resynchronisation (after lost events): begin, feed a full dump with
 * ports_update(), end: links the dump did not mention are gone. */
void ports_sync_begin(struct ports *ps);
void ports_sync_end(struct ports *ps);

size_t ports_count(const struct ports *ps);
struct port *ports_at(const struct ports *ps, size_t i);
struct port *ports_by_ifindex(const struct ports *ps, uint32_t ifindex);
struct port *ports_by_slot(const struct ports *ps, uint32_t slot);
/* ports_links() : links known in the namespace (ports or not). */
size_t ports_links(const struct ports *ps);
/* ports_refused() : ports not tapped because max_ports was reached. */
uint64_t ports_refused(const struct ports *ps);
/* ports_bridge_known() : whether configured bridge <name> exists. */
bool ports_bridge_known(const struct ports *ps, const char *name);

#endif
