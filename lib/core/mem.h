/* mem.h — memory mapped ahead of use.
 *
 * A page of fresh anonymous memory is mapped by the kernel at its first
 * write: on this project's virtual machines about 1.6 us each (a 64 MiB
 * area, 4 KiB pages), against 0.2 us to write the page once mapped. A
 * socket reader that fills fresh buffers pays that while its socket
 * fills; buffers it will need are therefore mapped at start. */
#ifndef VT_CORE_MEM_H
#define VT_CORE_MEM_H

#include <stddef.h>

/* vt_touch_pages() : writes one byte in every page of [p, p + len) (a
 * zero, so use it on memory whose content does not matter yet). */
void vt_touch_pages(void *p, size_t len);

#endif
