/* seq.c — sequence-numbered UDP sender and receiver (see seq.h). */
#include "lab/seq.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/be.h"
#include "core/compiler.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "flow/addr.h"

size_t seq_encode(uint8_t *buf, size_t cap, const struct seq_pkt *p, size_t size)
{
	size_t hdr = p->type == SEQ_END ? SEQ_END_LEN : SEQ_HDR_LEN;
	struct vt_wr w;

	if (size < hdr)
		size = hdr;
	if (size > cap)
		return 0;
	w = wr_init(buf, cap);
	wr_u32(&w, SEQ_MAGIC);
	wr_u8(&w, SEQ_VERSION);
	wr_u8(&w, p->type);
	wr_u16(&w, 0);
	wr_u32(&w, p->stream);
	wr_u64(&w, p->seq);
	wr_u64(&w, p->ts_ns);
	if (p->type == SEQ_END)
		wr_u64(&w, p->total);
	wr_zero(&w, size - wr_len(&w));
	return wr_failed(&w) ? 0 : wr_len(&w);
}

int seq_decode(const uint8_t *buf, size_t len, struct seq_pkt *p)
{
	struct vt_rd r = rd_init(buf, len);
	uint32_t magic = rd_u32(&r);
	uint8_t ver = rd_u8(&r);

	p->type = rd_u8(&r);
	rd_skip(&r, 2);
	p->stream = rd_u32(&r);
	p->seq = rd_u64(&r);
	p->ts_ns = rd_u64(&r);
	p->total = 0;
	if (rd_failed(&r) || magic != SEQ_MAGIC || ver != SEQ_VERSION ||
	    (p->type != SEQ_DATA && p->type != SEQ_END))
		return -EBADMSG;
	if (p->type == SEQ_END) {
		p->total = rd_u64(&r);
		if (rd_failed(&r))
			return -EBADMSG;
	}
	return 0;
}

int seq_tracker_init(struct seq_tracker *t, uint64_t cap, uint32_t stream)
{
	memset(t, 0, sizeof(*t));
	if (cap == 0 || cap > (1ull << 34))
		return -EINVAL;
	t->bits = calloc((size_t)((cap + 63) / 64), sizeof(uint64_t));
	if (!t->bits)
		return -ENOMEM;
	t->cap = cap;
	t->stream = stream;
	t->stream_fixed = stream != 0;
	return 0;
}

void seq_tracker_free(struct seq_tracker *t)
{
	VT_FREE(t->bits);
}

void seq_tracker_add(struct seq_tracker *t, const uint8_t *buf, size_t len, uint64_t now_ms)
{
	struct seq_pkt p;

	if (seq_decode(buf, len, &p) < 0) {
		t->foreign++;
		return;
	}
	if (!t->stream_fixed) {
		t->stream = p.stream;
		t->stream_fixed = true;
	}
	if (p.stream != t->stream) {
		t->foreign++;
		return;
	}
	if (p.type == SEQ_END) {
		t->end_seen = true;
		t->end_total = p.total;
		return;
	}
	t->received++;
	if (!t->any)
		t->first_rx_ms = now_ms;
	t->last_rx_ms = now_ms;
	if (p.seq >= t->cap) {
		t->out_of_range++;
		return;
	}
	uint64_t *w = &t->bits[p.seq / 64], bit = 1ull << (p.seq % 64);
	if (*w & bit) {
		t->duplicates++;
		return;
	}
	*w |= bit;
	t->unique++;
	if (t->any && p.seq < t->max_seq)
		t->reordered++;
	if (!t->any || p.seq > t->max_seq)
		t->max_seq = p.seq;
	t->any = true;
}

uint64_t seq_expected(const struct seq_tracker *t)
{
	if (t->end_seen)
		return t->end_total;
	return t->any ? t->max_seq + 1 : 0;
}

/* next_run() : from <i>, the first number whose bit equals <want>, or
 * <end> when there is none below it. Skips whole words. */
static uint64_t next_run(const struct seq_tracker *t, uint64_t i, uint64_t end, bool want)
{
	while (i < end) {
		uint64_t word = t->bits[i / 64];
		if (!want)
			word = ~word;
		word &= ~0ull << (i % 64);
		if (word) {
			uint64_t j = (i & ~63ull) + (uint64_t)__builtin_ctzll(word);
			return j < end ? j : end;
		}
		i = (i & ~63ull) + 64;
	}
	return end;
}

uint64_t seq_missing(const struct seq_tracker *t)
{
	uint64_t end = VT_MIN(seq_expected(t), t->cap), miss = 0;

	for (uint64_t i = 0; i < end;) {
		uint64_t a = next_run(t, i, end, false), b = next_run(t, a, end, true);
		miss += b - a;
		i = b;
	}
	return miss;
}

int seq_report_json(const struct seq_tracker *t, struct vbuf *out, unsigned max_ranges)
{
	uint64_t end = VT_MIN(seq_expected(t), t->cap), nranges = 0, last_missing = 0;
	bool any_missing = false;
	struct jw w;

	jw_init(&w, out, false);
	jw_obj_open(&w, NULL);
	jw_uint(&w, "stream", t->stream);
	jw_uint(&w, "received", t->received);
	jw_uint(&w, "unique", t->unique);
	jw_uint(&w, "expected", seq_expected(t));
	jw_uint(&w, "missing", seq_missing(t));
	jw_uint(&w, "duplicates", t->duplicates);
	jw_uint(&w, "reordered", t->reordered);
	jw_bool(&w, "end_seen", t->end_seen);
	if (t->any) {
		jw_uint(&w, "last_seq", t->max_seq);
		jw_uint(&w, "first_rx_ms", t->first_rx_ms);
		jw_uint(&w, "last_rx_ms", t->last_rx_ms);
	} else {
		jw_null(&w, "last_seq");
	}
	jw_uint(&w, "out_of_range", t->out_of_range);
	jw_uint(&w, "foreign", t->foreign);
	jw_arr_open(&w, "missing_ranges");
	for (uint64_t i = 0; i < end;) {
		uint64_t a = next_run(t, i, end, false), b = next_run(t, a, end, true);
		if (a < end) {
			if (nranges < max_ranges) {
				jw_arr_open(&w, NULL);
				jw_uint(&w, NULL, a);
				jw_uint(&w, NULL, b - 1);
				jw_arr_close(&w);
			}
			nranges++;
			any_missing = true;
			last_missing = b - 1;
		}
		i = b;
	}
	jw_arr_close(&w);
	jw_uint(&w, "gaps", nranges);
	jw_bool(&w, "missing_ranges_truncated", nranges > max_ranges);
	/* data after the last gap: the stream came back */
	jw_bool(&w, "resumed_after_gap", any_missing && t->any && t->max_seq > last_missing);
	jw_obj_close(&w);
	return w.err;
}

/* ---- sockets ----------------------------------------------------------- */

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void catch_stop(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop; /* no SA_RESTART: poll/sleep return early */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* parse_endpoint() : "198.18.1.5:9000", "[2001:db8::5]:9000"; a bare
 * address with <need_port> false. */
static int parse_endpoint(const char *s, bool need_port, struct sockaddr_storage *ss,
			  socklen_t *len)
{
	char host[VT_ADDRSTRLEN + 2];
	const char *colon, *h = s;
	size_t hl;
	uint64_t port = 0;
	struct vt_addr a;

	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		if (!rb)
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(rb - h);
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (rb[1] && !colon)
			return -EINVAL;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		hl = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (addr_parse(host, &a) < 0)
		return -EINVAL;
	if (colon && parse_u64(colon + 1, 1, 65535, &port) < 0)
		return -EINVAL;
	if (need_port && !port)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (addr_is_v4(&a) && !strchr(host, ':')) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, a.b + 12, 4);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		memcpy(&sin6->sin6_addr, a.b, 16);
		*len = sizeof(*sin6);
	}
	return 0;
}

static int emit(const struct vbuf *b, const char *path)
{
	FILE *fp = path ? fopen(path, "w") : stdout;
	int r = 0;

	if (!fp) {
		log_err("%s: %s", path, strerror(errno));
		return 1;
	}
	if (fwrite(b->data, 1, b->len, fp) != b->len || fputc('\n', fp) == EOF)
		r = 1;
	if (path ? fclose(fp) != 0 : fflush(fp) != 0)
		r = 1;
	return r;
}

int seq_send_main(const struct seq_send_opts *o)
{
	struct sockaddr_storage dst, src;
	socklen_t dlen, slen;
	uint8_t *buf = NULL;
	uint64_t sent = 0, errors = 0, bytes = 0, t0, next, interval_ns, deadline = 0, ms;
	struct seq_pkt p = { SEQ_DATA, (uint32_t)o->stream, 0, 0, 0 };
	struct vbuf rep;
	struct jw w;
	int fd = -1, rc = 1;

	if (parse_endpoint(o->to, true, &dst, &dlen) < 0) {
		log_err("seq-send: option --to: '%s' is not ADDR:PORT or [ADDR6]:PORT", o->to);
		return 2;
	}
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("seq-send: socket: %s", strerror(errno));
		return 1;
	}
	if (o->bind) {
		if (parse_endpoint(o->bind, false, &src, &slen) < 0 || src.ss_family != dst.ss_family) {
			log_err("seq-send: option --bind: '%s' is not an address of the --to family",
				o->bind);
			goto out;
		}
		if (bind(fd, (struct sockaddr *)&src, slen) < 0) {
			log_err("seq-send: bind %s: %s", o->bind, strerror(errno));
			goto out;
		}
	}
	buf = malloc(SEQ_MAX_SIZE);
	if (!buf)
		goto out;
	catch_stop();
	interval_ns = o->rate ? 1000000000ull / o->rate : 0;
	t0 = next = mono_ns();
	if (!o->count)
		deadline = t0 + o->duration_ms * 1000000ull;
	while (!stop_flag) {
		size_t len;
		if (o->count ? sent >= o->count : mono_ns() >= deadline)
			break;
		if (interval_ns) {
			struct timespec ts = { (time_t)(next / 1000000000ull),
					       (long)(next % 1000000000ull) };
			if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
				continue;
			next += interval_ns;
		}
		p.seq = sent;
		p.ts_ns = wall_ms() * 1000000ull;
		len = seq_encode(buf, SEQ_MAX_SIZE, &p, o->size);
		/* only datagrams the kernel took get a number: the receiver's
		 * missing count is then exactly what the network lost */
		if (sendto(fd, buf, len, 0, (struct sockaddr *)&dst, dlen) == (ssize_t)len) {
			sent++;
			bytes += len;
		} else {
			errors++;
		}
	}
	ms = (mono_ns() - t0) / 1000000ull; /* the stream, not the END markers */
	p.type = SEQ_END;
	p.total = sent;
	for (uint64_t i = 0; i < o->end_markers; i++) {
		size_t len = seq_encode(buf, SEQ_MAX_SIZE, &p, SEQ_END_LEN);
		if (i) {
			struct timespec ts = { 0, 10 * 1000000L };
			nanosleep(&ts, NULL);
		}
		(void)sendto(fd, buf, len, 0, (struct sockaddr *)&dst, dlen);
	}
	{
		vbuf_init(&rep, 1 << 16);
		jw_init(&w, &rep, false);
		jw_obj_open(&w, NULL);
		jw_uint(&w, "stream", o->stream);
		jw_uint(&w, "sent", sent);
		jw_uint(&w, "send_errors", errors);
		jw_uint(&w, "bytes", bytes);
		if (sent)
			jw_uint(&w, "last_seq", sent - 1);
		else
			jw_null(&w, "last_seq");
		jw_uint(&w, "duration_ms", ms);
		jw_double(&w, "rate_pps", ms ? (double)sent * 1000.0 / (double)ms : 0.0);
		jw_obj_close(&w);
		rc = emit(&rep, NULL);
		vbuf_free(&rep);
	}
out:
	free(buf);
	close(fd);
	return rc;
}

static int write_ready(const char *path)
{
	char tmp[512];
	FILE *fp;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fp = fopen(tmp, "w");
	if (!fp)
		return -errno;
	fprintf(fp, "%d\n", (int)getpid());
	if (fclose(fp) != 0 || rename(tmp, path) < 0)
		return -errno;
	return 0;
}

int seq_recv_main(const struct seq_recv_opts *o)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	struct seq_tracker t;
	uint8_t *buf = NULL;
	uint64_t start = mono_ms(), last_rx = 0, end_at = 0;
	struct vbuf rep;
	int fd = -1, rc = 1, one = 1, zero = 0, rcvbuf = 8 << 20;

	if (o->bind) {
		if (parse_endpoint(o->bind, false, &ss, &slen) < 0) {
			log_err("seq-recv: option --bind: '%s' is not an address", o->bind);
			return 2;
		}
	} else {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = AF_INET6;  /* [::], both families */
		slen = sizeof(struct sockaddr_in6);
	}
	if (ss.ss_family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)o->port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)o->port);
	if (seq_tracker_init(&t, o->max_seq, (uint32_t)o->stream) < 0) {
		log_err("seq-recv: cannot track %llu numbers", (unsigned long long)o->max_seq);
		return 1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("seq-recv: socket: %s", strerror(errno));
		goto out;
	}
	if (ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* a burst must not be lost in our own socket: that would count as
	 * network loss */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (bind(fd, (struct sockaddr *)&ss, slen) < 0) {
		log_err("seq-recv: bind port %llu: %s", (unsigned long long)o->port, strerror(errno));
		goto out;
	}
	buf = malloc(SEQ_MAX_SIZE + 1);
	if (!buf)
		goto out;
	catch_stop();
	if (o->ready_file && write_ready(o->ready_file) < 0) {
		log_err("seq-recv: cannot write %s", o->ready_file);
		goto out;
	}
	while (!stop_flag) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t now = mono_ms();
		if (o->timeout_ms && now - start >= o->timeout_ms)
			break;
		if (o->idle_ms && last_rx && now - last_rx >= o->idle_ms)
			break;
		if (end_at && now >= end_at)
			break;
		if (o->count && t.unique >= o->count)
			break;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		for (int i = 0; i < 256; i++) {
			ssize_t n = recv(fd, buf, SEQ_MAX_SIZE + 1, MSG_DONTWAIT);
			if (n < 0)
				break;
			now = mono_ms();
			seq_tracker_add(&t, buf, (size_t)n, wall_ms());
			last_rx = now;
			/* after the END marker, a short grace for stragglers */
			if (t.end_seen && !end_at)
				end_at = now + 200;
		}
	}
	vbuf_init(&rep, 1 << 20);
	rc = seq_report_json(&t, &rep, 1000) < 0 ? 1 : emit(&rep, o->out);
	vbuf_free(&rep);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	seq_tracker_free(&t);
	return rc;
}
