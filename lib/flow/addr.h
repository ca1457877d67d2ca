/* addr.h — one address type for IPv4 and IPv6 everywhere in vtap.
 *
 * IPv4 is held as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), so flow
 * keys, store columns and filters have one fixed width and one compare. */
#ifndef VT_ADDR_H
#define VT_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct vt_addr {
	uint8_t b[16];
};

#define VT_ADDRSTRLEN 46

static inline bool addr_is_v4(const struct vt_addr *a)
{
	static const uint8_t pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	return memcmp(a->b, pfx, 12) == 0;
}
/* addr_set_v4() : from 4 bytes in network order. */
static inline void addr_set_v4(struct vt_addr *a, const uint8_t v4[4])
{
	memset(a->b, 0, 10);
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	memcpy(a->b + 12, v4, 4);
}
static inline void addr_set_v6(struct vt_addr *a, const uint8_t v6[16])
{
	memcpy(a->b, v6, 16);
}
/* addr_v4() : the IPv4 address in host order (only if addr_is_v4). */
static inline uint32_t addr_v4(const struct vt_addr *a)
{
	return (uint32_t)a->b[12] << 24 | (uint32_t)a->b[13] << 16 |
	       (uint32_t)a->b[14] << 8 | a->b[15];
}
static inline int addr_cmp(const struct vt_addr *a, const struct vt_addr *b)
{
	return memcmp(a->b, b->b, 16);
}
static inline bool addr_is_zero(const struct vt_addr *a)
{
	static const uint8_t z[16];
	return memcmp(a->b, z, 16) == 0;
}

/* addr_fmt() : dotted quad for IPv4, RFC 5952 for IPv6; returns <buf>. */
const char *addr_fmt(const struct vt_addr *a, char *buf, size_t len);
/* addr_parse() : "198.18.0.1" or "2001:db8::1". 0 or -EINVAL. */
int addr_parse(const char *s, struct vt_addr *a);
/* prefix_parse() : "198.18.0.0/15", "2001:db8::/32" or a bare address
 * (full length). <plen> is counted on the 128-bit form (IPv4 /15 -> 111). */
int prefix_parse(const char *s, struct vt_addr *a, unsigned *plen);
/* addr_in_prefix() : whether <a> lies in <net>/<plen> (128-bit form). */
bool addr_in_prefix(const struct vt_addr *a, const struct vt_addr *net, unsigned plen);

/* MAC addresses: 6 bytes, "52:54:00:12:34:56". */
#define VT_MACSTRLEN 18
const char *mac_fmt(const uint8_t mac[6], char *buf, size_t len);
int mac_parse(const char *s, uint8_t mac[6]);

/* UUIDs: 16 bytes in RFC 4122 byte order, "6695eb01-f6a4-8304-79aa-97f2502e193f". */
#define VT_UUIDSTRLEN 37
const char *uuid_fmt(const uint8_t uuid[16], char *buf, size_t len);
int uuid_parse(const char *s, uint8_t uuid[16]);
static inline bool uuid_is_nil(const uint8_t uuid[16])
{
	static const uint8_t z[16];
	return memcmp(uuid, z, 16) == 0;
}

#endif
