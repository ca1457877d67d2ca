/* Unit tests: lib/store/planes — the transposed byte planes equal the
 * plain loops' for every width, lengths around the 16-value steps and
 * values that borrow across bytes. */
#include "store/planes.h"

#include <stdlib.h>
#include <string.h>

#include "vt_test.h"

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* What the transposition wrote (a, filled with 0xa5 before) equals what
 * the plain loops wrote (b), and nothing past the planes asked for. */
static void check_planes(const uint8_t *a, const uint8_t *b, size_t n, unsigned w)
{
	CHECK_MEM(a, b, n * w);
	if (n)
		CHECK_EQ(a[n * w], 0xa5);
}

static void t_planes_equal_ref(void)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 31, 32, 33, 1000, 65536 };
	size_t max = 65536, room = max * 8 + 1;
	uint32_t *v32 = malloc(max * sizeof(*v32));
	uint64_t *v64 = malloc(max * sizeof(*v64));
	uint8_t *a = malloc(room), *b = malloc(room);
	uint64_t s = 0x9e3779b97f4a7c15ull;

	CHECK(v32 && v64 && a && b);
	for (size_t i = 0; i < max; i++) {
		v64[i] = rnd(&s);
		v32[i] = (uint32_t)rnd(&s);
	}
	for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
		size_t n = lens[l];
		for (unsigned w = 1; w <= 8; w++) {
			/* a base above some values: the subtraction wraps, as the
			 * encoder never does but the planes must still agree */
			memset(a, 0xa5, room);
			memset(b, 0x5a, room);
			planes_u64(v64, n, n ? v64[n / 2] : 0, w, a);
			planes_u64_ref(v64, n, n ? v64[n / 2] : 0, w, b);
			check_planes(a, b, n, w);
			if (w > 4)
				continue;
			memset(a, 0xa5, room);
			memset(b, 0x5a, room);
			planes_u32(v32, n, n ? v32[n / 3] : 0, w, a);
			planes_u32_ref(v32, n, n ? v32[n / 3] : 0, w, b);
			check_planes(a, b, n, w);
		}
	}
	free(v32);
	free(v64);
	free(a);
	free(b);
}

VT_TEST_MAIN(VT_T(t_planes_equal_ref))
