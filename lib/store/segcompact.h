/* segcompact.h — rewrites one segment file's small blocks into full ones.
 *
 * At low flow rates every flush writes a small block, and each block
 * costs a meta of a couple of KiB and a read per query. Once a partition's
 * time window has passed, its blocks are decoded and re-encoded into
 * blocks of up to block_rows rows, into DIR/NAME.tmp, a bounded piece of
 * work per step (the writer's flusher thread interleaves steps with its
 * flushes), and the new file is renamed over the old one. A crash before
 * the rename leaves a stale NAME.tmp (removed at the next open) and the
 * original intact; after it, the new file. Blocks appended to the source
 * while the rewrite ran are copied as they are before the rename.
 *
 * The caller (segstore.c) chooses partitions, provides the locking around
 * tail/commit and updates its index with the new block list. */
#ifndef VT_STORE_SEGCOMPACT_H
#define VT_STORE_SEGCOMPACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "store/segfile.h"

struct seg_compact;

/* seg_compact_begin() : starts rewriting DIR/<name> (whose identity must
 * still be <dev>/<ino>) from its blocks <src>/<n> (copied), as a partition
 * starting at <start_ms> of <len_ms>. NULL with <err> set on failure. */
struct seg_compact *seg_compact_begin(int dirfd, const char *name, dev_t dev, ino_t ino,
				      const struct seg_blkref *src, size_t n, uint64_t start_ms,
				      uint64_t len_ms, size_t block_rows, enum seg_comp comp,
				      int level, struct vt_err *err);
/* seg_compact_step() : rewrites source blocks until <max_rows> rows were
 * read or none are left. 1 more to do, 0 done, -errno (a damaged block:
 * -EBADMSG; the caller abandons the rewrite, the source stays as it is). */
int seg_compact_step(struct seg_compact *c, size_t max_rows);
/* seg_compact_tail() : copies <n> blocks appended to the source after
 * begin, byte for byte. Call after the last step, with appends stopped. */
int seg_compact_tail(struct seg_compact *c, const struct seg_blkref *more, size_t n);
/* seg_compact_sync() : fdatasync() of the new file (before commit, so the
 * caller need not hold locks across it). */
int seg_compact_sync(struct seg_compact *c);
/* seg_compact_commit() : renames the new file over the source. On success
 * the new file's blocks, size and identity are returned; <*blocks> stays
 * owned by <c>. */
int seg_compact_commit(struct seg_compact *c, const struct seg_blkref **blocks, size_t *n,
		       uint64_t *size, dev_t *dev, ino_t *ino);
/* seg_compact_free() : releases <c>; an uncommitted rewrite is abandoned
 * and its temporary file removed. NULL ok. */
void seg_compact_free(struct seg_compact *c);
/* seg_compact_is_tmp() : whether <file> is a rewrite's temporary file (a crash
 * leftover when found at open). */
bool seg_compact_is_tmp(const char *file);

#endif
