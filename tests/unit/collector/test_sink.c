/* Unit tests: src/collector/sink — the bounded batch queue, the writer
 * thread, and the count-once rule applied with what the writer learns
 * about metered VMs (including the hold for a sender's late record). */
#include "collector/sink.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector/enrich.h"
#include "collector/vmstats.h"
#include "core/timeutil.h"
#include "vt_test.h"

/* ---- a fake store -------------------------------------------------------- */

struct fake_store {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool blocked;
	uint64_t rows, calls;
	uint64_t last_seq[8];     /* per producer: rows arrive in order */
	bool order_ok;
	int fail;                 /* return this from append */
	bool not_ready;           /* ready() says an append would wait */
	/* the count-once verdicts the rows arrive with */
	uint64_t dup_rows, dup_egress_rows, counted_bytes;
};

static int fake_append(void *arg, const struct flow_row *rows, size_t n)
{
	struct fake_store *f = arg;

	pthread_mutex_lock(&f->mu);
	while (f->blocked)
		pthread_cond_wait(&f->cv, &f->mu);
	for (size_t i = 0; i < n; i++) {
		unsigned p = rows[i].rec.in_if;
		uint64_t seq = rows[i].rec.bytes;
		if (p < 8) {
			if (seq != f->last_seq[p] + 1)
				f->order_ok = false;
			f->last_seq[p] = seq;
		}
		if (rows[i].attr.dup) {
			f->dup_rows++;
			f->dup_egress_rows += rows[i].rec.direction == FLOW_DIR_EGRESS;
		} else {
			f->counted_bytes += rows[i].rec.bytes;
		}
	}
	f->rows += n;
	f->calls++;
	pthread_mutex_unlock(&f->mu);
	return f->fail;
}

static bool fake_ready(void *arg, size_t n)
{
	struct fake_store *f = arg;

	(void)n;
	pthread_mutex_lock(&f->mu);
	bool ok = !f->not_ready;
	pthread_mutex_unlock(&f->mu);
	return ok;
}

static void fake_init(struct fake_store *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	f->order_ok = true;
}

struct producer {
	struct sink *s;
	unsigned id;
	uint64_t rows;
	uint64_t dropped;
	uint64_t first;           /* sequence numbers first + 1 .. first + rows */
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	struct sink_batch *b = NULL;

	for (uint64_t i = 1; i <= p->rows; i++) {
		if (!b)
			b = sink_batch_get(p->s);
		memset(&b->rows[b->n], 0, sizeof(b->rows[0]));
		b->rows[b->n].rec.in_if = p->id;
		b->rows[b->n].rec.bytes = p->first + i;
		if (++b->n == b->cap) {
			size_t n = b->n;
			if (sink_push(p->s, b) < 0)
				p->dropped += n;
			b = NULL;
		}
	}
	if (b) {
		size_t n = b->n;
		if (sink_push(p->s, b) < 0)
			p->dropped += n;
	}
	return NULL;
}

/* Confines this thread (and the threads it creates) to one CPU, or back
 * to what it had. */
static void one_cpu(bool on)
{
	static cpu_set_t saved;
	cpu_set_t one;

	if (!on) {
		CHECK_EQ(sched_setaffinity(0, sizeof(saved), &saved), 0);
		return;
	}
	CHECK_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &saved)) {
			CPU_SET(c, &one);
			break;
		}
	CHECK_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
}

static void queue_threads(bool pinned)
{
	struct sink_conf c;
	struct fake_store f;
	struct sink_ops ops = { .append = fake_append, .arg = &f };
	struct producer p[3];
	pthread_t th[3];
	struct sink_stats st;

	sink_conf_defaults(&c);
	c.batch_rows = 64;
	c.queue_batches = 8;
	fake_init(&f);
	struct sink *s = sink_new(&c, &ops, NULL, NULL);
	CHECK(s != NULL);
	CHECK_EQ(sink_start(s), 0);
	for (unsigned i = 0; i < 3; i++) {
		p[i] = (struct producer){ s, i, 20000 + i * 7, 0 };
		pthread_create(&th[i], NULL, produce, &p[i]);
	}
	for (unsigned i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	sink_sync(s);
	sink_get_stats(s, &st);
	CHECK_EQ(f.rows, 60021);
	CHECK(f.order_ok);
	CHECK_EQ(st.rows_in, 60021);
	CHECK_EQ(st.rows_written, 60021);
	CHECK_EQ(st.rows_dropped, 0);
	CHECK(st.queue_peak <= 8);
	/* batches are recycled: far fewer allocated than pushed */
	CHECK(st.batches_allocated < st.batches_in);
	/* on one CPU producers process batches themselves when they can,
	 * and rows still arrive in order (checked above) */
	cpu_set_t cpus;
	CHECK_EQ(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
	if (pinned)
		CHECK(st.batches_inline > 0 && st.batches_inline <= st.batches_in);
	else if (CPU_COUNT(&cpus) > 1)
		CHECK_EQ_U64(st.batches_inline, 0);   /* the writer thread did all */
	sink_free(s);
}

static void test_queue_threads(void)
{
	queue_threads(false);
}

/* A started sink of 64-row batches on one CPU (one_cpu(false) after
 * sink_free) writing to <f>, which asks ready() first. */
static struct sink *one_cpu_sink(struct fake_store *f)
{
	struct sink_conf c;
	struct sink_ops ops = { .append = fake_append, .ready = fake_ready, .arg = f };

	one_cpu(true);
	sink_conf_defaults(&c);
	c.batch_rows = 64;
	fake_init(f);
	struct sink *s = sink_new(&c, &ops, NULL, NULL);
	CHECK(s != NULL);
	CHECK_EQ(sink_start(s), 0);
	return s;
}

static void set_not_ready(struct fake_store *f, bool not_ready)
{
	pthread_mutex_lock(&f->mu);
	f->not_ready = not_ready;
	pthread_mutex_unlock(&f->mu);
}

/* On one CPU a producer processes its batch itself only when the store
 * says it would not wait: with a stalled store (its flusher behind) the
 * batch goes to the writer thread, which waits instead, and the producer
 * is back at once (to its socket). Order and counts are kept. The
 * writer wakes every 100 ms and then holds the processing lock for a
 * moment: a push that meets it is queued without asking the store, so
 * the counts below are bounds, not exact. */
static void test_one_cpu_store_stalled(void)
{
	struct fake_store f;
	struct sink *s = one_cpu_sink(&f);
	struct producer p = { s, 0, 640, 0 };
	struct sink_stats st;
	pthread_t th;

	/* ready: batches inline, none deferred */
	produce(&p);
	sink_sync(s);
	sink_get_stats(s, &st);
	CHECK(st.batches_inline >= 1 && st.batches_inline <= 10);
	CHECK_EQ_U64(st.batches_deferred, 0);
	uint64_t inl = st.batches_inline;
	/* not ready: never inline; a push that finds the writer idle and
	 * the queue empty is deferred (one at a time until one is) */
	set_not_ready(&f, true);
	p.id = 1;
	p.rows = 64;
	uint64_t sent = 0;
	for (int k = 0; k < 20 && st.batches_deferred == 0; k++) {
		produce(&p);   /* rows 1..64 each time: a new producer id */
		sent += 64;
		sink_sync(s);
		sink_get_stats(s, &st);
		p.id++;
	}
	CHECK(st.batches_deferred >= 1);
	CHECK_EQ_U64(st.batches_inline, inl);
	/* stalled: the appends block, the producer must not */
	pthread_mutex_lock(&f.mu);
	f.blocked = true;
	pthread_mutex_unlock(&f.mu);
	struct producer q = { s, 0, 640, 0, 640 };   /* producer 0 goes on: 641.. */
	CHECK_EQ(pthread_create(&th, NULL, produce, &q), 0);
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	CHECK_EQ(pthread_timedjoin_np(th, NULL, &dl), 0);   /* it came back */
	pthread_mutex_lock(&f.mu);
	f.blocked = false;
	f.not_ready = false;
	pthread_cond_broadcast(&f.cv);
	pthread_mutex_unlock(&f.mu);
	sink_sync(s);
	sink_get_stats(s, &st);
	CHECK_EQ_U64(st.batches_inline, inl);
	CHECK_EQ(f.rows, 1280 + sent);
	CHECK_EQ_U64(st.rows_written, 1280 + sent);
	CHECK(f.order_ok);
	sink_free(s);
	one_cpu(false);
}

/* On one CPU a producer whose store has room again takes the batches
 * queued meanwhile back from the writer, in order, before its own: the
 * writer lingers a moment before it takes a short queue, and a push in
 * that moment finds the batch lock free. Tried until it happens. */
static void test_one_cpu_reclaim(void)
{
	struct fake_store f;
	struct sink *s = one_cpu_sink(&f);
	struct sink_stats st = { 0 };
	struct producer p = { s, 0, 64, 0, 0 };
	uint64_t sent = 0;

	for (int k = 0; k < 50 && st.batches_reclaimed == 0; k++) {
		set_not_ready(&f, true);
		produce(&p);          /* deferred: queued */
		p.first += 64;
		set_not_ready(&f, false);
		produce(&p);          /* takes the queued one back, then its own */
		p.first += 64;
		sent += 128;
		sink_sync(s);
		sink_get_stats(s, &st);
	}
	CHECK(st.batches_reclaimed >= 1);
	CHECK(st.batches_deferred >= st.batches_reclaimed);
	CHECK_EQ(f.rows, sent);
	CHECK_EQ_U64(st.rows_written, sent);
	CHECK(f.order_ok);   /* producer 0's rows 1.. in sequence */
	sink_free(s);
	one_cpu(false);
}

/* The take-back is bounded: a push takes back at most SINK_RECLAIM_MAX
 * (2) queued batches and then queues its own behind the rest. Six
 * batches queue while the store is stalled; the push after it recovers
 * takes back two, unless the writer (which wakes every 100 ms) got to
 * them first: never more than two, and exactly two in some round. */
static void test_one_cpu_reclaim_bound(void)
{
	struct fake_store f;
	struct sink *s = one_cpu_sink(&f);
	struct sink_stats st0, st1;
	struct producer p = { s, 0, 64, 0, 0 };
	uint64_t sent = 0;
	bool exercised = false;

	for (int k = 0; k < 50 && !exercised; k++) {
		set_not_ready(&f, true);
		for (int i = 0; i < 6; i++) {
			produce(&p);      /* deferred: queued */
			p.first += 64;
		}
		sink_get_stats(s, &st0);
		set_not_ready(&f, false);
		produce(&p);
		p.first += 64;
		sink_get_stats(s, &st1);
		uint64_t took = st1.batches_reclaimed - st0.batches_reclaimed;
		CHECK(took <= 2);
		exercised = took == 2;
		sent += 7 * 64;
		sink_sync(s);
	}
	CHECK(exercised);
	sink_get_stats(s, &st1);
	CHECK_EQ(f.rows, sent);
	CHECK_EQ_U64(st1.rows_written, sent);
	CHECK(f.order_ok);
	sink_free(s);
	one_cpu(false);
}

static void test_queue_one_cpu(void)
{
	one_cpu(true);
	queue_threads(true);
	one_cpu(false);
}

/* The reserve: reserve_batches batches exist from sink_new(), and a
 * producer takes them before any is allocated; the queue fills past it
 * with batches allocated as they are needed. */
static void test_reserve(void)
{
	struct sink_conf c;
	struct fake_store f;
	struct sink_ops ops = { .append = fake_append, .arg = &f };
	struct sink_stats st;
	struct sink_batch *b[6];

	sink_conf_defaults(&c);
	c.batch_rows = 64;
	c.queue_batches = 8;
	c.reserve_batches = 4;
	fake_init(&f);
	struct sink *s = sink_new(&c, &ops, NULL, NULL);
	CHECK(s != NULL);
	sink_get_stats(s, &st);
	CHECK_EQ(st.batches_allocated, 4);
	for (int i = 0; i < 4; i++) {
		b[i] = sink_batch_get(s);
		CHECK(b[i] != NULL);
		CHECK_EQ(b[i]->cap, 64);
	}
	sink_get_stats(s, &st);
	CHECK_EQ(st.batches_allocated, 4);
	b[4] = sink_batch_get(s);
	b[5] = sink_batch_get(s);
	CHECK(b[4] && b[5]);
	sink_get_stats(s, &st);
	CHECK_EQ(st.batches_allocated, 6);
	for (int i = 0; i < 6; i++)
		sink_batch_put(s, b[i]);
	b[0] = sink_batch_get(s);   /* recycled: none allocated */
	CHECK(b[0] != NULL);
	sink_get_stats(s, &st);
	CHECK_EQ(st.batches_allocated, 6);
	sink_batch_put(s, b[0]);
	sink_free(s);
}

static void test_queue_overflow(void)
{
	struct sink_conf c;
	struct fake_store f;
	struct sink_ops ops = { .append = fake_append, .arg = &f };
	struct producer p = { NULL, 0, 640, 0 };
	struct sink_stats st;

	sink_conf_defaults(&c);
	c.batch_rows = 64;
	c.queue_batches = 2;
	c.queue_wait_ms = 30;
	fake_init(&f);
	f.blocked = true;
	struct sink *s = sink_new(&c, &ops, NULL, NULL);
	p.s = s;
	CHECK_EQ(sink_start(s), 0);
	produce(&p);          /* 10 batches: 1 taken by the blocked writer, 2 queued */
	sink_get_stats(s, &st);
	CHECK_EQ(st.batches_dropped, 7);
	CHECK_EQ(st.rows_dropped, 7 * 64);
	CHECK_EQ(p.dropped, 7 * 64);
	CHECK(st.waits >= 7);
	pthread_mutex_lock(&f.mu);
	f.blocked = false;
	pthread_cond_broadcast(&f.cv);
	pthread_mutex_unlock(&f.mu);
	sink_sync(s);
	sink_get_stats(s, &st);
	/* every row is either written or counted as dropped */
	CHECK_EQ(st.rows_written + st.rows_dropped, 640);
	CHECK_EQ(f.rows, 3 * 64);
	/* append errors are counted as lost */
	f.fail = -EIO;
	p.rows = 64;
	produce(&p);
	sink_sync(s);
	sink_get_stats(s, &st);
	CHECK_EQ(st.rows_lost, 64);
	CHECK_EQ(st.append_errors, 1);
	sink_free(s);
}

/* ---- count once ---------------------------------------------------------- */

static const char inv_json[] =
	"{\"hosts\":[{\"name\":\"h1\",\"mgmt_ip\":\"198.19.0.11\"},"
	"{\"name\":\"h2\",\"mgmt_ip\":\"198.19.0.12\"}],"
	"\"vms\":["
	"{\"name\":\"vm1\",\"uuid\":\"00000000-0000-0000-0000-000000000001\","
	" \"mac\":\"52:54:00:18:00:01\",\"ipv4\":\"198.18.1.1\",\"host\":\"h1\"},"
	"{\"name\":\"vm2\",\"uuid\":\"00000000-0000-0000-0000-000000000002\","
	" \"mac\":\"52:54:00:18:00:02\",\"ipv4\":\"198.18.1.2\",\"host\":\"h1\"},"
	"{\"name\":\"vm4\",\"uuid\":\"00000000-0000-0000-0000-000000000004\","
	" \"mac\":\"52:54:00:18:00:04\",\"ipv4\":\"198.18.1.4\",\"host\":\"h2\"}]}";

/* An agent record: <obs> observed it at its port (ingress: it sent). */
static void agent_row(struct enrich_snap *snap, struct flow_row *row, int src, int dst, int obs,
		      uint8_t dir, const char *exporter, uint64_t bytes)
{
	char ip[32];

	memset(row, 0, sizeof(*row));
	snprintf(ip, sizeof(ip), "198.18.1.%d", src);
	addr_parse(ip, &row->rec.src);
	snprintf(ip, sizeof(ip), "198.18.1.%d", dst);
	addr_parse(ip, &row->rec.dst);
	row->rec.proto = 17;
	row->rec.sport = 40000;
	row->rec.dport = 9000;
	row->rec.bytes = bytes;
	row->rec.packets = 1;
	row->rec.first_ms = row->rec.last_ms = wall_ms();
	uint8_t sm[6] = { 0x52, 0x54, 0, 0x18, 0, (uint8_t)src }, dm[6] = { 0x52, 0x54, 0, 0x18, 0, (uint8_t)dst };
	memcpy(row->rec.src_mac, sm, 6);
	memcpy(row->rec.dst_mac, dm, 6);
	row->rec.vm.uuid[15] = (uint8_t)obs;
	snprintf(row->rec.vm.name, sizeof(row->rec.vm.name), "vm%d", obs);
	row->rec.direction = dir;
	row->rec.scope = FLOW_SCOPE_REMOTE;
	addr_parse(exporter, &row->rec.exporter);
	enrich_flow(snap, &row->rec, &row->attr, NULL);
}

static uint64_t pushed_rows;

/* Pushes <rows> and waits for the writer: each row is then in the store
 * or held (never both, never neither), whatever the timing. */
static void push_rows(struct sink *s, struct fake_store *f, const struct flow_row *rows, size_t n)
{
	struct sink_batch *b = sink_batch_get(s);
	struct sink_stats st;
	for (size_t i = 0; i < n; i++) {
		b->rows[b->n] = rows[i];
		b->rows[b->n++].attr.dup = 0xee;   /* the writer sets the verdict */
	}
	sink_push(s, b);
	sink_sync(s);
	pushed_rows += n;
	sink_get_stats(s, &st);
	pthread_mutex_lock(&f->mu);
	CHECK_EQ_U64(f->rows + st.held_now, pushed_rows);
	CHECK_EQ_U64(st.rows_written, f->rows);
	pthread_mutex_unlock(&f->mu);
}

struct dedup_case {
	uint64_t delay_ms;
	bool receiver_first;      /* the receiver's record arrives in an earlier batch */
	bool warm_host;           /* h1's agent reported another VM before */
	uint64_t want_flows, want_dups;
	uint64_t want_vm4_in;
};

static void run_dedup(const struct dedup_case *dc)
{
	struct sink_conf c;
	struct vmstats_conf vc;
	struct enrich en;
	struct fake_store f;
	struct sink_ops ops = { .append = fake_append, .arg = &f };
	struct vt_err err = { 0 };
	struct inventory *inv = inv_new(10);

	CHECK_EQ(inv_parse_json(inv, inv_json, strlen(inv_json), "t", &err), 0);
	enrich_init(&en);
	enrich_swap(&en, enrich_snap_new(inv, NULL));
	struct enrich_snap *snap = enrich_get(&en);
	vmstats_conf_defaults(&vc);
	struct vmstats *vs = vmstats_new(&vc);
	sink_conf_defaults(&c);
	c.dedup_delay_ms = dc->delay_ms;
	fake_init(&f);
	struct sink *s = sink_new(&c, &ops, vs, &en);
	CHECK_EQ(sink_start(s), 0);

	struct flow_row warm, snd, rcv;
	agent_row(snap, &warm, 2, 1, 2, FLOW_DIR_INGRESS, "198.19.0.11", 5);
	agent_row(snap, &snd, 1, 4, 1, FLOW_DIR_INGRESS, "198.19.0.11", 1000);
	agent_row(snap, &rcv, 1, 4, 4, FLOW_DIR_EGRESS, "198.19.0.12", 1000);
	/* some agent must be known for holds to happen: vm4's own traffic */
	struct flow_row other;
	agent_row(snap, &other, 4, 2, 4, FLOW_DIR_INGRESS, "198.19.0.12", 7);
	pushed_rows = 0;
	push_rows(s, &f, &other, 1);
	if (dc->warm_host)
		push_rows(s, &f, &warm, 1);
	if (dc->receiver_first) {
		push_rows(s, &f, &rcv, 1);
		push_rows(s, &f, &snd, 1);
	} else {
		push_rows(s, &f, &snd, 1);
		push_rows(s, &f, &rcv, 1);
	}
	sink_stop(s);           /* decides what is still held, and stores it */
	struct vmstats_totals t;
	vmstats_totals(vs, &t);
	uint64_t base = 1 + (dc->warm_host ? 1 : 0);
	CHECK_EQ(t.flows - base, dc->want_flows);
	CHECK_EQ(t.dup_flows, dc->want_dups);
	CHECK_EQ(f.rows, base + 2);   /* the store keeps every observation */
	/* ... each with the verdict vmstats used: the duplicate is the
	 * receiver's observation, and the rows not marked add up to what
	 * the VM statistics counted */
	CHECK_EQ_U64(f.dup_rows, dc->want_dups);
	CHECK_EQ_U64(f.dup_egress_rows, dc->want_dups);
	CHECK_EQ_U64(f.counted_bytes, t.bytes);
	CHECK_EQ_U64(f.dup_rows, t.dup_flows);
	struct sink_stats st;
	sink_get_stats(s, &st);
	CHECK_EQ(st.metered_hosts, 2);
	CHECK_EQ_U64(st.held_now, 0);
	CHECK_EQ_U64(st.rows_written, base + 2);
	/* the receiver-first case with a delay is the one that holds */
	CHECK_EQ_U64(st.held, dc->receiver_first && dc->delay_ms ? 1 : 0);

	/* vm4 received 1000 bytes once (plus nothing else) */
	struct vbuf b;
	struct jw w;
	vbuf_init(&b, 1 << 20);
	jw_init(&w, &b, false);
	jw_obj_open(&w, NULL);
	CHECK_EQ(vmstats_json_vm(vs, &w, "vm", "vm4", NULL, wall_ms(), 60000), 0);
	jw_obj_close(&w);
	struct json_val *v = json_parse((const char *)b.data, b.len, 100000, &err);
	int64_t in = -1;
	CHECK(v && json_get_int(json_get(v, "vm"), "bytes_in", &in));
	CHECK_EQ(in, (int64_t)dc->want_vm4_in);
	json_free(v);
	vbuf_free(&b);

	enrich_put(&en, snap);
	sink_free(s);
	vmstats_free(vs);
	enrich_destroy(&en);
}

static void test_dedup(void)
{
	static const struct dedup_case cases[] = {
		/* sender first: the receiver's copy is a duplicate at once */
		{ 2000, false, false, 1, 1, 1000 },
		/* receiver first, held: the sender's record arrives in time */
		{ 2000, true, false, 1, 1, 1000 },
		/* receiver first without the hold: counted twice (why the hold exists) */
		{ 0, true, false, 2, 0, 2000 },
		/* receiver first, no hold, but h1's agent is known: vm1's host is metered */
		{ 0, true, true, 1, 1, 1000 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		fprintf(stderr, "  case %zu\n", i);
		run_dedup(&cases[i]);
	}
	/* the same with the batches processed by the pushing thread */
	one_cpu(true);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		fprintf(stderr, "  case %zu, one CPU\n", i);
		run_dedup(&cases[i]);
	}
	one_cpu(false);
}

/* sink_set_busy(): the store hears "busy" when the first producer is and
 * "not busy" when the last one stops, nothing in between; a stop without
 * a start neither calls nor wraps the count. */
struct busy_log {
	int calls;
	bool last;
};

static void fake_busy(void *arg, bool busy)
{
	struct busy_log *b = arg;
	b->calls++;
	b->last = busy;
}

static int busy_append(void *arg, const struct flow_row *rows, size_t n)
{
	(void)arg;
	(void)rows;
	(void)n;
	return 0;
}

static void test_busy(void)
{
	struct sink_conf c;
	struct busy_log b = { 0, false };
	struct sink_ops ops = { .append = busy_append, .busy = fake_busy, .arg = &b };

	sink_conf_defaults(&c);
	struct sink *s = sink_new(&c, &ops, NULL, NULL);
	CHECK(s != NULL);
	sink_set_busy(s, true);    /* producer 1 */
	CHECK(b.calls == 1 && b.last);
	sink_set_busy(s, true);    /* producer 2 */
	sink_set_busy(s, false);   /* producer 1 */
	CHECK(b.calls == 1 && b.last);
	sink_set_busy(s, false);   /* producer 2: the last */
	CHECK(b.calls == 2 && !b.last);
	sink_set_busy(s, false);   /* unbalanced */
	CHECK_EQ(b.calls, 2);
	sink_set_busy(s, true);    /* still the first start (no wrapped count) */
	CHECK(b.calls == 3 && b.last);
	sink_set_busy(s, false);
	CHECK(b.calls == 4 && !b.last);
	sink_free(s);
}

VT_TEST_MAIN(VT_T(test_queue_threads), VT_T(test_queue_one_cpu),
	     VT_T(test_one_cpu_store_stalled), VT_T(test_one_cpu_reclaim),
	     VT_T(test_one_cpu_reclaim_bound),
	     VT_T(test_queue_overflow), VT_T(test_reserve),
	     VT_T(test_dedup), VT_T(test_busy))
