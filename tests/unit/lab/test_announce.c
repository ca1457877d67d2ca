/* Unit tests: lab/announce — gratuitous ARP and unsolicited NA frames,
 * byte for byte (the NA checksum was computed independently; tshark
 * decodes both frames in tests/integration/lab_migrate.sh). */
#include "lab/announce.h"

#include "core/compiler.h"
#include "vt_test.h"

static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x18, 0x00, 0x03 };

static void t_garp(void)
{
	static const uint8_t want[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0x00, 0x18, 0x00, 0x03, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
		0x52, 0x54, 0x00, 0x18, 0x00, 0x03, 198, 18, 1, 3,
		0, 0, 0, 0, 0, 0, 198, 18, 1, 3,
	};
	uint8_t buf[ANNOUNCE_FRAME_MAX];
	struct vt_addr a;

	addr_parse("198.18.1.3", &a);
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(announce_garp(buf, sizeof(buf), mac, &a), 60);
	CHECK_MEM(buf, want, sizeof(want));
	for (size_t i = 42; i < 60; i++)
		CHECK_EQ(buf[i], 0);
	CHECK_EQ(buf[60], 0xee);
	/* refused: too small a buffer, an IPv6 address */
	CHECK_EQ(announce_garp(buf, 59, mac, &a), 0);
	addr_parse("2001:db8::1", &a);
	CHECK_EQ(announce_garp(buf, sizeof(buf), mac, &a), 0);
}

static void t_una(void)
{
	static const uint8_t want[86] = {
		0x33, 0x33, 0x00, 0x00, 0x00, 0x01, 0x52, 0x54, 0x00, 0x18, 0x00, 0x03, 0x86, 0xdd,
		0x60, 0x00, 0x00, 0x00, 0x00, 32, 58, 255,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x18, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3,
		0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		136, 0, 0xa8, 0x86, 0x20, 0, 0, 0,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x18, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3,
		2, 1, 0x52, 0x54, 0x00, 0x18, 0x00, 0x03,
	};
	uint8_t buf[ANNOUNCE_FRAME_MAX];
	struct vt_addr a;

	addr_parse("2001:db8:18::1:3", &a);
	CHECK_EQ(announce_una(buf, sizeof(buf), mac, &a), 86);
	CHECK_MEM(buf, want, sizeof(want));
	CHECK_EQ(announce_una(buf, 85, mac, &a), 0);
	addr_parse("198.18.1.3", &a);
	CHECK_EQ(announce_una(buf, sizeof(buf), mac, &a), 0);
}

VT_TEST_MAIN(VT_T(t_garp), VT_T(t_una))
