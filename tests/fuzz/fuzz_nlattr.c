/* Fuzz target: lib/nl parsers — netlink datagrams as the kernel sends
 * them (messages, attributes, nested attributes), the link/address/route
 * decoders and the error/extended-ACK decoder. Seeds are real kernel
 * dumps (seeds/fuzz_nlattr/). Property: any attribute list that parses
 * re-encodes through the builder into a list that parses the same. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nl/link.h"
#include "nl/nlmsg.h"
#include "nl/route.h"

static void walk(const uint8_t *p, size_t len, int depth)
{
	struct nla_iter it;
	struct nla a;
	uint8_t buf[8192];
	struct nlb b;
	int n = 0, r;

	if (depth > 4)
		return;
	nla_iter_init(&it, p, len);
	nlb_init(&b, buf, sizeof(buf), 16, 0);
	while ((r = nla_iter_next(&it, &a)) == 1) {
		n++;
		/* every payload stays inside the input */
		if (a.data < p || a.data + a.len > p + len)
			__builtin_trap();
		nla_put(&b, a.type, a.data, a.len);
		walk(a.data, a.len, depth + 1);
	}
	if (r == 0) {
		int blen = nlb_finish(&b);
		if (blen >= 16) {
			struct nla tb[64];
			int m = nla_parse(tb, 63, buf + 16, (size_t)blen - 16);
			if (m != n)
				__builtin_trap(); /* our own encoding must parse back */
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_rd r = rd_init(data, size);
	struct nlmsg m;

	while (nlmsg_next(&r, &m) == 1) {
		struct nl_link_info li;
		struct nl_addr_info ai;
		struct nl_route_info ri;
		char msg[128];
		int err;

		(void)nl_link_parse(&m, &li);
		(void)nl_addr_parse(&m, &ai);
		(void)nl_route_parse(&m, &ri);
		(void)nlmsg_error(&m, &err, msg, sizeof(msg));
		if (m.len >= 16)
			walk(m.payload + 16, m.len - 16, 0);
		walk(m.payload, m.len, 0);
	}
	return 0;
}
