/* pcapfile.h — reading pcap and pcapng capture files.
 *
 * The format is detected from the magic number (never the file name):
 * classic pcap in both byte orders with microsecond or nanosecond
 * timestamps, and pcapng (SHB, IDB, EPB, SPB, OPB; several sections and
 * interfaces, each with its own link type, snaplen and timestamp
 * resolution). The whole file is mapped read-only and records are handed
 * out as pointers into the mapping: no copy per packet.
 *
 * A damaged record ends the read with a message naming the file offset;
 * everything before it has been delivered. A file that is not a capture
 * at all fails at open with a message saying what was wrong. */
#ifndef VT_PCAPFILE_H
#define VT_PCAPFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

struct pcapfile;

struct pcap_rec {
	const uint8_t *data;   /* captured bytes; valid until the file is closed */
	uint32_t caplen;       /* bytes in data */
	uint32_t wirelen;      /* original length on the wire (>= caplen) */
	uint64_t ts_ns;        /* nanoseconds since the epoch */
	int link;              /* LINKTYPE_* of the record's interface */
	uint32_t ifindex;      /* pcapng interface id (0 for classic pcap) */
	int8_t direction;      /* pcapng epb_flags: 1 inbound, 2 outbound, 0 unknown */
};

struct pcapfile_stats {
	uint64_t records;          /* packet records delivered */
	uint64_t skipped_blocks;   /* pcapng blocks of types we do not use */
	uint64_t bad_timestamps;   /* tv_nsec >= 1e9 etc.: delivered, time clamped */
	uint64_t snapped;          /* records with caplen < wirelen */
};

/* pcapfile_open() : maps <path> and reads its header. NULL on error with
 * a message in <err> ("not a capture file (magic 0x...)", "pcap version
 * 1.0 unsupported", ...). */
struct pcapfile *pcapfile_open(const char *path, struct vt_err *err);
/* pcapfile_open_mem() : the same on a caller-owned buffer (fuzzing, tests);
 * <buf> must outlive the reader. */
struct pcapfile *pcapfile_open_mem(const uint8_t *buf, size_t len, struct vt_err *err);
/* pcapfile_next() : 1 and fills <rec>, 0 at a clean end of file, or a
 * negative errno with a message in <err> naming the byte offset of the
 * damaged record. */
int pcapfile_next(struct pcapfile *pf, struct pcap_rec *rec, struct vt_err *err);
/* pcapfile_format() : "pcap", "pcap-ns", "pcapng" (and "-be" when the file
 * is big-endian). */
const char *pcapfile_format(const struct pcapfile *pf);
const struct pcapfile_stats *pcapfile_stats(const struct pcapfile *pf);
void pcapfile_close(struct pcapfile *pf);

#endif
