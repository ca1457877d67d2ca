/* pcapng_wr.h — writing pcapng (draft-ietf-opsawg-pcapng) capture files
 * and size/count-rotated rings of them.
 *
 * The block encoders (SHB, IDB, EPB) write into a struct vt_wr and are
 * pure, so tests check them byte for byte. The ring writer is what the
 * tap's pcapng destination uses: one interface description block per VM
 * port (if_name = VM name, if_description = VM UUID, host and port, as
 * Wireshark shows both), enhanced packet blocks with nanosecond
 * timestamps and the direction in epb_flags, files rotated by size and at
 * most <file_count> kept.
 *
 * Readable while being written: blocks are assembled in memory and
 * written whole, and the buffer is written out at every flush, so a
 * reader (tshark, a tail -f style consumer) never sees half a block at a
 * flush point. Each new file repeats the SHB and every IDB, so interface
 * ids are the same in every file of the ring. Files are little-endian
 * (the byte-order magic says so; readers handle both). */
#ifndef VT_PCAPNG_WR_H
#define VT_PCAPNG_WR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/be.h"
#include "core/err.h"

#define PCAPNG_BT_SHB 0x0A0D0D0Au
#define PCAPNG_BT_IDB 0x00000001u
#define PCAPNG_BT_EPB 0x00000006u
#define PCAPNG_BOM 0x1A2B3C4Du

/* epb_flags (option 2 of the EPB), bits 0-1: packet direction relative to
 * the interface. */
#define PCAPNG_EPB_INBOUND 1u
#define PCAPNG_EPB_OUTBOUND 2u

#define PCAPNG_LINKTYPE_ETHERNET 1

struct pcapng_if {
	uint16_t linktype;         /* LINKTYPE_* */
	uint32_t snaplen;          /* 0 = no limit */
	const char *name;          /* if_name (option 2), may be NULL */
	const char *description;   /* if_description (option 3), may be NULL */
};

/* Block encoders: each returns the number of bytes written, or -ENOSPC
 * (nothing written) when <w> has no room. Strings longer than 65535 bytes
 * are cut at 65535. */
int pcapng_put_shb(struct vt_wr *w, const char *hardware, const char *os,
		   const char *app);
int pcapng_put_idb(struct vt_wr *w, const struct pcapng_if *ifc);
/* pcapng_put_epb() : <caplen> bytes of <data> from a frame of <origlen>
 * bytes, timestamp in ns since the epoch (the IDBs say if_tsresol = 9),
 * <flags> = PCAPNG_EPB_* (0: no flags option). */
int pcapng_put_epb(struct vt_wr *w, uint32_t ifid, uint64_t ts_ns,
		   const void *data, uint32_t caplen, uint32_t origlen,
		   uint32_t flags);
/* Sizes, for callers that budget room. */
size_t pcapng_idb_size(const struct pcapng_if *ifc);
size_t pcapng_epb_size(uint32_t caplen, uint32_t flags);

/* ---- ring of files --------------------------------------------------- */

struct pcapng_ring_opts {
	const char *dir;           /* existing directory */
	const char *prefix;        /* files are DIR/PREFIX_NNNNNN.pcapng */
	uint64_t file_size;        /* rotate at this many bytes; 0 = never */
	uint32_t file_count;       /* keep at most this many files; 0 = all */
	const char *hardware, *os, *app;   /* SHB options, may be NULL */
	size_t buf_size;           /* write buffer; 0 = 1 MiB */
};

struct pcapng_ring_stats {
	uint64_t packets;          /* EPBs written to files (not counting the buffer) */
	uint64_t bytes;            /* bytes written to files */
	uint64_t files_opened;
	uint64_t files_removed;    /* deleted by the count limit */
	uint64_t write_errors;     /* packets lost to failed writes or bad calls */
};

struct pcapng_ring;

/* pcapng_ring_open() : opens the first file (continuing the numbering of
 * files already in <dir> with the same prefix, and applying the count
 * limit to them). NULL with <err> set on failure. The options' strings
 * are copied. */
struct pcapng_ring *pcapng_ring_open(const struct pcapng_ring_opts *o,
				     struct vt_err *err);
/* pcapng_ring_add_if() : declares an interface; returns its id (>= 0),
 * the same in every file, or a negative errno. At most 65535. */
int pcapng_ring_add_if(struct pcapng_ring *r, const struct pcapng_if *ifc);
/* pcapng_ring_packet() : appends one EPB (see pcapng_put_epb); may rotate.
 * 0 or a negative errno (the packet is lost and counted). */
int pcapng_ring_packet(struct pcapng_ring *r, uint32_t ifid, uint64_t ts_ns,
		       const void *data, uint32_t caplen, uint32_t origlen,
		       uint32_t flags);
/* pcapng_ring_flush() : writes buffered blocks; the file then ends on a
 * block boundary. */
int pcapng_ring_flush(struct pcapng_ring *r);
/* pcapng_ring_path() : the file being written (valid until the next
 * call that may rotate). */
const char *pcapng_ring_path(const struct pcapng_ring *r);
const struct pcapng_ring_stats *pcapng_ring_stats(const struct pcapng_ring *r);
/* pcapng_ring_close() : flushes and closes; accepts NULL. */
void pcapng_ring_close(struct pcapng_ring *r);

#endif
