/* pcapfile.c — the capture-file reader (see pcapfile.h): classic pcap and
 * pcapng, from a read-only mapping or a bounded stream.
 *
 * Both input modes expose one window of bytes (base, len, pos): a mapped
 * file is one window covering everything; a stream refills a buffer that
 * grows up to one maximal block. The parsers ask want(n) for the next n
 * bytes and never look outside what it returned, so a damaged length can
 * at worst produce an error message naming its offset.
 *
 * Formats: classic pcap (libpcap's savefile: both byte orders, us/ns
 * magic, Kuznetzov's extended records) and pcapng
 * (draft-ietf-opsawg-pcapng: SHB with per-section byte order, IDB with
 * if_tsresol/if_tsoffset, EPB/SPB/OPB; every other block is skipped and
 * counted). */
#include "pkt/pcapfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/be.h"
#include "core/compiler.h"

/* Magic numbers as the first four bytes read big-endian. */
enum {
	MAGIC_US = 0xa1b2c3d4u,
	MAGIC_US_SW = 0xd4c3b2a1u,
	MAGIC_NS = 0xa1b23c4du,
	MAGIC_NS_SW = 0x4d3cb2a1u,
	MAGIC_KUZ = 0xa1b2cd34u,     /* Kuznetzov's patched libpcap */
	MAGIC_KUZ_SW = 0x34cdb2a1u,
	PCAPNG_SHB = 0x0a0d0d0au,    /* palindromic: same in both orders */
	PCAPNG_BOM = 0x1a2b3c4du,
};
enum { BT_IDB = 1, BT_OPB = 2, BT_SPB = 3, BT_EPB = 6 };

#define STREAM_CHUNK (256u << 10)
#define NS_PER_S 1000000000ull

struct pcap_if {
	int link;
	uint32_t snaplen;
	uint64_t units;     /* timestamp units per second */
	uint64_t mul;       /* ns per unit when units divides 1e9, else 0 */
	int64_t offset_s;   /* if_tsoffset */
};

struct pcapfile {
	/* the window: bytes base[0..len), next unread at pos */
	const uint8_t *base;
	size_t len;
	size_t pos;
	uint64_t base_off;   /* file offset of base[0] */
	/* mapped input */
	void *map;
	size_t map_len;
	/* streamed input */
	bool stream;
	bool eof;
	int fd;
	bool own_fd;
	uint8_t *sbuf;       /* owned */
	size_t scap;
	/* format */
	bool ng;
	bool be;             /* current byte order (per pcapng section) */
	bool nsec;
	unsigned rec_hdr;    /* classic record header: 16, or 24 (Kuznetzov) */
	int link;            /* classic */
	uint32_t snaplen;    /* classic */
	const char *fmt;
	/* pcapng interfaces of the current section */
	struct pcap_if *ifs; /* owned, PCAPFILE_MAX_IFS entries at most */
	uint32_t nifs;       /* kept */
	uint32_t nifs_seen;  /* declared in this section (may exceed nifs) */
	uint32_t cap_ifs;
	uint64_t last_ts;
	struct pcapfile_stats st;
};

static inline uint16_t get16(bool be, const uint8_t *p)
{
	return be ? ld_be16(p) : (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static inline uint32_t get32(bool be, const uint8_t *p)
{
	return be ? ld_be32(p)
		  : (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
			    (uint32_t)p[3] << 24;
}

static inline uint64_t cur_off(const struct pcapfile *pf)
{
	return pf->base_off + pf->pos;
}

uint64_t pcapfile_offset(const struct pcapfile *pf)
{
	return cur_off(pf);
}

/* fill() : (streams) makes at least <n> unread bytes available unless the
 * input ends first. 0, or a negative errno on a read error. */
static int fill(struct pcapfile *pf, size_t n)
{
	size_t have = pf->len - pf->pos;

	if (have >= n || !pf->stream || pf->eof)
		return 0;
	if (pf->pos) { /* move the unread tail to the front */
		memmove(pf->sbuf, pf->sbuf + pf->pos, have);
		pf->base_off += pf->pos;
		pf->pos = 0;
		pf->len = have;
	}
	if (n > pf->scap) {
		size_t ncap = pf->scap * 2 > n ? pf->scap * 2 : n;
		uint8_t *nb;

		if (ncap > PCAPFILE_MAX_BLOCK + 64)
			ncap = PCAPFILE_MAX_BLOCK + 64;
		if (ncap < n)
			return -EFBIG; /* callers check the bound first */
		nb = realloc(pf->sbuf, ncap);
		if (!nb)
			return -ENOMEM;
		pf->sbuf = nb;
		pf->scap = ncap;
	}
	pf->base = pf->sbuf;
	while (pf->len < n) {
		ssize_t r = read(pf->fd, pf->sbuf + pf->len, pf->scap - pf->len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) {
			pf->eof = true;
			break;
		}
		pf->len += (size_t)r;
	}
	return 0;
}

/* want() : the next <n> bytes, or NULL when fewer remain (*have says how
 * many) or the stream failed (*ioerr < 0). Does not advance. */
static const uint8_t *want(struct pcapfile *pf, size_t n, size_t *have, int *ioerr)
{
	*ioerr = fill(pf, n);
	*have = pf->len - pf->pos;
	if (*ioerr < 0 || *have < n)
		return NULL;
	return pf->base + pf->pos;
}

static int io_error(struct pcapfile *pf, int ioerr, struct vt_err *err)
{
	return vt_err_set(err, ioerr, "read error at offset %llu: %s",
			  (unsigned long long)cur_off(pf), strerror(-ioerr));
}

/* ---- classic pcap --------------------------------------------------------- */

static int open_pcap(struct pcapfile *pf, uint32_t magic, struct vt_err *err)
{
	const uint8_t *h;
	size_t have;
	int ioerr;
	uint16_t vmaj, vmin;
	uint32_t lt;

	pf->be = magic == MAGIC_US || magic == MAGIC_NS || magic == MAGIC_KUZ;
	pf->nsec = magic == MAGIC_NS || magic == MAGIC_NS_SW;
	pf->rec_hdr = (magic == MAGIC_KUZ || magic == MAGIC_KUZ_SW) ? 24 : 16;
	/* magic | major | minor | thiszone | sigfigs | snaplen | linktype */
	h = want(pf, 24, &have, &ioerr);
	if (!h) {
		if (ioerr)
			return io_error(pf, ioerr, err);
		return vt_err_set(err, -EINVAL, "truncated pcap file header (%zu of 24 bytes)",
				  have);
	}
	vmaj = get16(pf->be, h + 4);
	vmin = get16(pf->be, h + 6);
	if (vmaj != 2 || vmin > 4)
		return vt_err_set(err, -EPROTONOSUPPORT,
				  "pcap version %u.%u unsupported (only 2.0 to 2.4 exist)",
				  vmaj, vmin);
	pf->snaplen = get32(pf->be, h + 16);
	lt = get32(pf->be, h + 20);
	/* bits 16-25 are reserved (libpcap LT_RESERVED1); 26-31 carry an
	 * FCS length we do not need */
	if (lt & 0x03ff0000u)
		return vt_err_set(err, -EPROTONOSUPPORT,
				  "pcap file header: link-type field 0x%08x has reserved bits set",
				  lt);
	pf->link = (int)(lt & 0xffff);
	if (pf->rec_hdr == 24)
		pf->fmt = pf->be ? "pcap-kuznetzov-be" : "pcap-kuznetzov";
	else if (pf->nsec)
		pf->fmt = pf->be ? "pcap-ns-be" : "pcap-ns";
	else
		pf->fmt = pf->be ? "pcap-be" : "pcap";
	pf->pos += 24;
	return 0;
}

static int next_pcap(struct pcapfile *pf, struct pcap_rec *rec, struct vt_err *err)
{
	const uint8_t *h;
	size_t have;
	int ioerr;
	uint32_t sec, frac, caplen, wirelen, fmax;

	/* ts_sec | ts_usec (or nsec) | incl_len | orig_len [| Kuznetzov: ifindex
	 * | protocol | pkt_type | pad] */
	h = want(pf, pf->rec_hdr, &have, &ioerr);
	if (!h) {
		if (ioerr)
			return io_error(pf, ioerr, err);
		if (have == 0)
			return 0;
		return vt_err_set(err, -EBADMSG,
				  "truncated record header at offset %llu (%zu of %u bytes)",
				  (unsigned long long)cur_off(pf), have, pf->rec_hdr);
	}
	sec = get32(pf->be, h);
	frac = get32(pf->be, h + 4);
	caplen = get32(pf->be, h + 8);
	wirelen = get32(pf->be, h + 12);
	if (caplen > PCAPFILE_MAX_BLOCK)
		return vt_err_set(err, -EBADMSG,
				  "record at offset %llu: captured length %u exceeds the maximum %u (damaged file)",
				  (unsigned long long)cur_off(pf), caplen, PCAPFILE_MAX_BLOCK);
	h = want(pf, pf->rec_hdr + (size_t)caplen, &have, &ioerr);
	if (!h) {
		if (ioerr)
			return io_error(pf, ioerr, err);
		return vt_err_set(err, -EBADMSG,
				  "truncated record at offset %llu: captured length %u, only %zu bytes left",
				  (unsigned long long)cur_off(pf), caplen,
				  have - pf->rec_hdr);
	}
	fmax = pf->nsec ? 999999999u : 999999u;
	if (frac > fmax) {
		/* tv_usec/tv_nsec out of range: deliver, clamp to the last
		 * instant of that second, count */
		frac = fmax;
		pf->st.bad_timestamps++;
	}
	rec->ts_ns = (uint64_t)sec * NS_PER_S + (pf->nsec ? frac : (uint64_t)frac * 1000);
	rec->data = h + pf->rec_hdr;
	rec->caplen = caplen;
	rec->link = pf->link;
	rec->ifindex = pf->rec_hdr == 24 ? get32(pf->be, h + 16) : 0;
	rec->direction = 0;
	if (pf->snaplen && caplen > pf->snaplen)
		pf->st.over_snaplen++;
	if (wirelen < caplen) {
		pf->st.short_wirelen++;
		wirelen = caplen;
	}
	rec->wirelen = wirelen;
	if (caplen < wirelen)
		pf->st.snapped++;
	pf->st.records++;
	pf->pos += pf->rec_hdr + (size_t)caplen;
	return 1;
}

/* ---- pcapng --------------------------------------------------------------- */

/* An option list <p>[0..len): code(2) length(2) value padded to 4,
 * ended by opt_endofopt or by the end of the area. */
struct opt_it {
	const uint8_t *p;
	uint32_t len, at;
	bool be;
};

/* opt_next() : 1 and the next option, 0 at the end, -1 on an overrun. */
static int opt_next(struct opt_it *it, uint16_t *code, uint16_t *olen, const uint8_t **val)
{
	uint32_t padded;

	if (it->len - it->at < 4)
		return 0; /* no room for another option: the list ended */
	*code = get16(it->be, it->p + it->at);
	*olen = get16(it->be, it->p + it->at + 2);
	if (*code == 0)
		return 0; /* opt_endofopt */
	padded = ((uint32_t)*olen + 3) & ~3u;
	if (padded > it->len - it->at - 4)
		return -1;
	*val = it->p + it->at + 4;
	it->at += 4 + padded;
	return 1;
}

/* block_error() : "pcapng <what> at offset <off>: <detail>". */
static int block_error(struct vt_err *err, int code, uint64_t off, const char *what,
		       const char *fmt, ...) VT_PRINTF(5, 6);
static int block_error(struct vt_err *err, int code, uint64_t off, const char *what,
		       const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return vt_err_set(err, code, "pcapng %s at offset %llu: %s", what,
			  (unsigned long long)off, detail);
}

/* read_shb() : a section header block at the read position: byte order,
 * version, options; resets the interface table. */
static int read_shb(struct pcapfile *pf, struct vt_err *err)
{
	uint64_t off = cur_off(pf);
	const uint8_t *h;
	size_t have;
	int ioerr, r;
	uint32_t bom, blen;
	uint16_t vmaj, vmin, code, olen;
	const uint8_t *val;
	struct opt_it it;
	bool be;

	/* type | total length | byte-order magic | major | minor | section
	 * length(8) | options | total length */
	h = want(pf, 12, &have, &ioerr);
	if (!h) {
		if (ioerr)
			return io_error(pf, ioerr, err);
		return vt_err_set(err, -EBADMSG,
				  "truncated pcapng section header at offset %llu (%zu of 28 bytes)",
				  (unsigned long long)off, have);
	}
	bom = ld_be32(h + 8);
	if (bom == PCAPNG_BOM)
		be = true;
	else if (bom == __builtin_bswap32(PCAPNG_BOM))
		be = false;
	else
		return block_error(err, -EBADMSG, off, "section header",
				   "byte-order magic 0x%08x is not 0x1a2b3c4d", bom);
	blen = get32(be, h + 4);
	if (blen < 28 || blen % 4 || blen > PCAPFILE_MAX_BLOCK)
		return block_error(err, -EBADMSG, off, "section header",
				   "block length %u invalid (28 to %u, a multiple of 4)", blen,
				   PCAPFILE_MAX_BLOCK);
	h = want(pf, blen, &have, &ioerr);
	if (!h) {
		if (ioerr)
			return io_error(pf, ioerr, err);
		return block_error(err, -EBADMSG, off, "section header",
				   "truncated: %zu of %u bytes", have, blen);
	}
	vmaj = get16(be, h + 12);
	vmin = get16(be, h + 14);
	/* 1.0 is the only version; libpcap also reads 1.2 from old writers */
	if (vmaj != 1 || (vmin != 0 && vmin != 2))
		return block_error(err, -EPROTONOSUPPORT, off, "section header",
				   "version %u.%u unsupported (1.0 expected)", vmaj, vmin);
	it = (struct opt_it){ h + 24, blen - 28, 0, be };
	while ((r = opt_next(&it, &code, &olen, &val)) > 0)
		;
	if (r < 0)
		return block_error(err, -EBADMSG, off, "section header",
				   "option %u of length %u overruns the block", code, olen);
	if (get32(be, h + blen - 4) != blen)
		return block_error(err, -EBADMSG, off, "section header",
				   "trailing length %u differs from leading length %u",
				   get32(be, h + blen - 4), blen);
	pf->be = be;
	pf->nifs = 0;
	pf->nifs_seen = 0;
	pf->st.sections++;
	pf->pos += blen;
	return 0;
}

/* if_tsresol (RFC draft 4.2): MSB clear = 10^-v, set = 2^-v seconds. */
static int set_tsresol(struct pcap_if *ifc, uint8_t v)
{
	unsigned e = v & 0x7f;

	if (v & 0x80) {
		if (e > 63)
			return -1;
		ifc->units = 1ull << e;
		ifc->mul = 0;
		return 0;
	}
	if (e > 19)
		return -1;
	ifc->units = 1;
	for (unsigned i = 0; i < e; i++)
		ifc->units *= 10;
	ifc->mul = e <= 9 ? NS_PER_S / ifc->units : 0;
	return 0;
}

static int read_idb(struct pcapfile *pf, const uint8_t *b, uint32_t blen, struct vt_err *err)
{
	uint64_t off = cur_off(pf);
	struct pcap_if ifc = { 0 };
	struct opt_it it;
	uint16_t code, olen;
	const uint8_t *val;
	int r;

	/* linktype(2) reserved(2) snaplen(4) options */
	if (blen < 20)
		return block_error(err, -EBADMSG, off, "interface block",
				   "block length %u below the minimum %u", blen, 20);
	ifc.link = get16(pf->be, b + 8);
	ifc.snaplen = get32(pf->be, b + 12);
	ifc.units = 1000000; /* default resolution: microseconds */
	ifc.mul = 1000;
	it = (struct opt_it){ b + 16, blen - 20, 0, pf->be };
	while ((r = opt_next(&it, &code, &olen, &val)) > 0) {
		if (code == 9 && olen >= 1) { /* if_tsresol */
			if (set_tsresol(&ifc, val[0]) < 0)
				return block_error(err, -EPROTONOSUPPORT, off, "interface block",
						   "if_tsresol 0x%02x unsupported", val[0]);
		} else if (code == 14 && olen == 8) { /* if_tsoffset, seconds */
			ifc.offset_s = (int64_t)((uint64_t)get32(pf->be, val + (pf->be ? 0 : 4)) << 32 |
						 get32(pf->be, val + (pf->be ? 4 : 0)));
		}
	}
	if (r < 0)
		return block_error(err, -EBADMSG, off, "interface block",
				   "option %u of length %u overruns the block", code, olen);
	pf->st.interfaces++;
	if (pf->nifs_seen++ >= PCAPFILE_MAX_IFS) {
		pf->st.ifs_over_limit++;
		return 0;
	}
	if (pf->nifs == pf->cap_ifs) {
		uint32_t ncap = pf->cap_ifs ? pf->cap_ifs * 2 : 8;
		struct pcap_if *n;

		if (ncap > PCAPFILE_MAX_IFS)
			ncap = PCAPFILE_MAX_IFS;
		n = realloc(pf->ifs, ncap * sizeof(*n));
		if (!n)
			return vt_err_set(err, -ENOMEM, "out of memory for pcapng interfaces");
		pf->ifs = n;
		pf->cap_ifs = ncap;
	}
	pf->ifs[pf->nifs++] = ifc;
	return 0;
}

/* Timestamp units of an interface -> ns since the epoch, clamped to the
 * u64 range (year 2554) and counted when out of it. */
static uint64_t ng_ts(struct pcapfile *pf, const struct pcap_if *ifc, uint64_t t)
{
	__int128 ns;

	if (VT_LIKELY(ifc->mul && !ifc->offset_s)) {
		unsigned __int128 u = (unsigned __int128)t * ifc->mul;
		if (VT_LIKELY(u <= UINT64_MAX))
			return (uint64_t)u;
		pf->st.bad_timestamps++;
		return UINT64_MAX;
	}
	if (ifc->mul)
		ns = (__int128)t * ifc->mul;
	else
		ns = (__int128)t * (__int128)NS_PER_S / (__int128)ifc->units;
	ns += (__int128)ifc->offset_s * (__int128)NS_PER_S;
	if (ns < 0) {
		pf->st.bad_timestamps++;
		return 0;
	}
	if (ns > (__int128)UINT64_MAX) {
		pf->st.bad_timestamps++;
		return UINT64_MAX;
	}
	return (uint64_t)ns;
}

/* The interface a packet block names, or NULL (error set) when it was
 * never declared; *skip when it is past the bound. */
static const struct pcap_if *ng_iface(struct pcapfile *pf, uint32_t id, const char *what,
				      bool *skip, struct vt_err *err)
{
	*skip = false;
	if (id >= pf->nifs_seen) {
		block_error(err, -EBADMSG, cur_off(pf), what,
			    "interface %u was not declared (%u interfaces in this section)", id,
			    pf->nifs_seen);
		return NULL;
	}
	if (id >= pf->nifs) {
		*skip = true;
		pf->st.skipped_records++;
		return NULL;
	}
	return &pf->ifs[id];
}

/* Packet-block options: only the direction bits of epb_flags/pack_flags. */
static int8_t ng_direction(struct pcapfile *pf, const uint8_t *p, uint32_t len)
{
	struct opt_it it = { p, len, 0, pf->be };
	uint16_t code, olen;
	const uint8_t *val;
	int8_t dir = 0;
	int r;

	while ((r = opt_next(&it, &code, &olen, &val)) > 0)
		if (code == 2 && olen == 4)
			dir = (int8_t)(get32(pf->be, val) & 3);
	if (r < 0)
		pf->st.bad_options++;
	return dir == 3 ? 0 : dir;
}

static void ng_finish(struct pcapfile *pf, struct pcap_rec *rec, const struct pcap_if *ifc,
		      uint32_t ifid, uint32_t caplen, uint32_t wirelen)
{
	rec->caplen = caplen;
	rec->link = ifc->link;
	rec->ifindex = ifid;
	if (ifc->snaplen && caplen > ifc->snaplen)
		pf->st.over_snaplen++;
	if (wirelen < caplen) {
		pf->st.short_wirelen++;
		wirelen = caplen;
	}
	if (caplen < wirelen)
		pf->st.snapped++;
	rec->wirelen = wirelen;
	pf->st.records++;
}

/* A packet block (EPB, OPB or SPB) of <blen> bytes at <b>. 1 with <rec>
 * filled, 0 when skipped, < 0 on damage. */
static int read_packet(struct pcapfile *pf, uint32_t type, const uint8_t *b, uint32_t blen,
		       struct pcap_rec *rec, struct vt_err *err)
{
	const struct pcap_if *ifc;
	uint32_t ifid, caplen, wirelen, hdr, body = blen - 12;
	const char *what = type == BT_EPB ? "packet block" : type == BT_OPB ? "obsolete packet block" : "simple packet block";
	bool skip;

	if (type == BT_SPB) {
		/* original length | data: the captured length is implied */
		if (body < 4)
			return block_error(err, -EBADMSG, cur_off(pf), what,
					   "block length %u below the minimum %u", blen, 16);
		ifc = ng_iface(pf, 0, what, &skip, err);
		if (!ifc)
			return skip ? 0 : -EBADMSG;
		wirelen = get32(pf->be, b + 8);
		caplen = body - 4;
		if (caplen > wirelen)
			caplen = wirelen; /* the rest is padding */
		if (ifc->snaplen && caplen > ifc->snaplen)
			caplen = ifc->snaplen;
		rec->data = b + 12;
		rec->ts_ns = pf->last_ts;
		rec->direction = 0;
		ng_finish(pf, rec, ifc, 0, caplen, wirelen);
		return 1;
	}
	/* EPB: interface(4) ts_hi(4) ts_lo(4) caplen(4) origlen(4) data options;
	 * OPB: interface(2) drops(2) then the same */
	hdr = 20;
	if (body < hdr)
		return block_error(err, -EBADMSG, cur_off(pf), what,
				   "block length %u below the minimum %u", blen, hdr + 12);
	ifid = type == BT_EPB ? get32(pf->be, b + 8) : get16(pf->be, b + 8);
	caplen = get32(pf->be, b + 20);
	wirelen = get32(pf->be, b + 24);
	if (caplen > body - hdr)
		return block_error(err, -EBADMSG, cur_off(pf), what,
				   "captured length %u overruns the block (%u bytes of data room)",
				   caplen, body - hdr);
	ifc = ng_iface(pf, ifid, what, &skip, err);
	if (!ifc)
		return skip ? 0 : -EBADMSG;
	rec->data = b + 8 + hdr;
	rec->ts_ns = ng_ts(pf, ifc, (uint64_t)get32(pf->be, b + 12) << 32 | get32(pf->be, b + 16));
	pf->last_ts = rec->ts_ns;
	{
		uint32_t padded = (caplen + 3) & ~3u;
		rec->direction = padded <= body - hdr
					 ? ng_direction(pf, b + 8 + hdr + padded, body - hdr - padded)
					 : 0;
	}
	ng_finish(pf, rec, ifc, ifid, caplen, wirelen);
	return 1;
}

static int next_pcapng(struct pcapfile *pf, struct pcap_rec *rec, struct vt_err *err)
{
	for (;;) {
		const uint8_t *h;
		size_t have;
		int ioerr, r;
		uint32_t type, blen;

		h = want(pf, 8, &have, &ioerr);
		if (!h) {
			if (ioerr)
				return io_error(pf, ioerr, err);
			if (have == 0)
				return 0;
			return vt_err_set(err, -EBADMSG,
					  "truncated pcapng block header at offset %llu (%zu of 8 bytes)",
					  (unsigned long long)cur_off(pf), have);
		}
		type = get32(pf->be, h);
		if (type == PCAPNG_SHB) {
			r = read_shb(pf, err);
			if (r < 0)
				return r;
			continue;
		}
		blen = get32(pf->be, h + 4);
		if (blen < 12 || blen % 4 || blen > PCAPFILE_MAX_BLOCK)
			return block_error(err, -EBADMSG, cur_off(pf), "block",
					   "type 0x%08x has an invalid length %u", type, blen);
		h = want(pf, blen, &have, &ioerr);
		if (!h) {
			if (ioerr)
				return io_error(pf, ioerr, err);
			return block_error(err, -EBADMSG, cur_off(pf), "block",
					   "truncated: %zu of %u bytes", have, blen);
		}
		if (get32(pf->be, h + blen - 4) != blen)
			return block_error(err, -EBADMSG, cur_off(pf), "block",
					   "trailing length %u differs from leading length %u",
					   get32(pf->be, h + blen - 4), blen);
		switch (type) {
		case BT_IDB:
			r = read_idb(pf, h, blen, err);
			break;
		case BT_EPB:
		case BT_OPB:
		case BT_SPB:
			r = read_packet(pf, type, h, blen, rec, err);
			break;
		default:
			pf->st.skipped_blocks++;
			r = 0;
			break;
		}
		if (r < 0)
			return r;
		pf->pos += blen;
		if (r > 0)
			return 1;
	}
}

/* ---- open / close ----------------------------------------------------------- */

static int open_header(struct pcapfile *pf, struct vt_err *err)
{
	const uint8_t *h;
	size_t have;
	int ioerr;
	uint32_t magic;

	h = want(pf, 4, &have, &ioerr);
	if (!h) {
		if (ioerr)
			return io_error(pf, ioerr, err);
		return vt_err_set(err, -EINVAL,
				  "not a capture file: %zu bytes, shorter than any capture header",
				  have);
	}
	magic = ld_be32(h);
	switch (magic) {
	case MAGIC_US: case MAGIC_US_SW: case MAGIC_NS: case MAGIC_NS_SW:
	case MAGIC_KUZ: case MAGIC_KUZ_SW:
		return open_pcap(pf, magic, err);
	case PCAPNG_SHB: {
		int r = read_shb(pf, err);
		if (r == 0)
			pf->fmt = pf->be ? "pcapng-be" : "pcapng";
		pf->ng = true;
		return r;
	}
	default:
		if (h[0] == 0x1f && h[1] == 0x8b)
			return vt_err_set(err, -EINVAL,
					  "not a capture file (magic 0x%08x): gzip-compressed, decompress it first",
					  magic);
		return vt_err_set(err, -EINVAL,
				  "not a capture file (magic 0x%08x is neither pcap nor pcapng)",
				  magic);
	}
}

static struct pcapfile *finish_open(struct pcapfile *pf, struct vt_err *err)
{
	int r = open_header(pf, err);

	if (r < 0) {
		pcapfile_close(pf);
		errno = -r;
		return NULL;
	}
	return pf;
}

struct pcapfile *pcapfile_open_mem(const uint8_t *buf, size_t len, struct vt_err *err)
{
	struct pcapfile *pf = calloc(1, sizeof(*pf));

	if (!pf) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	pf->fd = -1;
	pf->base = buf;
	pf->len = buf ? len : 0;
	return finish_open(pf, err);
}

struct pcapfile *pcapfile_open(const char *path, struct vt_err *err)
{
	struct pcapfile *pf;
	struct stat st;
	int fd, e;

	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			e = errno;
			vt_err_set(err, -e, "%s: %s", path, strerror(e));
			errno = e;
			return NULL;
		}
	}
	pf = calloc(1, sizeof(*pf));
	if (!pf) {
		if (fd != STDIN_FILENO)
			close(fd);
		vt_err_set(err, -ENOMEM, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	pf->fd = fd;
	pf->own_fd = fd != STDIN_FILENO;
	if (fstat(fd, &st) < 0)
		st.st_mode = 0;
	if (S_ISREG(st.st_mode) && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m != MAP_FAILED) {
			(void)madvise(m, (size_t)st.st_size, MADV_SEQUENTIAL);
			pf->map = m;
			pf->map_len = (size_t)st.st_size;
			pf->base = m;
			pf->len = pf->map_len;
		}
	}
	if (!pf->map && !(S_ISREG(st.st_mode) && st.st_size == 0)) {
		/* a pipe, a device, or a file we could not map: stream it */
		pf->stream = true;
		pf->sbuf = malloc(STREAM_CHUNK);
		if (!pf->sbuf) {
			pcapfile_close(pf);
			vt_err_set(err, -ENOMEM, "out of memory");
			errno = ENOMEM;
			return NULL;
		}
		pf->scap = STREAM_CHUNK;
		pf->base = pf->sbuf;
	}
	pf = finish_open(pf, err);
	if (!pf && err && path) {
		/* name the file in front of the reason */
		char msg[VT_ERR_MSG_MAX];
		e = errno;
		memcpy(msg, err->msg, sizeof(msg));
		vt_err_set(err, err->code, "%s: %s", strcmp(path, "-") ? path : "stdin", msg);
		errno = e;
	}
	return pf;
}

int pcapfile_next(struct pcapfile *pf, struct pcap_rec *rec, struct vt_err *err)
{
	return pf->ng ? next_pcapng(pf, rec, err) : next_pcap(pf, rec, err);
}

const char *pcapfile_format(const struct pcapfile *pf)
{
	return pf->fmt;
}

int pcapfile_link(const struct pcapfile *pf)
{
	return pf->ng ? -1 : pf->link;
}

const struct pcapfile_stats *pcapfile_stats(const struct pcapfile *pf)
{
	return &pf->st;
}

void pcapfile_close(struct pcapfile *pf)
{
	if (!pf)
		return;
	if (pf->map)
		munmap(pf->map, pf->map_len);
	if (pf->own_fd && pf->fd >= 0)
		close(pf->fd);
	free(pf->sbuf);
	free(pf->ifs);
	free(pf);
}
