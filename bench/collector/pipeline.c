/* pipeline.c — the collector's CPU per record without sockets: the
 * datagrams of a capture go through the collector's own decode path
 * (ingest_path_input: decoder, attribution, batches), its writer (sink:
 * per-VM statistics, count-once, store) and the embedded store, in one
 * process. Built and run by bench/collector/pipeline.sh.
 *
 *   pipeline PCAP STORE_DIR [REPEAT [INVENTORY]]
 *   PIPELINE_WORKERS=N pipeline ...     (default 1)
 *
 * The UDP payloads of PCAP (every datagram, in order, from its source
 * address) are held in memory and fed REPEAT times (default 1); STORE_DIR
 * must not exist. Run it pinned to one CPU (taskset): the writer then
 * processes each batch on the producer's thread, as a one-core collector
 * does. Prints one JSON line: records stored, CPU seconds of the process
 * (every thread, from the first datagram to the store closed) and ns of
 * CPU per record. What it leaves out is the kernel's receive path
 * (bench/collector/ingest.sh measures that floor) and the socket loop.
 * With PIPELINE_WORKERS=N, N threads each feed the whole capture REPEAT
 * times through a decode path of their own into the one writer, as N
 * collector workers each with its own exporters do (bench/collector/
 * workers.sh); records_per_s is then the figure to compare. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "collector/enrich.h"
#include "collector/ingest.h"
#include "collector/inventory.h"
#include "collector/sink.h"
#include "collector/vmstats.h"
#include "core/timeutil.h"
#include "pkt/pcapfile.h"
#include "pkt/pkt.h"
#include "store/store.h"

struct dgram {
	struct vt_addr src;
	uint16_t sport;
	uint32_t len;
	const uint8_t *data;
};

struct feeder {
	pthread_t th;
	struct ingest_path p;
	const struct dgram *dg;
	size_t ndg;
	unsigned repeat;
	uint64_t now;
};

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int load(const char *path, struct dgram **out, size_t *n)
{
	struct vt_err err = { 0 };
	struct pcapfile *pf = pcapfile_open(path, &err);
	struct pcap_rec rec;
	size_t cap = 0;
	int r;

	if (!pf) {
		fprintf(stderr, "pipeline: %s\n", err.msg);
		return -1;
	}
	*out = NULL;
	*n = 0;
	while ((r = pcapfile_next(pf, &rec, &err)) == 1) {
		struct pkt_info pi;
		if (pkt_decode(&pi, rec.link, rec.data, rec.caplen) < 0 || !pi.has_l4 ||
		    pi.payload_off >= rec.caplen)
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 4096;
			*out = realloc(*out, cap * sizeof(**out));
			if (!*out)
				return -1;
		}
		struct dgram *d = &(*out)[(*n)++];
		uint8_t *b = malloc(rec.caplen - pi.payload_off);
		if (!b)
			return -1;
		d->len = rec.caplen - pi.payload_off;
		memcpy(b, rec.data + pi.payload_off, d->len);
		d->data = b;
		d->src = pi.src;
		d->sport = pi.sport;
	}
	pcapfile_close(pf);
	if (r < 0) {
		fprintf(stderr, "pipeline: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void *feed(void *arg)
{
	struct feeder *f = arg;

	for (unsigned k = 0; k < f->repeat; k++)
		for (size_t i = 0; i < f->ndg; i++)
			ingest_path_input(&f->p, &f->dg[i].src, f->dg[i].sport, f->dg[i].data,
					  f->dg[i].len, f->now);
	ingest_path_flush(&f->p);
	return NULL;
}

int main(int argc, char **argv)
{
	struct vt_err err = { 0 };
	struct store_conf sc;
	struct vmstats_conf vc;
	struct sink_conf kc;
	struct flowdec_conf dc;
	struct enrich en;
	struct dgram *dg;
	size_t ndg;
	unsigned repeat = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 1;

	if (argc < 3 || !repeat) {
		fprintf(stderr, "usage: pipeline PCAP STORE_DIR [REPEAT [INVENTORY]]\n");
		return 2;
	}
	if (load(argv[1], &dg, &ndg) < 0)
		return 1;
	if (store_conf_init(&sc, argv[2]) < 0)
		return 1;
	struct store *st = store_open(&sc, STORE_WRITE, &err);
	if (!st) {
		fprintf(stderr, "pipeline: %s\n", err.msg);
		return 1;
	}
	struct inventory *inv = inv_new(100000);
	if (!inv || (argc > 4 && inv_load_file(inv, argv[4], &err) < 0)) {
		fprintf(stderr, "pipeline: inventory: %s\n", err.msg);
		return 1;
	}
	enrich_init(&en);
	enrich_swap(&en, enrich_snap_new(inv, NULL));
	vmstats_conf_defaults(&vc);
	struct vmstats *vs = vmstats_new(&vc);
	sink_conf_defaults(&kc);
	kc.batch_rows = 512;   /* collector.batch_rows' default */
	struct sink_ops so = sink_store_ops(st);
	struct sink *sk = vs ? sink_new(&kc, &so, vs, &en) : NULL;
	flowdec_conf_defaults(&dc);
	const char *nw = getenv("PIPELINE_WORKERS");
	unsigned nfeed = nw ? (unsigned)strtoul(nw, NULL, 10) : 1;
	if (nfeed < 1 || nfeed > 64) {
		fprintf(stderr, "pipeline: PIPELINE_WORKERS must be 1..64\n");
		return 2;
	}
	struct feeder *fd = calloc(nfeed, sizeof(*fd));
	if (!fd || !sk || sink_start(sk) < 0) {
		fprintf(stderr, "pipeline: setup: %s\n", strerror(errno));
		return 1;
	}
	for (unsigned w = 0; w < nfeed; w++)
		if (ingest_path_init(&fd[w].p, &dc, sk, &en, NULL, NULL, 0, 10, &err) < 0) {
			fprintf(stderr, "pipeline: setup: %s\n", err.msg);
			return 1;
		}

	double c0 = cpu_s();
	uint64_t w0 = mono_ms();
	for (unsigned w = 0; w < nfeed; w++) {
		fd[w].dg = dg;
		fd[w].ndg = ndg;
		fd[w].repeat = repeat;
		fd[w].now = w0;
		if (nfeed > 1 && pthread_create(&fd[w].th, NULL, feed, &fd[w]) != 0) {
			fprintf(stderr, "pipeline: thread: %s\n", strerror(errno));
			return 1;
		}
	}
	if (nfeed == 1)
		feed(&fd[0]);   /* on this thread, as before */
	else
		for (unsigned w = 0; w < nfeed; w++)
			pthread_join(fd[w].th, NULL);
	sink_sync(sk);
	struct ingest_path_stats ps = { 0 };
	for (unsigned w = 0; w < nfeed; w++) {
		struct ingest_path_stats one;
		ingest_path_get_stats(&fd[w].p, &one);
		ps.records += one.records;
		ps.rows_dropped += one.rows_dropped;
	}
	sink_stop(sk);
	store_close(st);
	double cpu = cpu_s() - c0;
	uint64_t wall = mono_ms() - w0;
	struct sink_stats ks;
	sink_get_stats(sk, &ks);

	printf("{\"workers\":%u,\"datagrams\":%zu,\"records\":%llu,\"rows_written\":%llu,"
	       "\"rows_dropped\":%llu,\"cpu_s\":%.3f,\"wall_ms\":%llu,\"ns_per_record\":%.1f,"
	       "\"records_per_s\":%.0f}\n",
	       nfeed, ndg * repeat * nfeed, (unsigned long long)ps.records,
	       (unsigned long long)ks.rows_written,
	       (unsigned long long)(ps.rows_dropped + ks.rows_dropped), cpu,
	       (unsigned long long)wall, ps.records ? cpu * 1e9 / (double)ps.records : 0.0,
	       wall ? (double)ps.records * 1000.0 / (double)wall : 0.0);
	for (unsigned w = 0; w < nfeed; w++)
		ingest_path_free(&fd[w].p);
	free(fd);
	sink_free(sk);
	vmstats_free(vs);
	enrich_destroy(&en);
	store_conf_free(&sc);
	for (size_t i = 0; i < ndg; i++)
		free((void *)dg[i].data);
	free(dg);
	return ks.rows_written == ps.records ? 0 : 1;
}
