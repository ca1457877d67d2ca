/* tap_nl.h — the few rtnetlink requests the tap engine makes in the
 * current network namespace: find or create its collect_md VXLAN device,
 * delete it, describe a link, look up the route (and so the MTU and the
 * state of the egress link) towards a mirror destination, and watch link
 * events so ports that appear later are armed at once.
 *
 * Synchronous request/response on a private socket; every reply length
 * and attribute length is checked before use. (lib/nl, the project's
 * rtnetlink library, will take these over.) */
#ifndef VT_TAP_NL_H
#define VT_TAP_NL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "flow/addr.h"

struct tapnl_link {
	uint32_t ifindex;
	char name[16];
	unsigned flags;          /* IFF_* */
	uint32_t mtu;
	bool oper_up;            /* IFLA_OPERSTATE up or unknown, with IFF_UP */
	char kind[16];           /* IFLA_INFO_KIND, "" for none */
	bool vxlan_external;     /* kind vxlan with IFLA_VXLAN_COLLECT_METADATA */
	uint16_t vxlan_port;     /* IFLA_VXLAN_PORT, host order */
	uint64_t rx_packets, tx_packets;   /* IFLA_STATS64 */
};

/* tapnl_link_get() : by ifindex (name NULL) or by name (ifindex 0).
 * -ENODEV when there is no such link. */
int tapnl_link_get(uint32_t ifindex, const char *name, struct tapnl_link *l);

/* tapnl_vxlan_ensure() : the collect_md ("external") VXLAN device <name>
 * with UDP port <port>, created when missing (no learning, no IPv6
 * address generation, so it never sends anything of its own) and set up.
 * *created says whether this call made it. A link of that name that is
 * something else is an error with a message. */
int tapnl_vxlan_ensure(const char *name, uint16_t port, uint32_t *ifindex, bool *created,
		       struct vt_err *err);
int tapnl_link_del(uint32_t ifindex);

/* The route towards a destination: egress link, its MTU (or the route's
 * MTU metric when smaller), and whether that link is up. -ENETUNREACH
 * when there is no route. */
struct tapnl_route {
	uint32_t oif;
	uint32_t mtu;
	bool up;
};
int tapnl_route_get(const struct vt_addr *dst, struct tapnl_route *r);

/* Link events. tapnl_monitor_open() returns a non-blocking socket (owned
 * by the caller) that receives RTM_NEWLINK / RTM_DELLINK;
 * tapnl_monitor_read() drains it and calls <cb> per event. A receive
 * buffer overrun is reported as one call with ifindex 0 (the caller
 * should rescan). */
typedef void (*tapnl_link_cb)(void *arg, bool added, const struct tapnl_link *l);
int tapnl_monitor_open(void);
int tapnl_monitor_read(int fd, tapnl_link_cb cb, void *arg);

#endif
