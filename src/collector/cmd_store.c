/* cmd_store.c — `vtap store`: look after a store directory.
 *
 *  info      partitions, sizes, time range, recovery counters (read-only)
 *  recover   open for writing once: truncate torn tails left by a crash
 *  import    load flows from CSV (`vtap flows --csv` or `nfdump -o csv`)
 *  generate  (hidden) a deterministic synthetic writer, for the crash test
 *            and the benchmark: row i carries i in in_if/out_if, and it
 *            prints what it appended and what the store reports flushed */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/hash.h"
#include "core/out.h"
#include "core/timeutil.h"
#include "store/flowcsv.h"
#include "store/store.h"

#define DEFAULT_DIR "/var/lib/vtap/store"


/* ---- info ------------------------------------------------------------------ */

struct info_opts {
	const char *dir;
	bool json;
};

static const struct opt_def info_opts[] = {
	{ "dir", 'd', OPT_STR, offsetof(struct info_opts, dir), "DIR", "store directory", 0, 0,
	  NULL, DEFAULT_DIR },
	{ "json", 'j', OPT_FLAG, offsetof(struct info_opts, json), NULL, "JSON output", 0, 0,
	  NULL, NULL },
};

static void print_stats(struct out *o, const struct store_stats *s)
{
	char a[40], b[40];

	out_obj_open(o, NULL);
	out_uint(o, OUT_ANY, "partitions", "partitions  %llu\n", s->partitions);
	out_uint(o, OUT_ANY, "blocks", "blocks      %llu\n", s->blocks);
	out_uint(o, OUT_ANY, "rows", "rows        %llu\n", s->rows);
	out_uint(o, OUT_ANY, "bytes", "bytes       %llu\n", s->bytes_on_disk);
	if (s->rows)
		out_double(o, OUT_ANY, "bytes_per_row", "bytes/row   %.2f\n",
			   (double)s->bytes_on_disk / (double)s->rows);
	out_str(o, OUT_ANY, "oldest", "oldest      %s\n",
		s->rows ? fmt_time_ms(s->oldest_ms, a, sizeof(a)) : NULL);
	out_str(o, OUT_ANY, "newest", "newest      %s\n",
		s->rows ? fmt_time_ms(s->newest_ms, b, sizeof(b)) : NULL);
	out_uint(o, OUT_ANY, "torn_tails", "torn tails  %llu", s->torn_tails);
	out_uint(o, OUT_ANY, "torn_bytes", " (%llu bytes truncated)\n", s->torn_bytes);
	out_uint(o, OUT_ANY, "corrupt_blocks", "damaged     %llu", s->corrupt_blocks);
	out_uint(o, OUT_ANY, "corrupt_bytes", " (%llu bytes skipped)\n", s->corrupt_bytes);
	out_obj_close(o);
}

/* open_report() : opens the store once in <mode> and prints its state;
 * <verb> names the command in errors. Opening for writing is what
 * recovers: torn tails are truncated. */
static int open_report(const struct info_opts *opts, enum store_mode mode, const char *verb)
{
	struct store_conf conf;
	struct store_stats s;
	struct vt_err err = { 0 };
	struct store *st;
	struct out out;

	if (store_conf_init(&conf, opts->dir) < 0)
		return 1;
	/* recovery must never delete data: no retention while we hold it */
	conf.retention_age_ms = 0;
	conf.retention_size = 0;
	st = store_open(&conf, mode, &err);
	store_conf_free(&conf);
	if (!st) {
		fprintf(stderr, "vtap store %s: %s\n", verb, err.msg);
		return 1;
	}
	store_stats(st, &s);
	store_close(st);
	out_init(&out, stdout, opts->json ? OUT_FMT_JSON : OUT_FMT_TEXT, true);
	print_stats(&out, &s);
	return out_finish(&out) < 0 ? 1 : 0;
}

static int info_run(const struct cmd *c, void *o, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	return open_report(o, STORE_RDONLY, "info");
}

static const struct cmd cmd_store_info = {
	.name = "info",
	.summary = "show a store's size, time range and recovery counters (read-only)",
	.opts = info_opts,
	.nopts = ARRAY_SIZE(info_opts),
	.opts_size = sizeof(struct info_opts),
	.run = info_run,
};

/* ---- recover ----------------------------------------------------------------- */

static int recover_run(const struct cmd *c, void *o, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	return open_report(o, STORE_WRITE, "recover");
}

static const struct cmd cmd_store_recover = {
	.name = "recover",
	.summary = "open a store for writing once: truncate torn tails a crash left, report them",
	.opts = info_opts,
	.nopts = ARRAY_SIZE(info_opts),
	.opts_size = sizeof(struct info_opts),
	.run = recover_run,
};

/* ---- import ------------------------------------------------------------------- */

struct import_opts {
	const char *dir;
	uint64_t partition_ms;
	int compression;
	uint64_t level;
	uint64_t block_rows;
	uint64_t max_errors;
	bool no_fsync;
};

#define I(f) offsetof(struct import_opts, f)
static const struct opt_def import_opts[] = {
	{ "dir", 'd', OPT_STR, I(dir), "DIR", "store directory (created if missing)", 0, 0, NULL,
	  DEFAULT_DIR },
	{ "partition", 0, OPT_DURATION, I(partition_ms), "DURATION",
	  "time covered by one segment file", 60000, 7ull * 86400000, NULL, "1h" },
	{ "compression", 0, OPT_ENUM, I(compression), "ALGO", "column compression: zstd, lz4, lz4-fast or none", 0, 0,
	  store_comp_names, "zstd" },
	{ "zstd-level", 0, OPT_UINT, I(level), "N", "zstd level", 1, 19, NULL, "1" },
	{ "block-rows", 0, OPT_UINT, I(block_rows), "N", "rows per block at most", 1024, 1048576,
	  NULL, "65536" },
	{ "max-errors", 0, OPT_UINT, I(max_errors), "N",
	  "skip up to N malformed lines (reported) before giving up", 0, UINT64_MAX, NULL, "0" },
	{ "no-fsync", 0, OPT_FLAG, I(no_fsync), NULL, "do not fdatasync after each flush", 0, 0,
	  NULL, NULL },
};

#define IMPORT_BATCH 4096

static int import_file(struct store *st, FILE *fp, const char *name, uint64_t *rows,
		       uint64_t *errors, uint64_t max_errors)
{
	struct vt_err err = { 0 };
	struct flowcsv *r = flowcsv_open(fp, name, &err);
	struct flow_row *batch = NULL;
	size_t n = 0;
	int rc = 0;

	if (!r) {
		fprintf(stderr, "vtap store import: %s\n", err.msg);
		return -EINVAL;
	}
	batch = calloc(IMPORT_BATCH, sizeof(*batch));
	if (!batch) {
		flowcsv_close(r);
		return -ENOMEM;
	}
	for (;;) {
		int k = flowcsv_next(r, &batch[n], &err);
		if (k == 0)
			break;
		if (k < 0) {
			fprintf(stderr, "vtap store import: %s\n", err.msg);
			if (++*errors > max_errors) {
				rc = -EINVAL;
				break;
			}
			continue;
		}
		if (++n == IMPORT_BATCH) {
			struct fc_zonemap zm;
			flowcsv_zones(r, &zm);
			if (zm.n && (rc = store_set_zones(st, zm.names, zm.n)) < 0)
				break;
			if ((rc = store_append(st, batch, n)) < 0)
				break;
			*rows += n;
			n = 0;
		}
	}
	if (rc == 0 && n) {
		struct fc_zonemap zm;
		flowcsv_zones(r, &zm);
		if (!zm.n || (rc = store_set_zones(st, zm.names, zm.n)) == 0)
			rc = store_append(st, batch, n);
		if (rc == 0)
			*rows += n;
	}
	free(batch);
	flowcsv_close(r);
	return rc;
}

static int import_run(const struct cmd *c, void *o, int argc, char **argv)
{
	struct import_opts *opts = o;
	struct store_conf conf;
	struct vt_err err = { 0 };
	struct store *st;
	uint64_t rows = 0, errors = 0, t0 = mono_ms();
	int rc = 0;

	(void)c;
	if (store_conf_init(&conf, opts->dir) < 0)
		return 1;
	conf.partition_ms = opts->partition_ms;
	conf.compression = opts->compression;
	conf.level = opts->level;
	conf.block_rows = opts->block_rows;
	conf.max_pending = VT_MAX(conf.max_pending, opts->block_rows * 2);
	conf.fsync = !opts->no_fsync;
	/* imported history is kept: retention is the collector's business */
	conf.retention_age_ms = 0;
	conf.retention_size = 0;
	st = store_open(&conf, STORE_WRITE, &err);
	store_conf_free(&conf);
	if (!st) {
		fprintf(stderr, "vtap store import: %s\n", err.msg);
		return 1;
	}
	for (int i = 0; i < (argc ? argc : 1) && rc == 0; i++) {
		const char *name = argc ? argv[i] : "-";
		FILE *fp = strcmp(name, "-") ? fopen(name, "r") : stdin;
		if (!fp) {
			fprintf(stderr, "vtap store import: cannot open %s: %s\n", name, strerror(errno));
			rc = -errno;
			break;
		}
		rc = import_file(st, fp, strcmp(name, "-") ? name : "stdin", &rows, &errors,
				 opts->max_errors);
		if (fp != stdin)
			fclose(fp);
	}
	int fr = store_flush(st);
	struct store_stats s;
	store_stats(st, &s);
	store_close(st);
	if (fr < 0 && rc == 0) {
		fprintf(stderr, "vtap store import: writing %s failed: %s\n", opts->dir,
			strerror(-fr));
		rc = fr;
	}
	double secs = (double)(mono_ms() - t0) / 1000.0;
	fprintf(stderr, "vtap store import: %" PRIu64 " flows imported, %" PRIu64
		" lines rejected, %.2f s (%.0f flows/s); store: %" PRIu64 " rows, %" PRIu64 " bytes\n",
		rows, errors, secs, secs > 0 ? (double)rows / secs : 0.0, s.rows, s.bytes_on_disk);
	return rc < 0 ? 1 : 0;
}

static const struct cmd cmd_store_import = {
	.name = "import",
	.summary = "load flows from CSV files (`vtap flows --csv` or `nfdump -o csv`; - = stdin)",
	.usage = "[FILE...]",
	.description = "nfdump prints times in local time: run it with TZ=UTC.",
	.opts = import_opts,
	.nopts = ARRAY_SIZE(import_opts),
	.opts_size = sizeof(struct import_opts),
	.run = import_run,
	.max_args = 256,
};

/* ---- generate (hidden) ------------------------------------------------------------ */

struct gen_opts {
	const char *dir;
	uint64_t count, rate, seed, flush_ms, report_ms, batch, vms, hosts, ports;
	uint64_t start_s, span_ms, partition_ms;
	int compression;
	bool no_fsync;
};

#define G(f) offsetof(struct gen_opts, f)
static const struct opt_def gen_opts[] = {
	{ "dir", 'd', OPT_STR, G(dir), "DIR", "store directory", 0, 0, NULL, DEFAULT_DIR },
	{ "count", 'c', OPT_UINT, G(count), "N", "rows to write (0 = until killed)", 0, UINT64_MAX,
	  NULL, "0" },
	{ "rate", 'r', OPT_UINT, G(rate), "ROWS/S", "pace (0 = as fast as possible)", 0,
	  100000000, NULL, "0" },
	{ "seed", 0, OPT_UINT, G(seed), "N", "seed of the synthetic flows", 0, UINT64_MAX, NULL,
	  "1" },
	{ "flush-interval", 0, OPT_DURATION, G(flush_ms), "DURATION", "store flush interval", 10,
	  60000, NULL, "1s" },
	{ "report", 0, OPT_DURATION, G(report_ms), "DURATION",
	  "print appended/flushed counts this often", 10, 60000, NULL, "100ms" },
	{ "batch", 0, OPT_UINT, G(batch), "N", "rows per append", 1, 65536, NULL, "256" },
	{ "vms", 0, OPT_UINT, G(vms), "N", "distinct VMs", 1, 100000, NULL, "200" },
	{ "hosts", 0, OPT_UINT, G(hosts), "N", "distinct outside addresses", 1, 100000000, NULL,
	  "50000" },
	{ "ports", 0, OPT_UINT, G(ports), "N", "distinct server ports", 1, 65535, NULL, "64" },
	{ "start", 0, OPT_UINT, G(start_s), "UNIX-SECONDS",
	  "time of the first flow (0 = now; flows then follow the clock)", 0, UINT64_MAX / 1000,
	  NULL, "0" },
	{ "span", 0, OPT_DURATION, G(span_ms), "DURATION",
	  "with --start: spread --count flows over this much time", 0, 3650ull * 86400000, NULL,
	  "1h" },
	{ "partition", 0, OPT_DURATION, G(partition_ms), "DURATION", "partition length", 60000,
	  7ull * 86400000, NULL, "1h" },
	{ "compression", 0, OPT_ENUM, G(compression), "ALGO", "column compression: zstd, lz4, lz4-fast or none", 0, 0,
	  store_comp_names, "zstd" },
	{ "no-fsync", 0, OPT_FLAG, G(no_fsync), NULL, "no fdatasync after flushes", 0, 0, NULL,
	  NULL },
};

static volatile sig_atomic_t gen_stop;

static void gen_sig(int sig)
{
	(void)sig;
	gen_stop = 1;
}

/* Row <i> of the synthetic set: VMs talk to each other and to outside
 * hosts on a few server ports with skewed sizes, like a small datacenter. */
static void gen_row(const struct gen_opts *g, uint64_t i, uint64_t t_ms, struct flow_row *row)
{
	uint64_t h = vt_hash(&i, sizeof(i), g->seed), h2 = vt_mix64(h, 0x9e3779b97f4a7c15ull);
	static const uint16_t svc[] = { 443, 80, 53, 22, 3306, 5432, 6379, 8080, 123, 25 };
	uint32_t vm = (uint32_t)(h % g->vms), peer = (uint32_t)((h >> 20) % (g->vms + g->hosts));
	bool tcp = (h2 & 7) != 0;
	uint8_t a[4];

	memset(row, 0, sizeof(*row));
	struct flow_rec *r = &row->rec;
	a[0] = 10; a[1] = (uint8_t)(vm >> 8); a[2] = (uint8_t)vm; a[3] = 10;
	addr_set_v4(&r->src, a);
	if (peer < g->vms) {
		a[0] = 10; a[1] = (uint8_t)(peer >> 8); a[2] = (uint8_t)peer; a[3] = 10;
	} else {
		uint32_t x = (uint32_t)(peer - g->vms) * 2654435761u;
		a[0] = (uint8_t)(1 + (x >> 24) % 223); a[1] = (uint8_t)(x >> 16);
		a[2] = (uint8_t)(x >> 8); a[3] = (uint8_t)x;
	}
	addr_set_v4(&r->dst, a);
	r->ipver = 4;
	r->proto = tcp ? 6 : 17;
	r->sport = (uint16_t)(32768 + (h2 >> 8) % 28000);
	uint64_t p = (h2 >> 24) % g->ports;
	r->dport = p < ARRAY_SIZE(svc) ? svc[p] : (uint16_t)(1024 + p);
	r->packets = 1 + ((h2 >> 32) % 64) * ((h2 >> 40) % 64 == 0 ? 100 : 1);
	r->bytes = r->packets * (40 + (h >> 40) % 1400);
	r->tcp_flags = tcp ? 0x1b : 0;
	r->first_ms = t_ms - (h >> 48) % 30000;
	r->last_ms = t_ms;
	r->end_reason = FLOW_END_IDLE;
	r->in_if = (uint32_t)i;          /* the row's identity, for the crash test */
	r->out_if = (uint32_t)(i >> 32);
	a[0] = 198; a[1] = 18; a[2] = 0; a[3] = (uint8_t)(1 + vm % 4);
	addr_set_v4(&r->exporter, a);
	r->exp_version = 10;
	r->scope = FLOW_SCOPE_REMOTE;
	uint8_t u[16] = { 0x6e, 0x76 };
	u[12] = (uint8_t)(vm >> 24); u[13] = (uint8_t)(vm >> 16);
	u[14] = (uint8_t)(vm >> 8); u[15] = (uint8_t)vm;
	memcpy(row->attr.src_vm.uuid, u, 16);
	snprintf(row->attr.src_vm.name, sizeof(row->attr.src_vm.name), "vm-%u", vm);
	row->rec.vm = row->attr.src_vm;
	row->attr.src_zone = (uint16_t)(1 + vm % 3);
	if (peer < g->vms) {
		u[12] = (uint8_t)(peer >> 24); u[13] = (uint8_t)(peer >> 16);
		u[14] = (uint8_t)(peer >> 8); u[15] = (uint8_t)peer;
		memcpy(row->attr.dst_vm.uuid, u, 16);
		snprintf(row->attr.dst_vm.name, sizeof(row->attr.dst_vm.name), "vm-%u", peer);
		row->attr.dst_zone = (uint16_t)(1 + peer % 3);
		row->attr.locality = (peer % 4) == (vm % 4) ? FLOW_LOC_SAME_HOST : FLOW_LOC_CROSS_HOST;
	}
}

static int gen_run(const struct cmd *c, void *o, int argc, char **argv)
{
	struct gen_opts *g = o;
	static const char *const zones[] = { "web", "app", "db" };
	struct store_conf conf;
	struct vt_err err = { 0 };
	struct store *st;
	struct flow_row *batch;
	uint64_t i = 0, t0 = mono_ms(), last_report = 0;
	int rc = 0;

	(void)c;
	(void)argc;
	(void)argv;
	if (store_conf_init(&conf, g->dir) < 0)
		return 1;
	conf.flush_ms = g->flush_ms;
	conf.partition_ms = g->partition_ms;
	conf.compression = g->compression;
	conf.fsync = !g->no_fsync;
	conf.retention_age_ms = 0;
	conf.retention_size = 0;
	st = store_open(&conf, STORE_WRITE, &err);
	store_conf_free(&conf);
	if (!st) {
		fprintf(stderr, "vtap store generate: %s\n", err.msg);
		return 1;
	}
	store_set_zones(st, zones, 3);
	batch = calloc(g->batch, sizeof(*batch));
	if (!batch) {
		store_close(st);
		return 1;
	}
	signal(SIGINT, gen_sig);
	signal(SIGTERM, gen_sig);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!gen_stop && (!g->count || i < g->count)) {
		uint64_t now = mono_ms();
		if (g->rate) {
			uint64_t due = t0 + i * 1000 / g->rate;
			if (due > now) {
				struct timespec ts = { 0, (long)VT_MIN(due - now, 50) * 1000000L };
				nanosleep(&ts, NULL);
				continue;
			}
		}
		size_t n = (size_t)(g->count ? VT_MIN(g->batch, g->count - i) : g->batch);
		uint64_t wall = wall_ms();
		for (size_t k = 0; k < n; k++) {
			uint64_t t = g->start_s ? g->start_s * 1000 + (i + k) * g->span_ms /
							VT_MAX(g->count, 1) : wall;
			gen_row(g, i + k, t, &batch[k]);
		}
		if ((rc = store_append(st, batch, n)) < 0) {
			fprintf(stderr, "vtap store generate: append: %s\n", strerror(-rc));
			break;
		}
		i += n;
		if (now - last_report >= g->report_ms) {
			struct store_stats s;
			store_stats(st, &s);
			printf("t=%" PRIu64 " appended=%" PRIu64 " flushed=%" PRIu64 "\n", wall_ms(), i,
			       s.rows_flushed);
			last_report = now;
		}
	}
	store_flush(st);
	struct store_stats s;
	store_stats(st, &s);
	double secs = (double)(mono_ms() - t0) / 1000.0;
	printf("t=%" PRIu64 " appended=%" PRIu64 " flushed=%" PRIu64 " done secs=%.3f rows_per_s=%.0f"
	       " bytes=%" PRIu64 "\n", wall_ms(), i, s.rows_flushed, secs,
	       secs > 0 ? (double)i / secs : 0.0, s.bytes_written);
	store_close(st);
	free(batch);
	return rc < 0 ? 1 : 0;
}

static const struct cmd cmd_store_generate = {
	.name = "generate",
	.summary = "write synthetic flows (crash test, benchmark)",
	.opts = gen_opts,
	.nopts = ARRAY_SIZE(gen_opts),
	.opts_size = sizeof(struct gen_opts),
	.run = gen_run,
	.hidden = true,
};

static const struct cmd *const store_subs[] = {
	&cmd_store_info,
	&cmd_store_recover,
	&cmd_store_import,
	&cmd_store_generate,
	NULL,
};

const struct cmd cmd_store = {
	.name = "store",
	.summary = "inspect, recover and load a flow store directory",
	.subs = store_subs,
};
