/* nfv5_dec.h — NetFlow v5 datagrams (Cisco's fixed format: a 24-byte
 * header and up to 30 records of 48 bytes) into flow records.
 *
 * Called by flowdec_input(). The header count must match the length; when
 * it does not, the error is counted (v5_length) and the whole records that
 * are present (at most count) are still decoded. */
#ifndef VT_NFV5_DEC_H
#define VT_NFV5_DEC_H

#include <stddef.h>
#include <stdint.h>

#include "wire/flowdec.h"

#define NFV5_HDR_LEN 24
#define NFV5_REC_LEN 48

/* nfv5_decode() : decodes <len> bytes into records emitted through
 * fd_emit(). Returns 0, or -EBADMSG (counted) when the header is short. */
int nfv5_decode(struct fd_msg *m, const uint8_t *buf, size_t len);

#endif
