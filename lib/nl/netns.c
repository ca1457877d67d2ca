/* netns.c — named network namespaces, iproute2-compatible (see netns.h).
 *
 * Namespace membership is per thread in Linux, so everything that must
 * happen "inside" runs in a helper thread: the caller's own namespace
 * never changes, and a failure halfway cannot strand it elsewhere. */
#include "nl/netns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/netlink.h>

#include "core/compiler.h"

bool nl_netns_name_ok(const char *name)
{
	size_t n = 0;

	if (!name || !*name || name[0] == '.')
		return false;
	for (const char *p = name; *p; p++, n++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return n < NL_NETNS_NAME_MAX;
}

static int ns_path(char *buf, size_t cap, const char *name)
{
	if (!nl_netns_name_ok(name))
		return -EINVAL;
	if ((size_t)snprintf(buf, cap, "%s/%s", NL_NETNS_DIR, name) >= cap)
		return -ENAMETOOLONG;
	return 0;
}

/* Make /run/netns a shared mount point, as iproute2 does, so the bind
 * mounts we place there propagate to every mount namespace (a process that
 * entered another mount namespace still sees new network namespaces). */
static int rundir_ready(void)
{
	bool bound = false;

	if (mkdir(NL_NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	while (mount("", NL_NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		if (errno != EINVAL || bound)
			return -errno;
		/* not a mount point yet: bind it onto itself, then retry */
		if (mount(NL_NETNS_DIR, NL_NETNS_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
			return -errno;
		bound = true;
	}
	return 0;
}

struct ns_thread {
	int nsfd;
	int (*fn)(void *arg);
	void *arg;
	int rc;
};

static void *ns_thread_main(void *p)
{
	struct ns_thread *t = p;

	if (t->nsfd >= 0 && setns(t->nsfd, CLONE_NEWNET) < 0) {
		t->rc = -errno;
		return NULL;
	}
	t->rc = t->fn(t->arg);
	return NULL;
}

int nl_netns_run(int nsfd, int (*fn)(void *arg), void *arg)
{
	struct ns_thread t = { nsfd, fn, arg, 0 };
	pthread_t th;
	int r = pthread_create(&th, NULL, ns_thread_main, &t);

	if (r)
		return -r;
	pthread_join(th, NULL);
	return t.rc;
}

struct create_arg {
	const char *path;
};

static int create_in_thread(void *p)
{
	struct create_arg *a = p;

	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	/* /proc/thread-self: the namespace of this thread, not of the process */
	if (mount("/proc/thread-self/ns/net", a->path, "none", MS_BIND, NULL) < 0)
		return -errno;
	return 0;
}

int nl_netns_create(const char *name)
{
	char path[128];
	struct create_arg a = { path };
	int fd, r = ns_path(path, sizeof(path), name);

	if (r < 0)
		return r;
	r = rundir_ready();
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	r = nl_netns_run(-1, create_in_thread, &a);
	if (r < 0)
		unlink(path);
	return r;
}

int nl_netns_open(const char *name)
{
	char path[128];
	int fd, r = ns_path(path, sizeof(path), name);

	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* an empty file left by a crash between create and mount is not a
	 * namespace: refuse it rather than setns() into garbage */
	if (nl_netns_inode(fd) == 0) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

uint64_t nl_netns_inode(int nsfd)
{
	struct stat st;
	struct statfs sf;

	/* only a file of nsfs is a namespace; the empty placeholder under
	 * /run/netns (before the bind mount) is a tmpfs file */
	if (fstatfs(nsfd, &sf) < 0 || (unsigned long)sf.f_type != NSFS_MAGIC ||
	    fstat(nsfd, &st) < 0)
		return 0;
	return (uint64_t)st.st_ino;
}

int nl_netns_delete(const char *name)
{
	char path[128];
	int r = ns_path(path, sizeof(path), name);

	if (r < 0)
		return r;
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return -errno;
	if (unlink(path) < 0)
		return -errno;
	return 0;
}

bool nl_netns_exists(const char *name)
{
	char path[128];

	return ns_path(path, sizeof(path), name) == 0 && access(path, F_OK) == 0;
}

int nl_netns_list(int (*cb)(const char *name, void *arg), void *arg)
{
	DIR *d = opendir(NL_NETNS_DIR);
	struct dirent *de;
	int r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		r = cb(de->d_name, arg);
		if (r < 0)
			break;
	}
	closedir(d);
	return r < 0 ? r : 0;
}

struct sock_arg {
	int domain, type, proto;
};

static int socket_in_thread(void *p)
{
	struct sock_arg *a = p;
	int fd = socket(a->domain, a->type | SOCK_CLOEXEC, a->proto);

	return fd < 0 ? -errno : fd;
}

int nl_netns_socket(int nsfd, int domain, int type, int proto)
{
	struct sock_arg a = { domain, type, proto };

	return nl_netns_run(nsfd, socket_in_thread, &a);
}

struct nl_sock *nl_netns_sock_open(int nsfd, uint32_t groups)
{
	int fd = nl_netns_socket(nsfd, AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);

	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	return nl_sock_wrap(fd, groups);
}

struct sysctl_arg {
	const char *path;
	const char *value;
	char *buf;
	size_t cap;
};

static int sysctl_path(char *out, size_t cap, const char *key)
{
	bool slashed = strchr(key, '/') != NULL;
	size_t n = (size_t)snprintf(out, cap, "/proc/sys/%s", key);

	if (n >= cap || !*key || strstr(key, ".."))
		return -EINVAL;
	if (!slashed)
		for (char *p = out + 10; *p; p++)
			if (*p == '.')
				*p = '/';
	return 0;
}

static int sysctl_write_thread(void *p)
{
	struct sysctl_arg *a = p;
	size_t len = strlen(a->value);
	int fd = open(a->path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, a->value, len);
	if (n < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

static int sysctl_read_thread(void *p)
{
	struct sysctl_arg *a = p;
	int fd = open(a->path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, a->buf, a->cap - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (a->buf[n - 1] == '\n'))
		n--;
	a->buf[n] = '\0';
	return 0;
}

int nl_netns_sysctl(int nsfd, const char *key, const char *value)
{
	char path[256];
	struct sysctl_arg a = { path, value, NULL, 0 };
	int r = sysctl_path(path, sizeof(path), key);

	return r < 0 ? r : nl_netns_run(nsfd, sysctl_write_thread, &a);
}

int nl_netns_sysctl_get(int nsfd, const char *key, char *buf, size_t cap)
{
	char path[256];
	struct sysctl_arg a = { path, NULL, buf, cap };
	int r = sysctl_path(path, sizeof(path), key);

	if (cap < 2)
		return -EINVAL;
	return r < 0 ? r : nl_netns_run(nsfd, sysctl_read_thread, &a);
}

/* ---- moving the process ------------------------------------------------ */

/* Mounts under /sys that belong to other filesystems and must survive the
 * sysfs remount (tools inside the namespace still pin BPF objects and read
 * cgroups). */
static const char *const sys_keep[] = { "/sys/fs/bpf", "/sys/fs/cgroup" };

static bool is_mount_point(const char *path)
{
	struct stat a, b;
	char parent[256];

	if ((size_t)snprintf(parent, sizeof(parent), "%s/..", path) >= sizeof(parent))
		return false;
	if (stat(path, &a) < 0 || stat(parent, &b) < 0)
		return false;
	return a.st_dev != b.st_dev;
}

static int remount_sys(void)
{
	int keep[ARRAY_SIZE(sys_keep)];
	unsigned long flags = 0;
	struct statvfs sv;
	int r = 0;

	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	/* our mount changes must not propagate back to the host */
	if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) < 0)
		return -errno;
	if (statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY))
		flags |= MS_RDONLY;
	for (size_t i = 0; i < ARRAY_SIZE(sys_keep); i++) {
		keep[i] = -1;
		if (is_mount_point(sys_keep[i]))
			keep[i] = (int)syscall(SYS_open_tree, AT_FDCWD, sys_keep[i],
					       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	}
	if (umount2("/sys", MNT_DETACH) < 0 && errno != EINVAL) {
		r = -errno;
		goto out;
	}
	/* sysfs shows the network devices of the namespace of its mounter */
	if (mount("sysfs", "/sys", "sysfs", flags, NULL) < 0) {
		r = -errno;
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(sys_keep); i++)
		if (keep[i] >= 0)
			(void)syscall(SYS_move_mount, keep[i], "", AT_FDCWD, sys_keep[i],
				      MOVE_MOUNT_F_EMPTY_PATH);
out:
	for (size_t i = 0; i < ARRAY_SIZE(sys_keep); i++)
		if (keep[i] >= 0)
			close(keep[i]);
	return r;
}

int nl_netns_enter(int nsfd, unsigned flags)
{
	if (setns(nsfd, CLONE_NEWNET) < 0)
		return -errno;
	if (flags & NL_NETNS_REMOUNT_SYS)
		return remount_sys();
	return 0;
}

pid_t nl_netns_spawn(int nsfd, char *const argv[], unsigned flags)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int r = nl_netns_enter(nsfd, flags);
		if (r < 0) {
			fprintf(stderr, "cannot enter network namespace: %s\n", strerror(-r));
			_exit(127);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "%s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}
