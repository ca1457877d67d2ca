/* ranges.h — the range of a column's values in one pass: what the block
 * encoder needs for frame-of-reference coding and block summaries, and
 * what a batch's summaries (cols.h) keep while rows are appended.
 *
 * The loops are compiled once per x86-64 level and picked at load time
 * (VT_SIMD_CLONES): SSE2 has no unsigned 32/64-bit min/max, AVX-512 does;
 * 4-5x on 65536 values. */
#ifndef VT_STORE_RANGES_H
#define VT_STORE_RANGES_H

#include <stddef.h>
#include <stdint.h>

/* range_*() : min and max of v[0, n), n >= 1. */
void range_u8(const uint8_t *v, size_t n, uint64_t *mn, uint64_t *mx);
void range_u16(const uint16_t *v, size_t n, uint64_t *mn, uint64_t *mx);
void range_u32(const uint32_t *v, size_t n, uint64_t *mn, uint64_t *mx);
void range_u64(const uint64_t *v, size_t n, uint64_t *mn, uint64_t *mx);

/* What an address column holds: every address IPv4-mapped, every one
 * zero (an absent next hop), or anything else. */
enum addr_col { ADDR_OTHER, ADDR_V4, ADDR_ZERO };

/* addr_v4_range() : for the n 16-byte addresses at <v>, what they are and,
 * over their last four bytes as big-endian numbers (which orders
 * IPv4-mapped addresses as memcmp does), the range into mn/mx and the
 * words themselves into low[0, n) (byte j of low[i] is byte 12 + j of
 * address i, as planes_u32() takes it). With ADDR_OTHER, low and the
 * range mean nothing: the caller takes the general path. */
enum addr_col addr_v4_range(const uint8_t *v, size_t n, uint32_t *low, uint32_t *mn,
			    uint32_t *mx);

#endif
