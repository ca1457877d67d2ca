/* nlmsg.h — building and parsing netlink messages and attributes.
 *
 * Pure functions over caller-owned bytes: no sockets, no allocation, so
 * the unit tests and the fuzz target (tests/fuzz/fuzz_nlattr.c) exercise
 * exactly the code that talks to the kernel. Netlink is host-endian (the
 * kernel's own byte order) except where an attribute says otherwise
 * (IFLA_VXLAN_PORT is big-endian); every length read from the kernel is
 * checked against the bytes that remain before it is used, as for any wire
 * format (lib/core/be.h conventions).
 *
 * Building:
 *	uint8_t buf[1024];
 *	struct nlb b;
 *	nlb_init(&b, buf, sizeof(buf), RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
 *	nlb_put_fam(&b, &ifi, sizeof(ifi));
 *	nla_put_str(&b, IFLA_IFNAME, "br0");
 *	uint8_t *li = nla_nest_start(&b, IFLA_LINKINFO);
 *	nla_put_str(&b, IFLA_INFO_KIND, "bridge");
 *	nla_nest_end(&b, li);
 *	int len = nlb_finish(&b);     // total length, or -EMSGSIZE / -EINVAL
 *
 * Parsing:
 *	struct nla tb[IFLA_MAX + 1];
 *	if (nla_parse(tb, IFLA_MAX, attrs, len) < 0) -> malformed
 *	if (nla_present(&tb[IFLA_MTU])) mtu = nla_u32(&tb[IFLA_MTU]);
 */
#ifndef VT_NL_NLMSG_H
#define VT_NL_NLMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/be.h"

#define NLB_MAX_NEST 8

/* A message being built into a caller buffer. Errors are sticky: after
 * the first one every put is a no-op and nlb_finish() reports it. */
struct nlb {
	struct vt_wr w;
	uint8_t *nest[NLB_MAX_NEST];  /* open nested attributes */
	int depth;
	int err;                      /* 0, -EMSGSIZE (no room), -EINVAL (nesting) */
};

/* nlb_init() : starts a message of <type> with NLM_F_REQUEST | <flags> in
 * <buf> (<cap> bytes, not owned; must outlive the builder). Sequence and
 * port id are left 0: nl_sock fills them when sending. */
void nlb_init(struct nlb *b, void *buf, size_t cap, uint16_t type, uint16_t flags);
/* nlb_put_fam() : appends the family header (struct ifinfomsg, ifaddrmsg,
 * rtmsg, ndmsg ...) padded to 4 bytes. Call once, before attributes. */
void nlb_put_fam(struct nlb *b, const void *hdr, size_t len);
void nla_put(struct nlb *b, uint16_t type, const void *data, size_t len);
void nla_put_flag(struct nlb *b, uint16_t type);
void nla_put_u8(struct nlb *b, uint16_t type, uint8_t v);
void nla_put_u16(struct nlb *b, uint16_t type, uint16_t v);
void nla_put_u32(struct nlb *b, uint16_t type, uint32_t v);
void nla_put_s32(struct nlb *b, uint16_t type, int32_t v);
void nla_put_u64(struct nlb *b, uint16_t type, uint64_t v);
/* nla_put_be16() : a 16-bit value in network byte order (ports). */
void nla_put_be16(struct nlb *b, uint16_t type, uint16_t v);
/* nla_put_str() : a NUL-terminated string (the NUL is part of the payload,
 * as the kernel's NLA_STRING/NLA_NUL_STRING policies expect). */
void nla_put_str(struct nlb *b, uint16_t type, const char *s);
/* nla_nest_start() : opens a nested attribute (NLA_F_NESTED is not set:
 * rtnetlink's IFLA_LINKINFO parsers predate it and accept either). Returns
 * a handle for nla_nest_end(), or NULL after an error. */
uint8_t *nla_nest_start(struct nlb *b, uint16_t type);
void nla_nest_end(struct nlb *b, uint8_t *nest);
/* nlb_data() : the message start (the nlmsghdr). */
static inline uint8_t *nlb_data(const struct nlb *b)
{
	return b->w.start;
}
/* nlb_finish() : writes the total length into the header and returns it,
 * or -EMSGSIZE when something did not fit, -EINVAL when a nest is still
 * open or was closed out of order. */
int nlb_finish(struct nlb *b);
/* nlb_set_seq() : stores <seq> and <portid> in a finished message. */
void nlb_set_seq(struct nlb *b, uint32_t seq, uint32_t portid);

/* ---- parsing ----------------------------------------------------------- */

/* One message of a datagram; <payload> points into the datagram. */
struct nlmsg {
	uint16_t type;
	uint16_t flags;
	uint32_t seq;
	uint32_t portid;
	const uint8_t *payload;  /* after the 16-byte header */
	size_t len;              /* payload bytes */
};

/* nlmsg_next() : the next message of the datagram under <r>. Returns 1 and
 * fills <m>, 0 at the end of the datagram, -EBADMSG when a header or its
 * length does not fit (the reader is then exhausted). */
int nlmsg_next(struct vt_rd *r, struct nlmsg *m);

/* An attribute found by the parser; <data> points into the message. */
struct nla {
	const uint8_t *data;     /* NULL when absent */
	uint16_t len;            /* payload length */
	uint16_t type;           /* without NLA_F_NESTED / NLA_F_NET_BYTEORDER */
};

/* nla_parse() : indexes the attributes in <buf,len> by type into
 * tb[0..maxtype] (absent ones have data == NULL). Types above <maxtype>
 * are skipped; a repeated type keeps the last occurrence (as the kernel
 * does). Returns the number of attributes seen, or -EBADMSG when an
 * attribute header is short or its length runs past the buffer. */
int nla_parse(struct nla *tb, uint16_t maxtype, const uint8_t *buf, size_t len);
/* nla_parse_nested() : nla_parse() over the payload of <a>. An absent <a>
 * yields an empty table and 0. */
int nla_parse_nested(struct nla *tb, uint16_t maxtype, const struct nla *a);

/* Iteration over a list of attributes (nested arrays, repeated types). */
struct nla_iter {
	struct vt_rd r;
	bool bad;                /* stopped on a malformed attribute */
};
void nla_iter_init(struct nla_iter *it, const uint8_t *buf, size_t len);
/* nla_iter_next() : 1 with <a> filled, 0 at the end, -EBADMSG on a
 * malformed attribute. */
int nla_iter_next(struct nla_iter *it, struct nla *a);

static inline bool nla_present(const struct nla *a)
{
	return a->data != NULL;
}
/* Typed getters: return 0 when the attribute is absent or shorter than
 * the type; callers that must tell "absent" from "0" check nla_present()
 * and nla_len_ok() first. */
static inline bool nla_len_ok(const struct nla *a, size_t n)
{
	return a->data != NULL && a->len >= n;
}
uint8_t nla_u8(const struct nla *a);
uint16_t nla_u16(const struct nla *a);
uint32_t nla_u32(const struct nla *a);
int32_t nla_s32(const struct nla *a);
uint64_t nla_u64(const struct nla *a);
uint16_t nla_be16(const struct nla *a);
/* nla_strcpy() : copies a string attribute into <dst> (<cap> bytes),
 * stopping at the first NUL or the payload end, always NUL-terminating.
 * Returns the length copied, or -E2BIG when it had to truncate. */
int nla_strcpy(char *dst, size_t cap, const struct nla *a);

/* nlmsg_error() : decodes an NLMSG_ERROR (or NLMSG_DONE) payload: <*err>
 * gets the error (0 for an ACK, negative errno otherwise) and <msg> the
 * kernel's extended-ack text (NLMSGERR_ATTR_MSG) when there is one (""
 * otherwise). The TLVs follow the echoed request, which is the full
 * request or only its header (NLM_F_CAPPED). Returns 0 or -EBADMSG. */
int nlmsg_error(const struct nlmsg *m, int *err, char *msg, size_t cap);

#endif
