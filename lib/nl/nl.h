/* nl.h — lib/nl in one include: rtnetlink messages (nlmsg.h) and sockets
 * (nlsock.h), network namespaces (netns.h), links and link events
 * (link.h), addresses/routes/neighbours (route.h), TAP devices (tun.h).
 *
 * vtap never shells out to `ip`: the agent, the tap and the lab build and
 * watch their network plumbing through these. */
#ifndef VT_NL_NL_H
#define VT_NL_NL_H

#include "nl/link.h"
#include "nl/netns.h"
#include "nl/nlmsg.h"
#include "nl/nlsock.h"
#include "nl/route.h"
#include "nl/tun.h"

#endif
