/* tap_nl.c — the tap engine's rtnetlink compositions (see tap_nl.h). */
#include "agent/tap/tap_nl.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "nl/link.h"
#include "nl/route.h"

/* IFLA_OPERSTATE values (RFC 2863, <linux/if.h>, which collides with
 * <net/if.h>) */
#define OPER_UNKNOWN 0
#define OPER_UP 6

int tapnl_vxlan_ensure(struct nl_sock *sk, const char *name, uint16_t port, uint32_t *ifindex,
		       bool *created, struct vt_err *err)
{
	struct nl_link_info l;
	struct nl_link_new n = { 0 };
	int rc;

	*created = false;
	rc = nl_link_get(sk, name, &l);
	if (rc == 0) {
		if (!l.vxlan_external)
			return vt_err_set(err, -EEXIST, "link %s exists and is not a collect_md VXLAN device (%s)",
					  name, l.kind[0] ? l.kind : "no kind");
		if (l.vxlan_port != port)
			return vt_err_set(err, -EEXIST, "VXLAN device %s uses UDP port %u, not %u", name,
					  l.vxlan_port, port);
		*ifindex = l.ifindex;
		rc = (l.flags & IFF_UP) ? 0 : nl_link_set_up(sk, name, true);
		return rc ? vt_err_set(err, rc, "cannot set %s up: %s", name, strerror(-rc)) : 0;
	}
	if (rc != -ENODEV)
		return vt_err_set(err, rc, "cannot look up link %s: %s", name, strerror(-rc));
	n.name = name;
	n.kind = NL_LINK_VXLAN;
	n.up = true;
	n.no_ipv6_ll = true;     /* the device never sends anything of its own */
	n.u.vxlan.external = true;
	n.u.vxlan.learning = false;
	n.u.vxlan.dstport = port;
	n.u.vxlan.udp_csum = true;
	rc = nl_link_add(sk, &n);
	if (rc)
		return vt_err_set(err, rc, "cannot create VXLAN device %s (UDP %u): %s%s%s", name, port,
				  strerror(-rc), *nl_sock_errmsg(sk) ? ": " : "", nl_sock_errmsg(sk));
	rc = nl_link_get(sk, name, &l);
	if (rc)
		return vt_err_set(err, rc, "VXLAN device %s vanished after creation", name);
	*created = true;
	*ifindex = l.ifindex;
	return 0;
}

int tapnl_route_get(struct nl_sock *sk, const struct vt_addr *dst, struct tapnl_route *r)
{
	struct nl_route_info ri;
	struct nl_link_info l;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = nl_route_get(sk, dst, &ri);
	if (rc)
		return rc;
	rc = nl_link_get_index(sk, ri.oif, false, &l);
	if (rc)
		return rc;
	r->oif = ri.oif;
	r->mtu = ri.mtu && ri.mtu < l.mtu ? ri.mtu : l.mtu;
	r->up = (l.flags & IFF_UP) && (l.operstate == OPER_UP || l.operstate == OPER_UNKNOWN);
	return 0;
}
