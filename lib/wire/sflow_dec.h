/* sflow_dec.h — sFlow version 5 datagrams (sflow.org, "sFlow Version 5",
 * July 2004) into flow records and interface counters.
 *
 * Each flow sample (compact format 1 or expanded format 3) becomes one
 * flow_rec: its sampled packet header is decoded with the packet decoder
 * (lib/pkt/pkt.h) — the OUTER packet, as it crossed the sampled interface,
 * outermost VLAN tag — or, without a header, its IPv4/IPv6/Ethernet data
 * records; extended switch/router/gateway records add VLAN, next hop,
 * masks and AS numbers. packets = 1 and bytes = the IP length, multiplied
 * by the sampling rate (flow_rec.sampling). Counter samples (formats 2 and
 * 4) are parsed; generic interface counters (record 1) are handed to
 * flowdec (stats and callback). sFlow carries no flow times: a sample's
 * first/last time is the time the datagram arrived. */
#ifndef VT_SFLOW_DEC_H
#define VT_SFLOW_DEC_H

#include <stddef.h>
#include <stdint.h>

#include "wire/flowdec.h"

#define SFLOW_VERSION_CODE 105   /* flow_rec.exp_version for sFlow v5 */

/* sflow_decode() : decodes one datagram. Returns 0 (also when samples
 * were skipped and counted), or -EBADMSG when the header is unusable. */
int sflow_decode(struct fd_msg *m, const uint8_t *buf, size_t len);

#endif
