/* exporter.h — sends flow records to one or more collectors as IPFIX
 * (UDP or TCP) or NetFlow v9 (UDP).
 *
 * Each collector is its own transport session with its own message being
 * filled, its own sequence numbers (IPFIX: data records sent before the
 * message, RFC 7011 §3.1; v9: export packets, RFC 3954 §5.1), template
 * schedule and a bounded queue of finished messages. Templates go at the
 * start of the first message and then every tmpl_interval_ms (by the
 * export clock) or every tmpl_every messages on UDP, and as the first
 * message of every TCP connection. A TCP collector that sends a FIN (it
 * is stopping) gets our side closed at once and the rest on a new
 * connection, so it reads everything we wrote before it goes. An options record with the exporter
 * statistics goes out every stats_interval_ms and at exporter_flush().
 *
 * Never blocking the meter: sockets are non-blocking; a collector that is
 * down or slow fills its queue and further messages are dropped and
 * counted (notSent* in the options record). Sequence numbers count the
 * dropped messages' records too, so the collector's sequence-gap counter
 * equals our drop counter. With cfg.blocking (offline metering only) a
 * collector that is up but slower than us makes the exporter wait instead
 * (bounded), and UDP messages are paced at cfg.rate per second so a
 * local collector's socket buffer is not overrun (softflowd's end-of-file
 * burst problem).
 *
 * Two clocks: <now_ms> arguments are the export clock (packet time
 * offline, wall time live) used for header times and the schedules;
 * pacing, TCP back-off and waits use the monotonic clock. */
#ifndef VT_EXPORTER_H
#define VT_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "flow/flowrec.h"
#include "wire/flowenc.h"

enum exp_format { EXP_FMT_IPFIX = 0, EXP_FMT_NFV9 = 1 };

struct exporter_cfg {
	enum exp_format format;
	uint32_t domain;               /* observation domain id / v9 source id */
	uint32_t mtu;                  /* link MTU for UDP messages (>= 1280) */
	uint64_t tmpl_interval_ms;     /* UDP template refresh (0 = only at start) */
	uint32_t tmpl_every;           /* ... and every N messages (0 = off) */
	uint64_t stats_interval_ms;    /* options record period (0 = only at flush) */
	uint64_t flush_ms;             /* a partly filled message waits at most this */
	uint32_t queue_max;            /* finished messages queued per collector */
	uint64_t rate;                 /* UDP messages per second per collector (0 = no pacing) */
	bool blocking;                 /* offline: wait for a slow collector (not a dead one) */
	uint16_t active_timeout_s, idle_timeout_s;   /* reported in the options record */
};

/* Per-collector counters (exporter_collector()). */
struct exp_coll_stats {
	const char *url;
	bool tcp;
	bool up;                       /* UDP: always; TCP: connected */
	struct fe_counters c;          /* what the options record carries */
	uint64_t templates;            /* template sets sent */
	uint64_t options;              /* options records sent */
	uint64_t dropped_messages;     /* queue full, send error, or shutdown */
	uint64_t send_errors;
	uint64_t connects;             /* TCP connections made */
	uint64_t waits_ms;             /* time blocked (blocking mode) */
	uint64_t v9_reboots;           /* v9 sysUpTime origin moved (see nfv9_enc.h) */
	uint64_t v9_clamped;           /* v9 records whose times had to be clamped */
	uint32_t queued, queue_peak;
	uint32_t msg_cap;              /* bytes per message on this transport */
};

struct exporter;

/* exporter_new() : NULL with a message in <err> for a bad config. */
struct exporter *exporter_new(const struct exporter_cfg *cfg, struct vt_err *err);
/* exporter_add() : a collector "udp://HOST:PORT" or "tcp://HOST:PORT"
 * (HOST: IPv4, [IPv6] or a name). TCP connects in the background. */
int exporter_add(struct exporter *e, const char *url, struct vt_err *err);
/* exporter_set_boot() : the v9 sysUpTime origin is one second before the
 * whole second of <boot_ms> (default: of the first export clock value
 * seen). A flow that starts before it, or more than 49.7 days after it,
 * moves it (counted in v9_reboots). */
void exporter_set_boot(struct exporter *e, uint64_t boot_ms);
/* exporter_set_ignored() : the meter's count of packets it could not
 * process (ignoredPacketTotalCount in the options record). */
void exporter_set_ignored(struct exporter *e, uint64_t packets);

/* exporter_flow() : encodes <r> for every collector; finished messages
 * are sent or queued. Never blocks unless cfg.blocking. */
void exporter_flow(struct exporter *e, const struct flow_rec *r, uint64_t now_ms);
/* exporter_poll() : schedules (partial-message flush, stats), TCP
 * connects and queued sends. Non-blocking; call it regularly. */
void exporter_poll(struct exporter *e, uint64_t now_ms);
/* exporter_flush() : finishes every open message, adds a final options
 * record and sends everything, waiting at most <timeout_ms> of real
 * time — but not for a TCP collector that refused three connections in
 * a row (about 1.75 s). What is still unsent then is dropped and counted.
 * 0 or -ETIMEDOUT. */
int exporter_flush(struct exporter *e, uint64_t now_ms, uint64_t timeout_ms);

size_t exporter_ncollectors(const struct exporter *e);
/* exporter_collector() : counters of collector <i> (valid until the next
 * call into the exporter). */
const struct exp_coll_stats *exporter_collector(const struct exporter *e, size_t i);
const struct flowenc_ops *exporter_ops(const struct exporter *e);
void exporter_free(struct exporter *e);

#endif
