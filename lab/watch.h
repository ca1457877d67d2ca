/* watch.h — `vtap lab watch HOST`: bridge ports joining and leaving a
 * host's bridge, from rtnetlink link events (lib/nl), one JSON line each.
 * The same mechanism the agent uses to discover VM ports; tests use it to
 * see a migrating VM's port leave one host and join another. */
#ifndef VT_LAB_WATCH_H
#define VT_LAB_WATCH_H

#include <stdint.h>

#define WATCH_MAX_LINKS 1024

struct watch_opts {
	const char *prefix;
	const char *host;             /* "h1" */
	const char *bridge;           /* "br0" */
	uint64_t count;               /* exit after this many events (0: never) */
	uint64_t timeout_ms;          /* exit after this long (0: never) */
	const char *ready_file;       /* created once subscribed */
};
int watch_main(const struct watch_opts *o);

#endif
