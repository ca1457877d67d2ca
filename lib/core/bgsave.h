/* bgsave.h — state files written whole, off the caller's thread.
 *
 * A thread that must not wait for the disk (a socket reader: an fsync
 * can take tens of milliseconds on a busy disk, and the socket overflows
 * meanwhile) hands a file's new image to a saver thread, which writes it
 * with file_write_atomic(). A newer image of a path replaces one not yet
 * being written: the latest wins, and a burst of changes costs one write.
 * Images of one path are written in the order given. */
#ifndef VT_BGSAVE_H
#define VT_BGSAVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct bgsave;

/* Called on the saver thread once the image is written (r = 0) or not
 * (r < 0, the reason in <err>). An image replaced before it was written
 * gets no call. */
typedef void (*bgsave_done_fn)(void *arg, int r, const struct vt_err *err);

/* bgsave_new() : starts the saver thread. NULL with errno set. */
struct bgsave *bgsave_new(void);
/* bgsave_submit() : queues <len> bytes of <data> (malloc'ed; owned from
 * now, freed in every case) for <path> (copied), file mode <mode>; <done>
 * (may be NULL) is told the outcome. 0, -ENOMEM, -ESHUTDOWN after
 * bgsave_free() began. */
int bgsave_submit(struct bgsave *bs, const char *path, uint8_t *data, size_t len,
		  unsigned mode, bgsave_done_fn done, void *arg);
/* bgsave_sync() : returns once nothing is queued or being written: every
 * image submitted before the call is written (or failed) and its <done>
 * has returned (under a steady stream of submissions from other threads
 * it waits for those too). */
void bgsave_sync(struct bgsave *bs);
/* bgsave_free() : writes what is queued, stops the thread. Accepts NULL. */
void bgsave_free(struct bgsave *bs);

#endif
