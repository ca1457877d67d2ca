/* announce.h — how a VM tells the network where it is after a migration:
 * a gratuitous ARP (an ARP request for its own address, broadcast) and an
 * IPv6 unsolicited neighbour advertisement (RFC 4861 §7.2.6: to ff02::1,
 * override flag set, with its link-layer address). Both flood through
 * every bridge, so each bridge re-learns the VM's MAC on its new port.
 *
 * The builders write whole Ethernet frames through a vt_wr cursor; the
 * sender transmits them on the VM's eth0 through an AF_PACKET socket made
 * inside the VM's namespace. */
#ifndef VT_LAB_ANNOUNCE_H
#define VT_LAB_ANNOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "flow/addr.h"

#define ANNOUNCE_FRAME_MAX 128

/* announce_garp() : the gratuitous ARP frame (60 bytes, padded to the
 * Ethernet minimum) into <buf>; returns its length or 0 when <cap> is too
 * small or <ip4> is not IPv4. */
size_t announce_garp(uint8_t *buf, size_t cap, const uint8_t mac[6],
		     const struct vt_addr *ip4);
/* announce_una() : the unsolicited NA frame (86 bytes) from <ip6> (also
 * the target); returns its length or 0. */
size_t announce_una(uint8_t *buf, size_t cap, const uint8_t mac[6],
		    const struct vt_addr *ip6);
/* announce_send() : sends <rounds> rounds of GARP (+ NA when <ip6> is not
 * NULL) on <ifname> inside namespace <nsfd>, <interval_ms> apart. Returns
 * the number of frames sent or a negative errno. */
int announce_send(int nsfd, const char *ifname, const uint8_t mac[6],
		  const struct vt_addr *ip4, const struct vt_addr *ip6, unsigned rounds,
		  unsigned interval_ms);

#endif
