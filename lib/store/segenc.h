/* segenc.h — writes segment blocks (the format is in segfile.h and
 * docs/store.md): a batch of columns in, one complete, checksummed block
 * out, ready to be appended to a segment file with one write. */
#ifndef VT_STORE_SEGENC_H
#define VT_STORE_SEGENC_H

#include <stddef.h>
#include <stdint.h>

#include "store/segfile.h"

struct seg_enc;

/* seg_enc_new() : an encoder using <comp> at <level> (zstd: its level;
 * lz4: the acceleration, 1 = default). NULL with errno on failure. Not
 * thread-safe: one per writer thread. */
struct seg_enc *seg_enc_new(enum seg_comp comp, int level);
void seg_enc_free(struct seg_enc *e);
/* seg_enc_set_comp() : the compression and level of the blocks encoded
 * next (each column records its compression, so blocks of a file may
 * differ). 0 or -ENOMEM. */
int seg_enc_set_comp(struct seg_enc *e, enum seg_comp comp, int level);
/* seg_enc_block() : encodes the <c->n> rows of <c> (1 <= n <=
 * SEG_MAX_ROWS) into a complete block. The columns valid in c->have are
 * written (the time and VM columns must be); one that is not is left out
 * of the block, which readers then take as zero, exactly as a block written
 * before that column existed (tests use this). *<out> points to its
 * bytes inside <e> (owned by <e>), valid until the next call. 0, -EINVAL
 * (bad batch) or -ENOMEM. */
int seg_enc_block(struct seg_enc *e, const struct flow_cols *c, const uint8_t **out,
		  size_t *len);

#endif
