/* Fuzz target: lib/pkt/pcapfile.c — the pcap/pcapng reader.
 *
 * Input: a file image. Every record the reader hands out must lie inside
 * the image and respect caplen <= wirelen; reading stops at a clean end or
 * an error with a message. Each record is also decoded (the pipeline the
 * meter runs), so damage that reaches the decoder is covered too. */
#include <stdint.h>
#include <string.h>

#include "pkt/pcapfile.h"
#include "pkt/pkt.h"

#define CHECK(c)                        \
	do {                            \
		if (!(c))               \
			__builtin_trap(); \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_err err = { 0 };
	struct pcapfile *pf = pcapfile_open_mem(data, size, &err);
	struct pcap_rec rec;
	uint64_t n = 0;
	int r;

	if (!pf) {
		CHECK(err.code < 0 && err.msg[0] != '\0');
		return 0;
	}
	CHECK(pcapfile_format(pf) != NULL);
	while ((r = pcapfile_next(pf, &rec, &err)) == 1) {
		struct pkt_info pi;

		CHECK(rec.data >= data && rec.data + rec.caplen <= data + size);
		CHECK(rec.caplen <= rec.wirelen);
		CHECK(rec.direction >= 0 && rec.direction <= 2);
		(void)pkt_decode_frame(&pi, rec.link, rec.data, rec.caplen, rec.wirelen);
		n++;
	}
	CHECK(r == 0 || (r < 0 && err.msg[0] != '\0'));
	CHECK(pcapfile_stats(pf)->records == n);
	CHECK(pcapfile_offset(pf) <= size);
	pcapfile_close(pf);
	return 0;
}
