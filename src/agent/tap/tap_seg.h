/* tap_seg.h — cutting a mirrored frame into the wire frames it stands for.
 *
 * VM traffic reaches the port as GSO super-frames (up to 64 KiB of TCP or
 * UDP payload behind one set of headers). A mirror copy must carry wire
 * frames: this module does in user space what the kernel's GSO does on
 * the way to a NIC — per segment it repeats the headers, sets the IP
 * length (and IPv4 id + i), the TCP sequence number (CWR on the first
 * segment only, PSH and FIN on the last only) or the UDP length, and
 * computes the IPv4 header and TCP/UDP checksums. The same code
 * re-segments a TCP frame with a smaller segment size when the copy would
 * not fit the monitoring path ("segment" MTU policy).
 *
 * A frame that cannot be segmented (not TCP/UDP, headers unknown) comes
 * out whole, as one frame, for the caller's MTU policy to slice or drop.
 * Nothing here allocates; segments are written into the caller's buffer,
 * cut to the caller's slice length. */
#ifndef VT_TAP_SEG_H
#define VT_TAP_SEG_H

#include <stdbool.h>
#include <stdint.h>

/* The frame and what the parser found in it (offsets from the frame). */
struct tap_frame {
	const uint8_t *data;
	uint32_t cap_len;        /* bytes present (a record may be cut) */
	uint32_t len;            /* the frame's length */
	uint16_t gso_size;       /* payload bytes per segment; 0 = not GSO */
	uint16_t hdr_len;        /* L2..L4 header bytes; 0 = unknown */
	uint16_t l3_off, l4_off; /* 0 = none */
	uint8_t ipver;           /* 4, 6, 0 */
	uint8_t l4_proto;
};

struct tap_seg_iter {
	const struct tap_frame *f;
	uint32_t mss;            /* payload per segment; 0 = whole frame */
	uint32_t nsegs;          /* segments the frame stands for */
	uint32_t navail;         /* ... of which the captured bytes hold */
	uint32_t i;
};

/* tap_seg_init() : prepares to cut <f> into segments of <mss> payload
 * bytes (0: the frame's own gso_size; a frame without one and with mss 0
 * is one segment). Returns the number of segments the frame stands for;
 * it->navail of them can be produced (fewer when the record was cut). */
uint32_t tap_seg_init(struct tap_seg_iter *it, const struct tap_frame *f, uint32_t mss);

/* Frames up to this size are completed whole in the output buffer, which
 * must have room for it (the cut happens after). */
#define TAP_SEG_WHOLE_MAX 65600u

/* tap_seg_next() : writes the next segment, cut to <cap> bytes, into
 * <out> (room for TAP_SEG_WHOLE_MAX bytes); *wire_len gets the segment's
 * full length. Returns the bytes written, 0 when no segment is left.
 * Like a NIC, it fills in checksums Linux left for offload (see
 * tap_seg.c), for segments and for whole frames. */
uint32_t tap_seg_next(struct tap_seg_iter *it, uint8_t *out, uint32_t cap, uint32_t *wire_len);

/* tap_seg_can_resegment() : whether <f> is a TCP frame whose headers are
 * known, so a smaller segment size can be used. */
bool tap_seg_can_resegment(const struct tap_frame *f);

/* tap_csum() : the Internet checksum (RFC 1071) of <len> bytes, folded,
 * starting from <sum>; exposed for tests. */
uint16_t tap_csum(const uint8_t *p, uint32_t len, uint32_t sum);

#endif
