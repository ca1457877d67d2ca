/* pcapng_wr.c — pcapng block encoders and the rotated ring of files (see
 * pcapng_wr.h). pcapng is written in host byte order; we write
 * little-endian explicitly so the bytes do not depend on the machine. */
#include "wire/pcapng_wr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/compiler.h"
#include "core/fileio.h"
#include "core/log.h"

#define OPT_ENDOFOPT 0
#define OPT_SHB_HARDWARE 2
#define OPT_SHB_OS 3
#define OPT_SHB_USERAPPL 4
#define OPT_IF_NAME 2
#define OPT_IF_DESCRIPTION 3
#define OPT_IF_TSRESOL 9
#define OPT_EPB_FLAGS 2

static void st_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void st_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void wr_le16(struct vt_wr *w, uint16_t v)
{
	uint8_t *p = wr_reserve(w, 2);
	if (p)
		st_le16(p, v);
}

static void wr_le32(struct vt_wr *w, uint32_t v)
{
	uint8_t *p = wr_reserve(w, 4);
	if (p)
		st_le32(p, v);
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static size_t str_len(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 65535 ? 65535 : n;
}

/* an option with a string value: code, length, bytes, zero padding */
static size_t opt_str_size(const char *s)
{
	size_t n = str_len(s);
	return n ? 4 + pad4(n) : 0;
}

static void put_opt_str(struct vt_wr *w, uint16_t code, const char *s)
{
	size_t n = str_len(s);

	if (!n)
		return;
	wr_le16(w, code);
	wr_le16(w, (uint16_t)n);
	wr_bytes(w, s, n);
	wr_zero(w, pad4(n) - n);
}

/* Starts a block: type and a placeholder for the total length, which
 * end_block() back-patches into both length fields. */
static uint8_t *begin_block(struct vt_wr *w, uint32_t type)
{
	uint8_t *start = w->p;

	wr_le32(w, type);
	wr_le32(w, 0);
	return start;
}

static int end_block(struct vt_wr *w, uint8_t *start)
{
	uint32_t total;

	wr_le32(w, 0);
	if (wr_failed(w))
		return -ENOSPC;
	total = (uint32_t)(w->p - start);
	st_le32(start + 4, total);
	st_le32(w->p - 4, total);
	return (int)total;
}

int pcapng_put_shb(struct vt_wr *w, const char *hardware, const char *os,
		   const char *app)
{
	size_t need = 28 + opt_str_size(hardware) + opt_str_size(os) +
		      opt_str_size(app) + 4;
	uint8_t *start;

	if (wr_failed(w) || wr_room(w) < need)
		return -ENOSPC;
	start = begin_block(w, PCAPNG_BT_SHB);
	wr_le32(w, PCAPNG_BOM);
	wr_le16(w, 1);                 /* major */
	wr_le16(w, 0);                 /* minor */
	wr_le32(w, 0xffffffffu);       /* section length: unknown (-1) */
	wr_le32(w, 0xffffffffu);
	put_opt_str(w, OPT_SHB_HARDWARE, hardware);
	put_opt_str(w, OPT_SHB_OS, os);
	put_opt_str(w, OPT_SHB_USERAPPL, app);
	wr_le32(w, OPT_ENDOFOPT);      /* code 0, length 0 */
	return end_block(w, start);
}

size_t pcapng_idb_size(const struct pcapng_if *ifc)
{
	/* header 16 + if_tsresol (4 + 4) + strings + end of options 4 + trailer 4 */
	return 16 + 8 + opt_str_size(ifc->name) + opt_str_size(ifc->description) + 4 + 4;
}

int pcapng_put_idb(struct vt_wr *w, const struct pcapng_if *ifc)
{
	uint8_t *start;

	if (wr_failed(w) || wr_room(w) < pcapng_idb_size(ifc))
		return -ENOSPC;
	start = begin_block(w, PCAPNG_BT_IDB);
	wr_le16(w, ifc->linktype);
	wr_le16(w, 0);
	wr_le32(w, ifc->snaplen);
	put_opt_str(w, OPT_IF_NAME, ifc->name);
	put_opt_str(w, OPT_IF_DESCRIPTION, ifc->description);
	wr_le16(w, OPT_IF_TSRESOL);
	wr_le16(w, 1);
	wr_u8(w, 9);                   /* 10^-9 s */
	wr_zero(w, 3);
	wr_le32(w, OPT_ENDOFOPT);
	return end_block(w, start);
}

size_t pcapng_epb_size(uint32_t caplen, uint32_t flags)
{
	return 28 + pad4(caplen) + (flags ? 8 + 4 : 0) + 4;
}

int pcapng_put_epb(struct vt_wr *w, uint32_t ifid, uint64_t ts_ns,
		   const void *data, uint32_t caplen, uint32_t origlen,
		   uint32_t flags)
{
	uint8_t *start;

	if (wr_failed(w) || wr_room(w) < pcapng_epb_size(caplen, flags))
		return -ENOSPC;
	start = begin_block(w, PCAPNG_BT_EPB);
	wr_le32(w, ifid);
	wr_le32(w, (uint32_t)(ts_ns >> 32));
	wr_le32(w, (uint32_t)ts_ns);
	wr_le32(w, caplen);
	wr_le32(w, origlen < caplen ? caplen : origlen);
	wr_bytes(w, data, caplen);
	wr_zero(w, pad4(caplen) - caplen);
	if (flags) {
		wr_le16(w, OPT_EPB_FLAGS);
		wr_le16(w, 4);
		wr_le32(w, flags);
		wr_le32(w, OPT_ENDOFOPT);
	}
	return end_block(w, start);
}

/* ---- ring ---------------------------------------------------------------- */

#define RING_MAX_IFS 65535

struct ring_if {
	struct pcapng_if ifc;    /* strings owned */
};

struct pcapng_ring {
	char *dir, *prefix, *hardware, *os, *app;
	uint64_t file_size;
	uint32_t file_count;
	uint64_t seq;            /* number of the current file */
	int fd;
	char path[PATH_MAX];
	uint64_t file_bytes;     /* written + buffered in the current file */
	struct vbuf buf;         /* whole blocks waiting to be written */
	size_t buf_size;
	uint64_t buffered;       /* EPBs in buf */
	struct ring_if *ifs;
	size_t nifs, cap_ifs;
	struct pcapng_ring_stats st;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void file_path(const struct pcapng_ring *r, uint64_t seq, char *out, size_t len)
{
	snprintf(out, len, "%s/%s_%06llu.pcapng", r->dir, r->prefix,
		 (unsigned long long)seq);
}

/* The highest sequence number among DIR/PREFIX_NNNNNN.pcapng, 0 if none. */
static uint64_t scan_max_seq(const struct pcapng_ring *r)
{
	DIR *d = opendir(r->dir);
	struct dirent *de;
	size_t pl = strlen(r->prefix);
	uint64_t max = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		char *end;
		unsigned long long v;

		if (strncmp(n, r->prefix, pl) != 0 || n[pl] != '_')
			continue;
		errno = 0;
		v = strtoull(n + pl + 1, &end, 10);
		if (errno || end == n + pl + 1 || strcmp(end, ".pcapng") != 0)
			continue;
		if (v > max)
			max = v;
	}
	closedir(d);
	return max;
}

/* Removes files older than the newest <file_count> - 1 (the file about to
 * be opened is the last of the ring). */
static void enforce_count(struct pcapng_ring *r, uint64_t next_seq)
{
	char p[PATH_MAX];

	if (!r->file_count || next_seq <= r->file_count)
		return;
	/* walk back from the first file to drop, until one is missing */
	for (uint64_t s = next_seq - r->file_count; s > 0; s--) {
		file_path(r, s, p, sizeof(p));
		if (unlink(p) != 0)
			break;
		r->st.files_removed++;
	}
}

int pcapng_ring_flush(struct pcapng_ring *r)
{
	int rc;

	if (!r || r->fd < 0 || !r->buf.len)
		return 0;
	rc = fd_write_all(r->fd, r->buf.data, r->buf.len);
	if (rc == 0) {
		r->st.bytes += r->buf.len;
		r->st.packets += r->buffered;
	} else {
		/* the packets in the buffer are lost: counted, never hidden */
		r->st.write_errors += r->buffered;
		log_ratelimited(LOG_LVL_ERR, "pcapng: write %s: %s", r->path, strerror(-rc));
	}
	r->buffered = 0;
	vbuf_reset(&r->buf);
	return rc;
}

/* Appends one encoded block to the buffer, flushing first when it would
 * not fit. Blocks larger than the buffer go straight to the file. */
static int emit(struct pcapng_ring *r, const uint8_t *blk, size_t n)
{
	int rc;

	if (r->buf.len + n > r->buf_size) {
		rc = pcapng_ring_flush(r);
		if (rc)
			return rc;
	}
	if (n > r->buf_size) {
		rc = fd_write_all(r->fd, blk, n);
		if (rc == 0)
			r->st.bytes += n;
		r->file_bytes += n;
		return rc;
	}
	rc = vbuf_add(&r->buf, blk, n);
	if (rc == 0)
		r->file_bytes += n;
	return rc;
}

/* IDBs are rare (one per port per file): encode into a temporary block. */
static int emit_idb(struct pcapng_ring *r, const struct pcapng_if *ifc)
{
	size_t n = pcapng_idb_size(ifc);
	uint8_t *tmp = malloc(n);
	struct vt_wr w;
	int rc;

	if (!tmp)
		return -ENOMEM;
	w = wr_init(tmp, n);
	rc = pcapng_put_idb(&w, ifc);
	if (rc > 0)
		rc = emit(r, tmp, (size_t)rc);
	free(tmp);
	return rc;
}

static int emit_shb(struct pcapng_ring *r)
{
	size_t n = 32 + opt_str_size(r->hardware) + opt_str_size(r->os) +
		   opt_str_size(r->app);
	uint8_t *tmp = malloc(n);
	struct vt_wr w;
	int rc;

	if (!tmp)
		return -ENOMEM;
	w = wr_init(tmp, n);
	rc = pcapng_put_shb(&w, r->hardware, r->os, r->app);
	if (rc > 0)
		rc = emit(r, tmp, (size_t)rc);
	free(tmp);
	return rc;
}

static int open_file(struct pcapng_ring *r)
{
	int rc;

	r->seq++;
	enforce_count(r, r->seq);
	file_path(r, r->seq, r->path, sizeof(r->path));
	r->fd = open(r->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (r->fd < 0)
		return -errno;
	r->st.files_opened++;
	r->file_bytes = 0;
	rc = emit_shb(r);
	for (size_t i = 0; rc == 0 && i < r->nifs; i++)
		rc = emit_idb(r, &r->ifs[i].ifc);
	return rc;
}

static void close_file(struct pcapng_ring *r)
{
	if (r->fd < 0)
		return;
	(void)pcapng_ring_flush(r);
	close(r->fd);
	r->fd = -1;
}

struct pcapng_ring *pcapng_ring_open(const struct pcapng_ring_opts *o,
				     struct vt_err *err)
{
	struct pcapng_ring *r;
	int rc;

	if (!o->dir || !o->prefix || !*o->prefix || strchr(o->prefix, '/')) {
		vt_err_set(err, -EINVAL, "pcapng: a directory and a file prefix without '/' are needed");
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		vt_err_set(err, -ENOMEM, "pcapng: out of memory");
		return NULL;
	}
	r->fd = -1;
	r->dir = strdup(o->dir);
	r->prefix = strdup(o->prefix);
	r->hardware = dup_or_null(o->hardware);
	r->os = dup_or_null(o->os);
	r->app = dup_or_null(o->app);
	r->file_size = o->file_size;
	r->file_count = o->file_count;
	r->buf_size = o->buf_size ? o->buf_size : (1u << 20);
	vbuf_init(&r->buf, r->buf_size + 1);
	if (!r->dir || !r->prefix || (o->hardware && !r->hardware) ||
	    (o->os && !r->os) || (o->app && !r->app)) {
		vt_err_set(err, -ENOMEM, "pcapng: out of memory");
		goto fail;
	}
	r->seq = scan_max_seq(r);
	rc = open_file(r);
	if (rc) {
		vt_err_set(err, rc, "pcapng: cannot create %s: %s", r->path, strerror(-rc));
		goto fail;
	}
	return r;
fail:
	pcapng_ring_close(r);
	errno = err && err->code ? -err->code : ENOMEM;
	return NULL;
}

int pcapng_ring_add_if(struct pcapng_ring *r, const struct pcapng_if *ifc)
{
	struct ring_if *ri;
	int rc;

	if (r->nifs >= RING_MAX_IFS)
		return -ENOSPC;
	if (r->nifs == r->cap_ifs) {
		size_t nc = r->cap_ifs ? r->cap_ifs * 2 : 8;
		struct ring_if *n = realloc(r->ifs, nc * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->ifs = n;
		r->cap_ifs = nc;
	}
	ri = &r->ifs[r->nifs];
	ri->ifc = *ifc;
	ri->ifc.name = dup_or_null(ifc->name);
	ri->ifc.description = dup_or_null(ifc->description);
	if ((ifc->name && !ri->ifc.name) || (ifc->description && !ri->ifc.description)) {
		free((char *)ri->ifc.name);
		free((char *)ri->ifc.description);
		return -ENOMEM;
	}
	r->nifs++;
	/* an IDB may appear anywhere in a section before its first use */
	rc = r->fd >= 0 ? emit_idb(r, &ri->ifc) : 0;
	if (rc)
		return rc;
	return (int)(r->nifs - 1);
}

int pcapng_ring_packet(struct pcapng_ring *r, uint32_t ifid, uint64_t ts_ns,
		       const void *data, uint32_t caplen, uint32_t origlen,
		       uint32_t flags)
{
	size_t n = pcapng_epb_size(caplen, flags);
	struct vt_wr w;
	uint8_t *tmp = NULL;
	int rc;

	if (ifid >= r->nifs) {
		rc = -EINVAL;
		goto lost;
	}
	if (r->fd < 0) {
		rc = open_file(r);
		if (rc)
			goto lost;
	}
	/* encode straight into the buffer when it has room */
	if (r->buf.len + n > r->buf_size) {
		rc = pcapng_ring_flush(r);
		if (rc)
			goto lost;
	}
	if (n <= r->buf_size) {
		rc = vbuf_reserve(&r->buf, n);
		if (rc)
			goto lost;
		w = wr_init(r->buf.data + r->buf.len, n);
		rc = pcapng_put_epb(&w, ifid, ts_ns, data, caplen, origlen, flags);
		if (rc < 0)
			goto lost;
		r->buf.len += n;
		r->file_bytes += n;
		r->buffered++;
	} else {
		tmp = malloc(n);
		if (!tmp) {
			rc = -ENOMEM;
			goto lost;
		}
		w = wr_init(tmp, n);
		rc = pcapng_put_epb(&w, ifid, ts_ns, data, caplen, origlen, flags);
		if (rc > 0)
			rc = emit(r, tmp, n);
		free(tmp);
		if (rc)
			goto lost;
		r->st.packets++;   /* written straight to the file */
	}
	if (r->file_size && r->file_bytes >= r->file_size) {
		close_file(r);
		rc = open_file(r);
		if (rc) {
			log_ratelimited(LOG_LVL_ERR, "pcapng: cannot open %s: %s", r->path,
					strerror(-rc));
			close_file(r);
		}
	}
	return 0;
lost:
	r->st.write_errors++;
	return rc < 0 ? rc : -EIO;
}

const char *pcapng_ring_path(const struct pcapng_ring *r)
{
	return r->path;
}

const struct pcapng_ring_stats *pcapng_ring_stats(const struct pcapng_ring *r)
{
	return &r->st;
}

void pcapng_ring_close(struct pcapng_ring *r)
{
	if (!r)
		return;
	close_file(r);
	vbuf_free(&r->buf);
	for (size_t i = 0; i < r->nifs; i++) {
		free((char *)r->ifs[i].ifc.name);
		free((char *)r->ifs[i].ifc.description);
	}
	free(r->ifs);
	free(r->dir);
	free(r->prefix);
	free(r->hardware);
	free(r->os);
	free(r->app);
	free(r);
}
