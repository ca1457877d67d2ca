/* buf.h — bounded growable byte buffers.
 *
 * Every buffer has a hard ceiling <max> fixed at init: appending past it
 * fails with -ENOSPC and leaves the buffer unchanged, so a peer that sends
 * an endless header or an endless JSON body costs at most <max> bytes. */
#ifndef VT_BUF_H
#define VT_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include "core/compiler.h"

struct vbuf {
	uint8_t *data;  /* owned; NUL-terminated when len < cap */
	size_t len;
	size_t cap;
	size_t max;     /* hard ceiling on len */
};

/* vbuf_init() : an empty buffer that may grow to <max> bytes. No
 * allocation happens until the first append. */
void vbuf_init(struct vbuf *b, size_t max);
/* vbuf_free() : releases the storage; the buffer is empty and reusable. */
void vbuf_free(struct vbuf *b);
/* vbuf_reset() : len = 0, storage kept. */
void vbuf_reset(struct vbuf *b);
/* vbuf_reserve() : ensures room for <n> more bytes; -ENOSPC past max,
 * -ENOMEM on allocation failure. */
int vbuf_reserve(struct vbuf *b, size_t n) VT_WARN_UNUSED;
int vbuf_add(struct vbuf *b, const void *p, size_t n);
int vbuf_addc(struct vbuf *b, char c);
int vbuf_adds(struct vbuf *b, const char *s);
int vbuf_printf(struct vbuf *b, const char *fmt, ...) VT_PRINTF(2, 3);
int vbuf_vprintf(struct vbuf *b, const char *fmt, va_list ap) VT_PRINTF(2, 0);
/* vbuf_consume() : drops the first <n> bytes (n <= len). */
void vbuf_consume(struct vbuf *b, size_t n);
/* vbuf_str() : the content as a NUL-terminated string ("" when empty). The
 * pointer is valid until the next change to <b>. */
const char *vbuf_str(const struct vbuf *b);
/* vbuf_steal() : hands the storage to the caller (who frees it); the
 * buffer is left empty. Returns NULL for an empty buffer. */
char *vbuf_steal(struct vbuf *b);

#endif
