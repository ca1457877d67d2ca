/* vt_test.h — a minimal table-friendly unit test harness.
 *
 * Each test binary lists its cases with VT_TEST_MAIN(case1, case2, ...).
 * CHECK*() records a failure with file:line and continues, so one run shows
 * every broken expectation. The binary prints TAP lines and exits 1 when any
 * case failed. */
#ifndef VT_TEST_H
#define VT_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int vt_test_failures;
static const char *vt_test_case;

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "  %s:%d: %s: CHECK(%s) failed\n",     \
				__FILE__, __LINE__, vt_test_case, #cond);      \
			vt_test_failures++;                                    \
		}                                                              \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);            \
		if (a_ != b_) {                                                \
			fprintf(stderr, "  %s:%d: %s: %s == %lld, want %s == %lld\n", \
				__FILE__, __LINE__, vt_test_case, #a, a_, #b, b_); \
			vt_test_failures++;                                    \
		}                                                              \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                     \
	do {                                                                   \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);               \
		if (a_ != b_) {                                                \
			fprintf(stderr, "  %s:%d: %s: %s == %" PRIu64 ", want %" PRIu64 "\n", \
				__FILE__, __LINE__, vt_test_case, #a, a_, b_); \
			vt_test_failures++;                                    \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                       \
			fprintf(stderr, "  %s:%d: %s: %s == \"%s\", want \"%s\"\n", \
				__FILE__, __LINE__, vt_test_case, #a,          \
				a_ ? a_ : "(null)", b_ ? b_ : "(null)");       \
			vt_test_failures++;                                    \
		}                                                              \
	} while (0)

#define CHECK_MEM(a, b, n)                                                     \
	do {                                                                   \
		if (memcmp((a), (b), (n)) != 0) {                              \
			fprintf(stderr, "  %s:%d: %s: memory %s != %s (%zu bytes)\n", \
				__FILE__, __LINE__, vt_test_case, #a, #b, (size_t)(n)); \
			vt_test_failures++;                                    \
		}                                                              \
	} while (0)

/* CHECK_CONTAINS(haystack, needle) */
#define CHECK_CONTAINS(h, n)                                                   \
	do {                                                                   \
		const char *h_ = (h), *n_ = (n);                               \
		if (!h_ || !strstr(h_, n_)) {                                  \
			fprintf(stderr, "  %s:%d: %s: \"%s\" does not contain \"%s\"\n", \
				__FILE__, __LINE__, vt_test_case, h_ ? h_ : "(null)", n_); \
			vt_test_failures++;                                    \
		}                                                              \
	} while (0)

/* vt_corpus() : the path of <rel> inside the shared capture corpus
 * ($VTAP_CORPUS, set by scripts/test.sh). Aborts the test binary when the
 * corpus is missing: a test that needs it must not silently pass. */
static inline const char *vt_corpus(const char *rel)
{
	static char path[4096];
	const char *base = getenv("VTAP_CORPUS");

	if (!base || !*base) {
		fprintf(stderr, "VTAP_CORPUS is not set (run through scripts/test.sh)\n");
		exit(2);
	}
	snprintf(path, sizeof(path), "%s/%s", base, rel);
	return path;
}

typedef void (*vt_test_fn)(void);
struct vt_test_def {
	const char *name;
	vt_test_fn fn;
};

#define VT_T(fn) { #fn, fn }

static inline int vt_test_run(const struct vt_test_def *t, size_t n)
{
	int failed_cases = 0;

	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		int before = vt_test_failures;
		vt_test_case = t[i].name;
		t[i].fn();
		if (vt_test_failures != before) {
			failed_cases++;
			printf("not ok %zu - %s\n", i + 1, t[i].name);
		} else {
			printf("ok %zu - %s\n", i + 1, t[i].name);
		}
	}
	fflush(stdout);
	return failed_cases ? 1 : 0;
}

#define VT_TEST_MAIN(...)                                                      \
	int main(void)                                                         \
	{                                                                      \
		static const struct vt_test_def tests_[] = { __VA_ARGS__ };    \
		return vt_test_run(tests_, sizeof(tests_) / sizeof(tests_[0])); \
	}

#endif
