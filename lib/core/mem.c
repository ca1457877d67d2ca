/* mem.c — memory mapped ahead of use (mem.h). */
#include "core/mem.h"

#include <stdint.h>
#include <unistd.h>

void vt_touch_pages(void *p, size_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t step = pg > 0 ? (size_t)pg : 4096;
	volatile uint8_t *b = p;

	if (!len)
		return;
	for (size_t off = 0; off < len; off += step)
		b[off] = 0;
	b[len - 1] = 0;
}
