/* Fuzz target: sFlow v5 datagrams through the collector's decoder
 * (lib/wire/sflow_dec.c via flowdec, sampled headers through lib/pkt), as a
 * sequence of datagrams sharing one decoder state; see fuzz_flow.h. The
 * corpus' sFlow captures and tcpdump's sFlow crasher are seeds. */
#include "fuzz_flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run(data, size, 5, false);
	return 0;
}
