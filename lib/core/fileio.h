/* fileio.h — reading a whole input file the one way the project does:
 * configs, inventories, session and state files, template files. Bounded
 * (a file over <max> bytes is refused, never truncated), regular files
 * only (or standard input for "-" where the caller allows it), read up to
 * the size fstat reported (a file rewritten meanwhile yields what was
 * there, never more), every error naming the path. */
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

#endif
