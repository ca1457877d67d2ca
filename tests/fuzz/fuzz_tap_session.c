/* Fuzz target: tap session definitions (src/agent/tap/tap_session.c), read
 * from files and, later, the agent's control API. Whatever parses must write
 * back to JSON that parses again to the same JSON, and compile into map
 * entries without touching memory it should not. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../src/agent/tap/tap_session.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tap_session_def *v = NULL, *w = NULL;
	struct vt_err err = { 0 };
	int n = tap_sessions_parse((const char *)data, size, &v, &err);

	if (n < 0) {
		if (!err.msg[0])
			__builtin_trap();   /* every refusal says why */
		return 0;
	}
	for (int i = 0; i < n; i++) {
		struct vbuf a, b;
		struct jw ja, jb;
		struct tap_session ks;
		struct tap_rule kr[TAP_MAX_RULES];
		struct vm_ident vm = { .name = "vm1" };

		tap_session_compile(&v[i], &ks, kr);
		(void)tap_session_targets(&v[i], &vm);
		vbuf_init(&a, 1 << 20);
		vbuf_init(&b, 1 << 20);
		jw_init(&ja, &a, false);
		tap_session_to_json(&ja, NULL, &v[i]);
		if (!ja.err) {
			if (tap_sessions_parse((const char *)a.data, a.len, &w, &err) != 1)
				__builtin_trap();
			jw_init(&jb, &b, false);
			tap_session_to_json(&jb, NULL, &w[0]);
			if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
				__builtin_trap();
			tap_sessions_free(w, 1);
			w = NULL;
		}
		vbuf_free(&a);
		vbuf_free(&b);
	}
	tap_sessions_free(v, (size_t)n);
	return 0;
}
