/* nfv9_enc.h — NetFlow v9 (RFC 3954) export packets.
 *
 *	+---------+-------+-----------+-----------+----------------+-----------+
 *	| version | count | sysUpTime | unix_secs | sequenceNumber | source id |
 *	|  u16=9  |  u16  |  u32 (ms) |    u32    |      u32       |    u32    |
 *	+---------+-------+-----------+-----------+----------------+-----------+
 *	then flowsets: | id u16 (0 template, 1 options template, >= 256 data)
 *	               | length u16 | records... | padding to 4 bytes
 *
 * count is every record in the packet (templates, options templates and
 * data records). The sequence number counts export packets (§5.1). v9 has
 * no variable-length fields: VM names are fixed (16 bytes for the
 * interface name, 64 for the VM name, NUL-padded). FIRST/LAST_SWITCHED
 * are ms of sysUpTime; sysUpTime is chosen so that unix_secs * 1000 -
 * sysUpTime is exactly the exporter's boot time, which keeps absolute
 * times exact to the millisecond for collectors that rebuild them. */
#ifndef VT_NFV9_ENC_H
#define VT_NFV9_ENC_H

#include "wire/flowenc.h"

#define NFV9_HDR_LEN 20

void nfv9_begin(struct fe_msg *m, void *buf, size_t cap, const struct fe_hdr *h);
int nfv9_add_templates(struct fe_msg *m);
int nfv9_add_flow(struct fe_msg *m, const struct flow_rec *r);
int nfv9_add_options(struct fe_msg *m, const struct fe_counters *c, uint32_t domain);
size_t nfv9_end(struct fe_msg *m);
size_t nfv9_flow_size(const struct flow_rec *r);
/* nfv9_time_ok() : whether FIRST/LAST_SWITCHED of <r> and the header's
 * sysUpTime fit 32 bits of ms after the message's boot time. When not
 * (a capture spanning more than 49.7 days, time going backwards), the
 * exporter starts a message with a later boot time ("reboots"); a record
 * added anyway gets its times clamped. */
bool nfv9_time_ok(const struct fe_msg *m, const struct flow_rec *r);

extern const struct flowenc_ops nfv9_enc_ops;

#endif
