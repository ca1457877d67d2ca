/* Unit tests: lib/store (segments backend) — every field through files,
 * block skipping, torn-tail recovery at every byte of the last block,
 * damaged blocks, retention by age and size, one writer, readers that see
 * flushed data while the writer appends. */
#include "store/store.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/timeutil.h"
#include "store/segcompact.h"
#include "store/segenc.h"
#include "store/segfile.h"
#include "store/test_rows.h"
#include "vt_test.h"

/* quiet: the torn-tail test provokes thousands of recovery warnings */
__attribute__((constructor)) static void quiet_logs(void)
{
	log_init("test_store", LOG_LVL_ERR, false);
}

#define T0 1700000000000ull   /* 2023-11-14T22:13:20Z */
#define HOUR 3600000ull

static uint64_t fake_now;
static uint64_t fake_clock(void)
{
	return fake_now;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static char *tmpdir(void)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/vtap-store-test.XXXXXX");
	if (!mkdtemp(path))
		abort();
	return path;
}

static void rmdir_r(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void conf_for(struct store_conf *c, const char *dir)
{
	CHECK_EQ(store_conf_init(c, dir), 0);
	c->fsync = false;          /* tests: the kernel keeps the data either way */
	c->block_rows = 1024;
	c->max_pending = 4096;
	c->flush_ms = 60000;       /* tests flush explicitly unless they test the timer */
	c->retention_age_ms = 0;
	c->retention_size = 0;
	c->now_ms = fake_clock;
}

static struct store *open_store(const char *dir, enum store_mode mode, struct store_conf *tune)
{
	struct store_conf c;
	struct vt_err err = { 0 };
	struct store *st;

	if (tune) {
		c = *tune;
		c.dir = strdup(dir);
	} else {
		conf_for(&c, dir);
	}
	st = store_open(&c, mode, &err);
	if (!st)
		fprintf(stderr, "  store_open: %s\n", err.msg);
	store_conf_free(&c);
	return st;
}

/* Rows whose in_if is their index, so they can be matched after a scan. */
static struct flow_row *make_rows(uint64_t seed, size_t n, uint64_t t0, uint64_t span)
{
	struct flow_row *rows = calloc(n, sizeof(*rows));
	for (size_t i = 0; i < n; i++) {
		tr_row(seed, i, t0, span, &rows[i]);
		rows[i].rec.in_if = (uint32_t)i;
		rows[i].rec.last_ms = rows[i].rec.first_ms + (rows[i].rec.last_ms - rows[i].rec.first_ms) % 1000;
	}
	return rows;
}

struct collect {
	struct flow_row *rows;
	size_t n, cap;
	uint64_t count;
};

static int collect_cb(void *arg, const struct flow_cols *c, const uint8_t *sel, size_t nsel)
{
	struct collect *k = arg;
	k->count += nsel;
	if (c->have != FC_ALL)
		return 0;
	for (size_t i = 0; i < c->n; i++) {
		if (!sel[i])
			continue;
		if (k->n == k->cap) {
			k->cap = k->cap ? k->cap * 2 : 256;
			k->rows = realloc(k->rows, k->cap * sizeof(*k->rows));
		}
		cols_get_row(c, i, &k->rows[k->n++]);
	}
	return 0;
}

/* Scans all of <st> and checks that it holds exactly rows[0..n) (row i
 * identified by in_if = i), each once, every field equal. Returns the
 * number of problems (0 = exact); the first few are printed. */
static size_t scan_differs(struct store *st, const struct flow_row *rows, size_t n)
{
	struct store_scan_req req = { 0, UINT64_MAX, NULL, FC_ALL };
	struct collect k = { 0 };
	char *seen = calloc(n ? n : 1, 1);
	size_t bad = 0;

	if (!seen || store_scan(st, &req, collect_cb, &k, NULL) != 0)
		bad++;
	if (k.n != n) {
		fprintf(stderr, "  %zu rows stored, want %zu\n", k.n, n);
		bad++;
	}
	for (size_t i = 0; seen && i < k.n; i++) {
		uint32_t id = k.rows[i].rec.in_if;
		const char *d = id >= n ? "in_if" : seen[id] ? "repeated" : tr_diff(&rows[id], &k.rows[i]);
		if (id < n)
			seen[id] = 1;
		if (d && bad++ < 3)
			fprintf(stderr, "  row %u: %s differs\n", id, d);
	}
	free(seen);
	free(k.rows);
	return bad;
}

static uint64_t scan_count(struct store *st, const char *filter, uint64_t since, uint64_t until,
			   struct store_scan_stats *ss)
{
	struct vt_err err = { 0 };
	struct filter *f = filter ? filter_compile(filter, &err) : NULL;
	struct collect k = { 0 };
	struct store_scan_req req = { since, until, f, FC_BIT(FC_IN_IF) };

	if (filter && !f)
		fprintf(stderr, "  filter '%s': %s\n", filter, err.msg);
	CHECK_EQ(store_scan(st, &req, collect_cb, &k, ss), 0);
	filter_free(f);
	return k.count;
}

/* Every field of every row comes back, through files, in any order. */
static void t_roundtrip_files(void)
{
	char *dir = tmpdir();
	size_t n = 5000;
	struct flow_row *rows = make_rows(3, n, T0, HOUR / 2);
	struct store *st;

	fake_now = T0 + HOUR / 2;
	st = open_store(dir, STORE_WRITE, NULL);
	CHECK(st != NULL);
	CHECK_EQ(store_set_zones(st, tr_zones, 3), 0);
	for (size_t i = 0; i < n; i += 700)
		CHECK_EQ(store_append(st, rows + i, VT_MIN(700, n - i)), 0);
	CHECK_EQ(store_flush(st), 0);
	store_close(st);

	st = open_store(dir, STORE_RDONLY, NULL);
	CHECK(st != NULL);
	CHECK_EQ(scan_differs(st, rows, n), 0);
	struct store_stats s;
	store_stats(st, &s);
	CHECK_EQ_U64(s.rows, n);
	CHECK(s.blocks >= (n + 1023) / 1024);   /* the flusher may cut blocks early */
	CHECK_EQ_U64(s.partitions, 1);
	store_close(st);
	free(rows);
	rmdir_r(dir);
}

/* Block skipping: four blocks with disjoint ports, networks, hours, VMs. */
static void t_block_skipping(void)
{
	char *dir = tmpdir();
	struct store_scan_stats ss;
	struct store *st;
	struct flow_row rows[4][200];
	uint64_t s = 0;

	fake_now = T0 + 4 * HOUR;
	st = open_store(dir, STORE_WRITE, NULL);
	CHECK(st != NULL);
	CHECK_EQ(store_set_zones(st, tr_zones, 3), 0);
	for (int b = 0; b < 4; b++) {
		for (int i = 0; i < 200; i++) {
			struct flow_row *r = &rows[b][i];
			memset(r, 0, sizeof(*r));
			/* even host numbers only, 10.b.0.0 .. 10.b.1.198 */
			uint8_t src[4] = { 10, (uint8_t)b, (uint8_t)(i / 100), (uint8_t)(2 * (i % 100)) };
			uint8_t dst[4] = { 198, 18, (uint8_t)b, 1 };
			addr_set_v4(&r->rec.src, src);
			addr_set_v4(&r->rec.dst, dst);
			r->rec.dport = (uint16_t)(1000 + b);
			r->rec.sport = (uint16_t)(40000 + i);
			r->rec.proto = 6;
			r->rec.first_ms = T0 + (uint64_t)b * HOUR + (uint64_t)i * 1000;
			r->rec.last_ms = r->rec.first_ms + 500;
			r->rec.bytes = 100;
			r->rec.packets = 1;
			if (b == 0)
				tr_vm(&s, &r->attr.src_vm, 0);      /* web-1 */
			r->attr.dst_zone = (uint16_t)(b == 3 ? 2 : 0);   /* db */
		}
		CHECK_EQ(store_append(st, rows[b], 200), 0);
		CHECK_EQ(store_flush(st), 0);
	}
	static const struct {
		const char *filter;
		uint64_t since, until;
		uint64_t matched, read, skipped_filter, skipped_time;
	} cases[] = {
		{ NULL, 0, UINT64_MAX, 800, 4, 0, 0 },
		{ "dst port 1002", 0, UINT64_MAX, 200, 1, 3, 0 },
		{ "port 1002", 0, UINT64_MAX, 200, 1, 3, 0 },
		{ "dst port 1001-1002", 0, UINT64_MAX, 400, 2, 2, 0 },
		{ "not dst port 1002", 0, UINT64_MAX, 600, 3, 1, 0 },
		{ "src net 10.3.0.0/16", 0, UINT64_MAX, 200, 1, 3, 0 },
		{ "src ip 10.1.0.8", 0, UINT64_MAX, 1, 1, 3, 0 },
		/* inside block 1's address range but absent: the bloom says no */
		{ "src ip 10.1.0.7", 0, UINT64_MAX, 0, 0, 4, 0 },
		{ "dst ip 198.18.2.1", 0, UINT64_MAX, 200, 1, 3, 0 },
		{ "vm web-1", 0, UINT64_MAX, 200, 1, 3, 0 },
		{ "dst vm web-1", 0, UINT64_MAX, 0, 0, 4, 0 },
		{ "zone db", 0, UINT64_MAX, 200, 1, 3, 0 },
		{ "proto udp", 0, UINT64_MAX, 0, 0, 4, 0 },
		{ "bytes > 100", 0, UINT64_MAX, 0, 0, 4, 0 },
		{ "dst port 1002 or src net 10.0.0.0/16", 0, UINT64_MAX, 400, 2, 2, 0 },
		/* hour 2 only: the header's time range skips three blocks */
		{ NULL, T0 + 2 * HOUR, T0 + 3 * HOUR - 1, 200, 1, 0, 3 },
		/* a window inside block 2: rows tested one by one */
		{ NULL, T0 + 2 * HOUR + 10000, T0 + 2 * HOUR + 19999, 10, 1, 0, 3 },
		{ "dst port 1001", T0 + 2 * HOUR, UINT64_MAX, 0, 0, 2, 2 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		uint64_t got = scan_count(st, cases[i].filter, cases[i].since, cases[i].until, &ss);
		if (got != cases[i].matched || ss.blocks_read != cases[i].read ||
		    ss.blocks_skipped_filter != cases[i].skipped_filter ||
		    ss.blocks_skipped_time != cases[i].skipped_time)
			fprintf(stderr, "  case %zu '%s': matched %llu read %llu skipped %llu/%llu\n", i,
				cases[i].filter ? cases[i].filter : "", (unsigned long long)got,
				(unsigned long long)ss.blocks_read,
				(unsigned long long)ss.blocks_skipped_filter,
				(unsigned long long)ss.blocks_skipped_time);
		CHECK_EQ_U64(got, cases[i].matched);
		CHECK_EQ_U64(ss.blocks_read, cases[i].read);
		CHECK_EQ_U64(ss.blocks_skipped_filter, cases[i].skipped_filter);
		CHECK_EQ_U64(ss.blocks_skipped_time, cases[i].skipped_time);
	}
	store_close(st);
	rmdir_r(dir);
}

static char *seg_path(const char *dir)
{
	static char p[512];
	DIR *d = opendir(dir);
	struct dirent *de;
	p[0] = '\0';
	while (d && (de = readdir(d)))
		if (strstr(de->d_name, ".seg"))
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
	if (d)
		closedir(d);
	return p;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat sb;
	fstat(fd, &sb);
	uint8_t *b = malloc((size_t)sb.st_size + 1);
	*len = (size_t)read(fd, b, (size_t)sb.st_size);
	close(fd);
	return b;
}

static void spit(const char *path, const uint8_t *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CREAT, 0644);
	CHECK(write(fd, b, len) == (ssize_t)len);
	close(fd);
}

struct blocks_seen {
	uint64_t *off;
	size_t n;
};

static int all_blocks_cb(void *arg, uint64_t off, const struct seg_blkhdr *h)
{
	struct blocks_seen *b = arg;
	(void)h;
	b->off[b->n++] = off;
	return 0;
}

static int last_block_cb(void *arg, uint64_t off, const struct seg_blkhdr *h)
{
	(void)h;
	*(uint64_t *)arg = off;
	return 0;
}

/* The ids of the rows a store answers, checked to be exactly 0..n-1. */
static bool holds_exactly(struct store *st, size_t n)
{
	struct collect k = { 0 };
	struct store_scan_req req = { 0, UINT64_MAX, NULL, FC_ALL };
	bool ok = store_scan(st, &req, collect_cb, &k, NULL) == 0 && k.n == n;
	char *seen = calloc(n + 1, 1);
	for (size_t i = 0; ok && i < k.n; i++) {
		uint32_t id = k.rows[i].rec.in_if;
		ok = id < n && !seen[id];
		seen[id] = 1;
	}
	free(seen);
	free(k.rows);
	return ok;
}

/* Truncating the file at every byte offset of its last block: the store
 * opens (read-only and for writing), answers with exactly the rows of the
 * complete blocks, and the writer truncates the torn tail and counts it. */
static void t_torn_tail_every_offset(void)
{
	char *dir = tmpdir();
	struct flow_row *rows = make_rows(5, 150, T0, 60000);
	struct store *st;
	size_t len, cuts = 0, failures = 0;

	fake_now = T0 + HOUR / 2;
	st = open_store(dir, STORE_WRITE, NULL);
	for (int b = 0; b < 3; b++) {
		CHECK_EQ(store_append(st, rows + 50 * b, 50), 0);
		CHECK_EQ(store_flush(st), 0);
	}
	store_close(st);
	char path[512];
	snprintf(path, sizeof(path), "%s", seg_path(dir));
	uint8_t *full = slurp(path, &len);
	uint64_t last = 0;
	struct seg_walk w;
	int fd = open(path, O_RDONLY);
	CHECK_EQ(seg_file_walk(fd, len, SEG_FILE_HDR_LEN, last_block_cb, &last, &w), 0);
	close(fd);
	CHECK_EQ_U64(w.blocks, 3);
	CHECK_EQ_U64(w.torn_bytes, 0);
	CHECK(last > SEG_FILE_HDR_LEN && last < len);

	for (uint64_t cut = last; cut < len; cut++, cuts++) {
		struct store_stats s;
		spit(path, full, (size_t)cut);
		st = open_store(dir, STORE_RDONLY, NULL);
		bool ok = st && holds_exactly(st, 100);
		store_close(st);
		st = open_store(dir, STORE_WRITE, NULL);
		ok = ok && st != NULL;
		if (st) {
			store_stats(st, &s);
			ok = ok && s.torn_tails == (cut > last) && s.torn_bytes == cut - last;
			ok = ok && holds_exactly(st, 100);
			/* and the store keeps working after the repair */
			ok = ok && store_append(st, rows + 100, 50) == 0 && store_flush(st) == 0;
			ok = ok && holds_exactly(st, 150);
			store_close(st);
		}
		struct stat sb;
		ok = ok && stat(path, &sb) == 0 && (uint64_t)sb.st_size == len;
		if (!ok && failures++ < 3)
			fprintf(stderr, "  cut at %llu (last block at %llu) failed\n",
				(unsigned long long)cut, (unsigned long long)last);
	}
	CHECK_EQ(failures, 0);
	CHECK(cuts > 500);   /* the last block is a few KB: every byte was tried */

	/* a damaged block in the middle is skipped and counted; the rest stays */
	spit(path, full, len);
	uint64_t offs[3];
	struct blocks_seen bs = { offs, 0 };
	fd = open(path, O_RDONLY);
	CHECK_EQ(seg_file_walk(fd, len, SEG_FILE_HDR_LEN, all_blocks_cb, &bs, &w), 0);
	close(fd);
	CHECK_EQ(bs.n, 3);
	uint8_t *bad = malloc(len);
	memcpy(bad, full, len);
	bad[offs[1] + SEG_BLK_HDR_LEN + 10] ^= 0xff;
	spit(path, bad, len);
	st = open_store(dir, STORE_WRITE, NULL);
	CHECK(st != NULL);
	if (st) {
		struct store_stats s;
		store_stats(st, &s);
		CHECK_EQ_U64(s.torn_tails, 0);
		CHECK_EQ_U64(s.corrupt_blocks, 1);
		CHECK_EQ_U64(s.corrupt_bytes, offs[2] - offs[1]);
		CHECK_EQ_U64(s.rows, 100);
		CHECK_EQ_U64(s.blocks, 2);
		store_close(st);
	}
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && (uint64_t)sb.st_size == len);  /* never truncated */
	free(bad);
	free(full);
	free(rows);
	rmdir_r(dir);
}

static size_t count_segs(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;
	while (d && (de = readdir(d)))
		n += strstr(de->d_name, ".seg") != NULL;
	if (d)
		closedir(d);
	return n;
}

/* Rows land in the partition of their last_ms; retention drops whole
 * partitions by age, then oldest first by size, never the newest. */
static void t_partitions_and_retention(void)
{
	char *dir = tmpdir();
	struct store_conf c;
	struct store_stats s;
	struct store *st;
	struct flow_row r[6];

	conf_for(&c, dir);
	c.retention_age_ms = 2 * HOUR;
	fake_now = T0 - T0 % HOUR + 5 * HOUR + HOUR / 2;   /* in hour 5 */
	uint64_t h0 = fake_now - fake_now % HOUR - 5 * HOUR;
	st = open_store(dir, STORE_WRITE, &c);
	CHECK(st != NULL);
	/* one batch over six hours: six partitions, but hours 0-2 are older
	 * than the retention window at write time and go to the current one */
	for (int h = 0; h < 6; h++) {
		tr_row(1, (uint64_t)h, h0 + (uint64_t)h * HOUR + 1000, 1000, &r[h]);
		r[h].rec.last_ms = r[h].rec.first_ms + 10;
	}
	CHECK_EQ(store_append(st, r, 6), 0);
	CHECK_EQ(store_flush(st), 0);
	store_stats(st, &s);
	CHECK_EQ_U64(s.partitions, 3);        /* hours 3, 4, 5 */
	CHECK_EQ_U64(s.rows_misdated, 3);
	CHECK_EQ(count_segs(dir), 3);
	/* misdated rows keep their times: an hour-0 query finds them */
	CHECK_EQ_U64(scan_count(st, NULL, h0, h0 + HOUR - 1, NULL), 1);
	CHECK_EQ_U64(scan_count(st, NULL, h0 + 3 * HOUR, h0 + 4 * HOUR - 1, NULL), 1);

	/* age: at hour 6:30, hour 3 (ended 4:00) is 2.5 h old: dropped */
	CHECK_EQ(store_retention(st, h0 + 6 * HOUR + HOUR / 2), 1);
	store_stats(st, &s);
	CHECK_EQ_U64(s.partitions, 2);
	CHECK_EQ_U64(s.partitions_dropped, 1);
	CHECK_EQ_U64(s.rows_dropped, 1);
	CHECK_EQ(count_segs(dir), 2);
	/* far in the future: everything is old but the newest stays */
	CHECK_EQ(store_retention(st, h0 + 100 * HOUR), 1);
	store_stats(st, &s);
	CHECK_EQ_U64(s.partitions, 1);
	CHECK_EQ_U64(s.rows, 4);   /* hour 5 + the three misdated rows */
	store_close(st);
	store_conf_free(&c);

	/* size: keep the total under the limit, oldest first */
	rmdir_r(dir);
	dir = tmpdir();
	conf_for(&c, dir);
	st = open_store(dir, STORE_WRITE, &c);
	for (int h = 0; h < 5; h++) {
		struct flow_row *rows = make_rows((uint64_t)h, 300, h0 + (uint64_t)h * HOUR, HOUR / 2);
		CHECK_EQ(store_append(st, rows, 300), 0);
		CHECK_EQ(store_flush(st), 0);
		free(rows);
	}
	store_stats(st, &s);
	CHECK_EQ_U64(s.partitions, 5);
	uint64_t per = s.bytes_on_disk / 5;
	store_close(st);
	c.retention_size = s.bytes_on_disk - per - per / 2;   /* room for 3.5 partitions */
	st = open_store(dir, STORE_WRITE, &c);
	CHECK_EQ(store_retention(st, fake_now), 2);
	store_stats(st, &s);
	CHECK_EQ_U64(s.partitions, 3);
	CHECK(s.bytes_on_disk <= c.retention_size);
	CHECK_EQ_U64(s.oldest_ms >= h0 + 2 * HOUR, 1);
	store_close(st);
	store_conf_free(&c);
	rmdir_r(dir);
}

static void t_single_writer(void)
{
	char *dir = tmpdir();
	struct store_conf c;
	struct vt_err err = { 0 };
	struct store *a = open_store(dir, STORE_WRITE, NULL), *b, *r;

	CHECK(a != NULL);
	conf_for(&c, dir);
	b = store_open(&c, STORE_WRITE, &err);
	CHECK(b == NULL);
	CHECK_EQ(err.code, -EBUSY);
	char want[128];
	snprintf(want, sizeof(want), "is open for writing by another process (pid %ld)",
		 (long)getpid());
	CHECK_CONTAINS(err.msg, want);
	r = store_open(&c, STORE_RDONLY, &err);   /* readers are welcome */
	CHECK(r != NULL);
	CHECK_EQ(store_append(r, NULL, 1), -EROFS);
	store_close(r);
	store_close(a);
	b = store_open(&c, STORE_WRITE, &err);    /* released on close */
	CHECK(b != NULL);
	store_close(b);
	store_conf_free(&c);
	/* a missing directory read-only: a message that names it */
	conf_for(&c, "/nonexistent/vtap-store");
	r = store_open(&c, STORE_RDONLY, &err);
	CHECK(r == NULL);
	CHECK_STR(err.msg, "store: cannot open directory /nonexistent/vtap-store: No such file or directory");
	store_conf_free(&c);
	rmdir_r(dir);
}

/* store_append_ready() answers whether an append of n rows would go on
 * without waiting for the flusher: the current buffer to the block's end,
 * then all of the other one (max_pending) while it is free. */
static void t_append_ready(void)
{
	char *dir = tmpdir();
	struct store *st = open_store(dir, STORE_WRITE, NULL);   /* 1024 / 4096 */
	struct flow_row *rows = make_rows(11, 1024, 1700000000000ull, 1000);

	CHECK(st != NULL);
	CHECK(store_append_ready(st, 1024 + 4096));
	CHECK(!store_append_ready(st, 1024 + 4096 + 1));
	CHECK_EQ(store_append(st, rows, 100), 0);
	CHECK(store_append_ready(st, 924 + 4096));
	CHECK(!store_append_ready(st, 924 + 4097));
	CHECK_EQ(store_append(st, rows + 100, 900), 0);   /* a full block would wake the flusher */
	CHECK(store_append_ready(st, 24 + 4096));
	CHECK(!store_append_ready(st, 24 + 4097));
	CHECK_EQ(store_flush(st), 0);
	CHECK(store_append_ready(st, 1024 + 4096));
	struct store *r = open_store(dir, STORE_RDONLY, NULL);
	CHECK(r != NULL);
	CHECK(!store_append_ready(r, 1));   /* a reader never takes rows */
	store_close(r);
	store_close(st);
	free(rows);
	rmdir_r(dir);
}

/* The compression the columns of the block at <off> in <blk> were written
 * with: one value for the block (columns that did not shrink are stored
 * raw and say NONE), -1 when they disagree. */
static int block_comp(const uint8_t *file, uint64_t off)
{
	struct seg_blkhdr h;
	struct seg_meta m;
	int comp = SEG_COMP_NONE;

	CHECK_EQ(seg_blkhdr_parse(file + off, &h), 0);
	CHECK_EQ(seg_meta_parse(file + off + SEG_BLK_HDR_LEN, h.meta_len, h.nrows, &m, NULL), 0);
	for (unsigned k = 0; k < FC_NCOLS; k++) {
		uint8_t c = m.col[k].comp;
		if (!(m.present & FC_BIT(k)) || c == SEG_COMP_NONE)
			continue;
		if (comp != SEG_COMP_NONE && comp != c)
			comp = -1;
		else if (comp != -1)
			comp = c;
	}
	seg_meta_free(&m);
	return comp;
}

/* store_set_busy(): the blocks written while the producer is busy use
 * busy_compression (lz4 and lz4-fast are both lz4 on disk), the others
 * compression; each block says which, and every row reads back. With
 * busy_compression = same nothing changes. */
static void t_busy_compression(void)
{
	struct flow_row *rows = make_rows(21, 4096, T0, 60000);

	fake_now = T0 + HOUR / 2;
	static const int busy_comps[] = { STORE_COMP_LZ4, STORE_COMP_LZ4_FAST, STORE_COMP_SAME };
	for (int v = 0; v < 3; v++) {
		bool same = busy_comps[v] == STORE_COMP_SAME;
		char *dir = tmpdir();
		struct store_conf c;
		struct store_stats s;
		conf_for(&c, dir);
		c.compression = STORE_COMP_ZSTD;
		c.busy_compression = busy_comps[v];
		struct store *st = open_store(dir, STORE_WRITE, &c);
		CHECK(st != NULL);
		store_conf_free(&c);
		static const bool busy[4] = { false, true, true, false };
		for (int b = 0; b < 4; b++) {
			store_set_busy(st, busy[b]);
			CHECK_EQ(store_append(st, rows + 1024 * b, 1024), 0);
			CHECK_EQ(store_flush(st), 0);
		}
		store_stats(st, &s);
		CHECK_EQ_U64(s.blocks_written, 4);
		CHECK_EQ_U64(s.blocks_busy, same ? 0 : 2);
		CHECK_EQ_U64(s.busy_switches, 1);   /* on once; the second call changed nothing */
		CHECK(holds_exactly(st, 4096));
		store_close(st);

		size_t len;
		uint8_t *file = slurp(seg_path(dir), &len);
		uint64_t offs[16];   /* more than the 4 expected: a test, not an overflow */
		struct blocks_seen bs = { offs, 0 };
		struct seg_walk w;
		int fd = open(seg_path(dir), O_RDONLY);
		CHECK_EQ(seg_file_walk(fd, len, SEG_FILE_HDR_LEN, all_blocks_cb, &bs, &w), 0);
		close(fd);
		CHECK_EQ(bs.n, 4);
		for (int b = 0; b < 4 && b < (int)bs.n; b++)
			CHECK_EQ(block_comp(file, offs[b]),
				 busy[b] && !same ? SEG_COMP_LZ4 : SEG_COMP_ZSTD);
		/* and a reader decodes the mixed file */
		st = open_store(dir, STORE_RDONLY, NULL);
		CHECK(st && holds_exactly(st, 4096));
		store_close(st);
		free(file);
		rmdir_r(dir);
	}
	/* `same` is no compression of its own */
	char *dir = tmpdir();
	struct store_conf c;
	struct vt_err err = { 0 };
	conf_for(&c, dir);
	c.compression = STORE_COMP_SAME;
	CHECK(store_open(&c, STORE_WRITE, &err) == NULL);
	CHECK(strstr(err.msg, "compression") != NULL);
	store_conf_free(&c);
	rmdir_r(dir);
	free(rows);
}

/* Without any explicit flush, the flusher thread writes buffered rows
 * within the flush interval, and a reader in the same or another handle
 * sees them while the writer keeps appending. */
static void t_flush_interval_and_readers(void)
{
	char *dir = tmpdir();
	struct store_conf c;
	struct store_stats s;
	struct flow_row *rows = make_rows(8, 3000, T0, 60000);

	fake_now = T0 + HOUR / 4;
	conf_for(&c, dir);
	c.flush_ms = 100;
	struct store *w = open_store(dir, STORE_WRITE, &c), *r = open_store(dir, STORE_RDONLY, NULL);
	CHECK(w && r);
	for (int round = 1; round <= 3; round++) {
		CHECK_EQ(store_append(w, rows + (round - 1) * 1000, 1000), 0);
		uint64_t t0 = mono_ms(), seen = 0;
		while (mono_ms() - t0 < 5000) {
			seen = scan_count(r, NULL, 0, UINT64_MAX, NULL);
			if (seen == (uint64_t)round * 1000)
				break;
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
		CHECK_EQ_U64(seen, (uint64_t)round * 1000);
		CHECK_EQ_U64(scan_count(w, NULL, 0, UINT64_MAX, NULL), (uint64_t)round * 1000);
	}
	store_stats(w, &s);
	CHECK_EQ_U64(s.rows_appended, 3000);
	CHECK_EQ_U64(s.rows_flushed, 3000);
	CHECK(s.flushes >= 3);
	store_close(r);
	store_close(w);
	store_conf_free(&c);
	free(rows);
	rmdir_r(dir);
}

struct writer_arg {
	struct store *st;
	struct flow_row *rows;
	size_t n;
};

static void *writer_thread(void *arg)
{
	struct writer_arg *a = arg;
	for (size_t i = 0; i < a->n; i += 100) {
		store_append(a->st, a->rows + i, 100);
		if (i % 1000 == 900)
			store_flush(a->st);
	}
	store_flush(a->st);
	return NULL;
}

/* Scans while another thread appends: each scan sees a consistent,
 * growing prefix; never a damaged block. The tiny buffer makes appends
 * wait for the flusher (backpressure) instead of growing. */
static void t_concurrent_scan_append(void)
{
	char *dir = tmpdir();
	struct store_conf c;
	struct writer_arg a;
	pthread_t th;
	uint64_t prev = 0;
	bool monotone = true, clean = true;

	fake_now = T0 + HOUR / 4;
	conf_for(&c, dir);
	c.max_pending = 1024;
	c.block_rows = 1024;
	c.flush_ms = 20;
	a.st = open_store(dir, STORE_WRITE, &c);
	a.n = 20000;
	a.rows = make_rows(11, a.n, T0, 60000);
	CHECK(a.st != NULL);
	pthread_create(&th, NULL, writer_thread, &a);
	for (int i = 0; i < 200; i++) {
		struct store_scan_stats ss;
		uint64_t n = scan_count(a.st, "proto tcp or not proto tcp", 0, UINT64_MAX, &ss);
		monotone &= n >= prev;
		clean &= ss.corrupt_blocks == 0;
		prev = n;
		if (n == a.n)
			break;
	}
	pthread_join(th, NULL);
	CHECK(monotone);
	CHECK(clean);
	CHECK_EQ_U64(scan_count(a.st, NULL, 0, UINT64_MAX, NULL), a.n);
	struct store_stats s;
	store_stats(a.st, &s);
	CHECK_EQ_U64(s.rows_flushed, a.n);
	/* one append larger than the buffer: each time the buffer is full
	 * (4 times for 5000 rows in 1024) it is handed to the flusher when
	 * the other one is empty, else the append waits for the flusher */
	struct store_stats s0 = s;
	CHECK_EQ(store_append(a.st, a.rows, 5000), 0);
	store_stats(a.st, &s);
	CHECK(s.append_waits - s0.append_waits + s.blocks_handed - s0.blocks_handed >= 4);
	CHECK(s.rows_pending <= c.max_pending + c.block_rows);
	CHECK_EQ(store_flush(a.st), 0);
	CHECK_EQ_U64(scan_count(a.st, NULL, 0, UINT64_MAX, NULL), a.n + 5000);
	store_close(a.st);
	store_conf_free(&c);
	free(a.rows);
	rmdir_r(dir);
}

/* Rows far from now (a bad exporter clock) go to the current partition,
 * keep their times and are counted. */
static void t_misdated_rows(void)
{
	char *dir = tmpdir();
	struct store_conf c;
	struct store_stats s;
	struct flow_row r[2];

	conf_for(&c, dir);
	c.retention_age_ms = 24 * HOUR;
	fake_now = T0;
	tr_row(2, 0, T0 + 1000 * HOUR, 1, &r[0]);   /* 41 days ahead */
	tr_row(2, 1, 86400000ull, 1, &r[1]);         /* 1970 */
	struct store *st = open_store(dir, STORE_WRITE, &c);
	CHECK_EQ(store_append(st, r, 2), 0);
	CHECK_EQ(store_flush(st), 0);
	store_stats(st, &s);
	CHECK_EQ_U64(s.rows_misdated, 2);
	CHECK_EQ_U64(s.partitions, 1);
	CHECK_EQ(count_segs(dir), 1);
	char want[512];
	snprintf(want, sizeof(want), "%s/20231114T220000Z.seg", dir);
	CHECK_STR(seg_path(dir), want);
	CHECK_EQ_U64(scan_count(st, NULL, T0 + 999 * HOUR, UINT64_MAX, NULL), 1);
	CHECK_EQ_U64(scan_count(st, NULL, 0, 86400000ull + 100000, NULL), 1);
	CHECK_EQ_U64(s.oldest_ms, r[1].rec.first_ms);
	CHECK_EQ_U64(s.newest_ms, r[0].rec.last_ms);
	store_close(st);
	store_conf_free(&c);
	rmdir_r(dir);
}

/* A batch with more distinct VMs than rows per block: each block gets a
 * dictionary of only the identities it uses, and reads back. */
static void t_many_vms(void)
{
	char *dir = tmpdir();
	size_t n = 3000;
	struct flow_row *rows = make_rows(4, n, T0, 60000);
	struct store_stats s;

	for (size_t i = 0; i < n; i++) {
		memset(rows[i].attr.src_vm.name, 0, VT_NAME_MAX);
		snprintf(rows[i].attr.src_vm.name, VT_NAME_MAX, "vm-%zu", i);
		rows[i].attr.src_vm.uuid[3] = (uint8_t)(i >> 8);
		rows[i].attr.src_vm.uuid[4] = (uint8_t)i;
	}
	fake_now = T0 + HOUR / 4;
	struct store *st = open_store(dir, STORE_WRITE, NULL);
	CHECK_EQ(store_append(st, rows, n), 0);
	CHECK_EQ(store_flush(st), 0);
	store_stats(st, &s);
	CHECK(s.blocks >= 3);
	CHECK_EQ(scan_differs(st, rows, n), 0);
	store_close(st);
	free(rows);
	rmdir_r(dir);
}

/* Small blocks of a closed partition are rewritten into full ones: same
 * rows (every field), fewer blocks, a smaller file; a reader whose index
 * predates the rewrite still answers right. */
static void t_compaction(void)
{
	char *dir = tmpdir();
	struct flow_row *rows = make_rows(21, 4000, T0, 60000);
	struct store_stats s;

	fake_now = T0 + 60000;
	struct store *st = open_store(dir, STORE_WRITE, NULL);
	CHECK_EQ(store_set_zones(st, tr_zones, 3), 0);
	for (int b = 0; b < 40; b++) {
		CHECK_EQ(store_append(st, rows + 100 * b, 100), 0);
		CHECK_EQ(store_flush(st), 0);
	}
	store_stats(st, &s);
	CHECK_EQ_U64(s.blocks, 40);
	uint64_t before = s.bytes_on_disk;
	struct store *rd = open_store(dir, STORE_RDONLY, NULL);
	CHECK(holds_exactly(rd, 4000));
	/* not yet: the window is still open */
	CHECK_EQ(store_retention(st, fake_now), 0);
	store_stats(st, &s);
	CHECK_EQ_U64(s.compactions, 0);
	/* an hour later the partition is closed and gets rewritten */
	fake_now = T0 + 2 * HOUR;
	CHECK_EQ(store_retention(st, fake_now), 0);
	store_stats(st, &s);
	CHECK_EQ_U64(s.compactions, 1);
	CHECK_EQ_U64(s.compact_blocks_in, 40);
	CHECK_EQ_U64(s.compact_blocks_out, 4);     /* 10 blocks of 100 per 1024-row block */
	CHECK_EQ_U64(s.blocks, 4);
	CHECK_EQ_U64(s.rows, 4000);
	if (s.bytes_on_disk >= before * 3 / 4)
		fprintf(stderr, "  bytes before %llu after %llu\n", (unsigned long long)before,
			(unsigned long long)s.bytes_on_disk);
	CHECK(s.bytes_on_disk < before * 3 / 4);   /* 36 blocks' metas fewer */
	CHECK(holds_exactly(st, 4000));
	CHECK(holds_exactly(rd, 4000));            /* its index was of the old file */
	struct collect k = { 0 };
	struct store_scan_req req = { 0, UINT64_MAX, NULL, FC_ALL };
	CHECK_EQ(store_scan(rd, &req, collect_cb, &k, NULL), 0);
	size_t bad = 0;
	for (size_t i = 0; i < k.n; i++)
		bad += k.rows[i].rec.in_if >= 4000 ||
		       tr_diff(&rows[k.rows[i].rec.in_if], &k.rows[i]) != NULL;
	CHECK_EQ(bad, 0);
	free(k.rows);
	/* zone names survive the rewrite */
	struct filter *f = filter_compile("zone db", NULL);
	uint64_t want = 0;
	for (int i = 0; i < 4000; i++)
		want += filter_match_row(f, &rows[i], &(struct fc_zonemap){ tr_zones, 3 });
	CHECK(want > 0);
	CHECK_EQ_U64(scan_count(rd, "zone db", 0, UINT64_MAX, NULL), want);
	filter_free(f);
	/* a late row for the partition lands in a new block of the new file */
	CHECK_EQ(store_append(st, rows, 1), 0);
	CHECK_EQ(store_flush(st), 0);
	CHECK_EQ_U64(scan_count(st, NULL, 0, UINT64_MAX, NULL), 4001);
	CHECK_EQ_U64(scan_count(rd, NULL, 0, UINT64_MAX, NULL), 4001);
	/* big blocks are left alone */
	CHECK_EQ(store_retention(st, fake_now), 0);
	store_stats(st, &s);
	CHECK_EQ_U64(s.compactions, 1);
	store_close(rd);
	store_close(st);
	st = open_store(dir, STORE_RDONLY, NULL);
	CHECK(holds_exactly(st, 4000) == false);   /* 4001 rows, one twice */
	CHECK_EQ_U64(scan_count(st, NULL, 0, UINT64_MAX, NULL), 4001);
	store_close(st);
	free(rows);
	rmdir_r(dir);
}

/* A store holding blocks written before the dup column existed next to
 * blocks written with it: every row answers, the old ones as counted
 * (dup = 0), `dup` / `not dup` split the rows exactly, and compaction of
 * the closed partition turns the old blocks into new ones that say 0. */
static void t_dup_column_old_blocks(void)
{
	char *dir = tmpdir();
	size_t n = 600, nold = 250;
	struct flow_row *rows = make_rows(31, n, T0, 60000);
	uint64_t ndup = 0;

	/* rows [0, nold) go into old blocks: whatever they say, they read 0 */
	for (size_t i = 0; i < n; i++) {
		if (i < nold)
			rows[i].attr.dup = (uint8_t)(i & 1);
		else
			ndup += rows[i].attr.dup;
	}
	CHECK(ndup > 0 && ndup < n - nold);
	fake_now = T0 + 60000;
	struct store *st = open_store(dir, STORE_WRITE, NULL);
	CHECK_EQ(store_set_zones(st, tr_zones, 3), 0);
	CHECK_EQ(store_append(st, rows + nold, n - nold), 0);
	CHECK_EQ(store_flush(st), 0);
	store_close(st);
	/* two old blocks appended to the partition's file */
	char path[512];
	snprintf(path, sizeof(path), "%s", seg_path(dir));
	int fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	struct seg_enc *e = seg_enc_new(SEG_COMP_ZSTD, 3);
	struct fc_zonemap zm = { tr_zones, 3 };
	for (size_t b = 0; b < 2; b++) {
		struct flow_cols c;
		const uint8_t *blk;
		size_t len, from = b * (nold / 2), cnt = b ? nold - nold / 2 : nold / 2;
		cols_init(&c);
		CHECK_EQ(cols_from_rows(&c, rows + from, cnt, &zm), 0);
		c.have &= ~FC_BIT(FC_DUP);
		CHECK_EQ(seg_enc_block(e, &c, &blk, &len), 0);
		CHECK(write(fd, blk, len) == (ssize_t)len);
		cols_free(&c);
	}
	close(fd);
	seg_enc_free(e);
	for (size_t i = 0; i < nold; i++)
		rows[i].attr.dup = 0;

	for (int pass = 0; pass < 2; pass++) {
		st = open_store(dir, STORE_RDONLY, NULL);
		CHECK(st != NULL);
		struct store_stats ss;
		store_stats(st, &ss);
		CHECK_EQ_U64(ss.blocks, pass ? 1 : 3);
		CHECK_EQ_U64(scan_count(st, NULL, 0, UINT64_MAX, NULL), n);
		CHECK_EQ_U64(scan_count(st, "dup", 0, UINT64_MAX, NULL), ndup);
		CHECK_EQ_U64(scan_count(st, "not dup", 0, UINT64_MAX, NULL), n - ndup);
		/* every field, the old rows' dup as 0 */
		CHECK_EQ(scan_differs(st, rows, n), 0);
		store_close(st);
		if (pass)
			break;
		/* an hour later the writer rewrites the closed partition */
		fake_now = T0 + 2 * HOUR;
		st = open_store(dir, STORE_WRITE, NULL);
		CHECK_EQ(store_retention(st, fake_now), 0);
		store_stats(st, &ss);
		CHECK_EQ_U64(ss.compactions, 1);
		CHECK_EQ_U64(ss.compact_blocks_in, 3);
		store_close(st);
	}
	free(rows);
	rmdir_r(dir);
}

/* The rewrite at the file level: blocks appended to the source while it
 * ran are copied by the tail; an abandoned rewrite leaves the source
 * untouched and its temporary file removed; a leftover temporary file
 * (a crash mid-rewrite) is removed when the writer opens the store. */
static void t_compaction_file(void)
{
	char *dir = tmpdir();
	struct flow_row *rows = make_rows(22, 2000, T0, 60000);
	struct seg_blkref refs[20];
	struct blocks_seen bs;
	uint64_t offs[20];
	struct seg_walk w;
	struct stat sb;
	size_t len;

	fake_now = T0 + 60000;
	struct store *st = open_store(dir, STORE_WRITE, NULL);
	for (int b = 0; b < 20; b++) {
		CHECK_EQ(store_append(st, rows + 100 * b, 100), 0);
		CHECK_EQ(store_flush(st), 0);
	}
	store_close(st);
	char path[512], name[64];
	snprintf(path, sizeof(path), "%s", seg_path(dir));
	snprintf(name, sizeof(name), "%s", strrchr(path, '/') + 1);
	uint8_t *orig = slurp(path, &len);
	int fd = open(path, O_RDONLY);
	bs.off = offs;
	bs.n = 0;
	CHECK_EQ(seg_file_walk(fd, len, SEG_FILE_HDR_LEN, all_blocks_cb, &bs, &w), 0);
	CHECK_EQ(bs.n, 20);
	for (int i = 0; i < 20; i++) {
		uint8_t h[SEG_BLK_HDR_LEN];
		CHECK_EQ(seg_pread(fd, h, sizeof(h), offs[i]), 0);
		refs[i].off = offs[i];
		CHECK_EQ(seg_blkhdr_parse(h, &refs[i].h), 0);
	}
	fstat(fd, &sb);
	close(fd);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);

	/* abandoned: nothing changes */
	struct vt_err err = { 0 };
	struct seg_compact *c = seg_compact_begin(dfd, name, sb.st_dev, sb.st_ino, refs, 15, T0,
						  HOUR, 1024, SEG_COMP_ZSTD, 1, &err);
	CHECK(c != NULL);
	CHECK_EQ(seg_compact_step(c, 300), 1);
	seg_compact_free(c);
	size_t l2;
	uint8_t *same = slurp(path, &l2);
	CHECK(l2 == len && memcmp(same, orig, len) == 0);
	free(same);
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	CHECK(access(tmp, F_OK) != 0);
	/* a stale identity is refused */
	CHECK(seg_compact_begin(dfd, name, sb.st_dev, sb.st_ino + 1, refs, 15, T0, HOUR, 1024,
				SEG_COMP_ZSTD, 1, &err) == NULL);
	CHECK_CONTAINS(err.msg, "was replaced");

	/* 15 blocks rewritten in steps, 5 more copied as the tail */
	c = seg_compact_begin(dfd, name, sb.st_dev, sb.st_ino, refs, 15, T0, HOUR, 1024,
			      SEG_COMP_ZSTD, 1, &err);
	CHECK(c != NULL);
	int steps = 0, r;
	while ((r = seg_compact_step(c, 250)) == 1)
		steps++;
	CHECK_EQ(r, 0);
	CHECK(steps >= 4);
	CHECK_EQ(seg_compact_tail(c, refs + 15, 5), 0);
	CHECK_EQ(seg_compact_sync(c), 0);
	const struct seg_blkref *nb;
	size_t n;
	uint64_t size;
	dev_t dev;
	ino_t ino;
	CHECK_EQ(seg_compact_commit(c, &nb, &n, &size, &dev, &ino), 0);
	CHECK_EQ(n, 2 + 5);   /* 1500 rows in two blocks, then the five copied */
	seg_compact_free(c);
	close(dfd);
	st = open_store(dir, STORE_RDONLY, NULL);
	CHECK(holds_exactly(st, 2000));
	store_close(st);

	/* a crash leftover is removed by the writer's open */
	int t = open(tmp, O_WRONLY | O_CREAT, 0644);
	CHECK(write(t, "partial", 7) == 7);
	close(t);
	st = open_store(dir, STORE_WRITE, NULL);
	CHECK(access(tmp, F_OK) != 0);
	CHECK(holds_exactly(st, 2000));
	store_close(st);
	free(orig);
	free(rows);
	rmdir_r(dir);
}

/* A damaged column makes the rewrite give up: counted, the partition
 * marked and left as it is (its other blocks still answer). */
static void t_compaction_damaged(void)
{
	char *dir = tmpdir();
	struct flow_row *rows = make_rows(23, 1000, T0, 60000);
	struct store_stats s;
	size_t len;

	fake_now = T0 + 60000;
	struct store *st = open_store(dir, STORE_WRITE, NULL);
	for (int b = 0; b < 10; b++) {
		CHECK_EQ(store_append(st, rows + 100 * b, 100), 0);
		CHECK_EQ(store_flush(st), 0);
	}
	store_close(st);
	char path[512];
	snprintf(path, sizeof(path), "%s", seg_path(dir));
	uint8_t *buf = slurp(path, &len);
	buf[len - 20] ^= 0xff;   /* inside the last block's column data */
	spit(path, buf, len);
	fake_now = T0 + 2 * HOUR;
	st = open_store(dir, STORE_WRITE, NULL);
	CHECK(st != NULL);
	store_stats(st, &s);
	/* the open saw the last block as torn (a column CRC failed) */
	CHECK_EQ_U64(s.torn_tails, 1);
	CHECK_EQ_U64(s.rows, 900);
	store_close(st);
	/* damage a middle block's column: found only when decoding */
	uint8_t *b2 = slurp(path, &len);
	struct seg_blkhdr h;
	CHECK_EQ(seg_blkhdr_parse(b2 + SEG_FILE_HDR_LEN, &h), 0);
	uint64_t off1 = SEG_FILE_HDR_LEN + SEG_BLK_HDR_LEN + h.meta_len + h.data_len;
	CHECK_EQ(seg_blkhdr_parse(b2 + off1, &h), 0);
	b2[off1 + SEG_BLK_HDR_LEN + h.meta_len + h.data_len - 5] ^= 0xff;
	spit(path, b2, len);
	st = open_store(dir, STORE_WRITE, NULL);
	CHECK_EQ(store_retention(st, fake_now), 0);
	store_stats(st, &s);
	CHECK_EQ_U64(s.compactions, 0);
	CHECK_EQ_U64(s.compact_errors, 1);
	CHECK_EQ_U64(s.blocks, 9);
	CHECK_EQ(store_retention(st, fake_now), 0);   /* not retried */
	store_stats(st, &s);
	CHECK_EQ_U64(s.compact_errors, 1);
	struct store_scan_stats ss;
	struct collect k = { 0 };
	struct store_scan_req req = { 0, UINT64_MAX, NULL, FC_ALL };
	CHECK_EQ(store_scan(st, &req, collect_cb, &k, &ss), 0);
	CHECK_EQ(k.n, 800);
	CHECK_EQ_U64(ss.corrupt_blocks, 1);
	free(k.rows);
	store_close(st);
	size_t l3;
	uint8_t *b3 = slurp(path, &l3);
	CHECK(l3 == len && memcmp(b2, b3, len) == 0);
	free(b3);
	free(b2);
	free(buf);
	free(rows);
	rmdir_r(dir);
}

/* The flusher thread compacts on its own, in steps, while rows keep
 * arriving for the current partition. */
static void t_compaction_background(void)
{
	char *dir = tmpdir();
	struct store_conf c;
	struct store_stats s;
	struct flow_row *rows = make_rows(24, 6000, T0, 60000);

	conf_for(&c, dir);
	c.flush_ms = 20;
	c.retention_check_ms = 50;
	fake_now = T0 + 60000;
	struct store *st = open_store(dir, STORE_WRITE, &c);
	for (int b = 0; b < 30; b++) {
		CHECK_EQ(store_append(st, rows + 100 * b, 100), 0);
		CHECK_EQ(store_flush(st), 0);
	}
	fake_now = T0 + 3 * HOUR;   /* those rows' partition is closed now */
	for (int i = 0; i < 3000; i++)
		rows[3000 + i].rec.first_ms = rows[3000 + i].rec.last_ms = fake_now - 1000;
	uint64_t t0 = mono_ms();
	size_t sent = 3000;
	do {
		if (sent < 6000) {
			CHECK_EQ(store_append(st, rows + sent, 100), 0);
			sent += 100;
		}
		struct timespec ts = { 0, 20 * 1000000L };
		nanosleep(&ts, NULL);
		store_stats(st, &s);
	} while ((s.compactions == 0 || sent < 6000) && mono_ms() - t0 < 10000);
	CHECK_EQ_U64(s.compactions, 1);
	CHECK_EQ(store_flush(st), 0);
	CHECK(holds_exactly(st, 6000));
	store_close(st);
	store_conf_free(&c);
	free(rows);
	rmdir_r(dir);
}

/* Every directory stream the store opens must sit on a descriptor with
 * FD_CLOEXEC: a program the collector starts (fork + exec) while a
 * reader refreshes its index must not inherit the store directory. The
 * test binary's own fdopendir() stands in for libc's and checks. */
static int dir_fds_inheritable;

DIR *fdopendir(int fd)
{
	static DIR *(*real)(int);
	int fl = fcntl(fd, F_GETFD);

	if (!real)
		real = (DIR * (*)(int))dlsym(RTLD_NEXT, "fdopendir");
	if (fl >= 0 && !(fl & FD_CLOEXEC))
		__atomic_add_fetch(&dir_fds_inheritable, 1, __ATOMIC_RELAXED);
	return real(fd);
}

static void t_no_fd_leak_to_children(void)
{
	char *dir = tmpdir();
	struct flow_row *rows = make_rows(12, 64, T0, 4 * HOUR);
	struct store_stats s;

	fake_now = T0 + 4 * HOUR;
	dir_fds_inheritable = 0;
	struct store *w = open_store(dir, STORE_WRITE, NULL);   /* recovery, leftovers */
	CHECK(w != NULL);
	CHECK_EQ(store_append(w, rows, 64), 0);
	CHECK_EQ(store_flush(w), 0);
	struct store *r = open_store(dir, STORE_RDONLY, NULL);
	CHECK(r != NULL);
	store_stats(r, &s);                                    /* a reader's refresh */
	CHECK_EQ_U64(s.rows, 64);
	CHECK_EQ_U64(scan_count(r, NULL, 0, UINT64_MAX, NULL), 64);
	CHECK_EQ(dir_fds_inheritable, 0);
	store_close(r);
	store_close(w);
	free(rows);
	rmdir_r(dir);
}

/* A partition file whose header is damaged (a disk error: a crash
 * cannot write a wrong header) is not a segment file: readers ignore it;
 * the writer moves it aside, keeping its bytes, so that the rows of that
 * time window can be written again instead of failing every flush. */
static void t_damaged_file_header(void)
{
	char *dir = tmpdir();
	struct flow_row *rows = make_rows(13, 500, T0, 60000);
	struct store_stats s;
	char path[600], aside[640];
	size_t len;

	fake_now = T0 + HOUR / 4;
	struct store *w = open_store(dir, STORE_WRITE, NULL);
	CHECK(w != NULL);
	CHECK_EQ(store_append(w, rows, 200), 0);
	CHECK_EQ(store_flush(w), 0);
	store_close(w);
	snprintf(path, sizeof(path), "%s", seg_path(dir));
	uint8_t *img = slurp(path, &len);
	img[20] ^= 0x40;                       /* partition start: header CRC fails */
	spit(path, img, len);
	struct store *r = open_store(dir, STORE_RDONLY, NULL);
	CHECK(r != NULL);
	CHECK_EQ_U64(scan_count(r, NULL, 0, UINT64_MAX, NULL), 0);
	store_close(r);

	w = open_store(dir, STORE_WRITE, NULL);
	CHECK(w != NULL);
	CHECK_EQ(store_append(w, rows + 200, 300), 0);
	CHECK_EQ(store_flush(w), 0);
	store_stats(w, &s);
	CHECK_EQ_U64(s.flush_errors, 0);
	CHECK_EQ_U64(s.rows_lost, 0);
	CHECK_EQ_U64(s.rows, 300);
	CHECK_EQ_U64(s.corrupt_blocks, 1);
	CHECK_EQ_U64(s.corrupt_bytes, len);
	CHECK_EQ_U64(scan_count(w, NULL, 0, UINT64_MAX, NULL), 300);
	store_close(w);
	/* the damaged file is kept, byte for byte, under another name */
	snprintf(aside, sizeof(aside), "%s.damaged", path);
	size_t alen = 0;
	uint8_t *kept = slurp(aside, &alen);
	CHECK_EQ_U64(alen, len);
	CHECK(alen == len && memcmp(kept, img, len) == 0);
	free(kept);
	free(img);
	free(rows);
	rmdir_r(dir);
}

/* openat() of the test binary: when armed, renames <swap_from> over the
 * file a reader is about to open, as a compaction in the writer process
 * can between the reader's look at the directory and its open. */
static struct {
	const char *name;      /* the partition file name to intercept */
	char from[600];        /* the replacement, renamed over it first */
	int swapped;
} swap;

int openat(int dfd, const char *path, int flags, ...)
{
	static int (*real)(int, const char *, int, ...);
	mode_t mode = 0;

	if (!real)
		real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (swap.name && !strcmp(path, swap.name) && (flags & O_ACCMODE) == O_RDONLY) {
		swap.name = NULL;
		if (renameat(AT_FDCWD, swap.from, dfd, path) == 0)
			swap.swapped = 1;
	}
	return real(dfd, path, flags, mode);
}

/* A reader indexing a file that was replaced between its look at the
 * directory and its open must index the new file from its start, not go
 * on from the old file's offset (which lands inside a block of the new
 * one: a false "damaged region" and blocks of two files in one index). */
static void t_reader_file_replaced_at_open(void)
{
	char dir[64], other[64], name[64];
	struct flow_row *rows = make_rows(14, 1400, T0, 60000);
	struct store_stats s;

	/* tmpdir() answers in one static buffer: keep a copy of each */
	snprintf(dir, sizeof(dir), "%s", tmpdir());

	fake_now = T0 + HOUR / 4;
	struct store *w = open_store(dir, STORE_WRITE, NULL);
	CHECK(w != NULL);
	for (int i = 0; i < 3; i++) {          /* the old file: 3 blocks of 100 rows */
		CHECK_EQ(store_append(w, rows + i * 100, 100), 0);
		CHECK_EQ(store_flush(w), 0);
	}
	store_close(w);
	struct store *r = open_store(dir, STORE_RDONLY, NULL);
	CHECK(r != NULL);
	store_stats(r, &s);
	CHECK_EQ_U64(s.rows, 300);
	/* the new file, built aside: a block of 1000 rows, then one of 100 */
	snprintf(other, sizeof(other), "%s", tmpdir());
	struct store_conf c;
	conf_for(&c, other);
	c.block_rows = 1024;
	w = open_store(other, STORE_WRITE, &c);
	CHECK(w != NULL);
	CHECK_EQ(store_append(w, rows + 300, 1000), 0);
	CHECK_EQ(store_flush(w), 0);
	CHECK_EQ(store_append(w, rows + 1300, 100), 0);
	CHECK_EQ(store_flush(w), 0);
	store_close(w);
	store_conf_free(&c);
	/* seg_path() answers in a static buffer too: copy before the next call */
	snprintf(swap.from, sizeof(swap.from), "%s", seg_path(other));
	snprintf(name, sizeof(name), "%s", strrchr(swap.from, '/') + 1);
	CHECK_STR(name, strrchr(seg_path(dir), '/') + 1);
	swap.swapped = 0;
	swap.name = name;
	store_stats(r, &s);                    /* refresh: replaced under it */
	swap.name = NULL;
	CHECK_EQ(swap.swapped, 1);
	CHECK_EQ_U64(s.rows, 1100);
	CHECK_EQ_U64(s.corrupt_blocks, 0);
	CHECK_EQ_U64(scan_count(r, NULL, 0, UINT64_MAX, NULL), 1100);
	store_close(r);
	free(rows);
	rmdir_r(other);
	rmdir_r(dir);
}

VT_TEST_MAIN(VT_T(t_roundtrip_files), VT_T(t_reader_file_replaced_at_open),
	     VT_T(t_damaged_file_header), VT_T(t_no_fd_leak_to_children), VT_T(t_many_vms), VT_T(t_compaction),
	     VT_T(t_compaction_file), VT_T(t_compaction_damaged), VT_T(t_compaction_background), VT_T(t_block_skipping), VT_T(t_torn_tail_every_offset),
	     VT_T(t_partitions_and_retention), VT_T(t_single_writer), VT_T(t_append_ready), VT_T(t_busy_compression),
	     VT_T(t_flush_interval_and_readers), VT_T(t_concurrent_scan_append),
	     VT_T(t_misdated_rows), VT_T(t_dup_column_old_blocks))
