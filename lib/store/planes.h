/* planes.h — integers split into byte planes, the store's integer column
 * encoding (docs/store.md): value - base, plane j holding byte j of every
 * value, so that the compressor sees runs of similar bytes.
 *
 * planes_u32/u64 transpose 16 values at a time with SSE2 where the
 * compiler targets it (x86-64 always does): one pass over the column for
 * all planes, instead of one pass per plane; planes_*_ref are the plain
 * loops, for other targets and for the tests. */
#ifndef VT_STORE_PLANES_H
#define VT_STORE_PLANES_H

#include <stddef.h>
#include <stdint.h>

/* planes_*() : writes planes 0..width-1 of v[i] - base (i < n) to raw,
 * plane j at raw + j * n. A width above the element's size is taken as
 * the element's size. */
void planes_u32(const uint32_t *v, size_t n, uint32_t base, unsigned width, uint8_t *raw);
void planes_u64(const uint64_t *v, size_t n, uint64_t base, unsigned width, uint8_t *raw);
void planes_u32_ref(const uint32_t *v, size_t n, uint32_t base, unsigned width, uint8_t *raw);
void planes_u64_ref(const uint64_t *v, size_t n, uint64_t base, unsigned width, uint8_t *raw);

#endif
