/* tap_nl.h — the two rtnetlink compositions the tap engine needs, on
 * lib/nl: its collect_md VXLAN device (found or created, never sending
 * anything of its own), and the path towards a mirror destination (egress
 * link, path MTU, whether that link is up). Everything else (link lookups,
 * deletion, link events) is lib/nl's own API, called directly. */
#ifndef VT_TAP_NL_H
#define VT_TAP_NL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "flow/addr.h"
#include "nl/nlsock.h"

/* tapnl_vxlan_ensure() : the collect_md ("external") VXLAN device <name>
 * with UDP port <port>, created when missing (no learning, no IPv6 address
 * generation) and set up. *created says whether this call made it. A link
 * of that name that is something else is an error with a message. */
int tapnl_vxlan_ensure(struct nl_sock *sk, const char *name, uint16_t port, uint32_t *ifindex,
		       bool *created, struct vt_err *err);

/* The route towards a destination: egress link, its MTU (or the route's
 * MTU metric when smaller), and whether that link is up. -ENETUNREACH
 * when there is no route. */
struct tapnl_route {
	uint32_t oif;
	uint32_t mtu;
	bool up;
};
int tapnl_route_get(struct nl_sock *sk, const struct vt_addr *dst, struct tapnl_route *r);

#endif
