/* Fuzz target: lib/pkt/pcapfile.c — the pcap/pcapng reader.
 *
 * Input: a file image. Every record the reader hands out must lie inside
 * the image and respect caplen <= wirelen; reading stops at a clean end or
 * an error with a message. Each record is also decoded (the pipeline the
 * meter runs), so damage that reaches the decoder is covered too.
 *
 * The same image is then read again through a pipe, which takes the
 * reader's other input path (a bounded buffer that is refilled, compacted
 * and grown instead of a mapping): it must hand out the same records and
 * end the same way, with the same message. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkt/pcapfile.h"
#include "pkt/pkt.h"

#define CHECK(c)                        \
	do {                            \
		if (!(c))               \
			__builtin_trap(); \
	} while (0)

/* The image in a pipe (NULL when it does not fit one: the fuzzer's
 * inputs do, big corpus seeds may not), opened by path as a user would. */
static struct pcapfile *open_piped(const uint8_t *data, size_t size, struct vt_err *err)
{
	struct pcapfile *pf;
	char path[64];
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	if (fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < (int)size + 1 ||
	    (size && write(p[1], data, size) != (ssize_t)size)) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	close(p[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	pf = pcapfile_open(path, err);
	close(p[0]); /* the reader opened its own descriptor */
	return pf;
}

/* What the reader says about a record, copied: a streamed record is valid
 * only until the next call. */
struct seen {
	uint32_t caplen, wirelen, ifindex;
	uint64_t ts_ns;
	int link;
	int8_t direction;
	size_t off;                 /* of its data in the image */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_err err = { 0 }, serr = { 0 };
	struct pcapfile *pf = pcapfile_open_mem(data, size, &err), *sf;
	struct pcap_rec rec;
	struct seen *seen = NULL;
	size_t nseen = 0, cap = 0;
	uint64_t n = 0;
	int r, sr;

	sf = open_piped(data, size, &serr);
	if (!pf) {
		CHECK(err.code < 0 && err.msg[0] != '\0');
		/* the stream refuses it too, for the same reason (after the
		 * path it names) */
		if (sf || serr.msg[0]) {
			CHECK(!sf && serr.code == err.code && strstr(serr.msg, err.msg));
		}
		pcapfile_close(sf);
		return 0;
	}
	CHECK(pcapfile_format(pf) != NULL);
	while ((r = pcapfile_next(pf, &rec, &err)) == 1) {
		struct pkt_info pi;

		CHECK(rec.data >= data && rec.data + rec.caplen <= data + size);
		CHECK(rec.caplen <= rec.wirelen);
		CHECK(rec.direction >= 0 && rec.direction <= 2);
		(void)pkt_decode_frame(&pi, rec.link, rec.data, rec.caplen, rec.wirelen);
		if (nseen == cap) {
			cap = cap ? cap * 2 : 64;
			seen = realloc(seen, cap * sizeof(*seen));
			CHECK(seen != NULL);
		}
		seen[nseen++] = (struct seen){ rec.caplen, rec.wirelen, rec.ifindex, rec.ts_ns,
					       rec.link, rec.direction, (size_t)(rec.data - data) };
		n++;
	}
	CHECK(r == 0 || (r < 0 && err.msg[0] != '\0'));
	CHECK(pcapfile_stats(pf)->records == n);
	CHECK(pcapfile_offset(pf) <= size);

	if (sf) {
		size_t i = 0;
		CHECK(strcmp(pcapfile_format(sf), pcapfile_format(pf)) == 0);
		while ((sr = pcapfile_next(sf, &rec, &serr)) == 1) {
			CHECK(i < nseen);
			CHECK(rec.caplen == seen[i].caplen && rec.wirelen == seen[i].wirelen &&
			      rec.ifindex == seen[i].ifindex && rec.ts_ns == seen[i].ts_ns &&
			      rec.link == seen[i].link && rec.direction == seen[i].direction);
			CHECK(memcmp(rec.data, data + seen[i].off, rec.caplen) == 0);
			i++;
		}
		CHECK(i == nseen && sr == r);
		CHECK(r == 0 || strcmp(serr.msg, err.msg) == 0);
		CHECK(memcmp(pcapfile_stats(sf), pcapfile_stats(pf), sizeof(struct pcapfile_stats)) == 0);
		CHECK(pcapfile_offset(sf) == pcapfile_offset(pf));
		pcapfile_close(sf);
	}
	free(seen);
	pcapfile_close(pf);
	return 0;
}
