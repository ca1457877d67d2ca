/* err.c — see err.h. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>

int vt_err_set(struct vt_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void vt_err_clear(struct vt_err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}
