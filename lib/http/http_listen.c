/* http_listen.c — see http_listen.h. */
#include "http/http_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/compiler.h"
#include "core/log.h"
#include "core/timeutil.h"

int http_listen_parse(const char *spec, struct http_listen_addr *a, struct vt_err *err)
{
	char host[64];
	const char *colon, *hs;
	size_t hl;
	uint64_t port;

	size_t sl = strlen(spec);

	if (sl >= sizeof(a->spec))
		return vt_err_set(err, -EINVAL, "listen address '%.40s...' is too long", spec);
	memset(a, 0, sizeof(*a));
	memcpy(a->spec, spec, sl + 1);
	if (strncmp(spec, "unix:", 5) == 0) {
		const char *path = spec + 5;
		a->kind = HTTP_LISTEN_UNIX;
		if (path[0] != '/')
			return vt_err_set(err, -EINVAL,
					  "'%s': a UNIX socket path must be absolute (unix:/run/vtap/x.sock)", spec);
		if (strlen(path) >= sizeof(a->path))
			return vt_err_set(err, -EINVAL, "'%s': socket path longer than %zu bytes",
					  spec, sizeof(a->path) - 1);
		snprintf(a->path, sizeof(a->path), "%s", path);
		return 0;
	}
	a->kind = HTTP_LISTEN_TCP;
	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');
		if (!rb || rb[1] != ':')
			goto bad;
		hs = spec + 1;
		hl = (size_t)(rb - hs);
		colon = rb + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			goto bad;
		hs = spec;
		hl = (size_t)(colon - spec);
	}
	if (hl == 0 || hl >= sizeof(host))
		goto bad;
	memcpy(host, hs, hl);
	host[hl] = '\0';
	if (parse_u64(colon + 1, 0, 65535, &port) < 0)
		return vt_err_set(err, -EINVAL, "'%s': port must be a number in 0..65535", spec);
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (spec[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return vt_err_set(err, -EINVAL,
					  "'%s': '%s' is not an IPv4 address (write IPv6 as [::1]:PORT; names other than localhost are not resolved)",
					  spec, host);
		a->sslen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return vt_err_set(err, -EINVAL, "'%s': '%s' is not an IPv6 address", spec, host);
		a->sslen = sizeof(*sin6);
	}
	return 0;
bad:
	return vt_err_set(err, -EINVAL,
			  "'%s' is not a listen address (ADDRESS:PORT, [IPV6]:PORT or unix:/PATH)", spec);
}

int http_listen_parse_list(const char *val, struct http_listen_list *l, struct vt_err *err)
{
	const char *p = val;

	while (*p) {
		char one[HTTP_SPEC_MAX + 1];
		size_t n = 0;
		int r;
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (p[n] && p[n] != ',' && p[n] != ' ' && p[n] != '\t')
			n++;
		if (n > HTTP_SPEC_MAX - 1)
			return vt_err_set(err, -EINVAL, "listen address '%.40s...' is too long", p);
		if (l->n >= HTTP_MAX_LISTEN)
			return vt_err_set(err, -E2BIG, "more than %d listen addresses", HTTP_MAX_LISTEN);
		memcpy(one, p, n);
		one[n] = '\0';
		r = http_listen_parse(one, &l->a[l->n], err);
		if (r < 0)
			return r;
		l->n++;
		p += n;
	}
	if (!l->n)
		return vt_err_set(err, -EINVAL, "no listen address given");
	return 0;
}

const char *http_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

/* Removes <path> if it is a socket nobody accepts on. */
static int clear_stale(const char *path, const char *spec, struct vt_err *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : vt_err_set(err, -errno, "cannot listen on %s: %s",
							spec, strerror(errno));
	if (!S_ISSOCK(st.st_mode))
		return vt_err_set(err, -EEXIST,
				  "cannot listen on %s: %s exists and is not a socket; refusing to replace it",
				  spec, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vt_err_set(err, -errno, "socket: %s", strerror(errno));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	r = r < 0 ? errno : 0;
	close(fd);
	if (r == ECONNREFUSED) {
		if (unlink(path) < 0 && errno != ENOENT)
			return vt_err_set(err, -errno, "cannot remove stale socket %s: %s", path,
					  strerror(errno));
		log_info("http: removed stale socket %s", path);
		return 0;
	}
	if (r == 0 || r == EAGAIN || r == EINPROGRESS)
		return vt_err_set(err, -EADDRINUSE,
				  "cannot listen on %s: another process is accepting on %s", spec, path);
	return vt_err_set(err, -r, "cannot listen on %s: probing %s: %s", spec, path, strerror(r));
}

static int open_unix(struct http_listener *l, const struct http_listen_addr *a,
		     const struct http_unix_perm *perm, int backlog, struct vt_err *err)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint32_t mode = perm ? perm->mode & 0777 : 0600;
	char dir[sizeof(a->path)];
	struct stat st;
	mode_t old;
	gid_t gid = (gid_t)-1;
	int fd, r;

	if (perm && perm->group && *perm->group) {
		struct group gr, *res = NULL;
		char buf[4096];
		if (getgrnam_r(perm->group, &gr, buf, sizeof(buf), &res) != 0 || !res)
			return vt_err_set(err, -EINVAL, "cannot listen on %s: socket group '%s' does not exist",
					  a->spec, perm->group);
		gid = gr.gr_gid;
	}
	snprintf(dir, sizeof(dir), "%s", a->path);
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
		return vt_err_set(err, -errno, "cannot listen on %s: creating %s: %s", a->spec, dir,
				  strerror(errno));
	r = clear_stale(a->path, a->spec, err);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vt_err_set(err, -errno, "socket: %s", strerror(errno));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", a->path);
	/* bind() creates the file with 0777 & ~umask: narrow the umask so the
	 * socket is never reachable by more users than <mode> allows. */
	old = umask((mode_t)(~mode & 0777));
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	r = r < 0 ? -errno : 0;
	umask(old);
	if (r < 0) {
		vt_err_set(err, r, "cannot listen on %s: %s", a->spec, strerror(-r));
		goto fail;
	}
	if (chmod(a->path, mode) < 0 ||
	    (gid != (gid_t)-1 && chown(a->path, (uid_t)-1, gid) < 0) ||
	    lstat(a->path, &st) < 0) {
		r = -errno;
		vt_err_set(err, r, "cannot set permissions of %s: %s", a->path, strerror(errno));
		unlink(a->path);
		goto fail;
	}
	if (listen(fd, backlog) < 0) {
		r = -errno;
		vt_err_set(err, r, "cannot listen on %s: %s", a->spec, strerror(errno));
		unlink(a->path);
		goto fail;
	}
	l->fd = fd;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	snprintf(l->path, sizeof(l->path), "%s", a->path);
	snprintf(l->name, sizeof(l->name), "unix:%s", a->path);
	return 0;
fail:
	close(fd);
	return r;
}

static int open_tcp(struct http_listener *l, const struct http_listen_addr *a, int backlog,
		    struct vt_err *err)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int one = 1, fd, r;

	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vt_err_set(err, -errno, "cannot listen on %s: %s", a->spec, strerror(errno));
	/* restarts must not wait for TIME_WAIT; [::] means IPv6 only */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->sslen) < 0 || listen(fd, backlog) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		r = -errno;
		close(fd);
		return vt_err_set(err, r, "cannot listen on %s: %s", a->spec, strerror(-r));
	}
	l->fd = fd;
	http_sockaddr_str((struct sockaddr *)&ss, l->name, sizeof(l->name));
	l->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port :
						  ((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

int http_listener_open(struct http_listener *l, const struct http_listen_addr *a,
		       const struct http_unix_perm *perm, int backlog, struct vt_err *err)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->kind = a->kind;
	return a->kind == HTTP_LISTEN_UNIX ? open_unix(l, a, perm, backlog, err) :
					     open_tcp(l, a, backlog, err);
}

void http_listener_close(struct http_listener *l)
{
	struct stat st;

	if (!l || l->fd < 0)
		return;
	/* only our own file: a newer daemon may have replaced it already */
	if (l->kind == HTTP_LISTEN_UNIX && lstat(l->path, &st) == 0 &&
	    st.st_dev == l->dev && st.st_ino == l->ino)
		unlink(l->path);
	close(l->fd);
	l->fd = -1;
}
