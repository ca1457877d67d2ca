/* Fuzz target: segment files (lib/store/segfile + the segments backend).
 * The input is a whole segment file: it is walked block by block (the
 * recovery path), every block's meta parsed and every column decoded (the
 * scan path), and the file is also opened as a read-only store and
 * scanned with a filter. Checksums are not enforced in fuzzing builds, so
 * the decoders behind them are reached. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/log.h"
#include "store/segfile.h"
#include "store/store.h"

static int fd = -1;
static char dir[64];
static char path[128];

/* libFuzzer exits through exit(): leave no scratch directory behind */
static void cleanup(void)
{
	if (path[0])
		unlink(path);
	if (dir[0])
		rmdir(dir);
}

static int block_cb(void *arg, uint64_t off, const struct seg_blkhdr *h)
{
	const uint8_t *file = arg;
	struct seg_meta m;
	struct flow_cols c;
	struct seg_dctx d = { 0 };

	if (seg_meta_parse(file + off + SEG_BLK_HDR_LEN, h->meta_len, h->nrows, &m, NULL) < 0)
		return 0;
	cols_init(&c);
	const uint8_t *data = file + off + SEG_BLK_HDR_LEN + h->meta_len;
	if (cols_reserve(&c, h->nrows, FC_ALL) == 0 && seg_cols_dict(&m, &c) == 0) {
		for (unsigned k = 0; k < FC_NCOLS; k++) {
			const struct seg_colent *ce = &m.col[k];
			bool planes = (m.present & FC_BIT(k)) && ce->enc == SEG_ENC_PLANES;
			if (planes && (uint64_t)ce->off + ce->clen > h->data_len)
				continue;
			seg_col_decode(&m, k, planes ? data + ce->off : NULL, planes ? ce->clen : 0, &c, &d);
		}
		c.n = h->nrows;
		struct flow_row row;
		if (c.have == FC_ALL)
			for (size_t i = 0; i < c.n; i++)
				cols_get_row(&c, i, &row);
	}
	cols_free(&c);
	seg_dctx_free(&d);
	seg_meta_free(&m);
	return 0;
}

static int count_cb(void *arg, const struct flow_cols *c, const uint8_t *sel, size_t nsel)
{
	(void)c;
	(void)sel;
	*(uint64_t *)arg += nsel;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seg_walk w;

	if (fd < 0) {
		log_init("fuzz_segment", LOG_LVL_ERR, false);
		fd = memfd_create("seg", 0);
		snprintf(dir, sizeof(dir), "/tmp/vtap-fuzz-seg.XXXXXX");
		if (fd < 0 || !mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/20231114T220000Z.seg", dir);
		atexit(cleanup);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (size >= SEG_FILE_HDR_LEN) {
		uint64_t start, len;
		seg_file_header_parse(data, size, &start, &len);
		seg_file_walk(fd, size, SEG_FILE_HDR_LEN, block_cb, (void *)(uintptr_t)data, &w);
	}

	/* the same bytes as a store's only partition */
	int f = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (f < 0 || write(f, data, size) != (ssize_t)size)
		abort();
	close(f);
	struct store_conf conf;
	struct vt_err err = { 0 };
	store_conf_init(&conf, dir);
	struct store *st = store_open(&conf, STORE_RDONLY, &err);
	store_conf_free(&conf);
	if (st) {
		struct filter *flt = filter_compile("proto tcp or vm web-* or src net 10.0.0.0/8", &err);
		struct store_scan_req req = { 0, UINT64_MAX, flt, FC_BIT(FC_BYTES) | FC_BIT(FC_SRC_VM) };
		uint64_t n = 0;
		store_scan(st, &req, count_cb, &n, NULL);
		struct store_stats s;
		store_stats(st, &s);
		filter_free(flt);
		store_close(st);
	}
	unlink(path);
	return 0;
}
