/* ranges.c — see ranges.h. Loops without a call or an early exit, so
 * that they vectorize. */
#include "store/ranges.h"

#include <string.h>

#include "core/be.h"
#include "core/compiler.h"

/* one loop per type: a switch per element costs an indirect jump per
 * value */
#define RANGE_FN(T, sfx)                                                       \
	VT_SIMD_CLONES                                                         \
	void range_##sfx(const T *v, size_t n, uint64_t *mn, uint64_t *mx)     \
	{                                                                      \
		T lo = v[0], hi = v[0];                                        \
		for (size_t i = 1; i < n; i++) {                               \
			lo = v[i] < lo ? v[i] : lo;                            \
			hi = v[i] > hi ? v[i] : hi;                            \
		}                                                              \
		*mn = lo;                                                      \
		*mx = hi;                                                      \
	}
RANGE_FN(uint8_t, u8)
RANGE_FN(uint16_t, u16)
RANGE_FN(uint32_t, u32)
RANGE_FN(uint64_t, u64)

/* The IPv4-mapped prefix (::ffff:0:0/96) as the native word of its last
 * four bytes, the high half being zero. */
static uint32_t v4_prefix_word(void)
{
	static const uint8_t p[4] = { 0, 0, 0xff, 0xff };
	return ld_le32(p);
}

VT_SIMD_CLONES
static enum addr_col v4_range(const uint8_t *v, size_t n, uint32_t pfx, uint32_t *low,
			      uint32_t *mn, uint32_t *mx)
{
	uint64_t other = 0, any = 0;
	uint32_t lo = UINT32_MAX, hi = 0;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *a = v + 16 * i;
		uint64_t h;
		uint32_t m, x;
		memcpy(&h, a, 8);
		memcpy(&m, a + 8, 4);
		x = ld_be32(a + 12);
		other |= h | (m ^ pfx);
		any |= h | m | x;
		low[i] = __builtin_bswap32(x);
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
	}
	*mn = lo;
	*mx = hi;
	return !any ? ADDR_ZERO : !other ? ADDR_V4 : ADDR_OTHER;
}

enum addr_col addr_v4_range(const uint8_t *v, size_t n, uint32_t *low, uint32_t *mn,
			    uint32_t *mx)
{
	return v4_range(v, n, v4_prefix_word(), low, mn, mx);
}
