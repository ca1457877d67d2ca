/* err.h — error conventions for libvtap.
 *
 *  - Functions return 0 (or a count) on success and a negative errno on
 *    failure. Constructors return NULL with errno set. Destructors accept
 *    NULL.
 *  - Where a caller needs to tell a user *what* was wrong (a config key, an
 *    option, a file offset), the function also fills a struct vt_err with a
 *    one-line message naming the culprit.
 *  - Protocol and packet errors are not errnos: each parser has its own
 *    enum of reasons with a counter per reason and a name for the API. */
#ifndef VT_ERR_H
#define VT_ERR_H

#include <errno.h>
#include <stddef.h>
#include "core/compiler.h"

#define VT_ERR_MSG_MAX 512

struct vt_err {
	int code;                   /* negative errno, 0 when no error */
	char msg[VT_ERR_MSG_MAX];   /* human-readable, names the culprit */
};

/* vt_err_set() : records <code> and a formatted message in <e> (which may
 * be NULL) and returns <code>, so callers can `return vt_err_set(...)`. */
int vt_err_set(struct vt_err *e, int code, const char *fmt, ...) VT_PRINTF(3, 4);
void vt_err_clear(struct vt_err *e);

#endif
