/* Fuzz target: NetFlow v9 datagrams through the collector's decoder
 * (lib/wire/nfv9_dec.c via flowdec), as a sequence of datagrams sharing
 * one decoder state; see fuzz_flow.h. */
#include "fuzz_flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run(data, size, 9, false);
	return 0;
}
