/* Fuzz target: NetFlow v5 datagrams through the collector's decoder
 * (lib/wire/nfv5_dec.c via flowdec), as a sequence of datagrams sharing
 * one decoder state; see fuzz_flow.h. */
#include "fuzz_flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run(data, size, 5, false);
	return 0;
}
