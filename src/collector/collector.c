/* collector.c — the collector daemon: its config schema and its life
 * cycle (collector.h). Start-up opens everything that can fail (store,
 * sockets, inventory, API listeners) before any thread starts, so a bad
 * config is an error message and exit status 1, never a half-running
 * daemon. Shutdown runs the pipeline dry in order: receivers first (they
 * drain their sockets), then the writer (drains its queue), then the store
 * (flushes) — nothing that was received is dropped by a clean stop. */
#include "collector/collector.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/api.h"
#include "collector/udpsock.h"
#include "core/bgsave.h"
#include "core/compiler.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"

/* ---- config ------------------------------------------------------------- */

static int parse_addr_list(const char *val, void *field, struct vt_err *err)
{
	struct addr_list *l = field;
	char buf[1024], *save = NULL;

	l->n = 0;
	if (strlen(val) >= sizeof(buf))
		return vt_err_set(err, -EINVAL, "list too long");
	snprintf(buf, sizeof(buf), "%s", val);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*tok)
			continue;
		if (l->n >= INGEST_MAX_LISTEN)
			return vt_err_set(err, -E2BIG, "at most %d addresses", INGEST_MAX_LISTEN);
		if (udp_parse_addr(tok, &l->a[l->n], err) < 0)
			return err->code;
		l->n++;
	}
	return 0;
}

static const char *const level_names[] = { "err", "warn", "info", "debug", NULL };

#define M(f) offsetof(struct coll_main_conf, f)
static const struct conf_key main_keys[] = {
	{ "listen", CONF_CUSTOM, M(listen), 0, 0, "0.0.0.0:4739, [::]:4739",
	  "UDP addresses for NetFlow v5/v9, IPFIX and sFlow: ADDRESS:PORT or [IPV6]:PORT, "
	  "comma-separated; port 0 picks a free port; empty: no UDP",
	  NULL, parse_addr_list, "address list", false },
	{ "tcp_listen", CONF_CUSTOM, M(tcp_listen), 0, 0, "0.0.0.0:4739",
	  "addresses for IPFIX over TCP (same form); empty: no TCP", NULL, parse_addr_list,
	  "address list", false },
	{ "workers", CONF_UINT, M(workers), 1, INGEST_MAX_WORKERS, "2",
	  "UDP ingest threads; each exporter is served by one (steered by its address)", NULL,
	  NULL, NULL, false },
	{ "receive_buffer", CONF_SIZE, M(rcvbuf), 65536, 1ull << 30, "32M",
	  "socket receive buffer per UDP worker socket (beyond net.core.rmem_max only as root)",
	  NULL, NULL, NULL, false },
	{ "recv_batch", CONF_UINT, M(recv_batch), 1, 1024, "64",
	  "datagrams read per recvmmsg() call (a run merged by udp_gro counts as one)", NULL,
	  NULL, NULL, false },
	{ "udp_gro", CONF_BOOL, M(gro), 0, 0, "yes",
	  "let the kernel merge a run of equal-sized datagrams from one exporter (UDP_GRO: "
	  "NIC GRO, or UDP GSO over loopback) into one receive; no: one receive per datagram",
	  NULL, NULL, NULL, false },
	{ "batch_rows", CONF_UINT, M(batch_rows), 1, 65536, "512",
	  "flow records per batch handed from an ingest thread to the writer", NULL, NULL, NULL,
	  false },
	{ "batch_delay", CONF_DURATION, M(batch_delay_ms), 1, 10000, "50ms",
	  "a partly filled batch waits at most this long before it goes to the writer", NULL,
	  NULL, NULL, false },
	{ "queue_batches", CONF_UINT, M(queue_batches), 1, 1000000, "1024",
	  "batches waiting for the writer at most (memory bound: queue_batches x batch_rows x "
	  "about 560 bytes)", NULL, NULL, NULL, false },
	{ "queue_reserve", CONF_UINT, M(queue_reserve), 0, 1000000, "256",
	  "batches allocated and mapped at start, so that the queue can fill behind a stalled "
	  "store without the ingest threads waiting for fresh memory (at most queue_batches; "
	  "the rest is allocated when needed)", NULL, NULL, NULL, false },
	{ "queue_wait", CONF_DURATION, M(queue_wait_ms), 0, 60000, "2s",
	  "an ingest thread waits this long on a full queue, then drops the batch (counted)",
	  NULL, NULL, NULL, false },
	{ "state_dir", CONF_STR, M(state_dir), 1, 1024, "/var/lib/vtap/collector",
	  "where templates are kept across restarts (created if missing)", NULL, NULL, NULL,
	  false },
	{ "template_save_interval", CONF_DURATION, M(template_save_ms), 100, 3600000, "2s",
	  "changed templates are written to state_dir at most this often (and at stop)", NULL,
	  NULL, NULL, false },
	{ "tcp_max_connections", CONF_UINT, M(tcp_max_conns), 1, 100000, "4096",
	  "IPFIX-over-TCP connections at once; more are refused (counted)", NULL, NULL, NULL,
	  false },
	{ "tcp_idle_timeout", CONF_DURATION, M(tcp_idle_ms), 0, 86400000, "10m",
	  "a TCP exporter silent this long is disconnected (0: never)", NULL, NULL, NULL, false },
	{ "tcp_close_grace", CONF_DURATION, M(tcp_close_grace_ms), 0, 60000, "2s",
	  "at stop, each TCP exporter gets a FIN and is read until it closes its side, at most "
	  "this long (an exporter that reacts to the FIN loses nothing)", NULL, NULL, NULL, false },
	{ "metrics_exporters", CONF_UINT, M(metrics_exporters), 0, 1000000, "1000",
	  "exporters with their own series in /metrics (the most recently seen); the API lists all",
	  NULL, NULL, NULL, false },
	{ "log_level", CONF_ENUM, M(log_level), 0, 0, "info", "err, warn, info or debug",
	  level_names, NULL, NULL, false },
};
#undef M

#define I(f) offsetof(struct coll_inv_conf, f)
static const struct conf_key inv_keys[] = {
	{ "file", CONF_STRLIST, I(file), 0, COLL_MAX_INVENTORIES, NULL,
	  "an inventory JSON file (the lab's inventory.json format, docs/collector.md); "
	  "repeatable; reread when it changes", NULL, NULL, NULL, false },
	{ "libvirt", CONF_STRLIST, I(libvirt), 0, COLL_MAX_INVENTORIES, NULL,
	  "a hypervisor's libvirt, [HOST=]URI (h1=qemu+ssh://h1/system, the lab's "
	  "h1=test:///run/vtap/lab/P/h1.xml): its domains with their UUIDs and guest MACs; "
	  "without HOST= the connection's hostname; repeatable", NULL, NULL, NULL, false },
	{ "reload_interval", CONF_DURATION, I(reload_ms), 100, 3600000, "2s",
	  "how often inventory files (and test:/// libvirt files) are checked for changes "
	  "(SIGHUP rereads everything at once)", NULL, NULL, NULL, false },
	{ "libvirt_refresh", CONF_DURATION, I(libvirt_refresh_ms), 1000, 86400000, "30s",
	  "how often the other libvirt connections are asked again", NULL, NULL, NULL, false },
	{ "max_vms", CONF_UINT, I(max_vms), 1, 10000000, "100000",
	  "VMs an inventory may describe; more are skipped (counted)", NULL, NULL, NULL, false },
	{ "metered_ttl", CONF_DURATION, I(metered_ttl_ms), 1000, 86400000, "15m",
	  "a VM counts as metered by an agent this long after the last record observed at its "
	  "port (the count-once rule)", NULL, NULL, NULL, false },
	{ "dedup_delay", CONF_DURATION, I(dedup_delay_ms), 0, 60000, "2s",
	  "a receiver-side observation waits this long for the sender's before it is decided, "
	  "counted and stored (with its dup verdict)",
	  NULL, NULL, NULL, false },
	{ "dedup_hold_rows", CONF_UINT, I(dedup_hold_rows), 0, 10000000, "16384",
	  "observations waiting at most (beyond: decided and stored at once)", NULL, NULL, NULL,
	  false },
};
#undef I

#define S(f) offsetof(struct vmstats_conf, f)
static const struct conf_key stats_keys[] = {
	{ "max_vms", CONF_UINT, S(max_vms), 1, 10000000, "10000",
	  "VMs with statistics; flows of more VMs are counted in totals only", NULL, NULL, NULL,
	  false },
	{ "series_interval", CONF_DURATION, S(series_interval_ms), 1000, 3600000, "10s",
	  "time series bucket (rates are per bucket)", NULL, NULL, NULL, false },
	{ "series_points", CONF_UINT, S(series_points), 1, 100000, "360",
	  "buckets kept per VM (360 x 10 s = 1 hour; 32 bytes each)", NULL, NULL, NULL, false },
	{ "max_ports", CONF_UINT, S(max_ports), 1, 65536, "256",
	  "L4 (protocol, port) entries per VM; more go to 'other'", NULL, NULL, NULL, false },
	{ "max_peers", CONF_UINT, S(max_peers), 1, 1000000, "256",
	  "peers per VM; more go to 'other'", NULL, NULL, NULL, false },
	{ "max_services", CONF_UINT, S(max_services), 1, 65536, "128",
	  "services offered, and consumed, per VM", NULL, NULL, NULL, false },
	{ "connections", CONF_UINT, S(role_entries), 16, 100000000, "65536",
	  "TCP connection openings remembered to tell client from server", NULL, NULL, NULL,
	  false },
	{ "connection_ttl", CONF_DURATION, S(role_ttl_ms), 1000, 86400000, "1h",
	  "how long an opening is remembered", NULL, NULL, NULL, false },
};
#undef S

static const struct conf_key api_keys[] = { HTTP_CONF_KEYS(COLL_DEFAULT_API) };

static void *zone_instance(void *root, const char *name, struct vt_err *err)
{
	struct collector_conf *c = root;
	struct zone_conf *z;

	for (size_t i = 0; i < c->nzones; i++)
		if (!strcmp(c->zones[i].name, name)) {
			vt_err_set(err, -EEXIST, "zone '%s' is defined twice", name);
			return NULL;
		}
	if (c->nzones >= ZONE_MAX) {
		vt_err_set(err, -E2BIG, "more than %d zones", ZONE_MAX);
		return NULL;
	}
	if (strlen(name) >= ZONE_NAME_MAX || !name[0]) {
		vt_err_set(err, -EINVAL, "zone name '%s' must be 1-%d characters", name,
			   ZONE_NAME_MAX - 1);
		return NULL;
	}
	z = &c->zones[c->nzones++];
	memset(z, 0, sizeof(*z));
	snprintf(z->name, sizeof(z->name), "%s", name);
	return z;
}

#define Z(f) offsetof(struct zone_conf, f)
static const struct conf_key zone_keys[] = {
	{ "vm", CONF_STRLIST, Z(vm), 0, 256, NULL, "VM name pattern (glob: web-*); repeatable", NULL,
	  NULL, NULL, false },
	{ "attr", CONF_STRLIST, Z(attr), 0, 256, NULL,
	  "inventory attribute KEY=PATTERN (host=h1, tier=db); repeatable", NULL, NULL, NULL, false },
	{ "net", CONF_STRLIST, Z(net), 0, 256, NULL,
	  "CIDR prefix for any address, VM or not (198.18.1.0/24); repeatable", NULL, NULL, NULL,
	  false },
};
#undef Z

/* The decoder's keys come from lib/wire (an array of extern size), so the
 * section's key count is filled in before main() runs. */
static struct conf_section coll_secs[] = {
	{ "collector", "receiving: listeners, threads, buffers, the writer queue", main_keys,
	  ARRAY_SIZE(main_keys), offsetof(struct collector_conf, main), NULL },
	{ "inventory", "VM inventory for attribution, and the count-once rule", inv_keys,
	  ARRAY_SIZE(inv_keys), offsetof(struct collector_conf, inv), NULL },
	{ "stats", "per-VM statistics and port profiling (bounds)", stats_keys,
	  ARRAY_SIZE(stats_keys), offsetof(struct collector_conf, stats), NULL },
	{ "decoder", "NetFlow/IPFIX/sFlow decoder bounds (docs/wire/flow-decoding.md)", NULL, 0,
	  offsetof(struct collector_conf, dec), NULL },
	STORE_CONF_SECTION(struct collector_conf, store),
	{ "api", "the HTTP API (docs/collector.md)", api_keys, ARRAY_SIZE(api_keys),
	  offsetof(struct collector_conf, api), NULL },
	{ "zone", "a zone: VMs and addresses grouped by name pattern, attribute or prefix; "
		  "the first zone in file order that matches an endpoint is its zone",
	  zone_keys, ARRAY_SIZE(zone_keys), 0, zone_instance },
};

__attribute__((constructor)) static void coll_secs_init(void)
{
	coll_secs[3].keys = flowdec_conf_keys;
	coll_secs[3].nkeys = flowdec_conf_nkeys;
}

const struct conf_schema collector_conf_schema = {
	.name = "collector",
	.title = "collector.conf — `vtap collector`",
	.secs = coll_secs,
	.nsecs = ARRAY_SIZE(coll_secs),
};

void collector_conf_free(struct collector_conf *c)
{
	if (!c)
		return;
	conf_free(coll_secs, ARRAY_SIZE(coll_secs), c);
	for (size_t i = 0; i < c->nzones; i++)
		conf_free_section(&coll_secs[ARRAY_SIZE(coll_secs) - 1], &c->zones[i]);
	free(c);
}

struct collector_conf *collector_conf_load(const char *path, const char *const *overrides,
					   size_t n, struct vt_err *err)
{
	struct collector_conf *c = calloc(1, sizeof(*c));

	if (!c) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	if (conf_load(path, coll_secs, ARRAY_SIZE(coll_secs), c, err) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (conf_set(overrides[i], coll_secs, ARRAY_SIZE(coll_secs), c, err) < 0)
			goto fail;
	if (c->main.queue_reserve > c->main.queue_batches) {
		vt_err_set(err, -EINVAL, "collector.queue_reserve (%llu) must not exceed "
					 "collector.queue_batches (%llu)",
			   (unsigned long long)c->main.queue_reserve,
			   (unsigned long long)c->main.queue_batches);
		goto fail;
	}
	if (!c->main.listen.n && !c->main.tcp_listen.n) {
		vt_err_set(err, -EINVAL, "collector.listen and collector.tcp_listen are both empty: "
					 "nothing to receive on");
		goto fail;
	}
	return c;
fail:
	collector_conf_free(c);
	return NULL;
}

/* ---- the daemon --------------------------------------------------------- */

struct inv_file {
	const char *path;           /* a file to watch */
	struct timespec mtime;
	off_t size;
	bool seen;
};

struct collector {
	struct collector_conf *c;
	struct evloop *ev;
	struct store *store;
	struct zones *zones;
	struct enrich en;
	struct vmstats *vs;
	struct sink *sink;
	struct ingest *ig;
	struct tcp_ingest *tcp;
	struct bgsave *saver;           /* the receivers' template files */
	struct api *api;
	struct api_ctx actx;
	struct inv_file inv[2 * COLL_MAX_INVENTORIES];   /* inventory files, test:/// files */
	size_t ninv;
	bool libvirt_remote;        /* a libvirt URI that is not a test:/// file */
	uint64_t libvirt_loaded_ms; /* monotonic */
	struct ev_timer inv_timer;
};

/* Builds a snapshot from every inventory file; on any error the previous
 * snapshot stays (a half-written file must not make VMs disappear). */
static int inventory_load(struct collector *co, bool initial)
{
	struct inventory *inv = inv_new(co->c->inv.max_vms);
	struct vt_err err = { 0 };
	struct enrich_snap *s;
	int r = 0;

	if (!inv)
		return -ENOMEM;
	for (size_t i = 0; i < co->ninv; i++) {
		struct stat sb;
		if (stat(co->inv[i].path, &sb) == 0) {
			co->inv[i].mtime = sb.st_mtim;
			co->inv[i].size = sb.st_size;
		}
		co->inv[i].seen = true;
	}
	for (size_t i = 0; i < co->c->inv.file.n && r == 0; i++)
		r = inv_load_file(inv, co->c->inv.file.v[i], &err);
	for (size_t i = 0; i < co->c->inv.libvirt.n && r == 0; i++)
		r = inv_load_libvirt(inv, co->c->inv.libvirt.v[i], &err);
	co->libvirt_loaded_ms = mono_ms();
	api_inventory_status(&co->actx, r < 0 ? err.msg : NULL, inv_count(inv));
	if (r < 0) {
		if (initial)
			log_warn("collector: %s (continuing without it; retried when it changes)", err.msg);
		else
			log_warn("collector: %s (the previous inventory stays)", err.msg);
		inv_free(inv);
		if (!initial)
			return r;
		inv = inv_new(1);
		if (!inv)
			return -ENOMEM;
	}
	s = enrich_snap_new(inv, co->zones);
	if (!s)
		return -ENOMEM;
	enrich_swap(&co->en, s);
	if (r == 0)
		log_info("collector: inventory: %zu VMs from %zu file(s) and %zu libvirt connection(s)",
			 inv_count(enrich_snap_inventory(s)), co->c->inv.file.n, co->c->inv.libvirt.n);
	return r;
}

static void on_inv_timer(struct evloop *ev, struct ev_timer *t)
{
	struct collector *co = t->arg;
	bool changed = false;

	(void)ev;
	for (size_t i = 0; i < co->ninv; i++) {
		struct stat sb;
		if (stat(co->inv[i].path, &sb) < 0)
			continue;
		if (sb.st_mtim.tv_sec != co->inv[i].mtime.tv_sec ||
		    sb.st_mtim.tv_nsec != co->inv[i].mtime.tv_nsec || sb.st_size != co->inv[i].size)
			changed = true;
	}
	if (co->libvirt_remote && mono_ms() - co->libvirt_loaded_ms >= co->c->inv.libvirt_refresh_ms)
		changed = true;
	if (changed)
		inventory_load(co, false);
}

/* The file behind a libvirt test-driver URI (test:///path.xml), or NULL. */
static const char *libvirt_test_file(const char *spec)
{
	const char *u = strstr(spec, "test:///");

	if (!u || !strcmp(u, "test:///default"))
		return NULL;
	return u + 7;
}

static void on_signal(struct evloop *ev, int signo, void *arg)
{
	struct collector *co = arg;

	if (signo == SIGHUP) {
		log_info("collector: SIGHUP: rereading the inventory");
		inventory_load(co, false);
		return;
	}
	log_info("collector: %s: stopping", strsignal(signo));
	ev_stop(ev);
}

static int mkdir_p(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_ready(struct collector *co, const char *path)
{
	struct vbuf b;
	struct jw w;
	char ab[64], tmp[4096];
	FILE *fp;

	vbuf_init(&b, 1 << 20);
	jw_init(&w, &b, false);
	jw_obj_open(&w, NULL);
	jw_uint(&w, "pid", (uint64_t)getpid());
	jw_arr_open(&w, "udp");
	for (size_t i = 0; co->ig && i < ingest_nlisten(co->ig); i++)
		jw_str(&w, NULL, ingest_listen_addr(co->ig, i, ab, sizeof(ab)));
	jw_arr_close(&w);
	jw_arr_open(&w, "tcp");
	for (size_t i = 0; co->tcp && i < tcp_ingest_nlisten(co->tcp); i++)
		jw_str(&w, NULL, tcp_ingest_listen_addr(co->tcp, i, ab, sizeof(ab)));
	jw_arr_close(&w);
	jw_str(&w, "api", api_addr(co->api, 0));
	jw_uint(&w, "workers", co->ig ? ingest_workers(co->ig) : 0);
	jw_str(&w, "store", co->c->store.dir);
	jw_obj_close(&w);
	vbuf_addc(&b, '\n');
	/* written whole, then renamed: a test polling for it never reads half */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fp = fopen(tmp, "w");
	if (!fp || fwrite(b.data, 1, b.len, fp) != b.len || fclose(fp) != 0 ||
	    rename(tmp, path) < 0) {
		log_err("collector: --ready-file %s: %s", path, strerror(errno));
		vbuf_free(&b);
		return -EIO;
	}
	vbuf_free(&b);
	return 0;
}

static void teardown(struct collector *co)
{
	/* queries in flight finish first; then the receivers drain their
	 * sockets into the queue */
	api_free(co->api);
	co->api = NULL;
	ingest_stop(co->ig);
	tcp_ingest_stop(co->tcp);
	/* the writer empties the queue into the store */
	if (co->sink)
		sink_stop(co->sink);
	ingest_free(co->ig);
	tcp_ingest_free(co->tcp);
	/* after the receivers: each path waited for its own images (at
	 * finish, and when freed, for one that ended on an error) */
	bgsave_free(co->saver);
	sink_free(co->sink);
	/* flushes what the writer appended */
	store_close(co->store);
	vmstats_free(co->vs);
	enrich_destroy(&co->en);
	zones_free(co->zones);
	ev_free(co->ev);
}

int collector_run(struct collector_conf *c, const char *ready_file)
{
	struct collector co;
	struct vt_err err = { 0 };
	struct store_conf sc;
	struct sink_conf kc;
	int rc = 1, r;

	memset(&co, 0, sizeof(co));
	co.c = c;
	enrich_init(&co.en);
	log_set_level((enum log_level)c->main.log_level);
	co.ev = ev_new(64);
	if (!co.ev) {
		log_err("collector: event loop: %s", strerror(errno));
		goto out;
	}
	/* signals before any thread exists (the store starts one): every
	 * thread inherits the blocked mask, the loop alone receives them */
	if (ev_signal(co.ev, SIGTERM, on_signal, &co) < 0 || ev_signal(co.ev, SIGINT, on_signal, &co) < 0 ||
	    ev_signal(co.ev, SIGHUP, on_signal, &co) < 0) {
		log_err("collector: signals: %s", strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((r = mkdir_p(c->main.state_dir)) < 0) {
		log_err("collector: collector.state_dir %s: %s", c->main.state_dir, strerror(-r));
		goto out;
	}
	co.zones = zones_new(c->zones, c->nzones, &err);
	if (!co.zones) {
		log_err("collector: %s", err.msg);
		goto out;
	}
	/* The store flushes every flush_interval; a datagram may wait
	 * INGEST_COALESCE_MAX_MS in its socket, its rows batch_delay in the
	 * ingest thread and SINK_LINGER_MS in the writer's queue first, so
	 * the store runs its flusher that much earlier (but at least every
	 * 10 ms, the key's minimum): arrival-to-durable stays within
	 * flush_interval. */
	sc = c->store;
	uint64_t ahead = INGEST_COALESCE_MAX_MS + c->main.batch_delay_ms + SINK_LINGER_MS;
	sc.flush_ms = VT_MAX(sc.flush_ms, ahead + 10) - ahead;
	co.store = store_open(&sc, STORE_WRITE, &err);
	if (!co.store) {
		log_err("collector: %s", err.msg);
		goto out;
	}
	if (zones_count(co.zones) &&
	    store_set_zones(co.store, zones_names(co.zones), zones_count(co.zones)) < 0) {
		log_err("collector: store: cannot record the zone names");
		goto out;
	}
	co.vs = vmstats_new(&c->stats);
	if (!co.vs) {
		log_err("collector: statistics: %s", strerror(errno));
		goto out;
	}
	co.actx.conf = c;
	co.actx.store = co.store;
	co.actx.vs = co.vs;
	co.actx.zones = co.zones;
	co.actx.en = &co.en;
	co.actx.started_ms = wall_ms();
	api_ctx_init(&co.actx);
	for (size_t i = 0; i < c->inv.file.n; i++)
		co.inv[co.ninv++].path = c->inv.file.v[i];
	for (size_t i = 0; i < c->inv.libvirt.n; i++) {
		const char *f = libvirt_test_file(c->inv.libvirt.v[i]);
		if (f)
			co.inv[co.ninv++].path = f;
		else
			co.libvirt_remote = true;
	}
	inventory_load(&co, true);

	sink_conf_defaults(&kc);
	kc.batch_rows = c->main.batch_rows;
	kc.queue_batches = c->main.queue_batches;
	kc.reserve_batches = c->main.queue_reserve;
	kc.queue_wait_ms = c->main.queue_wait_ms;
	kc.metered_ttl_ms = c->inv.metered_ttl_ms;
	kc.dedup_delay_ms = c->inv.dedup_delay_ms;
	kc.dedup_hold_rows = c->inv.dedup_hold_rows;
	struct sink_ops so = sink_store_ops(co.store);
	co.sink = sink_new(&kc, &so, co.vs, &co.en);
	if (!co.sink) {
		log_err("collector: writer: %s", strerror(errno));
		goto out;
	}
	co.actx.sink = co.sink;
	/* the receivers hand template files to a thread of their own: an
	 * fsync on a busy disk must not stop a socket being read */
	if ((c->main.listen.n || c->main.tcp_listen.n) && !(co.saver = bgsave_new())) {
		log_err("collector: template saver: %s", strerror(errno));
		goto out;
	}
	if (c->main.listen.n) {
		struct ingest_conf ic;
		memset(&ic, 0, sizeof(ic));
		memcpy(ic.listen, c->main.listen.a, c->main.listen.n * sizeof(ic.listen[0]));
		ic.nlisten = c->main.listen.n;
		ic.workers = (unsigned)c->main.workers;
		ic.rcvbuf = c->main.rcvbuf;
		ic.recv_batch = (unsigned)c->main.recv_batch;
		ic.gro = c->main.gro;
		ic.batch_delay_ms = c->main.batch_delay_ms;
		ic.state_dir = c->main.state_dir;
		ic.saver = co.saver;
		ic.template_save_ms = c->main.template_save_ms;
		ic.dec = c->dec;
		co.ig = ingest_new(&ic, co.sink, &co.en, &err);
		if (!co.ig) {
			log_err("collector: collector.listen: %s", err.msg);
			goto out;
		}
	}
	if (c->main.tcp_listen.n) {
		struct tcp_ingest_conf tc;
		memset(&tc, 0, sizeof(tc));
		memcpy(tc.listen, c->main.tcp_listen.a, c->main.tcp_listen.n * sizeof(tc.listen[0]));
		tc.nlisten = c->main.tcp_listen.n;
		tc.max_conns = c->main.tcp_max_conns;
		tc.idle_timeout_ms = c->main.tcp_idle_ms;
		tc.close_grace_ms = c->main.tcp_close_grace_ms;
		tc.batch_delay_ms = c->main.batch_delay_ms;
		tc.state_dir = c->main.state_dir;
		tc.saver = co.saver;
		tc.template_save_ms = c->main.template_save_ms;
		tc.dec = c->dec;
		co.tcp = tcp_ingest_new(&tc, co.sink, &co.en, &err);
		if (!co.tcp) {
			log_err("collector: collector.tcp_listen: %s", err.msg);
			goto out;
		}
	}
	co.actx.ig = co.ig;
	co.actx.tcp = co.tcp;
	co.api = api_new(co.ev, &c->api, &co.actx, &err);
	if (!co.api) {
		log_err("collector: api: %s", err.msg);
		goto out;
	}
	if (co.ninv || co.libvirt_remote) {
		ev_timer_init(&co.inv_timer, on_inv_timer, &co);
		ev_timer_start(co.ev, &co.inv_timer, c->inv.reload_ms, c->inv.reload_ms);
	}
	if ((r = sink_start(co.sink)) < 0 || (co.ig && (r = ingest_start(co.ig)) < 0) ||
	    (co.tcp && (r = tcp_ingest_start(co.tcp)) < 0)) {
		log_err("collector: threads: %s", strerror(-r));
		goto out;
	}
	{
		char ab[64];
		for (size_t i = 0; co.ig && i < ingest_nlisten(co.ig); i++)
			log_info("collector: UDP %s, %u workers, receive buffer %llu",
				 ingest_listen_addr(co.ig, i, ab, sizeof(ab)), ingest_workers(co.ig),
				 (unsigned long long)ingest_rcvbuf(co.ig) / 2);
		for (size_t i = 0; co.tcp && i < tcp_ingest_nlisten(co.tcp); i++)
			log_info("collector: TCP %s", tcp_ingest_listen_addr(co.tcp, i, ab, sizeof(ab)));
		log_info("collector: API http://%s, store %s", api_addr(co.api, 0), c->store.dir);
	}
	if (ready_file && write_ready(&co, ready_file) < 0)
		goto out;
	r = ev_run(co.ev);
	rc = r < 0 ? 1 : 0;
	if (r < 0)
		log_err("collector: event loop: %s", strerror(-r));
out:
	teardown(&co);
	api_ctx_destroy(&co.actx);
	if (rc == 0)
		log_info("collector: stopped");
	return rc;
}
