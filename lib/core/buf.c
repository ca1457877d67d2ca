/* buf.c — see buf.h. */
#include "core/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vbuf_init(struct vbuf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void vbuf_free(struct vbuf *b)
{
	VT_FREE(b->data);
	b->len = 0;
	b->cap = 0;
}

void vbuf_reset(struct vbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

int vbuf_reserve(struct vbuf *b, size_t n)
{
	size_t need, ncap;
	uint8_t *p;

	if (n > b->max || b->len > b->max - n)
		return -ENOSPC;
	need = b->len + n + 1; /* room for the terminating NUL */
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if (ncap > PTRDIFF_MAX)   /* no allocation can be larger */
		return -ENOMEM;
	p = realloc(b->data, ncap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = ncap;
	b->data[b->len] = 0; /* vbuf_str() is valid even right after a reserve */
	return 0;
}

int vbuf_add(struct vbuf *b, const void *p, size_t n)
{
	int r = vbuf_reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int vbuf_addc(struct vbuf *b, char c)
{
	return vbuf_add(b, &c, 1);
}

int vbuf_adds(struct vbuf *b, const char *s)
{
	return vbuf_add(b, s, strlen(s));
}

int vbuf_vprintf(struct vbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, r;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return -EINVAL;
	r = vbuf_reserve(b, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int vbuf_printf(struct vbuf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vbuf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void vbuf_consume(struct vbuf *b, size_t n)
{
	BUG_ON(n > b->len);
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	if (b->data)
		b->data[b->len] = 0;
}

const char *vbuf_str(const struct vbuf *b)
{
	return b->data ? (const char *)b->data : "";
}

char *vbuf_steal(struct vbuf *b)
{
	char *p = (char *)b->data;

	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}
