/* fileio.h — reading a whole input file the one way the project does:
 * configs, inventories, session and state files, template files. Bounded
 * (a file over <max> bytes is refused, never truncated), regular files
 * only (or standard input for "-" where the caller allows it), read up to
 * the size fstat reported (a file rewritten meanwhile yields what was
 * there, never more), every error naming the path. And writing a state
 * file whole: a crash or power loss leaves the old file or the new one,
 * never a mix. */
#ifndef VT_FILEIO_H
#define VT_FILEIO_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/err.h"

/* file_read_all() : the contents of <path> into <out>, which it
 * initialises (the caller frees it with vbuf_free() in every case;
 * vbuf_str() gives it NUL-terminated). 0, or a negative errno with
 * "<path>: reason" in <err>: -EFBIG over <max> bytes, -EINVAL for
 * something that is not a regular file. */
int file_read_all(const char *path, size_t max, bool allow_stdin, struct vbuf *out,
		  struct vt_err *err);

/* fd_write_all() : writes all <n> bytes (again after a short write or
 * EINTR). 0 or -errno. */
int fd_write_all(int fd, const void *buf, size_t n);

/* file_write_atomic() : replaces <path> with <len> bytes of <data> (file
 * mode <mode>): written to a temporary file of its own in the same
 * directory (several threads may save one path at once), fsynced,
 * renamed over <path>, the directory fsynced. 0, or a negative errno with
 * "<path>: reason" in <err>; on failure <path> is untouched and no
 * temporary file is left. */
int file_write_atomic(const char *path, const void *data, size_t len, unsigned mode,
		      struct vt_err *err);
/* file_atomic_clean() : removes the temporary files file_write_atomic()
 * left for <path> when the process died between writing one and renaming
 * it (<path>.tmp.XXXXXX in its directory). Call it before the first save
 * of <path> (at start), not while one may be in progress. The number
 * removed, or a negative errno when the directory cannot be read (a
 * missing directory holds none: 0). */
int file_atomic_clean(const char *path);

#endif
