/* test_rows.h — deterministic random flow rows for the store and query
 * tests: every field of struct flow_row gets a value (IPv4 and IPv6, VMs
 * from a small pool so dictionaries repeat, zones, MACs), so round trips
 * exercise every column and encoding. */
#ifndef VT_TEST_ROWS_H
#define VT_TEST_ROWS_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "flow/addr.h"
#include "store/cols.h"

static inline uint64_t tr_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *const tr_vm_names[] = { "web-1", "web-2", "db-1", "db-2", "cache", "batch-7" };
static const char *const tr_zones[] = { "web", "db", "infra" };

static inline void tr_vm(uint64_t *s, struct vm_ident *v, int which)
{
	memset(v, 0, sizeof(*v));
	if (which < 0)
		return;
	v->uuid[0] = 0x6e;
	v->uuid[15] = (uint8_t)(which + 1);
	snprintf(v->name, sizeof(v->name), "%s", tr_vm_names[which]);
	snprintf(v->ifname, sizeof(v->ifname), "vp-%d", which);
	v->ifindex = (uint32_t)(100 + which);
	(void)s;
}

/* Row <i> of the set seeded by <seed>, with times in [t0, t0 + span). */
static inline void tr_row(uint64_t seed, uint64_t i, uint64_t t0, uint64_t span,
			  struct flow_row *r)
{
	uint64_t s = seed * 1000003u + i;
	uint64_t x = tr_next(&s), y = tr_next(&s), z = tr_next(&s);
	uint8_t a[16];

	memset(r, 0, sizeof(*r));
	r->rec.first_ms = t0 + x % span;
	r->rec.last_ms = r->rec.first_ms + y % 60000;
	bool v6 = (z & 15) == 0;
	for (int k = 0; k < 16; k++)
		a[k] = (uint8_t)tr_next(&s);
	if (v6) {
		a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8;
		addr_set_v6(&r->rec.src, a);
		a[15] ^= 0x5a;
		addr_set_v6(&r->rec.dst, a);
		r->rec.ipver = 6;
	} else {
		uint8_t b[4] = { 10, 0, (uint8_t)(x >> 8 & 3), (uint8_t)(x >> 16 & 31) };
		addr_set_v4(&r->rec.src, b);
		b[0] = 198; b[1] = 18; b[2] = (uint8_t)(y >> 8 & 7); b[3] = (uint8_t)(y >> 16);
		addr_set_v4(&r->rec.dst, b);
		r->rec.ipver = 4;
	}
	static const uint8_t protos[] = { 6, 6, 6, 17, 17, 1, 58, 47 };
	r->rec.proto = protos[z >> 8 & 7];
	r->rec.sport = (uint16_t)(1024 + (z >> 16) % 60000);
	static const uint16_t ports[] = { 443, 80, 53, 22, 8080, 5432 };
	r->rec.dport = ports[(z >> 32) % 6];
	r->rec.vlan = (uint16_t)((x >> 40) % 3 == 0 ? 0 : 100 + (x >> 42) % 4);
	r->rec.in_if = (uint32_t)(x >> 20) % 50;
	r->rec.out_if = (uint32_t)(x >> 30) % 50;
	r->rec.packets = 1 + (y >> 20) % 1000;
	r->rec.bytes = r->rec.packets * (40 + (y >> 40) % 1460);
	r->rec.tcp_flags = (uint8_t)(z >> 48);
	r->rec.tos = (uint8_t)(z >> 56);
	r->rec.end_reason = (uint8_t)((x >> 50) % 6);
	r->rec.direction = (uint8_t)((x >> 53) & 1);
	for (int k = 0; k < 6; k++) {
		r->rec.src_mac[k] = (uint8_t)tr_next(&s);
		r->rec.dst_mac[k] = (uint8_t)tr_next(&s);
	}
	r->rec.src_mac[0] = 0x52;
	uint8_t nh[4] = { 198, 19, 0, (uint8_t)(y & 3) };
	addr_set_v4(&r->rec.nexthop, nh);
	r->rec.src_as = (uint32_t)(tr_next(&s) % 70000);
	r->rec.dst_as = (uint32_t)(tr_next(&s) % 70000);
	r->rec.src_mask = v6 ? 64 : 24;
	r->rec.dst_mask = v6 ? 48 : 16;
	r->rec.scope = (uint8_t)(y % 3);
	int vm = (int)(tr_next(&s) % 7) - 1, peer = (int)(tr_next(&s) % 7) - 1;
	tr_vm(&s, &r->rec.vm, vm);
	tr_vm(&s, &r->rec.peer, peer);
	tr_vm(&s, &r->attr.src_vm, vm);
	tr_vm(&s, &r->attr.dst_vm, peer);
	uint8_t ex[4] = { 198, 18, 255, (uint8_t)(1 + (x & 3)) };
	addr_set_v4(&r->rec.exporter, ex);
	r->rec.obs_domain = (uint32_t)(x & 7);
	r->rec.sampling = (x >> 3 & 1) ? 0 : 100;
	r->rec.exp_version = (x >> 4 & 1) ? 10 : 9;
	r->attr.src_zone = (uint16_t)(vm < 0 ? 0 : 1 + vm % 3);
	r->attr.dst_zone = (uint16_t)(peer < 0 ? 0 : 1 + peer % 3);
	r->attr.locality = (uint8_t)(vm < 0 || peer < 0 ? 0 : 1 + (vm + peer) % 2);
	/* a cross-host flow's second observation, one time in two (no extra
	 * draw from the generator: the other fields stay as they were) */
	r->attr.dup = (uint8_t)(r->attr.locality == 2 && (y >> 62 & 1));
}

/* Field-by-field equality with a message naming the first difference. */
static inline const char *tr_diff(const struct flow_row *a, const struct flow_row *b)
{
#define F(f) if (memcmp(&a->f, &b->f, sizeof(a->f))) return #f
	F(rec.first_ms); F(rec.last_ms); F(rec.src); F(rec.dst); F(rec.sport); F(rec.dport);
	F(rec.proto); F(rec.ipver); F(rec.vlan); F(rec.in_if); F(rec.out_if); F(rec.bytes);
	F(rec.packets); F(rec.tcp_flags); F(rec.tos); F(rec.end_reason); F(rec.direction);
	F(rec.src_mac); F(rec.dst_mac); F(rec.nexthop); F(rec.src_as); F(rec.dst_as);
	F(rec.src_mask); F(rec.dst_mask); F(rec.scope); F(rec.vm); F(rec.peer);
	F(rec.exporter); F(rec.obs_domain); F(rec.sampling); F(rec.exp_version);
	F(attr.src_vm); F(attr.dst_vm); F(attr.src_zone); F(attr.dst_zone); F(attr.locality);
	F(attr.dup);
#undef F
	return NULL;
}

#endif
