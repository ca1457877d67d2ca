/* Unit tests: lib/wire/tmpl_cache — keys, replacement, per-exporter and
 * global bounds (LRU), withdrawal, and the template file: round trip,
 * every kind of damage, atomic save. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire/ie_table.h"
#include "wire/tmpl_cache.h"

#include "fd_test.h"
#include "vt_test.h"

static struct tmpl *mk(uint8_t ver, uint32_t dom, uint16_t id, uint16_t nf, uint16_t first_ie)
{
	struct tmpl *t = tmpl_new(nf);

	BUG_ON(!t);
	t->version = ver;
	t->domain = dom;
	t->id = id;
	for (uint16_t i = 0; i < nf; i++) {
		t->f[i].id = (uint16_t)(first_ie + i);
		t->f[i].len = 4;
		t->f[i].pen = i == 1 ? 29305 : 0;
	}
	BUG_ON(tmpl_finish(t, ver == 9) < 0);
	return t;
}

static struct tmpl_cache *cache(uint32_t total, uint32_t per, size_t btotal, size_t bper)
{
	struct tmpl_cache_conf c = { total, per, btotal, bper };
	return tmpl_cache_new(&c);
}

static void owner_init(struct tmpl_owner *o, uint8_t last)
{
	memset(o, 0, sizeof(*o));
	o->addr = ip4(10, 0, 0, last);
}

static void t_keys_and_replace(void)
{
	struct tmpl_cache *c = cache(100, 100, 1 << 20, 1 << 20);
	struct tmpl_owner a, b;

	owner_init(&a, 1);
	owner_init(&b, 2);
	CHECK_EQ(tmpl_cache_put(c, &a, mk(10, 1, 256, 3, 1)), 0);
	CHECK_EQ(tmpl_cache_put(c, &a, mk(9, 1, 256, 3, 1)), 0);     /* other version */
	CHECK_EQ(tmpl_cache_put(c, &a, mk(10, 2, 256, 3, 1)), 0);    /* other domain */
	CHECK_EQ(tmpl_cache_put(c, &b, mk(10, 1, 256, 3, 1)), 0);    /* other exporter */
	CHECK_EQ(a.ntmpl, 3);
	CHECK_EQ(b.ntmpl, 1);
	CHECK_EQ(tmpl_cache_put(c, &a, mk(10, 1, 256, 3, 1)), 1);    /* same again */
	CHECK_EQ(tmpl_cache_put(c, &a, mk(10, 1, 256, 4, 1)), 2);    /* redefined */
	struct tmpl *t = tmpl_cache_get(c, &a, 10, 1, 256, 5);
	CHECK(t != NULL);
	CHECK_EQ(t ? t->nfields : 0, 4);
	CHECK_EQ(t ? t->min_len : 0, 16);
	CHECK_EQ(t ? t->f[1].rev : 0, 1);
	CHECK(tmpl_cache_get(c, &b, 10, 2, 256, 5) == NULL);
	CHECK_EQ(tmpl_cache_del(c, &a, 10, 1, 256), 0);
	CHECK_EQ(tmpl_cache_del(c, &a, 10, 1, 256), -ENOENT);
	CHECK_EQ(a.ntmpl, 2);
	struct tmpl_cache_stats st;
	tmpl_cache_stats(c, &st);
	CHECK_EQ(st.templates, 3);
	CHECK_EQ(st.bytes, a.bytes + b.bytes);
	tmpl_cache_drop_owner(c, &a);
	CHECK_EQ(a.ntmpl, 0);
	CHECK_EQ(a.bytes, 0);
	tmpl_cache_free(c);
}

static void t_owner_bound_lru(void)
{
	struct tmpl_cache *c = cache(100, 3, 1 << 20, 1 << 20);
	struct tmpl_owner a;

	owner_init(&a, 1);
	for (uint16_t id = 256; id < 259; id++)
		tmpl_cache_put(c, &a, mk(10, 0, id, 2, 1));
	tmpl_cache_get(c, &a, 10, 0, 256, 1);        /* 256 is now the freshest */
	tmpl_cache_put(c, &a, mk(10, 0, 259, 2, 1));  /* evicts 257 */
	CHECK_EQ(a.ntmpl, 3);
	CHECK_EQ(a.evicted, 1);
	CHECK(tmpl_cache_get(c, &a, 10, 0, 257, 2) == NULL);
	CHECK(tmpl_cache_get(c, &a, 10, 0, 256, 2) != NULL);
	CHECK(tmpl_cache_get(c, &a, 10, 0, 258, 2) != NULL);
	CHECK(tmpl_cache_get(c, &a, 10, 0, 259, 2) != NULL);
	struct tmpl_cache_stats st;
	tmpl_cache_stats(c, &st);
	CHECK_EQ(st.evicted_owner, 1);
	tmpl_cache_free(c);
}

static void t_global_bounds(void)
{
	struct tmpl_cache *c = cache(4, 10, 1 << 20, 1 << 20);
	struct tmpl_owner o[3];

	for (uint8_t i = 0; i < 3; i++)
		owner_init(&o[i], (uint8_t)(i + 1));
	tmpl_cache_put(c, &o[0], mk(10, 0, 256, 2, 1));
	tmpl_cache_put(c, &o[0], mk(10, 0, 257, 2, 1));
	tmpl_cache_put(c, &o[1], mk(10, 0, 256, 2, 1));
	tmpl_cache_put(c, &o[1], mk(10, 0, 257, 2, 1));
	tmpl_cache_put(c, &o[2], mk(10, 0, 256, 2, 1));  /* evicts o[0]/256 */
	CHECK_EQ(o[0].ntmpl, 1);
	CHECK_EQ(o[0].evicted, 1);
	CHECK(tmpl_cache_get(c, &o[0], 10, 0, 256, 1) == NULL);
	struct tmpl_cache_stats st;
	tmpl_cache_stats(c, &st);
	CHECK_EQ(st.templates, 4);
	CHECK_EQ(st.evicted_total, 1);
	tmpl_cache_free(c);

	/* byte bounds: a template larger than the per-owner bound is refused;
	 * smaller ones push the owner's oldest out */
	struct tmpl *probe = mk(10, 0, 256, 10, 1);
	size_t sz = tmpl_size(probe);
	tmpl_free(probe);
	c = cache(100, 100, 1 << 20, 2 * sz + 8);
	owner_init(&o[0], 1);
	CHECK_EQ(tmpl_cache_put(c, &o[0], mk(10, 0, 256, 200, 1)), -E2BIG);
	CHECK_EQ(o[0].ntmpl, 0);
	tmpl_cache_put(c, &o[0], mk(10, 0, 256, 10, 1));
	tmpl_cache_put(c, &o[0], mk(10, 0, 257, 10, 1));
	tmpl_cache_put(c, &o[0], mk(10, 0, 258, 10, 1));
	CHECK_EQ(o[0].ntmpl, 2);
	CHECK(o[0].bytes <= 2 * sz + 8);
	CHECK(tmpl_cache_get(c, &o[0], 10, 0, 256, 1) == NULL);
	tmpl_cache_free(c);
}

static void t_withdraw_all(void)
{
	struct tmpl_cache *c = cache(100, 100, 1 << 20, 1 << 20);
	struct tmpl_owner a;
	struct tmpl *opt = mk(10, 1, 300, 2, 302);

	owner_init(&a, 1);
	opt->options = 1;
	opt->nscope = 1;
	tmpl_cache_put(c, &a, mk(10, 1, 256, 2, 1));
	tmpl_cache_put(c, &a, mk(10, 1, 257, 2, 1));
	tmpl_cache_put(c, &a, mk(10, 2, 256, 2, 1));
	tmpl_cache_put(c, &a, opt);
	CHECK_EQ(tmpl_cache_del_all(c, &a, 10, 1, 0), 2);
	CHECK_EQ(a.ntmpl, 2);
	CHECK_EQ(tmpl_cache_del_all(c, &a, 10, 1, 1), 1);
	CHECK_EQ(a.ntmpl, 1);
	tmpl_cache_free(c);
}

/* ---- persistence ------------------------------------------------------------ */

struct owners {
	struct tmpl_owner o[8];
	int n;
	int refuse;    /* address' last byte to refuse */
};

static struct tmpl_owner *get_owner(void *arg, const struct vt_addr *a)
{
	struct owners *ow = arg;

	if (a->b[15] == ow->refuse)
		return NULL;
	for (int i = 0; i < ow->n; i++)
		if (addr_cmp(&ow->o[i].addr, a) == 0)
			return &ow->o[i];
	if (ow->n == 8)
		return NULL;
	memset(&ow->o[ow->n], 0, sizeof(ow->o[0]));
	ow->o[ow->n].addr = *a;
	return &ow->o[ow->n++];
}

static struct tmpl_cache *filled(struct tmpl_owner *a, struct tmpl_owner *b)
{
	struct tmpl_cache *c = cache(100, 100, 1 << 20, 1 << 20);
	struct tmpl *opt = mk(9, 7, 300, 3, 1);

	owner_init(a, 1);
	owner_init(b, 2);
	b->addr = ip4(0, 0, 0, 0);
	addr_parse("2001:db8::2", &b->addr);
	opt->options = 1;
	opt->nscope = 1;
	tmpl_cache_put(c, a, mk(10, 1, 256, 5, 1));
	tmpl_cache_put(c, a, opt);
	tmpl_cache_put(c, b, mk(10, 9, 1024, 40, 100));
	tmpl_cache_get(c, a, 10, 1, 256, 1);          /* LRU order: 256 freshest */
	return c;
}

static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return ~crc;
}

static void t_round_trip(void)
{
	struct tmpl_owner a, b;
	struct tmpl_cache *c = filled(&a, &b);
	uint8_t *img;
	size_t len;
	struct vt_err err = { 0 };

	CHECK_EQ(tmpl_cache_serialize(c, NULL, &img, &len), 0);
	CHECK_MEM(img, TMPL_FILE_MAGIC, 8);
	CHECK_EQ(ld_be32(img + 8), TMPL_FILE_VERSION);
	CHECK_EQ(ld_be32(img + 12), 3);
	CHECK_EQ(ld_be32(img + len - 4), crc32_bitwise(img, len - 4));
	CHECK_EQ(len, 16 + 3 * (5 + 28) + (5 + 3 + 40) * 8 + 4);

	struct tmpl_cache *d = cache(100, 100, 1 << 20, 1 << 20);
	struct owners ow = { .refuse = -1 };
	CHECK_EQ(tmpl_cache_load_mem(d, img, len, get_owner, &ow, NULL, 42, &err), 3);
	CHECK_EQ(ow.n, 2);
	struct tmpl_owner *na = get_owner(&ow, &a.addr), *nb = get_owner(&ow, &b.addr);
	struct tmpl *t = tmpl_cache_get(d, na, 10, 1, 256, 50);
	CHECK(t && tmpl_same_layout(t, tmpl_cache_get(c, &a, 10, 1, 256, 50)));
	CHECK(t && t->f[1].pen == 29305 && t->f[1].rev == 1 && t->min_len == 20);
	t = tmpl_cache_get(d, na, 9, 7, 300, 50);
	CHECK(t && t->options == 1 && t->nscope == 1);
	t = tmpl_cache_get(d, nb, 10, 9, 1024, 50);
	CHECK(t && t->nfields == 40 && t->used_ms == 50);
	/* serialising the loaded cache gives the same image (LRU order too,
	 * once the same gets are replayed) */
	tmpl_cache_get(d, na, 10, 1, 256, 60);
	uint8_t *img2;
	size_t len2;
	CHECK_EQ(tmpl_cache_serialize(d, NULL, &img2, &len2), 0);
	CHECK_EQ(len2, len);
	free(img2);
	/* an owner refused by the callback skips its templates only */
	struct tmpl_cache *e = cache(100, 100, 1 << 20, 1 << 20);
	struct owners ow2 = { .refuse = 1 };
	CHECK_EQ(tmpl_cache_load_mem(e, img, len, get_owner, &ow2, NULL, 0, &err), 1);
	tmpl_cache_free(e);
	tmpl_cache_free(d);
	tmpl_cache_free(c);
	free(img);
}

/* Damage: any single flipped byte, any truncation, a wrong version or an
 * invalid entry behind a valid checksum, trailing bytes: all refused with
 * a message, and nothing is added. */
static void t_corrupted_file(void)
{
	struct tmpl_owner a, b;
	struct tmpl_cache *c = filled(&a, &b);
	uint8_t *img;
	size_t len;

	tmpl_cache_serialize(c, NULL, &img, &len);
	uint8_t *bad = malloc(len + 8);
	for (size_t i = 0; i < len; i++) {
		struct tmpl_cache *d = cache(100, 100, 1 << 20, 1 << 20);
		struct owners ow = { .refuse = -1 };
		struct vt_err err = { 0 };
		memcpy(bad, img, len);
		bad[i] ^= 0x40;
		int r = tmpl_cache_load_mem(d, bad, len, get_owner, &ow, NULL, 0, &err);
		if (r != -EBADMSG)
			fprintf(stderr, "  byte %zu: %d\n", i, r);
		CHECK_EQ(r, -EBADMSG);
		CHECK(err.msg[0] != '\0');
		CHECK_EQ(ow.n, 0);
		tmpl_cache_free(d);
	}
	for (size_t cut = 0; cut < len; cut++) {
		struct tmpl_cache *d = cache(100, 100, 1 << 20, 1 << 20);
		struct owners ow = { .refuse = -1 };
		struct vt_err err = { 0 };
		CHECK_EQ(tmpl_cache_load_mem(d, img, cut, get_owner, &ow, NULL, 0, &err), -EBADMSG);
		CHECK_EQ(ow.n, 0);
		tmpl_cache_free(d);
	}
	static const struct { const char *what; size_t off; uint8_t val; const char *msg; } edits[] = {
		{ "version 2", 11, 2, "version 2 unsupported" },
		/* entry 0 starts at 16: kind, length (4), then its body at 21 */
		{ "protocol version 8", 21 + 16, 8, "entry 0" },
		{ "template id 255", 21 + 18, 0, "entry 0" },
		{ "field count 0xff..", 21 + 26, 0xff, "entry 0" },
		{ "entry kind 0", 16, 0, "entry 0" },
		{ "entry length past the file", 17, 0x7f, "entry 0" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(edits); i++) {
		struct tmpl_cache *d = cache(100, 100, 1 << 20, 1 << 20);
		struct owners ow = { .refuse = -1 };
		struct vt_err err = { 0 };
		vt_test_case = edits[i].what;
		memcpy(bad, img, len);
		bad[edits[i].off] = edits[i].val;
		if (edits[i].off == 21 + 18)
			bad[21 + 19] = 0xff;
		st_be32(bad + len - 4, crc32_bitwise(bad, len - 4));
		CHECK_EQ(tmpl_cache_load_mem(d, bad, len, get_owner, &ow, NULL, 0, &err), -EBADMSG);
		CHECK_CONTAINS(err.msg, edits[i].msg);
		CHECK_EQ(ow.n, 0);
		tmpl_cache_free(d);
	}
	vt_test_case = "t_corrupted_file";
	/* trailing bytes behind a valid checksum */
	memcpy(bad, img, len - 4);
	memset(bad + len - 4, 0, 4);
	st_be32(bad + len, crc32_bitwise(bad, len));
	struct tmpl_cache *d = cache(100, 100, 1 << 20, 1 << 20);
	struct owners ow = { .refuse = -1 };
	struct vt_err err = { 0 };
	CHECK_EQ(tmpl_cache_load_mem(d, bad, len + 4, get_owner, &ow, NULL, 0, &err), -EBADMSG);
	CHECK_CONTAINS(err.msg, "trailing");
	tmpl_cache_free(d);
	free(bad);
	free(img);
	tmpl_cache_free(c);
}

static void t_save_load_file(void)
{
	char dir[] = "/tmp/vtap-tmpl-XXXXXX", path[256];
	struct tmpl_owner a, b;
	struct tmpl_cache *c = filled(&a, &b);
	struct vt_err err = { 0 };

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/templates.bin", dir);
	struct tmpl_cache *d = cache(100, 100, 1 << 20, 1 << 20);
	struct owners ow = { .refuse = -1 };
	CHECK_EQ(tmpl_cache_load(d, path, get_owner, &ow, NULL, 0, &err), -ENOENT);
	CHECK_CONTAINS(err.msg, path);
	CHECK_EQ(tmpl_cache_save(c, path, NULL, &err), 0);
	CHECK_EQ(tmpl_cache_save(c, path, NULL, &err), 0);      /* replace */
	CHECK_EQ(tmpl_cache_load(d, path, get_owner, &ow, NULL, 0, &err), 3);
	/* nothing but the file is left in the directory */
	DIR *dh = opendir(dir);
	int files = 0;
	struct dirent *de;
	while (dh && (de = readdir(dh)))
		if (de->d_name[0] != '.')
			files++;
	if (dh)
		closedir(dh);
	CHECK_EQ(files, 1);
	/* a damaged file names itself and the problem */
	FILE *fp = fopen(path, "r+b");
	CHECK(fp != NULL);
	if (fp) {
		fseek(fp, 20, SEEK_SET);
		fputc(0x55, fp);
		fclose(fp);
	}
	struct tmpl_cache *e = cache(100, 100, 1 << 20, 1 << 20);
	CHECK_EQ(tmpl_cache_load(e, path, get_owner, &ow, NULL, 0, &err), -EBADMSG);
	CHECK_CONTAINS(err.msg, path);
	CHECK_CONTAINS(err.msg, "checksum");
	/* a directory that does not exist */
	snprintf(path, sizeof(path), "%s/missing/t.bin", dir);
	CHECK(tmpl_cache_save(c, path, NULL, &err) < 0);
	CHECK_CONTAINS(err.msg, "missing");
	snprintf(path, sizeof(path), "%s/templates.bin", dir);
	unlink(path);
	rmdir(dir);
	tmpl_cache_free(e);
	tmpl_cache_free(d);
	tmpl_cache_free(c);
}

/* Several savers of one file in one process (a collector's worker
 * threads, each with its own decoder): every save must succeed and leave
 * a whole file, never a mix of two writers' bytes, nor a temporary file. */
struct saver {
	struct tmpl_cache *c;
	const char *path;
	int failures;
};

static void *save_loop(void *arg)
{
	struct saver *sv = arg;

	for (int i = 0; i < 300; i++) {
		struct vt_err err = { 0 };
		if (tmpl_cache_save(sv->c, sv->path, NULL, &err) != 0)
			sv->failures++;
	}
	return NULL;
}

static void t_concurrent_save(void)
{
	char dir[] = "/tmp/vtap-tmpl-XXXXXX", path[256];
	struct tmpl_owner a, b, x;
	struct saver sv[2];
	pthread_t th[2];

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/templates.bin", dir);
	sv[0] = (struct saver){ filled(&a, &b), path, 0 };
	owner_init(&x, 9);
	sv[1] = (struct saver){ cache(100, 100, 1 << 20, 1 << 20), path, 0 };
	for (uint16_t id = 256; id < 296; id++)
		CHECK(tmpl_cache_put(sv[1].c, &x, mk(10, 1, id, 40, 1)) >= 0);
	for (int i = 0; i < 2; i++)
		CHECK_EQ(pthread_create(&th[i], NULL, save_loop, &sv[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(sv[0].failures, 0);
	CHECK_EQ(sv[1].failures, 0);
	/* the file is one saver's whole image */
	struct tmpl_cache *d = cache(100, 100, 1 << 20, 1 << 20);
	struct owners ow = { .refuse = -1 };
	struct vt_err err = { 0 };
	int n = tmpl_cache_load(d, path, get_owner, &ow, NULL, 0, &err);
	if (n < 0)
		fprintf(stderr, "  load: %s\n", err.msg);
	CHECK(n == 3 || n == 40);
	DIR *dh = opendir(dir);
	int files = 0;
	struct dirent *de;
	while (dh && (de = readdir(dh)))
		if (de->d_name[0] != '.' && unlinkat(dirfd(dh), de->d_name, 0) == 0)
			files++;
	if (dh)
		closedir(dh);
	CHECK_EQ(files, 1);
	rmdir(dir);
	tmpl_cache_free(d);
	tmpl_cache_free(sv[0].c);
	tmpl_cache_free(sv[1].c);
}

/* flowdec: templates survive a "restart" through the file, and data sent
 * after the restart without templates decodes. */
static void t_flowdec_restart(void)
{
	char dir[] = "/tmp/vtap-tmpl-XXXXXX", path[256];
	struct cap c;
	struct flowdec *fd = fd_cap_new(&c, NULL);
	struct vt_addr e = ip4(192, 0, 2, 50);
	struct vt_err err = { 0 };
	struct mb m;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/t.bin", dir);
	mb_ipfix(&m, 1700000000, 0, 3);
	mb_set(&m, 2);
	wr_u16(&m.w, 256);
	wr_u16(&m.w, 3);
	mb_field(&m, 8, 4, 0);
	mb_field(&m, 1, 4, 0);
	mb_field(&m, 302, 2, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 3);                  /* selector 7 samples 1 in 50 */
	wr_u16(&m.w, 257);
	wr_u16(&m.w, 3);
	wr_u16(&m.w, 1);
	mb_field(&m, 302, 2, 0);
	mb_field(&m, 305, 4, 0);
	mb_field(&m, 306, 4, 0);
	mb_set_end(&m, 0);
	mb_set(&m, 257);
	wr_u16(&m.w, 7);
	wr_u32(&m.w, 1);
	wr_u32(&m.w, 49);
	mb_set_end(&m, 0);
	feed(fd, e, 1, &m, 1);
	uint64_t gen = flowdec_template_generation(fd);
	CHECK(gen > 0);
	CHECK_EQ(flowdec_templates_save(fd, path, &err), 0);
	flowdec_free(fd);

	fd = fd_cap_new(&c, NULL);
	CHECK_EQ(flowdec_templates_load(fd, path, 2, &err), 2);
	mb_ipfix(&m, 1700000001, 0, 3);
	mb_set(&m, 256);
	mb_v4(&m, 1, 2, 3, 4);
	wr_u32(&m.w, 99);
	wr_u16(&m.w, 7);
	mb_set_end(&m, 0);
	CHECK_EQ(feed(fd, e, 3, &m, 2), 1);
	/* the sampling table came back with the templates */
	CHECK_EQ(c.r[0].sampling, 50);
	CHECK_EQ_U64(c.r[0].bytes, 99 * 50);

	/* a damaged sampling entry refuses the whole file */
	uint8_t *img;
	size_t len;
	CHECK_EQ(flowdec_templates_serialize(fd, &img, &len), 0);
	/* the domain entry is last: kind, length, address, version, domain,
	 * sysinit, rate, count, one sampler (13 bytes), then the CRC */
	size_t count_at = len - 4 - 13 - 1;
	CHECK_EQ(img[count_at], 1);
	img[count_at] = 17;
	st_be32(img + len - 4, crc32_bitwise(img, len - 4));
	struct cap c2;
	struct flowdec *f2 = fd_cap_new(&c2, NULL);
	CHECK_EQ(flowdec_templates_load_mem(f2, img, len, 0, &err), -EBADMSG);
	CHECK_CONTAINS(err.msg, "kind 2");
	struct flowdec_stats fst;
	flowdec_stats(f2, &fst);
	CHECK_EQ(fst.templates, 0);
	CHECK_EQ(fst.exporters, 0);
	flowdec_free(f2);
	free(img);
	CHECK_EQ(c.r[0].dec_flags & FLOWREC_F_LATE, 0);
	flowdec_free(fd);
	unlink(path);
	rmdir(dir);
}

/* Every planned store (ie_plan + ie_store) leaves a fresh accumulator
 * exactly as ie_apply() does, for every mapping, both directions and the
 * lengths templates use; and a template plans an absolute time only when
 * it is the one of its kind. */
static void t_plan_matches_apply(void)
{
	static const uint16_t lens[] = { 1, 2, 3, 4, 6, 8, 16 };
	uint8_t v[16];
	unsigned planned = 0;

	for (unsigned i = 0; i < sizeof(v); i++)
		v[i] = (uint8_t)(0x81 + 7 * i);
	for (unsigned m = 1; m < IEM__COUNT; m++) {
		for (int rev = 0; rev < 2; rev++) {
			for (size_t l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
				struct ie_acc a, b;
				uint16_t off = 0;
				uint8_t op = ie_plan((uint8_t)m, rev, lens[l], &off);
				if (op == IEO_APPLY)
					continue;
				planned++;
				ie_acc_init(&a);
				ie_acc_init(&b);
				ie_apply(&a, (uint8_t)m, rev, v, lens[l]);
				ie_store(&b, op, off, v, lens[l]);
				(rev ? b.rhave : b.have)[m >> 6] |= 1ull << (m & 63);
				if (memcmp(&a, &b, sizeof(a)) != 0)
					fprintf(stderr, "  map %u rev %d len %u: planned store differs\n",
						m, rev, lens[l]);
				CHECK_MEM(&a, &b, sizeof(a));
			}
		}
	}
	CHECK(planned > 60);

	/* flowStartSeconds + flowStartMilliseconds: neither planned (the finer
	 * wins); flowEndMilliseconds alone: planned */
	struct tmpl *t = tmpl_new(3);
	BUG_ON(!t);
	t->version = 10;
	t->f[0] = (struct tmpl_field){ .id = 150, .len = 4 };
	t->f[1] = (struct tmpl_field){ .id = 152, .len = 8 };
	t->f[2] = (struct tmpl_field){ .id = 153, .len = 8 };
	CHECK_EQ(tmpl_finish(t, false), 0);
	CHECK_EQ(t->f[0].op, IEO_APPLY);
	CHECK_EQ(t->f[1].op, IEO_APPLY);
	CHECK_EQ(t->f[2].op, IEO_T_END_MS);
	CHECK_EQ(t->nsteps, 0);   /* two fields ie_apply() must see in order */
	tmpl_free(t);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A template's stores grouped by kind (struct tmpl's steps) leave the
 * accumulator exactly as decoding field by field does: random templates
 * over elements of every kind, at the lengths exporters use, with
 * repeated elements and one element at two lengths (stores of different
 * kinds to the same bytes: not grouped), random records. */
static void t_grouped_equals_fieldwise(void)
{
	static const struct { uint16_t id, len; uint32_t pen; } pool[] = {
		{ 1, 8, 0 }, { 1, 4, 0 }, { 2, 8, 0 }, { 2, 4, 0 }, { 4, 1, 0 }, { 5, 1, 0 },
		{ 6, 1, 0 }, { 6, 2, 0 }, { 7, 2, 0 }, { 7, 4, 0 }, { 11, 2, 0 }, { 8, 4, 0 },
		{ 12, 4, 0 }, { 15, 4, 0 }, { 27, 16, 0 }, { 28, 16, 0 }, { 56, 6, 0 },
		{ 80, 6, 0 }, { 10, 4, 0 }, { 10, 2, 0 }, { 14, 4, 0 }, { 16, 4, 0 },
		{ 17, 2, 0 }, { 9, 1, 0 }, { 13, 1, 0 }, { 61, 1, 0 }, { 136, 1, 0 },
		{ 152, 8, 0 }, { 153, 8, 0 }, { 150, 4, 0 }, { 22, 4, 0 }, { 21, 4, 0 },
		{ 58, 2, 0 }, { 32, 2, 0 }, { 1, 8, 29305 }, { 2, 4, 29305 }, { 999, 3, 0 },
	};
	const size_t npool = sizeof(pool) / sizeof(pool[0]);
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	unsigned grouped = 0, fieldwise = 0;
	uint8_t rec[512];

	for (unsigned iter = 0; iter < 20000; iter++) {
		uint16_t nf = (uint16_t)(1 + rnd(&seed) % 24);
		struct tmpl *t = tmpl_new(nf);
		BUG_ON(!t);
		t->version = 10;
		for (uint16_t i = 0; i < nf; i++) {
			size_t k = rnd(&seed) % npool;
			t->f[i] = (struct tmpl_field){ .id = pool[k].id, .len = pool[k].len,
						       .pen = pool[k].pen };
		}
		CHECK_EQ(tmpl_finish(t, false), 0);
		for (size_t i = 0; i < sizeof(rec); i++)
			rec[i] = (uint8_t)rnd(&seed);
		struct ie_acc a, b;
		struct vt_rd ra = rd_init(rec, t->min_len), rb = rd_init(rec, t->min_len);
		ie_acc_init(&a);
		ie_acc_init(&b);
		CHECK_EQ(tmpl_decode_record(t, &ra, &a), 0);
		uint16_t nsteps = t->nsteps;
		t->nsteps = 0;
		CHECK_EQ(tmpl_decode_record(t, &rb, &b), 0);
		if (memcmp(&a, &b, sizeof(a)) != 0) {
			fprintf(stderr, "  template %u (%u fields, %u steps) decodes differently\n",
				iter, nf, nsteps);
			CHECK_MEM(&a, &b, sizeof(a));
		}
		if (nsteps)
			grouped++;
		else
			fieldwise++;
		tmpl_free(t);
	}
	/* both paths were compared, not one against itself */
	CHECK(grouped > 2000);
	CHECK(fieldwise > 2000);

	/* flowgen's layout: grouped; the same element at 8 and 4 bytes: not */
	static const uint16_t ids[] = { 8, 12, 7, 11, 4, 6, 1, 2, 152, 153, 10, 14 };
	static const uint16_t lens[] = { 4, 4, 2, 2, 1, 1, 8, 8, 8, 8, 4, 4 };
	struct tmpl *t = tmpl_new(12);
	BUG_ON(!t);
	t->version = 10;
	for (uint16_t i = 0; i < 12; i++)
		t->f[i] = (struct tmpl_field){ .id = ids[i], .len = lens[i] };
	CHECK_EQ(tmpl_finish(t, false), 0);
	CHECK_EQ(t->nsteps, 12);
	CHECK_EQ(t->kind_end[TK_U8_1], 2);
	CHECK_EQ(t->kind_end[TK_TIME_MS8] - t->kind_end[TK_COPY16], 2);   /* the two times */
	CHECK_EQ(t->kind_end[TK_OTHER], t->kind_end[TK_TIME_MS8]);
	t->f[7] = (struct tmpl_field){ .id = 1, .len = 4 };
	CHECK_EQ(tmpl_finish(t, false), 0);
	CHECK_EQ(t->nsteps, 0);
	tmpl_free(t);
}

VT_TEST_MAIN(VT_T(t_plan_matches_apply), VT_T(t_grouped_equals_fieldwise),
	     VT_T(t_keys_and_replace), VT_T(t_owner_bound_lru), VT_T(t_global_bounds),
	     VT_T(t_withdraw_all), VT_T(t_round_trip), VT_T(t_corrupted_file),
	     VT_T(t_save_load_file), VT_T(t_concurrent_save), VT_T(t_flowdec_restart))
