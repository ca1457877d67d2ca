/* labnet.h — building, inspecting, changing and removing a lab's network
 * (namespaces, bridges, veth and TAP ports, addresses, routes), all
 * through lib/nl and never in the root namespace: every link is created
 * inside a lab namespace (a veth's two ends in two lab namespaces). */
#ifndef VT_LAB_LABNET_H
#define VT_LAB_LABNET_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "lab/labstate.h"
#include "nl/nlsock.h"

/* An open lab namespace. */
struct lab_ns {
	char name[64];
	int fd;                        /* -1 when not open */
	struct nl_sock *sk;            /* rtnetlink socket acting inside it */
};

/* labnet_ns_open() : opens the existing namespace P-<role>. */
int labnet_ns_open(struct lab_ns *n, const char *prefix, const char *role);
void labnet_ns_close(struct lab_ns *n);

/* labnet_up() : builds the lab described by <lab> (from lab_init()), starts
 * a TAP relay for every TAP VM (<exe>: the vtap binary, run as `EXE lab
 * tapd`), writes the lab's files. On failure removes whatever it made and
 * explains in <err>. */
int labnet_up(struct lab *lab, const char *exe, struct vt_err *err);

struct labnet_down_report {
	unsigned namespaces;           /* removed */
	unsigned processes;            /* stopped */
	unsigned killed;               /* of which needed SIGKILL */
};
/* labnet_down() : removes every namespace of lab <prefix> (found in
 * /run/netns by name, with or without the state file), after stopping
 * its TAP relays and any process still running inside its namespaces,
 * then its files. Idempotent: nothing to do is success. */
int labnet_down(const char *prefix, struct labnet_down_report *rep, struct vt_err *err);

/* labnet_migrate() : moves <vm> to host <to> as live migration looks to
 * the network: its port leaves the old host's bridge and namespace, after
 * <pause_ms> a port with the same name, MAC, IP and identity joins the new
 * host's bridge, and the VM announces itself (gratuitous ARP, unsolicited
 * NA). The lab's files are rewritten. <*downtime_ms> gets the time from
 * the port leaving to the new port being up (the announcements follow).
 * It starts from where the port really is, so running it again completes
 * a migration that was killed halfway (port parked in the fabric, moved
 * but not recorded, relay stopped, relay started but not recorded). */
int labnet_migrate(struct lab *lab, struct lab_vm *vm, unsigned to, uint64_t pause_ms,
		   const char *exe, uint64_t *downtime_ms, struct vt_err *err);

/* labnet_port_host() : where <vm>'s port is now: its host (1-based), 0
 * when parked in the fabric by a migration that did not finish, -ENODEV
 * when nowhere. <*attached>: a port of that host's br0, and up. */
int labnet_port_host(const struct lab *lab, const struct lab_vm *vm, bool *attached);

/* What `lab status` reports about one VM. */
struct labnet_vm_status {
	bool ns;                       /* its namespace exists */
	bool port;                     /* its port exists on its host */
	bool bridged;                  /* ... and is a port of br0 */
	bool port_up;                  /* ... and is operationally up */
	bool eth_up;                   /* the VM's eth0 is up with carrier */
	bool tapd;                     /* TAP VMs: the relay runs */
	uint32_t port_ifindex;
};
/* labnet_status() : inspects every VM of <lab>; <st> has lab->nvms
 * entries. Returns the number of problems found (0: healthy). */
int labnet_status(const struct lab *lab, struct labnet_vm_status *st, unsigned *hosts_ok);

/* labnet_spawn_tapd() : starts `EXE lab tapd` for <vm> on its host and
 * waits until the relay reports its ports ready (up to 10 s). Records the
 * pid in <vm>. */
int labnet_spawn_tapd(const struct lab *lab, struct lab_vm *vm, const char *exe,
		      struct vt_err *err);

/* labnet_self_exe() : the path of the running vtap binary. */
int labnet_self_exe(char *buf, size_t cap);

#endif
