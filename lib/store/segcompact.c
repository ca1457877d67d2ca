/* segcompact.c — see segcompact.h. */
#include "store/segcompact.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/segenc.h"

#define TMP_SUFFIX ".tmp"

struct seg_compact {
	int dirfd, in, out;
	char name[64], tmp[72];
	struct seg_blkref *src;        /* source blocks, owned */
	size_t nsrc, next;
	struct seg_blkref *dst;        /* blocks written to the new file, owned */
	size_t ndst, dstcap;
	uint64_t out_size;
	size_t block_rows;
	struct seg_enc *enc;
	struct seg_dctx dctx;
	struct flow_cols blk, acc;     /* one decoded block; rows waiting to be written */
	uint8_t *buf;
	size_t bufcap;
	bool committed;
};

bool seg_compact_is_tmp(const char *file)
{
	size_t n = strlen(file), t = strlen(TMP_SUFFIX);
	return n > t && strcmp(file + n - t, TMP_SUFFIX) == 0;
}

void seg_compact_free(struct seg_compact *c)
{
	if (!c)
		return;
	if (c->in >= 0)
		close(c->in);
	if (c->out >= 0)
		close(c->out);
	if (!c->committed && c->tmp[0])
		unlinkat(c->dirfd, c->tmp, 0);
	free(c->src);
	free(c->dst);
	free(c->buf);
	seg_enc_free(c->enc);
	seg_dctx_free(&c->dctx);
	cols_free(&c->blk);
	cols_free(&c->acc);
	free(c);
}

struct seg_compact *seg_compact_begin(int dirfd, const char *name, dev_t dev, ino_t ino,
				      const struct seg_blkref *src, size_t n, uint64_t start_ms,
				      uint64_t len_ms, size_t block_rows, enum seg_comp comp,
				      int level, struct vt_err *err)
{
	struct seg_compact *c = calloc(1, sizeof(*c));
	uint8_t hdr[SEG_FILE_HDR_LEN];
	struct stat sb;
	int r;

	if (!c) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	c->dirfd = dirfd;
	c->in = c->out = -1;
	c->block_rows = block_rows;
	cols_init(&c->blk);
	cols_init(&c->acc);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->src = malloc((n ? n : 1) * sizeof(*src));
	c->enc = seg_enc_new(comp, level);
	if (!c->src || !c->enc) {
		r = vt_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(c->src, src, n * sizeof(*src));
	c->nsrc = n;
	c->in = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (c->in < 0 || fstat(c->in, &sb) < 0) {
		r = vt_err_set(err, -errno, "%s: %s", name, strerror(errno));
		goto fail;
	}
	if (sb.st_dev != dev || sb.st_ino != ino) {
		r = vt_err_set(err, -ESTALE, "%s was replaced", name);
		goto fail;
	}
	snprintf(c->tmp, sizeof(c->tmp), "%s" TMP_SUFFIX, name);
	c->out = openat(dirfd, c->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (c->out < 0) {
		r = vt_err_set(err, -errno, "%s: %s", c->tmp, strerror(errno));
		c->tmp[0] = '\0';
		goto fail;
	}
	seg_file_header(hdr, start_ms, len_ms);
	if ((r = seg_pwrite(c->out, hdr, sizeof(hdr), 0)) < 0) {
		vt_err_set(err, r, "%s: %s", c->tmp, strerror(-r));
		goto fail;
	}
	c->out_size = SEG_FILE_HDR_LEN;
	return c;
fail:
	seg_compact_free(c);
	errno = -r;
	return NULL;
}

static int grow(uint8_t **p, size_t *cap, size_t need)
{
	if (*cap >= need)
		return 0;
	uint8_t *q = realloc(*p, need);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = need;
	return 0;
}

static int add_dst(struct seg_compact *c, uint64_t off, const struct seg_blkhdr *h)
{
	if (c->ndst == c->dstcap) {
		size_t ncap = c->dstcap ? c->dstcap * 2 : 16;
		struct seg_blkref *d = realloc(c->dst, ncap * sizeof(*d));
		if (!d)
			return -ENOMEM;
		c->dst = d;
		c->dstcap = ncap;
	}
	c->dst[c->ndst].off = off;
	c->dst[c->ndst].h = *h;
	c->ndst++;
	return 0;
}

/* Appends <len> bytes of one complete block to the new file. */
static int put_block(struct seg_compact *c, const uint8_t *blk, size_t len)
{
	struct seg_blkhdr h;
	int r;

	if (seg_blkhdr_parse(blk, &h) < 0)
		return -EBADMSG;
	if ((r = seg_pwrite(c->out, blk, len, c->out_size)) < 0)
		return r;
	if ((r = add_dst(c, c->out_size, &h)) < 0)
		return r;
	c->out_size += len;
	return 0;
}

static int emit(struct seg_compact *c)
{
	const uint8_t *blk;
	size_t len;
	int r;

	if (!c->acc.n)
		return 0;
	if ((r = seg_enc_block(c->enc, &c->acc, &blk, &len)) < 0)
		return r;
	if ((r = put_block(c, blk, len)) < 0)
		return r;
	cols_reset(&c->acc);
	return 0;
}

/* Reads source block <b> whole and decodes every column into c->blk,
 * checking every checksum. */
static int decode(struct seg_compact *c, const struct seg_blkref *b)
{
	const struct seg_blkhdr *h = &b->h;
	size_t len = (size_t)h->meta_len + h->data_len;
	int r;

	if ((r = grow(&c->buf, &c->bufcap, len ? len : 1)) < 0)
		return r;
	if ((r = seg_pread(c->in, c->buf, len, b->off + SEG_BLK_HDR_LEN)) < 0)
		return r == -ENODATA ? -EBADMSG : r;
	return seg_block_decode(h, c->buf, &c->blk, &c->dctx);
}

int seg_compact_step(struct seg_compact *c, size_t max_rows)
{
	size_t done = 0;
	int r;

	while (c->next < c->nsrc) {
		const struct seg_blkref *b = &c->src[c->next];
		if ((r = decode(c, b)) < 0)
			return r;
		if (c->acc.n && c->acc.n + c->blk.n > c->block_rows && (r = emit(c)) < 0)
			return r;
		if ((r = cols_append_cols(&c->acc, &c->blk)) < 0)
			return r;
		c->next++;
		done += b->h.nrows;
		if (done >= max_rows && c->next < c->nsrc)
			return 1;
	}
	return emit(c);
}

int seg_compact_tail(struct seg_compact *c, const struct seg_blkref *more, size_t n)
{
	int r;

	for (size_t i = 0; i < n; i++) {
		size_t len = SEG_BLK_HDR_LEN + (size_t)more[i].h.meta_len + more[i].h.data_len;
		if ((r = grow(&c->buf, &c->bufcap, len)) < 0)
			return r;
		if ((r = seg_pread(c->in, c->buf, len, more[i].off)) < 0)
			return r == -ENODATA ? -EBADMSG : r;
		if ((r = put_block(c, c->buf, len)) < 0)
			return r;
	}
	return 0;
}

int seg_compact_sync(struct seg_compact *c)
{
	return fdatasync(c->out) < 0 ? -errno : 0;
}

int seg_compact_commit(struct seg_compact *c, const struct seg_blkref **blocks, size_t *n,
		       uint64_t *size, dev_t *dev, ino_t *ino)
{
	struct stat sb;

	if (c->next < c->nsrc)
		return -EINVAL;
	if (fstat(c->out, &sb) < 0)
		return -errno;
	if (renameat(c->dirfd, c->tmp, c->dirfd, c->name) < 0)
		return -errno;
	c->committed = true;
	*blocks = c->dst;
	*n = c->ndst;
	*size = c->out_size;
	*dev = sb.st_dev;
	*ino = sb.st_ino;
	return 0;
}
