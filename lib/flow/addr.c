/* addr.c — see addr.h. */
#include "flow/addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

const char *addr_fmt(const struct vt_addr *a, char *buf, size_t len)
{
	if (addr_is_v4(a)) {
		if (!inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len))
			snprintf(buf, len, "?");
	} else if (!inet_ntop(AF_INET6, a->b, buf, (socklen_t)len)) {
		snprintf(buf, len, "?");
	}
	return buf;
}

int addr_parse(const char *s, struct vt_addr *a)
{
	uint8_t b[16];

	if (inet_pton(AF_INET, s, b) == 1) {
		addr_set_v4(a, b);
		return 0;
	}
	if (inet_pton(AF_INET6, s, b) == 1) {
		addr_set_v6(a, b);
		return 0;
	}
	return -EINVAL;
}

int prefix_parse(const char *s, struct vt_addr *a, unsigned *plen)
{
	char tmp[VT_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long l;
	char *end;

	if (n >= VT_ADDRSTRLEN)
		return -EINVAL;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (addr_parse(tmp, a) < 0)
		return -EINVAL;
	bool v4 = addr_is_v4(a) && strchr(tmp, ':') == NULL;
	if (!slash) {
		*plen = 128;
		return 0;
	}
	if (!isdigit((unsigned char)slash[1]))
		return -EINVAL;
	l = strtoul(slash + 1, &end, 10);
	if (*end || l > (v4 ? 32u : 128u))
		return -EINVAL;
	*plen = (unsigned)l + (v4 ? 96u : 0u);
	/* clear host bits so the prefix compares as a network */
	for (unsigned i = *plen; i < 128; i++)
		a->b[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return 0;
}

bool addr_in_prefix(const struct vt_addr *a, const struct vt_addr *net, unsigned plen)
{
	unsigned full = plen / 8, rest = plen % 8;

	if (plen > 128)
		return false;
	if (memcmp(a->b, net->b, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff00u >> rest);
		return (a->b[full] & mask) == (net->b[full] & mask);
	}
	return true;
}

const char *mac_fmt(const uint8_t mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	return buf;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

int mac_parse(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5) {
			if (*s != ':' && *s != '-')
				return -EINVAL;
			s++;
		}
	}
	return *s ? -EINVAL : 0;
}

const char *uuid_fmt(const uint8_t u[16], char *buf, size_t len)
{
	snprintf(buf, len,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
		 u[11], u[12], u[13], u[14], u[15]);
	return buf;
}

int uuid_parse(const char *s, uint8_t u[16])
{
	size_t len = strlen(s);
	bool dashed = len == 36;

	if (len != 36 && len != 32)
		return -EINVAL;
	for (size_t i = 0, n = 0; i < len; n++) {
		if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s[i] != '-')
				return -EINVAL;
			i++;
		}
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		u[n] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}
