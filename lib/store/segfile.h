/* segfile.h — the on-disk format of the embedded store's segment files.
 *
 * A segment file holds the rows of one time partition as an append-only
 * sequence of self-contained, checksummed blocks (docs/store.md has the
 * byte layout):
 *
 *	file header (32 B) | block | block | ...
 *	block = header (48 B, CRC) | meta (CRC) | column data (CRC per column)
 *
 * The header carries the row count and time range, so a reader can skip a
 * block on time alone; the meta carries per-column encodings, min/max,
 * Bloom filters for addresses and ports, the VM dictionary and zone names,
 * so a reader can skip a block on the filter; each column is stored and
 * checksummed separately, so a query reads and decompresses only the
 * columns it needs. A block is written with one write() at the end of the
 * file: a crash leaves at most one torn block at the tail, which
 * seg_file_walk() detects. Everything read from a file is untrusted. */
#ifndef VT_STORE_SEGFILE_H
#define VT_STORE_SEGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "query/filter.h"
#include "store/cols.h"

#define SEG_FILE_HDR_LEN 32
#define SEG_BLK_HDR_LEN 48
#define SEG_MAX_ROWS (1u << 20)          /* rows per block */
#define SEG_MAX_META (64u << 20)         /* bytes of block meta */
#define SEG_MAX_DATA (1u << 30)          /* bytes of block data */
#define SEG_BLOOM_MAX_BITS (1u << 16)    /* 8 KiB per bloom; more distinct values: none */

enum seg_comp { SEG_COMP_NONE = 0, SEG_COMP_ZSTD = 1, SEG_COMP_LZ4 = 2 };

/* A validated block header. */
struct seg_blkhdr {
	uint32_t meta_len, data_len, nrows, meta_crc;
	uint64_t tmin, tmax;     /* min and max of first_ms/last_ms over the rows */
};

/* One column's entry in the meta. */
struct seg_colent {
	uint8_t enc;             /* SEG_ENC_* */
	uint8_t width;           /* bytes per value as stored */
	uint8_t comp;            /* enum seg_comp */
	uint64_t base;           /* integer columns: value = base + stored */
	uint32_t off, clen, rawlen, crc;
	uint8_t cval[16];        /* SEG_ENC_CONST address/MAC value */
};

enum { SEG_ENC_CONST = 0, SEG_ENC_PLANES = 1 };

/* A parsed block meta. <sum> points into <raw> (blooms) and at <dict>:
 * the struct must not be moved while sum is used. */
struct seg_meta {
	uint32_t nrows;
	uint64_t present;                 /* FC_BIT of the columns stored */
	struct seg_colent col[FC_NCOLS];
	struct fc_summary sum;
	struct flow_cols dict;            /* vms, zones (owned) */
	uint8_t *vmuse;                   /* dict.nvms entries (owned) */
	uint8_t *raw;                     /* copy of the meta bytes (owned) */
	size_t rawlen;
};

/* ---- checksums ---------------------------------------------------------- */

/* seg_crc32c() : CRC-32C (Castagnoli), hardware-accelerated when the CPU
 * has SSE4.2. <crc> is 0 for a fresh checksum. */
uint32_t seg_crc32c(uint32_t crc, const void *p, size_t n);

/* ---- small shared pieces ------------------------------------------------ */

/* seg_kind_is_int() : integer columns (frame-of-reference coded). */
bool seg_kind_is_int(enum fc_kind k);
/* seg_file_header() : the 32-byte header of a file whose partition starts
 * at <start_ms> and lasts <len_ms>. */
void seg_file_header(uint8_t out[SEG_FILE_HDR_LEN], uint64_t start_ms, uint64_t len_ms);
/* seg_pread() / seg_pwrite() : the whole <n> bytes at <off>, retrying
 * short transfers and EINTR. 0, -errno, or -ENODATA at end of file. */
int seg_pread(int fd, void *buf, size_t n, uint64_t off);
int seg_pwrite(int fd, const void *buf, size_t n, uint64_t off);

/* A block found in a file: its offset and validated header. */
struct seg_blkref {
	uint64_t off;
	struct seg_blkhdr h;
};

/* ---- reading ------------------------------------------------------------ */

/* seg_file_header_parse() : validates a file header. 0 or -EBADMSG. */
int seg_file_header_parse(const uint8_t *p, size_t len, uint64_t *start_ms, uint64_t *len_ms);
/* seg_blkhdr_parse() : validates magic, CRC and bounds of the 48 bytes at
 * <p>. 0 or -EBADMSG. */
int seg_blkhdr_parse(const uint8_t *p, struct seg_blkhdr *h);

/* What seg_file_walk() found. */
struct seg_walk {
	uint64_t blocks, rows;
	uint64_t valid_end;        /* end of the last valid block (>= header) */
	uint64_t torn_bytes;       /* bytes after valid_end that are not a block */
	uint64_t corrupt_blocks;   /* complete blocks with a bad meta checksum, skipped */
	uint64_t corrupt_bytes;    /* bytes skipped in the middle (resynchronized) */
};

/* Called for each valid block: <off> is the block's file offset. A
 * non-zero return stops the walk and is returned by seg_file_walk(). */
typedef int (*seg_block_cb)(void *arg, uint64_t off, const struct seg_blkhdr *h);

/* seg_file_walk() : walks the blocks of the open file <fd> of <size>
 * bytes, starting at <from> (SEG_FILE_HDR_LEN or a previous valid_end).
 * A block is valid when its header checksum, bounds and meta checksum are
 * right and it lies within the file. A bad region in the middle is
 * skipped by searching for the next valid block header; what follows the
 * last valid block is the torn tail (a crash mid-write), which the writer
 * truncates. Returns 0, -errno (I/O) or the callback's value. */
int seg_file_walk(int fd, uint64_t size, uint64_t from, seg_block_cb cb, void *arg,
		  struct seg_walk *w);

/* seg_meta_parse() : parses meta bytes (copied into m->raw) of a block of
 * <nrows> rows. Every length, width and index is checked; on error returns
 * -EBADMSG with a message in <err>. Free with seg_meta_free(). */
int seg_meta_parse(const uint8_t *p, size_t len, uint32_t nrows, struct seg_meta *m,
		   struct vt_err *err);
void seg_meta_free(struct seg_meta *m);

/* Decoding scratch (decompression context and buffers); zero-init. */
struct seg_dctx {
	void *zstd;      /* ZSTD_DCtx */
	uint8_t *buf;
	size_t cap;
};
void seg_dctx_free(struct seg_dctx *d);

/* seg_col_decode() : decodes column <col> of a block from its stored bytes
 * <p>/<len> (the col's clen bytes at data offset col->off) into <out>,
 * which must have room for m->nrows rows (cols_reserve). VM references
 * are checked against the dictionary. 0, -EBADMSG (checksum, size,
 * decompression) or -ENOMEM. */
int seg_col_decode(const struct seg_meta *m, unsigned col, const uint8_t *p, size_t len,
		   struct flow_cols *out, struct seg_dctx *d);
/* seg_cols_dict() : copies the block's VM dictionary and zone names into
 * <out> (the batch the columns are decoded into). */
int seg_cols_dict(const struct seg_meta *m, struct flow_cols *out);
/* seg_block_decode() : decodes a whole block held in memory — <body>, the
 * h->meta_len + h->data_len bytes after its header <h> — into every
 * column of <out> (reset first), checking the meta checksum, every
 * column's checksum and bounds. 0, -EBADMSG or -ENOMEM. */
int seg_block_decode(const struct seg_blkhdr *h, const uint8_t *body, struct flow_cols *out,
		     struct seg_dctx *d);

#endif
