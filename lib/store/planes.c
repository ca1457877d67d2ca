/* planes.c — integers split into byte planes (planes.h). */
#include "store/planes.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

void planes_u32_ref(const uint32_t *v, size_t n, uint32_t base, unsigned width, uint8_t *raw)
{
	width = width < 4 ? width : 4;
	for (unsigned j = 0; j < width; j++) {
		uint8_t *p = raw + j * n;
		for (size_t i = 0; i < n; i++)
			p[i] = (uint8_t)((uint32_t)(v[i] - base) >> (8 * j));
	}
}

void planes_u64_ref(const uint64_t *v, size_t n, uint64_t base, unsigned width, uint8_t *raw)
{
	width = width < 8 ? width : 8;
	for (unsigned j = 0; j < width; j++) {
		uint8_t *p = raw + j * n;
		for (size_t i = 0; i < n; i++)
			p[i] = (uint8_t)((v[i] - base) >> (8 * j));
	}
}

#ifdef __SSE2__

/* Byte j of each of 16 values lands in plane j: log2(element size) rounds
 * of byte interleaving gather the bytes of one plane, a last 64-bit
 * interleave joins the two halves of 8 values each. */

void planes_u32(const uint32_t *v, size_t n, uint32_t base, unsigned width, uint8_t *raw)
{
	const __m128i b = _mm_set1_epi32((int)base);
	size_t i = 0;

	width = width < 4 ? width : 4;
	for (; i + 16 <= n; i += 16) {
		__m128i a[4], t[4], u[4], w[4], p[4];
		for (int k = 0; k < 4; k++)
			a[k] = _mm_sub_epi32(_mm_loadu_si128((const __m128i *)(const void *)(v + i + 4 * k)), b);
		/* t0: values 0 and 4 byte by byte, then 1 and 5; t1: 2/6, 3/7 */
		t[0] = _mm_unpacklo_epi8(a[0], a[1]);
		t[1] = _mm_unpackhi_epi8(a[0], a[1]);
		t[2] = _mm_unpacklo_epi8(a[2], a[3]);
		t[3] = _mm_unpackhi_epi8(a[2], a[3]);
		/* u0: bytes 0..3 of values 0,2,4,6; u1: of 1,3,5,7 */
		u[0] = _mm_unpacklo_epi8(t[0], t[1]);
		u[1] = _mm_unpackhi_epi8(t[0], t[1]);
		u[2] = _mm_unpacklo_epi8(t[2], t[3]);
		u[3] = _mm_unpackhi_epi8(t[2], t[3]);
		/* w0: planes 0 and 1 of values 0..7; w1: planes 2, 3; w2, w3: 8..15 */
		w[0] = _mm_unpacklo_epi8(u[0], u[1]);
		w[1] = _mm_unpackhi_epi8(u[0], u[1]);
		w[2] = _mm_unpacklo_epi8(u[2], u[3]);
		w[3] = _mm_unpackhi_epi8(u[2], u[3]);
		p[0] = _mm_unpacklo_epi64(w[0], w[2]);
		p[1] = _mm_unpackhi_epi64(w[0], w[2]);
		p[2] = _mm_unpacklo_epi64(w[1], w[3]);
		p[3] = _mm_unpackhi_epi64(w[1], w[3]);
		for (unsigned j = 0; j < width; j++)
			_mm_storeu_si128((__m128i *)(void *)(raw + j * n + i), p[j]);
	}
	for (; i < n; i++)
		for (unsigned j = 0; j < width; j++)
			raw[j * n + i] = (uint8_t)((uint32_t)(v[i] - base) >> (8 * j));
}

void planes_u64(const uint64_t *v, size_t n, uint64_t base, unsigned width, uint8_t *raw)
{
	const __m128i b = _mm_set1_epi64x((long long)base);
	size_t i = 0;

	width = width < 8 ? width : 8;
	for (; i + 16 <= n; i += 16) {
		__m128i a[8], t[8], u[8], w[8];
		for (int k = 0; k < 8; k++)
			a[k] = _mm_sub_epi64(_mm_loadu_si128((const __m128i *)(const void *)(v + i + 2 * k)), b);
		/* t[2k]: values 4k and 4k+2 byte by byte; t[2k+1]: 4k+1, 4k+3 */
		for (int k = 0; k < 4; k++) {
			t[2 * k] = _mm_unpacklo_epi8(a[2 * k], a[2 * k + 1]);
			t[2 * k + 1] = _mm_unpackhi_epi8(a[2 * k], a[2 * k + 1]);
		}
		/* u[2k]: bytes 0..3 of values 4k..4k+3; u[2k+1]: bytes 4..7 */
		for (int k = 0; k < 4; k++) {
			u[2 * k] = _mm_unpacklo_epi8(t[2 * k], t[2 * k + 1]);
			u[2 * k + 1] = _mm_unpackhi_epi8(t[2 * k], t[2 * k + 1]);
		}
		/* w[4h + q]: planes 2q and 2q+1 of values 8h..8h+7 */
		for (int h = 0; h < 2; h++) {
			w[4 * h + 0] = _mm_unpacklo_epi32(u[4 * h], u[4 * h + 2]);
			w[4 * h + 1] = _mm_unpackhi_epi32(u[4 * h], u[4 * h + 2]);
			w[4 * h + 2] = _mm_unpacklo_epi32(u[4 * h + 1], u[4 * h + 3]);
			w[4 * h + 3] = _mm_unpackhi_epi32(u[4 * h + 1], u[4 * h + 3]);
		}
		for (unsigned q = 0; q < 4 && 2 * q < width; q++) {
			_mm_storeu_si128((__m128i *)(void *)(raw + 2 * q * n + i),
					 _mm_unpacklo_epi64(w[q], w[4 + q]));
			if (2 * q + 1 < width)
				_mm_storeu_si128((__m128i *)(void *)(raw + (2 * q + 1) * n + i),
						 _mm_unpackhi_epi64(w[q], w[4 + q]));
		}
	}
	for (; i < n; i++)
		for (unsigned j = 0; j < width; j++)
			raw[j * n + i] = (uint8_t)((v[i] - base) >> (8 * j));
}

#else

void planes_u32(const uint32_t *v, size_t n, uint32_t base, unsigned width, uint8_t *raw)
{
	planes_u32_ref(v, n, base, width, raw);
}

void planes_u64(const uint64_t *v, size_t n, uint64_t base, unsigned width, uint8_t *raw)
{
	planes_u64_ref(v, n, base, width, raw);
}

#endif
