/* hash.h — fast non-cryptographic hashing for fixed-size keys (flow keys,
 * template keys). Tables that face remote input seed it per process so an
 * exporter cannot aim collisions at one bucket. */
#ifndef VT_HASH_H
#define VT_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t vt_mix64(uint64_t a, uint64_t b)
{
	__uint128_t r = (__uint128_t)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* vt_hash() : 64-bit hash of <n> bytes. */
static inline uint64_t vt_hash(const void *key, size_t n, uint64_t seed)
{
	const uint8_t *p = key;
	uint64_t h = seed ^ 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);

	while (n >= 16) {
		uint64_t a, b;
		memcpy(&a, p, 8);
		memcpy(&b, p + 8, 8);
		h = vt_mix64(a ^ 0xa0761d6478bd642full ^ h, b ^ 0xe7037ed1a0b428dbull);
		p += 16;
		n -= 16;
	}
	if (n) {
		uint64_t a = 0, b = 0;
		if (n > 8) {
			memcpy(&a, p, 8);
			memcpy(&b, p + 8, n - 8);
		} else {
			memcpy(&a, p, n);
		}
		h = vt_mix64(a ^ 0xa0761d6478bd642full ^ h, b ^ 0xe7037ed1a0b428dbull);
	}
	return vt_mix64(h ^ 0x8ebc6af09c88c6e3ull, 0x589965cc75374cc3ull);
}

/* vt_hash_seed() : a per-process random seed (getrandom). */
uint64_t vt_hash_seed(void);

#endif
