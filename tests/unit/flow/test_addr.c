/* Unit tests: lib/flow/addr — addresses, prefixes, MACs, UUIDs. */
#include "flow/addr.h"

#include <errno.h>

#include "vt_test.h"

static void t_addr_roundtrip(void)
{
	static const struct { const char *in; bool v4; const char *out; } cases[] = {
		{ "198.18.0.1", true, "198.18.0.1" },
		{ "0.0.0.0", true, "0.0.0.0" },
		{ "2001:db8::1", false, "2001:db8::1" },
		{ "2001:0db8:0000:0000:0000:0000:0000:0001", false, "2001:db8::1" },
		{ "::ffff:10.0.0.1", true, "10.0.0.1" },
		{ "fe80::1:2", false, "fe80::1:2" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vt_addr a;
		char buf[VT_ADDRSTRLEN];
		CHECK_EQ(addr_parse(cases[i].in, &a), 0);
		CHECK_EQ(addr_is_v4(&a), cases[i].v4);
		CHECK_STR(addr_fmt(&a, buf, sizeof(buf)), cases[i].out);
	}
	struct vt_addr a;
	CHECK_EQ(addr_parse("198.18.0.256", &a), -EINVAL);
	CHECK_EQ(addr_parse("", &a), -EINVAL);
	CHECK_EQ(addr_parse("1.2.3.4/8", &a), -EINVAL);
	CHECK_EQ(addr_parse("198.18.1.2", &a), 0);
	CHECK_EQ_U64(addr_v4(&a), 0xc6120102u);
}

static void t_prefixes(void)
{
	static const struct { const char *net; const char *addr; bool in; } cases[] = {
		{ "198.18.0.0/15", "198.19.255.255", true },
		{ "198.18.0.0/15", "198.20.0.0", false },
		{ "198.18.0.0/15", "198.17.255.255", false },
		{ "198.18.1.7/24", "198.18.1.200", true },     /* host bits ignored */
		{ "10.0.0.0/8", "2001:db8::1", false },
		{ "0.0.0.0/0", "1.2.3.4", true },
		{ "0.0.0.0/0", "2001:db8::1", false },          /* v4 default is not ::/0 */
		{ "2001:db8::/32", "2001:db8:ffff::1", true },
		{ "2001:db8::/33", "2001:db8:8000::1", false },
		{ "::/0", "1.2.3.4", true },
		{ "198.18.0.9", "198.18.0.9", true },
		{ "198.18.0.9", "198.18.0.10", false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vt_addr net, a;
		unsigned plen;
		CHECK_EQ(prefix_parse(cases[i].net, &net, &plen), 0);
		CHECK_EQ(addr_parse(cases[i].addr, &a), 0);
		if (addr_in_prefix(&a, &net, plen) != cases[i].in)
			fprintf(stderr, "  case %s in %s\n", cases[i].addr, cases[i].net);
		CHECK_EQ(addr_in_prefix(&a, &net, plen), cases[i].in);
	}
	struct vt_addr n;
	unsigned p;
	CHECK_EQ(prefix_parse("10.0.0.0/33", &n, &p), -EINVAL);
	CHECK_EQ(prefix_parse("10.0.0.0/", &n, &p), -EINVAL);
	CHECK_EQ(prefix_parse("10.0.0.0/-1", &n, &p), -EINVAL);
	CHECK_EQ(prefix_parse("2001:db8::/129", &n, &p), -EINVAL);
	CHECK_EQ(prefix_parse("10.1.2.3/8", &n, &p), 0);
	CHECK_EQ(p, 104);
}

static void t_mac_uuid(void)
{
	uint8_t m[6], u[16], u2[16];
	char buf[64];

	CHECK_EQ(mac_parse("52:54:00:AB:cd:0f", m), 0);
	CHECK_STR(mac_fmt(m, buf, sizeof(buf)), "52:54:00:ab:cd:0f");
	CHECK_EQ(mac_parse("52:54:00:ab:cd", m), -EINVAL);
	CHECK_EQ(mac_parse("52:54:00:ab:cd:0f:11", m), -EINVAL);
	CHECK_EQ(mac_parse("52:54:00:ab:cd:0g", m), -EINVAL);
	CHECK_EQ(uuid_parse("6695eb01-f6a4-8304-79aa-97f2502e193f", u), 0);
	CHECK_EQ(u[0], 0x66);
	CHECK_EQ(u[15], 0x3f);
	CHECK_STR(uuid_fmt(u, buf, sizeof(buf)), "6695eb01-f6a4-8304-79aa-97f2502e193f");
	CHECK_EQ(uuid_parse("6695eb01f6a4830479aa97f2502e193f", u2), 0);
	CHECK_MEM(u, u2, 16);
	CHECK_EQ(uuid_parse("6695eb01-f6a4-8304-79aa-97f2502e193", u), -EINVAL);
	CHECK_EQ(uuid_parse("6695eb01f-6a4-8304-79aa-97f2502e193f", u), -EINVAL);
	CHECK_EQ(uuid_parse("zz95eb01-f6a4-8304-79aa-97f2502e193f", u), -EINVAL);
	CHECK(!uuid_is_nil(u2));
}

VT_TEST_MAIN(VT_T(t_addr_roundtrip), VT_T(t_prefixes), VT_T(t_mac_uuid))
