/* labstate.h — the lab's model and what it keeps on disk.
 *
 * A lab is named by a prefix P. Everything it makes is recorded under
 * /run/vtap/lab/P/ (tmpfs: a reboot forgets labs, as it forgets their
 * namespaces):
 *   inventory.json  hosts and VMs (uuid, name, mac, ipv4, ipv6, host, port
 *                   name and type) — what agents and tests read;
 *   HOST.xml        a libvirt test-driver node per host, each VM on it a
 *                   running domain whose <interface> names its port;
 *   state.json      every namespace and process the lab made, so `lab
 *                   down` removes exactly those, even after a crash;
 *   lock            serialises commands on one lab (flock).
 * Names and addresses are derived from the prefix and the VM number, so a
 * lost state file can be rebuilt from what exists (see labnet.c). */
#ifndef VT_LAB_LABSTATE_H
#define VT_LAB_LABSTATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "flow/addr.h"

#define LAB_RUN_DIR "/run/vtap/lab"
#define LAB_PREFIX_MAX 12
#define LAB_MAX_HOSTS 32
#define LAB_MAX_VMS 200           /* VM K gets 198.18.1.K: K <= 200 */
#define LAB_DEFAULT_PREFIX "vt"

enum lab_port_type { LAB_PORT_VETH, LAB_PORT_TAP };

struct lab_vm {
	unsigned id;                  /* K, 1-based, unique in the lab */
	char name[16];                /* "vmK" */
	uint8_t uuid[16];             /* random at `lab up`, kept across migration */
	uint8_t mac[6];               /* 52:54:00:18:K>>8:K */
	struct vt_addr ip4;           /* 198.18.1.K/16 */
	struct vt_addr ip6;           /* 2001:db8:18::1:K/64 */
	unsigned host;                /* 1-based host index */
	enum lab_port_type port_type;
	char port[IFNAMSIZ];          /* host-side port: vp-vmK (veth) / tp-vmK (TAP) */
	pid_t tapd_pid;               /* TAP VMs: the relay process, 0 none */
	uint64_t tapd_start;          /* its start time (/proc/PID/stat field 22) */
};

struct lab {
	char prefix[LAB_PREFIX_MAX + 1];
	unsigned nhosts;
	unsigned vms_per_host;        /* at `lab up` */
	unsigned nvms;
	uint32_t monitor_mtu;         /* MTU of the management network */
	bool ipv6;                    /* VMs and ext have IPv6 */
	uint64_t created_ms;
	struct lab_vm vms[LAB_MAX_VMS];
};

/* Fixed addresses of the lab (documented in docs/lab.md). */
#define LAB_EXT_IP4 "198.18.0.1"
#define LAB_EXT_IP6 "2001:db8:18::1"
#define LAB_VM_PLEN4 16
#define LAB_VM_PLEN6 64
#define LAB_INET_NET4 "198.19.200.0"   /* ext answers for the whole /24 */
#define LAB_INET_IP4 "198.19.200.1"
#define LAB_INET_NET6 "2001:db8:200::" /* and this /64 */
#define LAB_INET_IP6 "2001:db8:200::1"
#define LAB_MGMT_PLEN 24
#define LAB_MGMT_IP "198.19.0.250"
#define LAB_ANALYZER_IP "198.19.0.254"
/* host K's management address: 198.19.0.(10+K) */

/* lab_prefix_ok() : 1..12 chars of [a-z0-9], starting with a letter. No
 * '-': namespaces are "P-ROLE", and a prefix with '-' could claim another
 * lab's namespaces. */
bool lab_prefix_ok(const char *p);
/* lab_prefix_default() : $VTAP_LAB_PREFIX or "vt". */
const char *lab_prefix_default(void);

/* lab_init() : a model for <nhosts> x <per_host> VMs (ids, names, MACs,
 * addresses, ports, fresh UUIDs); <tap_vms> is a comma list of VM names
 * attached by TAP ("" none, NULL: the last VM of host 1). Errors name the
 * culprit in <err>. */
int lab_init(struct lab *lab, const char *prefix, unsigned nhosts, unsigned per_host,
	     const char *tap_vms, struct vt_err *err);
/* lab_vm_find() : a VM by name ("vm3") or namespace name ("P-vm3"). */
struct lab_vm *lab_vm_find(struct lab *lab, const char *name);
/* lab_host_parse() : "h2" -> 2 (within the lab), else -EINVAL. */
int lab_host_parse(const struct lab *lab, const char *name);

/* Names: <out> gets "P-ROLE" for namespaces, paths under the lab dir. */
int lab_ns_name(char *out, size_t cap, const char *prefix, const char *role);
int lab_path(char *out, size_t cap, const char *prefix, const char *file);
/* lab_ns_role_ok() : whether <role> is one a lab makes (fabric, hN, vmN,
 * ext, mgmt, analyzer): what `lab down` may remove. */
bool lab_ns_role_ok(const char *role);
/* lab_host_mgmt_ip() : "198.19.0.(10+K)" into <out>. */
void lab_host_mgmt_ip(unsigned host, char *out, size_t cap);

/* ---- files ------------------------------------------------------------- */

/* lab_save() : writes inventory.json, every HOST.xml and state.json
 * atomically (temporary file + rename). */
int lab_save(const struct lab *lab);
/* lab_load() : reads inventory.json and state.json of <prefix>; -ENOENT
 * when the lab has none. Errors name the file. */
int lab_load(struct lab *lab, const char *prefix, struct vt_err *err);
/* lab_inventory_json() : the inventory document into <out> (also what
 * `lab status -j` embeds). */
struct vbuf;
int lab_inventory_json(const struct lab *lab, struct vbuf *out, bool pretty);
/* lab_host_xml() : the libvirt test-driver node XML of host <host>. */
int lab_host_xml(const struct lab *lab, unsigned host, struct vbuf *out);
/* lab_remove_files() : removes the lab directory and what is in it, and
 * the lab's lock file; call it with the lab's lock held. */
int lab_remove_files(const char *prefix);

/* lab_lock() : an exclusive flock on the lab's lock file
 * (LAB_RUN_DIR/.locks/PREFIX, outside the lab directory), waiting up to
 * <wait_ms>; the lab directory is made when <create>, else a lab without
 * one gives -ENOENT. Returns the fd to close (which unlocks), -EBUSY when
 * the wait ran out, or a negative errno. */
int lab_lock(const char *prefix, unsigned wait_ms, bool create);

/* ---- processes --------------------------------------------------------- */

/* lab_proc_start() : start time of <pid> (clock ticks since boot, field 22
 * of /proc/PID/stat), 0 when it does not exist. */
uint64_t lab_proc_start(pid_t pid);
/* lab_proc_is_tapd() : whether <pid> runs `vtap lab tapd` for lab
 * <prefix> (checked on /proc/PID/cmdline), and, when <start> is not 0,
 * still is the process that was recorded. */
bool lab_proc_is_tapd(pid_t pid, const char *prefix, uint64_t start);
/* lab_proc_is_tapd_of() : whether <pid> runs `vtap lab tapd` for VM <vm>
 * of lab <prefix>, recorded or not (a killed migration can leave one that
 * the state file never named). */
bool lab_proc_is_tapd_of(pid_t pid, const char *prefix, const char *vm);

#endif
