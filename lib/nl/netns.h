/* netns.h — network namespaces the iproute2 way.
 *
 * A named namespace is a file /run/netns/NAME on which the namespace's
 * nsfs inode is bind-mounted, so `ip netns exec NAME`, `ip -n NAME` and
 * every other iproute2-compatible tool work on ours, and ours on theirs.
 *
 * The calling process never changes namespace: creation happens in a
 * short-lived helper thread (network namespaces are per thread), work
 * "inside" a namespace runs in such a thread, and sockets created there
 * keep acting on that namespace wherever they are used afterwards. Only
 * nl_netns_enter() (for a process about to exec) moves the caller. */
#ifndef VT_NL_NETNS_H
#define VT_NL_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "nl/nlsock.h"

#define NL_NETNS_DIR "/run/netns"
#define NL_NETNS_NAME_MAX 64

/* nl_netns_name_ok() : NAME is usable as a file name under /run/netns
 * (1..63 chars of [A-Za-z0-9_.-], not starting with '.'). */
bool nl_netns_name_ok(const char *name);

/* nl_netns_create() : a new, empty network namespace named <name> (only
 * "lo", down). -EEXIST when the name is taken, -EINVAL for a bad name. */
int nl_netns_create(const char *name);
/* nl_netns_open() : an O_RDONLY|O_CLOEXEC fd on the namespace (owned by
 * the caller), or a negative errno (-ENOENT when there is none). */
int nl_netns_open(const char *name);
/* nl_netns_delete() : unmounts and removes /run/netns/<name>. The kernel
 * frees the namespace once no process, socket or fd refers to it any
 * more. -ENOENT when it does not exist. */
int nl_netns_delete(const char *name);
bool nl_netns_exists(const char *name);
/* nl_netns_inode() : the nsfs inode of a namespace fd (the identity that
 * /proc/PID/ns/net links show as net:[INODE]); 0 on error. */
uint64_t nl_netns_inode(int nsfd);
/* nl_netns_list() : calls <cb> with each name in /run/netns. */
int nl_netns_list(int (*cb)(const char *name, void *arg), void *arg);

/* nl_netns_run() : runs fn(arg) in a helper thread that has joined the
 * namespace <nsfd> (-1: the caller's namespace) and returns fn's result
 * (or a negative errno when the thread could not join). Sockets and
 * /proc/sys files opened by <fn> belong to that namespace. */
int nl_netns_run(int nsfd, int (*fn)(void *arg), void *arg);
/* nl_netns_socket() : socket(domain, type, proto) created inside <nsfd>.
 * Returns the fd (owned by the caller) or a negative errno. */
int nl_netns_socket(int nsfd, int domain, int type, int proto);
/* nl_netns_sock_open() : an rtnetlink socket acting on <nsfd> (see
 * nlsock.h). NULL with errno set. */
struct nl_sock *nl_netns_sock_open(int nsfd, uint32_t groups);
/* nl_netns_sysctl() : writes <value> to /proc/sys/<key> as seen inside
 * <nsfd>, key in dotted or slashed form ("net.ipv6.conf.all.accept_dad").
 * Returns 0 or a negative errno (-ENOENT for an unknown key). */
int nl_netns_sysctl(int nsfd, const char *key, const char *value);
/* nl_netns_sysctl_get() : reads it (trailing newline removed). */
int nl_netns_sysctl_get(int nsfd, const char *key, char *buf, size_t cap);

/* Flags for nl_netns_enter() / nl_netns_spawn(). */
enum {
	/* Give the process a private mount namespace with a /sys that shows
	 * the new network namespace (what `ip netns exec` does), keeping the
	 * bpf and cgroup mounts under /sys visible. */
	NL_NETNS_REMOUNT_SYS = 1u << 0,
};
/* nl_netns_enter() : moves the calling process (which must be single
 * threaded) into <nsfd>, typically right before exec. */
int nl_netns_enter(int nsfd, unsigned flags);
/* nl_netns_spawn() : fork + nl_netns_enter + execvp(argv[0], argv). The
 * child keeps the parent's stdio. Returns the child's pid or a negative
 * errno; an exec failure shows as the child exiting with status 127. */
pid_t nl_netns_spawn(int nsfd, char *const argv[], unsigned flags);

#endif
