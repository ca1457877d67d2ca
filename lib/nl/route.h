/* route.h — IP addresses, routes and neighbours over rtnetlink.
 *
 * Addresses are struct vt_addr (IPv4 held IPv4-mapped, lib/flow/addr.h);
 * prefix lengths are in the address's own family (0..32 for IPv4,
 * 0..128 for IPv6). Like link.h, the *_build() functions only encode and
 * are unit-tested; the others send through a socket, so they act on the
 * socket's namespace. */
#ifndef VT_NL_ROUTE_H
#define VT_NL_ROUTE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "flow/addr.h"
#include "nl/nlsock.h"

/* ---- addresses --------------------------------------------------------- */

enum {
	NL_ADDR_NODAD = 1u << 0,          /* IPv6: usable at once, no DAD */
	NL_ADDR_NOPREFIXROUTE = 1u << 1,  /* no connected route for the prefix */
};

int nl_addr_build(struct nlb *b, uint32_t ifindex, const struct vt_addr *a,
		  unsigned plen, unsigned flags);
int nl_addr_add(struct nl_sock *sk, uint32_t ifindex, const struct vt_addr *a,
		unsigned plen, unsigned flags);
int nl_addr_del(struct nl_sock *sk, uint32_t ifindex, const struct vt_addr *a,
		unsigned plen);
/* nl_addr_add_str() : adds "198.18.1.5/16" or "2001:db8::5/64" to the
 * link <ifname>; a bare address gets the full length. -EINVAL for a bad
 * string, -ENODEV for an unknown link. */
int nl_addr_add_str(struct nl_sock *sk, const char *ifname, const char *cidr,
		    unsigned flags);

struct nl_addr_info {
	uint32_t ifindex;
	uint8_t family;          /* AF_INET / AF_INET6 */
	uint8_t plen;
	uint8_t scope;           /* RT_SCOPE_* */
	uint32_t flags;          /* IFA_F_* */
	struct vt_addr addr;     /* IFA_LOCAL (IPv4) / IFA_ADDRESS (IPv6) */
	char label[IFNAMSIZ];
};
/* nl_addr_parse() : an RTM_NEWADDR / RTM_DELADDR message. 0, -ENOMSG for
 * another type or family, -EBADMSG when malformed. */
int nl_addr_parse(const struct nlmsg *m, struct nl_addr_info *out);
typedef int (*nl_addr_cb)(const struct nl_addr_info *ai, void *arg);
/* nl_addr_dump() : addresses of <family> (AF_UNSPEC: both). */
int nl_addr_dump(struct nl_sock *sk, int family, nl_addr_cb cb, void *arg);

/* ---- routes ------------------------------------------------------------ */

struct nl_route {
	int family;              /* AF_INET / AF_INET6; taken from dst or gw when 0 */
	struct vt_addr dst;      /* with plen 0: the default route */
	unsigned plen;
	struct vt_addr gw;       /* zero: no gateway (a device route) */
	uint32_t oif;            /* output link, 0 none */
	bool onlink;             /* the gateway is on the link even outside its prefixes */
	uint8_t type;            /* RTN_UNICAST when 0; RTN_LOCAL answers for a
				  * whole prefix; RTN_BLACKHOLE ... */
	uint32_t table;          /* 0: main (local for RTN_LOCAL) */
	uint32_t metric;
};

int nl_route_build(struct nlb *b, const struct nl_route *r);
/* nl_route_add() : -EEXIST when the same route exists. */
int nl_route_add(struct nl_sock *sk, const struct nl_route *r);
int nl_route_del(struct nl_sock *sk, const struct nl_route *r);

struct nl_route_info {
	uint8_t family, dst_len, type, scope, protocol;
	uint32_t table;
	struct vt_addr dst, gw;
	uint32_t oif;
	uint32_t metric;
	uint32_t mtu;            /* RTAX_MTU of RTA_METRICS, 0 none */
};
int nl_route_parse(const struct nlmsg *m, struct nl_route_info *out);
/* nl_route_get() : the route the kernel would use towards <dst> (ip route
 * get): output link, gateway, MTU metric. -ENETUNREACH when there is none. */
int nl_route_get(struct nl_sock *sk, const struct vt_addr *dst, struct nl_route_info *out);
typedef int (*nl_route_cb)(const struct nl_route_info *ri, void *arg);
int nl_route_dump(struct nl_sock *sk, int family, nl_route_cb cb, void *arg);

/* ---- neighbours -------------------------------------------------------- */

/* nl_neigh_build() / nl_neigh_set() : a permanent neighbour entry <a> ->
 * <mac> on <ifindex> (created or replaced). */
int nl_neigh_build(struct nlb *b, uint32_t ifindex, const struct vt_addr *a,
		   const uint8_t mac[6]);
int nl_neigh_set(struct nl_sock *sk, uint32_t ifindex, const struct vt_addr *a,
		 const uint8_t mac[6]);
int nl_neigh_del(struct nl_sock *sk, uint32_t ifindex, const struct vt_addr *a);

#endif
