/* nfv9_dec.h — NetFlow v9 (RFC 3954) datagrams into flow records.
 *
 * Template flowsets (0) and options template flowsets (1) feed the
 * exporter's template cache; data flowsets are decoded by the logic shared
 * with IPFIX (fd_data_set). Non-standard but real: variable-length fields
 * (length 65535, IPFIX encoding, sent by H3C NetStream) and a zero-filled
 * tail after the last flowset (Palo Alto). */
#ifndef VT_NFV9_DEC_H
#define VT_NFV9_DEC_H

#include <stddef.h>
#include <stdint.h>

#include "wire/flowdec.h"

#define NFV9_HDR_LEN 20

/* nfv9_decode() : decodes one datagram. Returns 0 (also when parts were
 * skipped and counted), or -EBADMSG when the header is unusable. */
int nfv9_decode(struct fd_msg *m, const uint8_t *buf, size_t len);

#endif
