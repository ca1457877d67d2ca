/* Unit tests: lib/nl/nlmsg — netlink message/attribute building and
 * bounds-checked parsing. */
#include "nl/nlmsg.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "core/compiler.h"
#include "vt_test.h"

#define B(s) (const uint8_t *)(s), sizeof(s) - 1

static uint32_t h32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}
static uint16_t h16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

/* Attribute encodings: header (len incl. 4-byte header, type) + payload
 * padded to 4 bytes. */
static void t_put_encodings(void)
{
	static const struct {
		const char *what;
		int kind;   /* 0 u8, 1 u16, 2 u32, 3 u64, 4 str, 5 flag, 6 be16, 7 s32 */
		uint64_t v;
		const char *s;
		const uint8_t *want;
		size_t wlen;
	} cases[] = {
		{ "u8", 0, 0xab, NULL, B("\x05\x00\x07\x00\xab\x00\x00\x00") },
		{ "u16", 1, 0x1234, NULL, B("\x06\x00\x07\x00\x34\x12\x00\x00") },
		{ "u32", 2, 0x01020304, NULL, B("\x08\x00\x07\x00\x04\x03\x02\x01") },
		{ "u64", 3, 0x0102030405060708ull, NULL,
		  B("\x0c\x00\x07\x00\x08\x07\x06\x05\x04\x03\x02\x01") },
		{ "str", 4, 0, "br0", B("\x08\x00\x07\x00" "br0\x00") },
		{ "str pad", 4, 0, "vp-vm1", B("\x0b\x00\x07\x00" "vp-vm1\x00\x00") },
		{ "empty str", 4, 0, "", B("\x05\x00\x07\x00\x00\x00\x00\x00") },
		{ "flag", 5, 0, NULL, B("\x04\x00\x07\x00") },
		{ "be16 port", 6, 4789, NULL, B("\x06\x00\x07\x00\x12\xb5\x00\x00") },
		{ "s32", 7, (uint64_t)-2, NULL, B("\x08\x00\x07\x00\xfe\xff\xff\xff") },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t buf[64];
		struct nlb b;
		int len;

		nlb_init(&b, buf, sizeof(buf), RTM_NEWLINK, 0);
		switch (cases[i].kind) {
		case 0: nla_put_u8(&b, 7, (uint8_t)cases[i].v); break;
		case 1: nla_put_u16(&b, 7, (uint16_t)cases[i].v); break;
		case 2: nla_put_u32(&b, 7, (uint32_t)cases[i].v); break;
		case 3: nla_put_u64(&b, 7, cases[i].v); break;
		case 4: nla_put_str(&b, 7, cases[i].s); break;
		case 5: nla_put_flag(&b, 7); break;
		case 6: nla_put_be16(&b, 7, (uint16_t)cases[i].v); break;
		case 7: nla_put_s32(&b, 7, (int32_t)cases[i].v); break;
		}
		len = nlb_finish(&b);
		vt_test_case = cases[i].what;
		CHECK_EQ(len, (int)(16 + cases[i].wlen));
		CHECK_EQ(h32(buf), len);
		CHECK_EQ(h16(buf + 4), RTM_NEWLINK);
		CHECK_EQ(h16(buf + 6), NLM_F_REQUEST);
		if (len == (int)(16 + cases[i].wlen))
			CHECK_MEM(buf + 16, cases[i].want, cases[i].wlen);
	}
	vt_test_case = "t_put_encodings";
}

static void t_nest_and_seq(void)
{
	uint8_t buf[128];
	struct nlb b;
	struct ifinfomsg ifi = { 0 };
	uint8_t *li, *data;
	int len;
	static const uint8_t want[] =
		"\x18\x00\x12\x00"          /* IFLA_LINKINFO, 24 bytes */
		"\x09\x00\x01\x00veth\x00\x00\x00\x00" /* IFLA_INFO_KIND */
		"\x08\x00\x02\x00"          /* IFLA_INFO_DATA, 8 bytes */
		"\x04\x00\x01\x00";         /* empty nested VETH_INFO_PEER */

	nlb_init(&b, buf, sizeof(buf), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	nlb_put_fam(&b, &ifi, sizeof(ifi));
	li = nla_nest_start(&b, IFLA_LINKINFO);
	nla_put_str(&b, IFLA_INFO_KIND, "veth");
	data = nla_nest_start(&b, IFLA_INFO_DATA);
	nla_nest_end(&b, nla_nest_start(&b, 1));
	nla_nest_end(&b, data);
	nla_nest_end(&b, li);
	len = nlb_finish(&b);
	CHECK_EQ(len, 16 + 16 + (int)sizeof(want) - 1);
	CHECK_MEM(buf + 32, want, sizeof(want) - 1);
	CHECK_EQ(h16(buf + 6), NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
	nlb_set_seq(&b, 77, 1234);
	CHECK_EQ(h32(buf + 8), 77);
	CHECK_EQ(h32(buf + 12), 1234);
}

/* Every way of building wrong fails cleanly and says how. */
static void t_build_errors(void)
{
	uint8_t buf[256];
	struct nlb b;
	uint8_t *n1, *n2;

	/* a nest left open */
	nlb_init(&b, buf, sizeof(buf), RTM_NEWLINK, 0);
	(void)nla_nest_start(&b, 1);
	CHECK_EQ(nlb_finish(&b), -EINVAL);
	/* closed out of order */
	nlb_init(&b, buf, sizeof(buf), RTM_NEWLINK, 0);
	n1 = nla_nest_start(&b, 1);
	n2 = nla_nest_start(&b, 2);
	nla_nest_end(&b, n1);
	(void)n2;
	CHECK_EQ(nlb_finish(&b), -EINVAL);
	/* nesting deeper than NLB_MAX_NEST */
	nlb_init(&b, buf, sizeof(buf), RTM_NEWLINK, 0);
	for (int i = 0; i <= NLB_MAX_NEST; i++)
		(void)nla_nest_start(&b, 1);
	CHECK_EQ(nlb_finish(&b), -EINVAL);
	/* a buffer smaller than the header */
	nlb_init(&b, buf, 8, RTM_NEWLINK, 0);
	CHECK_EQ(nlb_finish(&b), -EMSGSIZE);
	/* an attribute longer than a u16 length can say */
	nlb_init(&b, buf, sizeof(buf), RTM_NEWLINK, 0);
	nla_put(&b, 1, buf, 70000);
	CHECK_EQ(nlb_finish(&b), -EMSGSIZE);

	/* every capacity short of the full message fails with -EMSGSIZE and
	 * never writes past the capacity */
	for (size_t cap = 0; cap < 48; cap++) {
		uint8_t big[64];
		memset(big, 0xee, sizeof(big));
		nlb_init(&b, big, cap, RTM_NEWADDR, 0);
		nlb_put_fam(&b, "\x02\x18\x00\x00\x05\x00\x00\x00", 8);
		nla_put_u32(&b, 1, 0xc6120001);
		(void)nla_nest_start(&b, 9);
		nla_put_str(&b, 3, "eth0");
		nla_nest_end(&b, b.depth ? b.nest[b.depth - 1] : NULL);
		int r = nlb_finish(&b);
		vt_test_case = "t_build_errors/capacity";
		if (cap < 16 + 8 + 8 + 4 + 12)
			CHECK_EQ(r, -EMSGSIZE);
		else
			CHECK_EQ(r, 48);
		for (size_t k = cap; k < sizeof(big); k++)
			CHECK_EQ(big[k], 0xee);
	}
	vt_test_case = "t_build_errors";
}

/* Attribute streams, well-formed and not. */
static void t_parse_attrs(void)
{
	static const struct {
		const char *what;
		const uint8_t *in;
		size_t len;
		int want_rc;          /* count or -EBADMSG */
		uint16_t type;        /* an attribute to look at */
		uint16_t want_len;
		uint32_t want_u32;
	} cases[] = {
		{ "empty", B(""), 0, 0, 0, 0 },
		{ "one u32", B("\x08\x00\x04\x00\x2a\x00\x00\x00"), 1, 4, 4, 42 },
		{ "two, last wins", B("\x08\x00\x04\x00\x01\x00\x00\x00\x08\x00\x04\x00\x02\x00\x00\x00"),
		  2, 4, 4, 2 },
		{ "nested flag masked", B("\x08\x00\x04\x80\x07\x00\x00\x00"), 1, 4, 4, 7 },
		{ "above max skipped", B("\x08\x00\x20\x00\x01\x00\x00\x00\x05\x00\x04\x00\x09"),
		  2, 4, 1, 9 },
		{ "last without padding", B("\x08\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04\x00\x09"),
		  2, 4, 1, 9 },
		{ "zero-length payload", B("\x04\x00\x04\x00"), 1, 4, 0, 0 },
		{ "short header", B("\x08\x00"), -EBADMSG, 0, 0, 0 },
		{ "len < 4", B("\x03\x00\x04\x00\x00\x00\x00\x00"), -EBADMSG, 0, 0, 0 },
		{ "len past end", B("\x0c\x00\x04\x00\x01\x00\x00\x00"), -EBADMSG, 0, 0, 0 },
		{ "good then bad", B("\x08\x00\x04\x00\x01\x00\x00\x00\xff\xff\x01\x00"),
		  -EBADMSG, 0, 0, 0 },
		{ "zero length", B("\x00\x00\x04\x00"), -EBADMSG, 0, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct nla tb[8];
		int r = nla_parse(tb, 7, cases[i].in, cases[i].len);

		vt_test_case = cases[i].what;
		CHECK_EQ(r, cases[i].want_rc);
		if (r > 0 && cases[i].type) {
			CHECK(nla_present(&tb[cases[i].type]));
			CHECK_EQ(tb[cases[i].type].len, cases[i].want_len);
			if (cases[i].want_len == 4)
				CHECK_EQ(nla_u32(&tb[cases[i].type]), cases[i].want_u32);
			else
				CHECK_EQ(nla_u8(&tb[cases[i].type]), cases[i].want_u32);
		}
	}
	vt_test_case = "t_parse_attrs";
}

static void t_getters(void)
{
	/* a getter never reads past a short attribute */
	struct nla a = { (const uint8_t *)"\x01\x02", 2, 1 };
	char s[8];

	CHECK_EQ(nla_u32(&a), 0);
	CHECK_EQ(nla_u64(&a), 0);
	CHECK_EQ(nla_u16(&a), 0x0201);
	CHECK_EQ(nla_be16(&a), 0x0102);
	CHECK_EQ(nla_u8(&a), 1);
	a.data = NULL;
	CHECK_EQ(nla_u8(&a), 0);
	CHECK(!nla_present(&a));

	static const struct {
		const char *in;
		uint16_t len;
		size_t cap;
		int want_rc;
		const char *want;
	} st[] = {
		{ "eth0\0", 5, 8, 4, "eth0" },
		{ "eth0", 4, 8, 4, "eth0" },           /* no NUL: stops at the end */
		{ "a\0bc", 4, 8, 1, "a" },             /* stops at the first NUL */
		{ "vp-vm12345", 10, 8, -E2BIG, "vp-vm12" },
		{ "", 0, 8, 0, "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(st); i++) {
		struct nla x = { (const uint8_t *)st[i].in, st[i].len, 3 };
		CHECK_EQ(nla_strcpy(s, st[i].cap, &x), st[i].want_rc);
		CHECK_STR(s, st[i].want);
	}
}

static void t_iter(void)
{
	static const uint8_t in[] = "\x05\x00\x01\x00\x0a\x00\x00\x00\x05\x00\x01\x00\x0b\x00\x00\x00"
				    "\x06\x00\x02\x00\x0c\x0d\x00\x00";
	struct nla_iter it;
	struct nla a;
	int n = 0, sum = 0, r;

	nla_iter_init(&it, in, sizeof(in) - 1);
	while ((r = nla_iter_next(&it, &a)) == 1) {
		n++;
		sum += a.data[0];
	}
	CHECK_EQ(r, 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(sum, 0x0a + 0x0b + 0x0c);
	/* a malformed one stops the iteration for good */
	nla_iter_init(&it, in, 10);
	CHECK_EQ(nla_iter_next(&it, &a), 1);
	CHECK_EQ(nla_iter_next(&it, &a), -EBADMSG);
	CHECK_EQ(nla_iter_next(&it, &a), -EBADMSG);
	/* NULL buffer is an empty list */
	nla_iter_init(&it, NULL, 99);
	CHECK_EQ(nla_iter_next(&it, &a), 0);
}

static void t_messages(void)
{
	static const struct {
		const char *what;
		const uint8_t *in;
		size_t len;
		int want_msgs;   /* messages before the end or the error */
		int want_rc;     /* last nlmsg_next result */
		uint16_t last_type;
		size_t last_len;
	} cases[] = {
		{ "empty", B(""), 0, 0, 0, 0 },
		{ "one", B("\x14\x00\x00\x00\x03\x00\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00"
			    "\x00\x00\x00\x00"), 1, 0, NLMSG_DONE, 4 },
		{ "two, second unpadded",
		  B("\x15\x00\x00\x00\x10\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00" "abcde\x00\x00\x00"
		    "\x11\x00\x00\x00\x10\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00" "z"),
		  2, 0, RTM_NEWLINK, 1 },
		{ "short header", B("\x14\x00\x00\x00\x03\x00"), 0, -EBADMSG, 0, 0 },
		{ "len < header", B("\x08\x00\x00\x00\x03\x00\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00"),
		  0, -EBADMSG, 0, 0 },
		{ "len past end", B("\x40\x00\x00\x00\x03\x00\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00"),
		  0, -EBADMSG, 0, 0 },
		{ "huge len", B("\xff\xff\xff\xff\x03\x00\x02\x00\x01\x00\x00\x00\x00\x00\x00\x00"),
		  0, -EBADMSG, 0, 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct vt_rd r = rd_init(cases[i].in, cases[i].len);
		struct nlmsg m = { 0 };
		int n = 0, rc;

		vt_test_case = cases[i].what;
		while ((rc = nlmsg_next(&r, &m)) == 1) {
			n++;
			CHECK(m.payload + m.len <= cases[i].in + cases[i].len);
		}
		CHECK_EQ(n, cases[i].want_msgs);
		CHECK_EQ(rc, cases[i].want_rc);
		if (cases[i].want_msgs) {
			CHECK_EQ(m.type, cases[i].last_type);
			CHECK_EQ(m.len, cases[i].last_len);
		}
	}
	vt_test_case = "t_messages";
}

static void t_errors(void)
{
	static const struct {
		const char *what;
		uint16_t type, flags;
		const uint8_t *payload;
		size_t len;
		int want_rc, want_err;
		const char *want_msg;
	} cases[] = {
		{ "ack", NLMSG_ERROR, NLM_F_CAPPED,
		  B("\x00\x00\x00\x00" "\x24\x00\x00\x00\x10\x00\x05\x06\x07\x00\x00\x00\x63\x00\x00\x00"),
		  0, 0, "" },
		{ "EEXIST no TLVs", NLMSG_ERROR, NLM_F_CAPPED,
		  B("\xef\xff\xff\xff" "\x24\x00\x00\x00\x10\x00\x05\x06\x07\x00\x00\x00\x63\x00\x00\x00"),
		  0, -EEXIST, "" },
		{ "extack capped", NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS,
		  B("\xa1\xff\xff\xff" "\x28\x00\x00\x00\x10\x00\x05\x06\x07\x00\x00\x00\x63\x00\x00\x00"
		    "\x18\x00\x01\x00" "Unknown device type\x00"),
		  0, -95, "Unknown device type" },
		{ "extack full echo", NLMSG_ERROR, NLM_F_ACK_TLVS,
		  B("\xea\xff\xff\xff" "\x14\x00\x00\x00\x10\x00\x05\x06\x07\x00\x00\x00\x63\x00\x00\x00"
		    "\xaa\xbb\xcc\xdd" "\x08\x00\x01\x00" "bad\x00"),
		  0, -22, "bad" },
		{ "echo longer than payload", NLMSG_ERROR, NLM_F_ACK_TLVS,
		  B("\xea\xff\xff\xff" "\x40\x00\x00\x00\x10\x00\x05\x06\x07\x00\x00\x00\x63\x00\x00\x00"),
		  -EBADMSG, -22, "" },
		{ "done with extack", NLMSG_DONE, NLM_F_MULTI | NLM_F_ACK_TLVS,
		  B("\xf0\xff\xff\xff" "\x08\x00\x01\x00" "why\x00"), 0, -16, "why" },
		{ "short", NLMSG_ERROR, 0, B("\x00\x00"), -EBADMSG, 0, "" },
		{ "positive error", NLMSG_ERROR, 0, B("\x05\x00\x00\x00"), -EBADMSG, 5, "" },
		{ "bad TLVs", NLMSG_DONE, NLM_F_ACK_TLVS, B("\xf0\xff\xff\xff" "\x09\x00\x01\x00"),
		  -EBADMSG, -16, "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct nlmsg m = { cases[i].type, cases[i].flags, 7, 99, cases[i].payload, cases[i].len };
		char msg[64] = "junk";
		int err = 12345;
		int rc = nlmsg_error(&m, &err, msg, sizeof(msg));

		vt_test_case = cases[i].what;
		CHECK_EQ(rc, cases[i].want_rc);
		if (cases[i].want_rc == 0 || cases[i].want_err)
			CHECK_EQ(err, cases[i].want_err);
		CHECK_STR(msg, cases[i].want_msg);
	}
	vt_test_case = "t_errors";
}

VT_TEST_MAIN(VT_T(t_put_encodings), VT_T(t_nest_and_seq), VT_T(t_build_errors),
	     VT_T(t_parse_attrs), VT_T(t_getters), VT_T(t_iter), VT_T(t_messages),
	     VT_T(t_errors))
