/* ipfix_dec.h — IPFIX (RFC 7011) messages into flow records, and the
 * message framing of IPFIX over TCP.
 *
 * Template sets (2), options template sets (3), template withdrawals (one
 * template, or all with id 2 / 3), enterprise elements (PEN after the
 * element id when its high bit is set), RFC 5103 reverse elements (PEN
 * 29305), variable-length fields and set padding. Data sets share their
 * decoding with NetFlow v9 (fd_data_set). */
#ifndef VT_IPFIX_DEC_H
#define VT_IPFIX_DEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "wire/flowdec.h"

#define IPFIX_HDR_LEN 16
#define IPFIX_MSG_MAX 65535

/* ipfix_decode() : decodes one message (the first <len> bytes or the
 * header's length, whichever is shorter). Returns 0 (also when parts were
 * skipped and counted), or -EBADMSG when the header is unusable. */
int ipfix_decode(struct fd_msg *m, const uint8_t *buf, size_t len);

/* ---- IPFIX over TCP: message framing ------------------------------------
 *
 * A TCP connection carries messages back to back; each starts with the
 * version (10) and its length. ipfix_stream_feed() takes bytes as they
 * are read and calls <cb> once per complete message, in order. At most
 * one partial message (< 64 KiB) is buffered per connection. A header
 * that is not IPFIX or a length < 16 means the stream is lost: feed
 * returns -EBADMSG and the caller closes the connection. */
struct ipfix_stream {
	struct vbuf partial;       /* bytes of an incomplete message */
	uint64_t messages;         /* messages delivered */
	uint64_t bytes;            /* bytes fed */
};

typedef void (*ipfix_msg_fn)(void *arg, const uint8_t *msg, size_t len);

void ipfix_stream_init(struct ipfix_stream *s);
/* ipfix_stream_feed() : 0, -EBADMSG (desynchronised) or -ENOMEM. */
int ipfix_stream_feed(struct ipfix_stream *s, const uint8_t *data, size_t len,
		      ipfix_msg_fn cb, void *arg);
/* ipfix_stream_pending() : bytes of an incomplete message held. */
size_t ipfix_stream_pending(const struct ipfix_stream *s);
void ipfix_stream_free(struct ipfix_stream *s);

#endif
