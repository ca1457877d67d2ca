/* compiler.h — small portable helpers used across libvtap.
 * Nothing here allocates or has state; it only names compiler features. */
#ifndef VT_COMPILER_H
#define VT_COMPILER_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#define VT_PRINTF(fmt_idx, args_idx) __attribute__((format(printf, fmt_idx, args_idx)))
#define VT_UNUSED __attribute__((unused))
#define VT_NORETURN __attribute__((noreturn))
#define VT_WARN_UNUSED __attribute__((warn_unused_result))
#define VT_LIKELY(x) __builtin_expect(!!(x), 1)
#define VT_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define VT_FALLTHROUGH __attribute__((fallthrough))

/* VT_SIMD_CLONES: a hot loop the compiler vectorizes far better with the
 * instructions of later x86-64 levels (unsigned 32/64-bit min/max:
 * SSE4.1, AVX-512) is compiled once per level and picked at load time
 * (ifunc). GCC on x86-64 with ifunc (meson checks) only; elsewhere the
 * plain build. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
	defined(VTAP_HAVE_IFUNC) && !defined(VTAP_FUZZING)
#define VT_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "sse4.2", "default")))
#else
#define VT_SIMD_CLONES
#endif

/* vt_cpu_relax() : the body of a busy-wait loop (x86 PAUSE: yields the
 * core's pipeline to its sibling, eases the exit from the loop). */
static inline void vt_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#endif
#define VT_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VT_MAX(a, b) ((a) > (b) ? (a) : (b))

/* BUG_ON() guards invariants that, if broken, mean memory is already
 * corrupt: continuing would only hide the cause. It is not for input
 * validation — bad input is counted and skipped, never fatal. */
#define BUG_ON(cond)                                                          \
	do {                                                                  \
		if (VT_UNLIKELY(cond)) {                                      \
			fprintf(stderr, "BUG at %s:%d: %s\n", __FILE__,       \
				__LINE__, #cond);                             \
			abort();                                              \
		}                                                             \
	} while (0)

/* Free and clear, so a struct never keeps a dangling pointer. */
#define VT_FREE(p)            \
	do {                  \
		free(p);      \
		(p) = NULL;   \
	} while (0)

#endif
