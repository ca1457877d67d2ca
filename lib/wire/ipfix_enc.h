/* ipfix_enc.h — IPFIX (RFC 7011) export messages: header, template sets,
 * the exporter-statistics options template, data sets of flow records.
 *
 *	+---------+--------+------------+----------------+-------------------+
 *	| version | length | exportTime | sequenceNumber | observationDomain |
 *	|  u16=10 |  u16   |  u32 (s)   |      u32       |        u32        |
 *	+---------+--------+------------+----------------+-------------------+
 *	then sets: | set id u16 (2 template, 3 options template, >= 256 data)
 *	           | set length u16 (incl. this 4-byte header) | records...
 *
 * Records of the same template share a set; no padding (RFC 7011 §3.3.1
 * makes it optional). The sequence number is the count of data records
 * sent before this message in the observation domain (§3.1); the caller
 * passes it at ipfix_begin(). Field layout: docs/wire/ipfix.md. */
#ifndef VT_IPFIX_ENC_H
#define VT_IPFIX_ENC_H

#include "wire/flowenc.h"

#define IPFIX_HDR_LEN 16

/* ipfix_begin() : starts a message in <buf> (<cap> bytes, caller-owned). */
void ipfix_begin(struct fe_msg *m, void *buf, size_t cap, const struct fe_hdr *h);
/* ipfix_add_templates() : one template set with every data template and
 * one options template set; -ENOSPC (message unchanged) if they do not
 * fit. */
int ipfix_add_templates(struct fe_msg *m);
/* ipfix_add_flow() : one data record; -ENOSPC if it does not fit. */
int ipfix_add_flow(struct fe_msg *m, const struct flow_rec *r);
/* ipfix_add_options() : the exporter-statistics options record. */
int ipfix_add_options(struct fe_msg *m, const struct fe_counters *c, uint32_t domain);
/* ipfix_end() : closes the open set and writes the length; returns the
 * message length. */
size_t ipfix_end(struct fe_msg *m);
size_t ipfix_flow_size(const struct flow_rec *r);

extern const struct flowenc_ops ipfix_enc_ops;

#endif
