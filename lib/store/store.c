/* store.c — see store.h. The front end: the [store] key table, the
 * backend choice, and the calls that forward to the backend's ops. */
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"

static const char *const backend_names[] = { "segments", NULL };
/* in enum store_compression order; busy_compression adds `same` */
#define COMP_NAMES "zstd", "lz4", "none", "lz4-fast"
const char *const store_comp_names[] = { COMP_NAMES, NULL };
static const char *const busy_comp_names[] = { COMP_NAMES, "same", NULL };

#define K(f) offsetof(struct store_conf, f)
/* Defined without a size: the declaration in store.h fixes it, so a key
 * added without bumping STORE_CONF_NKEYS fails to compile. */
const struct conf_key store_conf_keys[] = {
	{ "backend", CONF_ENUM, K(backend), 0, 0, "segments",
	  "where flows are stored: `segments` = the embedded segment files in `dir`",
	  backend_names, NULL, NULL, false },
	{ "dir", CONF_STR, K(dir), 1, 1024, "/var/lib/vtap/store",
	  "directory of the segment files (created if missing)", NULL, NULL, NULL, false },
	{ "flush_interval", CONF_DURATION, K(flush_ms), 10, 60000, "1s",
	  "buffered flows are written at least this often: the most a crash can lose",
	  NULL, NULL, NULL, false },
	{ "partition", CONF_DURATION, K(partition_ms), 60000, 7ull * 86400000, "1h",
	  "time covered by one segment file; retention drops whole files", NULL, NULL, NULL,
	  false },
	{ "retention_age", CONF_DURATION, K(retention_age_ms), 0, 3650ull * 86400000, "30d",
	  "drop partitions whose time window ended longer ago than this (0 = keep forever)",
	  NULL, NULL, NULL, false },
	{ "retention_size", CONF_SIZE, K(retention_size), 0, 1ull << 50, "100G",
	  "drop the oldest partitions while the store is larger than this (0 = no limit)",
	  NULL, NULL, NULL, false },
	{ "retention_check", CONF_DURATION, K(retention_check_ms), 1000, 86400000, "1m",
	  "how often the writer enforces retention", NULL, NULL, NULL, false },
	{ "compression", CONF_ENUM, K(compression), 0, 0, "zstd",
	  "column compression (docs/store.md has the measurements)", store_comp_names, NULL, NULL,
	  false },
	{ "busy_compression", CONF_ENUM, K(busy_compression), 0, 0, "lz4-fast",
	  "column compression while ingest is using most of its CPU (`same` = `compression`)",
	  busy_comp_names, NULL, NULL, false },
	{ "zstd_level", CONF_UINT, K(level), 1, 19, "1",
	  "zstd compression level: higher is smaller and slower to write", NULL, NULL, NULL,
	  false },
	{ "block_rows", CONF_UINT, K(block_rows), 1024, 1048576, "65536",
	  "rows per block at most (the unit of compression, skipping and reading)", NULL, NULL,
	  NULL, false },
	{ "max_pending", CONF_UINT, K(max_pending), 1024, 4194304, "131072",
	  "rows buffered in memory before appends wait for the writer", NULL, NULL, NULL,
	  false },
	{ "fsync", CONF_BOOL, K(fsync), 0, 0, "yes",
	  "fdatasync() after each flush, so a power loss (not only a crash) loses at most one interval",
	  NULL, NULL, NULL, false },
};

static const struct conf_section schema_secs[] = {
	{ "store", STORE_CONF_HELP, store_conf_keys, STORE_CONF_NKEYS, 0, NULL },
};

const struct conf_schema store_conf_schema = {
	.name = "store",
	.title = "[store] section: the embedded flow store",
	.secs = schema_secs,
	.nsecs = ARRAY_SIZE(schema_secs),
};

int store_conf_init(struct store_conf *c, const char *dir)
{
	struct vt_err err = { 0 };
	int r;

	memset(c, 0, sizeof(*c));
	r = conf_defaults(schema_secs, ARRAY_SIZE(schema_secs), c, &err);
	if (r < 0)
		return r;
	if (dir) {
		char *d = strdup(dir);
		if (!d) {
			store_conf_free(c);
			return -ENOMEM;
		}
		free(c->dir);
		c->dir = d;
	}
	return 0;
}

void store_conf_free(struct store_conf *c)
{
	if (!c)
		return;
	conf_free(schema_secs, ARRAY_SIZE(schema_secs), c);
	c->dir = NULL;
}

struct store *store_open(const struct store_conf *conf, enum store_mode mode,
			 struct vt_err *err)
{
	struct store *st;
	int r;

	if (!conf->dir || !conf->dir[0]) {
		vt_err_set(err, -EINVAL, "store: no directory configured");
		errno = EINVAL;
		return NULL;
	}
	if (conf->compression < 0 || conf->compression >= STORE_COMP_SAME ||
	    conf->busy_compression < 0 || conf->busy_compression > STORE_COMP_SAME) {
		vt_err_set(err, -EINVAL,
			   "store: compression (%d) or busy_compression (%d) is not a compression",
			   conf->compression, conf->busy_compression);
		errno = EINVAL;
		return NULL;
	}
	if (conf->block_rows > conf->max_pending) {
		vt_err_set(err, -EINVAL,
			   "store: block_rows (%llu) must not exceed max_pending (%llu)",
			   (unsigned long long)conf->block_rows,
			   (unsigned long long)conf->max_pending);
		errno = EINVAL;
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		goto nomem;
	st->conf = *conf;
	st->conf.dir = strdup(conf->dir);
	if (!st->conf.dir) {
		free(st);
		goto nomem;
	}
	st->mode = mode;
	pthread_mutex_init(&st->zmu, NULL);
	switch (conf->backend) {
	case STORE_BACKEND_SEGMENTS:
		st->ops = &store_segments_ops;
		break;
	default:
		vt_err_set(err, -EINVAL, "store: unknown backend %d", conf->backend);
		r = -EINVAL;
		goto fail;
	}
	r = st->ops->open(st, err);
	if (r < 0)
		goto fail;
	return st;
fail:
	pthread_mutex_destroy(&st->zmu);
	free(st->conf.dir);
	free(st);
	errno = -r;
	return NULL;
nomem:
	vt_err_set(err, -ENOMEM, "store: out of memory");
	errno = ENOMEM;
	return NULL;
}

int store_append(struct store *st, const struct flow_row *rows, size_t n)
{
	if (st->mode != STORE_WRITE)
		return -EROFS;
	return n ? st->ops->append(st, rows, n) : 0;
}

bool store_append_ready(struct store *st, size_t n)
{
	return st->mode == STORE_WRITE && (!st->ops->append_ready || st->ops->append_ready(st, n));
}

void store_set_busy(struct store *st, bool busy)
{
	if (st->mode == STORE_WRITE && st->ops->set_busy)
		st->ops->set_busy(st, busy);
}

int store_flush(struct store *st)
{
	if (st->mode != STORE_WRITE)
		return 0;
	return st->ops->flush(st);
}

int store_scan(struct store *st, const struct store_scan_req *req, store_batch_cb cb,
	       void *arg, struct store_scan_stats *ss)
{
	struct store_scan_stats local;

	if (!ss)
		ss = &local;
	memset(ss, 0, sizeof(*ss));
	return st->ops->scan(st, req, cb, arg, ss);
}

int store_retention(struct store *st, uint64_t now_ms)
{
	if (st->mode != STORE_WRITE)
		return -EROFS;
	return st->ops->retention(st, now_ms);
}

void store_stats(struct store *st, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	st->ops->stats(st, out);
}

static void zones_free(char **z, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(z[i]);
	free(z);
}

int store_set_zones(struct store *st, const char *const *names, size_t n)
{
	char **z = calloc(n ? n : 1, sizeof(*z));

	if (!z)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		z[i] = strdup(names[i] ? names[i] : "");
		if (!z[i]) {
			zones_free(z, i);
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&st->zmu);
	char **old = st->zones;
	size_t nold = st->nzones;
	st->zones = z;
	st->nzones = n;
	pthread_mutex_unlock(&st->zmu);
	zones_free(old, nold);
	return 0;
}

int store_zones_snapshot(struct store *st, struct fc_zonemap *zm)
{
	int r = 0;

	memset(zm, 0, sizeof(*zm));
	pthread_mutex_lock(&st->zmu);
	if (st->nzones) {
		char **z = calloc(st->nzones, sizeof(*z));
		if (!z) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < st->nzones; i++) {
			z[i] = strdup(st->zones[i]);
			if (!z[i]) {
				zones_free(z, i);
				r = -ENOMEM;
				goto out;
			}
		}
		zm->names = (const char *const *)z;
		zm->n = st->nzones;
	}
out:
	pthread_mutex_unlock(&st->zmu);
	return r;
}

void store_zones_release(struct fc_zonemap *zm)
{
	zones_free((char **)(uintptr_t)zm->names, zm->n);
	memset(zm, 0, sizeof(*zm));
}

void store_close(struct store *st)
{
	if (!st)
		return;
	st->ops->close(st);
	zones_free(st->zones, st->nzones);
	pthread_mutex_destroy(&st->zmu);
	free(st->conf.dir);
	free(st);
}
