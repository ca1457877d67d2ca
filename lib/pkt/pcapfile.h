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
 * at all fails at open with a message saying what was wrong.
 *
 * Pipes and "-" (stdin) are read through a bounded streaming buffer
 * (PCAPFILE_MAX_BLOCK plus slack) instead of a mapping; records are then
 * valid only until the next pcapfile_next() call. docs/decoder.md lists
 * the behaviour on every kind of damaged file. */
#ifndef VT_PCAPFILE_H
#define VT_PCAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct pcapfile;

/* Largest record (classic caplen) or pcapng block we accept: bigger ones
 * are damage, never a reason to allocate. */
#define PCAPFILE_MAX_BLOCK (16u << 20)
/* pcapng interfaces kept per section; further IDBs are counted and their
 * packets skipped (counted), so a hostile file cannot grow the table. */
#define PCAPFILE_MAX_IFS 4096

struct pcap_rec {
	const uint8_t *data;   /* captured bytes; valid until the file is closed
				* (mapped) or the next pcapfile_next() (stream) */
	uint32_t caplen;       /* bytes in data */
	uint32_t wirelen;      /* original length on the wire (>= caplen) */
	uint64_t ts_ns;        /* nanoseconds since the epoch (pcapng SPB: the
				* previous record's, the block has none) */
	int link;              /* LINKTYPE_* of the record's interface */
	uint32_t ifindex;      /* pcapng interface id (0 for classic pcap) */
	int8_t direction;      /* pcapng epb_flags: 1 inbound, 2 outbound, 0 unknown */
};

struct pcapfile_stats {
	uint64_t records;          /* packet records delivered */
	uint64_t skipped_blocks;   /* pcapng blocks of types we do not use */
	uint64_t bad_timestamps;   /* tv_nsec >= 1e9 etc.: delivered, time clamped */
	uint64_t snapped;          /* records with caplen < wirelen */
	/* added with the implementation */
	uint64_t over_snaplen;     /* caplen > the file's/interface's snaplen:
				    * delivered as recorded */
	uint64_t short_wirelen;    /* orig_len < caplen: delivered, wirelen = caplen */
	uint64_t sections;         /* pcapng section header blocks */
	uint64_t interfaces;       /* pcapng interface description blocks */
	uint64_t ifs_over_limit;   /* IDBs past PCAPFILE_MAX_IFS in a section */
	uint64_t skipped_records;  /* packets on those interfaces, not delivered */
	uint64_t bad_options;      /* packet-block options that overran the
				    * block: ignored, the packet delivered */
};

/* pcapfile_open() : maps <path> (or streams it when it is a pipe, a
 * device, or "-" for stdin) and reads its header. NULL on error (errno
 * set) with a message in <err> ("not a capture file (magic 0x...)",
 * "pcap version 1.0 unsupported", ...). */
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
/* pcapfile_link() : the link type of a classic pcap file, -1 for pcapng
 * (each record carries its interface's). */
int pcapfile_link(const struct pcapfile *pf);
/* pcapfile_offset() : file offset of the next byte to be read. */
uint64_t pcapfile_offset(const struct pcapfile *pf);
const struct pcapfile_stats *pcapfile_stats(const struct pcapfile *pf);
void pcapfile_close(struct pcapfile *pf);

#endif
