/* seq.h — sequence-numbered UDP streams: loss ground truth for the lab.
 *
 * `vtap lab seq-send` numbers every datagram it sends (from 0, counting
 * only datagrams the kernel accepted), then sends a few END markers that
 * carry the total. `vtap lab seq-recv` records which numbers arrived and
 * reports received / missing (with the missing ranges) / duplicates /
 * reordered as JSON, so a test can assert exact counts: sent == unique +
 * missing, and where a migration's gap was.
 *
 * Datagram payload (big-endian):
 *   0  u32 magic "VTSQ"     4  u8 version (1)   5  u8 type (0 data, 1 end)
 *   6  u16 flags (0)        8  u32 stream id   12  u64 sequence number
 *  20  u64 send time (ns since the epoch)      28  END only: u64 total sent
 *  then zero padding up to the requested datagram size. */
#ifndef VT_LAB_SEQ_H
#define VT_LAB_SEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define SEQ_MAGIC 0x56545351u     /* "VTSQ" */
#define SEQ_VERSION 1
#define SEQ_HDR_LEN 28
#define SEQ_END_LEN 36
#define SEQ_MAX_SIZE 65000

enum seq_type { SEQ_DATA = 0, SEQ_END = 1 };

struct seq_pkt {
	uint8_t type;
	uint32_t stream;
	uint64_t seq;
	uint64_t ts_ns;
	uint64_t total;               /* SEQ_END: datagrams sent */
};

/* seq_encode() : the datagram for <p>, padded to <size> bytes (at least
 * its header). Returns its length, 0 when <cap> is too small. */
size_t seq_encode(uint8_t *buf, size_t cap, const struct seq_pkt *p, size_t size);
/* seq_decode() : 0, or -EBADMSG for anything that is not one of ours
 * (wrong magic, version or type, too short). */
int seq_decode(const uint8_t *buf, size_t len, struct seq_pkt *p);

/* The receiver's record: one bit per sequence number up to a bound. */
struct seq_tracker {
	uint64_t *bits;               /* owned */
	uint64_t cap;                 /* numbers >= cap are counted, not tracked */
	uint32_t stream;              /* the stream followed (first seen if 0 at init) */
	bool stream_fixed;
	bool any;
	bool end_seen;
	uint64_t end_total;
	uint64_t max_seq;             /* highest number received */
	uint64_t received;            /* data datagrams of the stream, duplicates included */
	uint64_t unique;
	uint64_t duplicates;
	uint64_t reordered;           /* arrived after a higher number */
	uint64_t out_of_range;        /* numbers >= cap */
	uint64_t foreign;             /* datagrams that were not ours or of another stream */
	uint64_t first_rx_ms, last_rx_ms;
};

/* seq_tracker_init() : tracks numbers 0..<cap>-1 of <stream> (0: the first
 * stream seen). -ENOMEM, or -EINVAL for a zero cap. */
int seq_tracker_init(struct seq_tracker *t, uint64_t cap, uint32_t stream);
void seq_tracker_free(struct seq_tracker *t);
/* seq_tracker_add() : records one received datagram (raw bytes). */
void seq_tracker_add(struct seq_tracker *t, const uint8_t *buf, size_t len, uint64_t now_ms);
/* seq_expected() : how many numbers the sender used: the END total when
 * seen, else highest received + 1. */
uint64_t seq_expected(const struct seq_tracker *t);
/* seq_missing() : numbers below seq_expected() (and cap) never received. */
uint64_t seq_missing(const struct seq_tracker *t);
/* seq_report_json() : the report object, listing at most <max_ranges>
 * missing ranges ([first, last] inclusive). */
int seq_report_json(const struct seq_tracker *t, struct vbuf *out, unsigned max_ranges);

/* The commands (lab/seq.c): option structs are filled from cmd_lab.c's
 * tables; each returns the process exit code. */
struct seq_send_opts {
	const char *to;               /* ADDR:PORT or [ADDR6]:PORT */
	const char *bind;
	uint64_t rate;                /* datagrams per second, 0: as fast as possible */
	uint64_t count;               /* stop after this many (0: use duration) */
	uint64_t duration_ms;
	uint64_t size;                /* datagram payload bytes */
	uint64_t stream;
	uint64_t end_markers;
};
int seq_send_main(const struct seq_send_opts *o);

struct seq_recv_opts {
	uint64_t port;
	const char *bind;
	uint64_t stream;
	uint64_t timeout_ms;          /* give up after this long in total */
	uint64_t idle_ms;             /* stop after this long without data (0: never) */
	uint64_t count;               /* stop once this many unique numbers arrived */
	uint64_t max_seq;             /* tracking bound */
	const char *ready_file;       /* created once the socket is bound */
	const char *out;              /* report file instead of stdout */
};
int seq_recv_main(const struct seq_recv_opts *o);

#endif
