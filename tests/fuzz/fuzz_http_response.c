/* Fuzz target: lib/http response parsing — what the vtap CLI reads back
 * from a daemon (or from whatever answers on that port): the response
 * head and the chunked-body decoder. The decoder must give the same
 * payload, the same end and the same verdict whether the bytes arrive at
 * once or in pieces. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_msg.h"

#define TRAP(c)                           \
	do {                              \
		if (!(c))                 \
			__builtin_trap(); \
	} while (0)

struct run {
	int verdict;        /* 1 done, 0 more needed, -1 error */
	size_t out, consumed;
	uint64_t total;
};

/* Decodes <in> in pieces of <step> (0: whole); payload into <out>. */
static struct run decode(const char *in, size_t len, size_t step, char *out)
{
	struct http_chunked c;
	struct run r = { 0, 0, 0, 0 };
	char *tmp = malloc(len + 1);

	http_chunked_init(&c);
	while (tmp && r.consumed < len && !c.done) {
		size_t n = step ? step : len - r.consumed, o;
		if (n > len - r.consumed)
			n = len - r.consumed;
		memcpy(tmp, in + r.consumed, n);
		ssize_t u = http_chunked_decode(&c, tmp, n, &o);
		if (u < 0) {
			r.verdict = -1;
			break;
		}
		TRAP((size_t)u <= n && o <= (size_t)u);
		memcpy(out + r.out, tmp, o);
		r.out += o;
		r.consumed += (size_t)u;
		if ((size_t)u < n)
			TRAP(c.done);
	}
	if (r.verdict == 0 && c.done)
		r.verdict = 1;
	r.total = c.total;
	free(tmp);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct http_resphead h;
	ssize_t hl = http_resphead_parse(&h, in, size, 4096);
	char *o1, *o2;

	TRAP(hl <= (ssize_t)size);
	if (hl > 0) {
		TRAP(h.status >= 100 && h.status <= 999 && h.minor <= 1);
		TRAP(!(h.chunked && h.has_length));
		TRAP(strlen(h.reason) < sizeof(h.reason) && strlen(h.content_type) < sizeof(h.content_type));
	}
	/* the body after the head (or the whole input) as chunked */
	if (hl > 0) {
		in += hl;
		size -= (size_t)hl;
	}
	o1 = malloc(size + 1);
	o2 = malloc(size + 1);
	if (o1 && o2) {
		struct run a = decode(in, size, 0, o1);
		for (size_t step = 1; step <= 7; step += 6) {
			struct run b = decode(in, size, step, o2);
			TRAP(a.verdict == b.verdict);
			if (a.verdict >= 0) {
				TRAP(a.out == b.out && a.total == a.out && a.consumed == b.consumed);
				TRAP(memcmp(o1, o2, a.out) == 0);
			}
		}
	}
	free(o1);
	free(o2);
	return 0;
}
