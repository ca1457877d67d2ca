/* fileio.c — see fileio.h. */
#include "core/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* read_fd() : up to <want> bytes (SIZE_MAX: to the end) into <out>. */
static int read_fd(int fd, size_t want, struct vbuf *out)
{
	char chunk[65536];

	while (want) {
		size_t n = want < sizeof(chunk) ? want : sizeof(chunk);
		ssize_t got = read(fd, chunk, n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return 0;
		int r = vbuf_add(out, chunk, (size_t)got);
		if (r < 0)
			return r == -ENOSPC ? -EFBIG : r;
		if (want != SIZE_MAX)
			want -= (size_t)got;
	}
	return 0;
}

int file_read_all(const char *path, size_t max, bool allow_stdin, struct vbuf *out,
		  struct vt_err *err)
{
	bool in = allow_stdin && strcmp(path, "-") == 0;
	const char *name = in ? "standard input" : path;
	struct stat st;
	int fd, r;

	/* one byte more than allowed: a file that grows past <max> while it is
	 * read is refused too */
	vbuf_init(out, max + 1);
	fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vt_err_set(err, -errno, "%s: %s", name, strerror(errno));
	if (!in && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		return vt_err_set(err, -EINVAL, "%s: not a regular file", name);
	}
	if (!in && (uint64_t)st.st_size > max) {
		close(fd);
		return vt_err_set(err, -EFBIG, "%s: larger than %zu bytes", name, max);
	}
	r = read_fd(fd, in ? SIZE_MAX : (size_t)st.st_size, out);
	if (!in)
		close(fd);
	if (r == 0 && out->len > max)
		r = -EFBIG;
	if (r == -EFBIG)
		return vt_err_set(err, r, "%s: larger than %zu bytes", name, max);
	if (r < 0)
		return vt_err_set(err, r, "%s: %s", name, strerror(-r));
	return 0;
}

int fd_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* file_write_atomic()'s temporary file: <path> ATOMIC_TMP "XXXXXX"
 * (mkostemp's six characters); file_atomic_clean() matches the same. */
#define ATOMIC_TMP ".tmp."
#define ATOMIC_TMP_RAND 6

int file_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
		      struct vt_err *err)
{
	char tmp[4096], dir[4096];
	int fd, r;

	if (snprintf(tmp, sizeof(tmp), "%s" ATOMIC_TMP "XXXXXX", path) >= (int)sizeof(tmp))
		return vt_err_set(err, -ENAMETOOLONG, "%s: path too long", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return vt_err_set(err, -errno, "%s: %s", path, strerror(errno));
	r = fchmod(fd, (mode_t)mode) < 0 ? -errno : 0;
	if (r == 0)
		r = fd_write_all(fd, data, len);
	if (r == 0 && fsync(fd) != 0)
		r = -errno;
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return vt_err_set(err, r, "%s: %s (writing %s)", path, strerror(-r), tmp);
	}
	if (rename(tmp, path) != 0) {
		r = -errno;
		unlink(tmp);
		return vt_err_set(err, r, "%s: rename: %s", path, strerror(-r));
	}
	/* the rename itself must reach the disk */
	snprintf(dir, sizeof(dir), "%s", path);
	int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int file_atomic_clean(const char *path)
{
	char dir[4096], base[4096];
	struct dirent *de;
	size_t bl;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	const char *b = basename(base);
	bl = strlen(b);
	d = opendir(dirname(dir));
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, b, bl) ||
		    strncmp(de->d_name + bl, ATOMIC_TMP, sizeof(ATOMIC_TMP) - 1) ||
		    strlen(de->d_name + bl + sizeof(ATOMIC_TMP) - 1) != ATOMIC_TMP_RAND)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	return n;
}
