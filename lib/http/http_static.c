/* http_static.c — see http_static.h. File reads happen on the loop thread:
 * they are bounded to one stream buffer per call and the console's assets
 * live in the page cache, so a read costs microseconds. */
#include "http/http_static.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "http/http_server.h"

struct http_static {
	int dirfd;
	char dir[256];
};

struct http_static *http_static_new(const char *dir, struct vt_err *err)
{
	struct http_static *st = calloc(1, sizeof(*st));

	if (!st) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	st->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (st->dirfd < 0) {
		int e = errno;
		vt_err_set(err, -e, "cannot serve files from %s: %s", dir, strerror(e));
		free(st);
		errno = e;
		return NULL;
	}
	snprintf(st->dir, sizeof(st->dir), "%s", dir);
	return st;
}

void http_static_free(struct http_static *st)
{
	if (!st)
		return;
	close(st->dirfd);
	free(st);
}

const char *http_content_type(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" }, { "htm", "text/html; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" }, { "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" }, { "json", "application/json" },
		{ "map", "application/json" }, { "svg", "image/svg+xml" }, { "png", "image/png" },
		{ "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" }, { "gif", "image/gif" },
		{ "webp", "image/webp" }, { "ico", "image/vnd.microsoft.icon" },
		{ "txt", "text/plain; charset=utf-8" }, { "md", "text/markdown; charset=utf-8" },
		{ "csv", "text/csv; charset=utf-8" }, { "xml", "application/xml" },
		{ "wasm", "application/wasm" }, { "woff", "font/woff" }, { "woff2", "font/woff2" },
		{ "ttf", "font/ttf" }, { "otf", "font/otf" }, { "pdf", "application/pdf" },
		{ "pcap", "application/vnd.tcpdump.pcap" }, { "pcapng", "application/octet-stream" },
	};
	const char *slash = strrchr(name, '/'), *dot = strrchr(name, '.');

	if (dot && (!slash || dot > slash)) {
		for (size_t i = 0; i < ARRAY_SIZE(types); i++)
			if (strcasecmp(dot + 1, types[i].ext) == 0)
				return types[i].type;
	}
	return "application/octet-stream";
}

/* walk_beneath() : <rel> opened one component at a time below <dirfd>,
 * none of them a symlink (O_NOFOLLOW), empty, "." or "..": what
 * RESOLVE_BENEATH guarantees, without the symlinks that stay inside. */
static int walk_beneath(int dirfd, const char *rel, int flags)
{
	char path[4096], *c, *next;
	int cur = dirfd, fd;

	if (strcmp(rel, ".") == 0)
		return openat(dirfd, ".", flags);
	if (snprintf(path, sizeof(path), "%s", rel) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (c = path;; c = next) {
		next = strchr(c, '/');
		if (next)
			*next++ = '\0';
		if (!*c || strcmp(c, ".") == 0 || strcmp(c, "..") == 0) {
			fd = -1;
			errno = EXDEV;
		} else {
			fd = openat(cur, c, next ? O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC :
					  flags | O_NOFOLLOW);
		}
		if (cur != dirfd) {
			int e = errno;
			close(cur);
			errno = e;
		}
		if (fd < 0 || !next)
			return fd;
		cur = fd;
	}
}

/* openat2(RESOLVE_BENEATH): the kernel resolves <rel> and fails with
 * EXDEV if any step (a "..", an absolute or escaping symlink) leaves
 * <dirfd>. Kernels before 5.6 (and seccomp policies older than the call)
 * lack it: there every component is opened in turn and symlinks are
 * refused, since the lexical checks before cannot see where one leads. */
static int open_beneath(int dirfd, const char *rel)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer on the loop
	 * thread (it is refused as not a regular file right after); reads
	 * of regular files ignore the flag */
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		fd = walk_beneath(dirfd, rel, (int)how.flags);
	return (int)fd;
}

struct file_stream {
	int fd;
	uint64_t off, size;
};

static int file_more(struct vbuf *out, void *arg)
{
	struct file_stream *f = arg;
	size_t want = VT_MIN((uint64_t)(out->max - out->len), f->size - f->off);
	ssize_t n;

	if (want && vbuf_reserve(out, want) < 0)
		return -ENOMEM;
	n = pread(f->fd, out->data + out->len, want, (off_t)f->off);
	if (n < 0)
		return -errno;
	if (n == 0 && want)
		return -EIO; /* the file shrank while we sent it */
	out->len += (size_t)n;
	f->off += (uint64_t)n;
	return f->off == f->size ? HTTP_STREAM_DONE : HTTP_STREAM_MORE;
}

static void file_done(void *arg, int err)
{
	struct file_stream *f = arg;

	(void)err;
	close(f->fd);
	free(f);
}

static bool etag_match(const char *inm, const char *etag)
{
	const char *p = inm;
	size_t n = strlen(etag);

	if (strcmp(inm, "*") == 0)
		return true;
	while ((p = strstr(p, etag)) != NULL) {
		/* a weak W/"x" matches too (RFC 9110 §13.1.2 weak comparison) */
		if (p[n] == '\0' || p[n] == ',' || p[n] == ' ')
			return true;
		p += n;
	}
	return false;
}

void http_static_handler(struct http_req *req, void *arg)
{
	struct http_static *st = arg;
	const char *rel = http_req_param(req, "path"), *path = http_req_path(req);
	const char *inm, *ims, *seg;
	char etag[64], lm[40], name[4096];
	struct file_stream *f;
	struct stat sb;
	int fd, r;

	if (!rel) {
		http_respond_error(req, 500, "internal error", "route has no {path*} parameter");
		return;
	}
	/* hidden names (.git, .env) are never served */
	for (seg = rel; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
		if (seg[0] == '.') {
			http_respond_error(req, 404, "not found", "no file at %s", path);
			return;
		}
	}
	snprintf(name, sizeof(name), "%s", *rel ? rel : ".");
	fd = open_beneath(st->dirfd, name);
	if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		size_t pl = strlen(path);
		if (!pl || path[pl - 1] != '/') {
			char loc[4096];
			close(fd);
			snprintf(loc, sizeof(loc), "%s/", path);
			http_set_header(req, "Location", loc);
			http_respond_error(req, 301, "moved permanently", "see %s", loc);
			return;
		}
		r = open_beneath(fd, "index.html");
		close(fd);
		fd = r;
		snprintf(name, sizeof(name), "index.html");
	}
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		int e = fd < 0 ? errno : 0;
		if (fd >= 0)
			close(fd);
		if (e && e != ENOENT && e != ENOTDIR && e != EXDEV && e != ELOOP && e != EACCES)
			log_ratelimited(LOG_LVL_WARN, "http: serving %s/%s: %s", st->dir, name,
					strerror(e));
		http_respond_error(req, 404, "not found", "no file at %s", path);
		return;
	}
	snprintf(etag, sizeof(etag), "\"%llx-%llx\"", (unsigned long long)sb.st_size,
		 (unsigned long long)sb.st_mtim.tv_sec * 1000000000ull +
			 (unsigned long long)sb.st_mtim.tv_nsec);
	http_date((int64_t)sb.st_mtim.tv_sec, lm, sizeof(lm));
	http_set_header(req, "ETag", etag);
	http_set_header(req, "Last-Modified", lm);
	http_set_header(req, "Cache-Control", "no-cache");
	http_set_header(req, "X-Content-Type-Options", "nosniff");
	inm = http_req_header(req, "If-None-Match");
	ims = http_req_header(req, "If-Modified-Since");
	if ((inm && etag_match(inm, etag)) ||
	    (!inm && ims && http_date_parse(ims) >= (int64_t)sb.st_mtim.tv_sec)) {
		close(fd);
		http_respond(req, 304, NULL, NULL, 0);
		return;
	}
	if (sb.st_size == 0) {
		close(fd);
		http_respond(req, 200, http_content_type(name), NULL, 0);
		return;
	}
	f = malloc(sizeof(*f));
	if (!f) {
		close(fd);
		http_respond_error(req, 503, "service unavailable", "out of memory");
		return;
	}
	f->fd = fd;
	f->off = 0;
	f->size = (uint64_t)sb.st_size;
	http_stream_start(req, 200, http_content_type(name), (int64_t)sb.st_size, file_more,
			  file_done, f);
}
