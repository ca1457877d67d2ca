/* flowdec.h — the collector's flow-export decoder: one entry point for
 * NetFlow v5, NetFlow v9, IPFIX and sFlow v5 datagrams, and the state it
 * keeps per exporter.
 *
 * The collector hands it "a datagram from exporter X at time T"
 * (flowdec_input); flow records come back through a callback as struct
 * flow_rec, with counts already multiplied by the sampling rate. Per
 * exporter it keeps templates (tmpl_cache), data that arrived before its
 * template (held for a bounded time and size, decoded when the template
 * comes, else counted as "no template"), sampling rates learnt from
 * options records, sequence-number tracking per observation domain, and
 * statistics (flowdec_exporter_stats). Everything is bounded; see
 * struct flowdec_conf and docs/wire/flow-decoding.md.
 *
 * Threading: a struct flowdec is not thread-safe. Use one per worker
 * thread (SO_REUSEPORT keeps an exporter's datagrams on one socket) or
 * serialise calls.
 *
 * The second half of this header is the interface between flowdec.c and
 * the per-version decoders (nfv5_dec.c, nfv9_dec.c, ipfix_dec.c,
 * sflow_dec.c); other modules use only the first half. */
#ifndef VT_FLOWDEC_H
#define VT_FLOWDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/err.h"
#include "flow/flowrec.h"
#include "wire/ie_table.h"

/* Why a datagram (or part of it) was not decoded. The names are API
 * (stats, JSON, Prometheus); the numbers are not. */
enum fd_err {
	FD_ERR_SHORT = 0,        /* shorter than its header */
	FD_ERR_VERSION,          /* not NetFlow v5/v9, IPFIX or sFlow v5 */
	FD_ERR_V5_LENGTH,        /* v5: count does not match the length */
	FD_ERR_MSG_LENGTH,       /* IPFIX: header length < 16 or != datagram */
	FD_ERR_SET_LENGTH,       /* a set/flowset length < 4 or past the message */
	FD_ERR_SET_ID,           /* a reserved set id */
	FD_ERR_TMPL_LENGTH,      /* a template record runs past its set */
	FD_ERR_TMPL_INVALID,     /* id < 256, no fields, too many fields, 0-byte record */
	FD_ERR_TMPL_LIMIT,       /* template larger than a cache bound */
	FD_ERR_RECORD_LENGTH,    /* a variable-length field runs past its set */
	FD_ERR_SFLOW_HEADER,     /* sFlow: bad agent address type / sample count */
	FD_ERR_SFLOW_SAMPLE,     /* sFlow: a sample length past the datagram */
	FD_ERR_SFLOW_RECORD,     /* sFlow: a record length past its sample */
	FD_ERR_SFLOW_PACKET,     /* sFlow: a sampled header the packet decoder rejects */
	FD_ERR__COUNT
};
const char *flowdec_err_name(enum fd_err e);

/* Bounds of the decoder (all uint64_t so that flowdec_conf_keys can fill
 * them from a config file). */
struct flowdec_conf {
	uint64_t max_exporters;            /* exporters tracked; LRU evicted */
	uint64_t max_templates;            /* templates, all exporters */
	uint64_t max_templates_per_exporter;
	uint64_t max_template_bytes;       /* all exporters */
	uint64_t max_template_bytes_per_exporter;
	uint64_t hold_ms;                  /* how long data waits for its template */
	uint64_t hold_bytes_per_exporter;
	uint64_t hold_bytes_total;
	uint64_t max_domains_per_exporter; /* observation domains tracked */
};
/* flowdec_conf_defaults() : the defaults documented in flow-decoding.md
 * (the same as the defaults of flowdec_conf_keys). */
void flowdec_conf_defaults(struct flowdec_conf *c);
/* The config keys of struct flowdec_conf, for the collector to place in a
 * section of its config file (a conf_section whose struct holds a struct
 * flowdec_conf at offset 0; add the offset of yours to each key's). */
extern const struct conf_key flowdec_conf_keys[];
extern const size_t flowdec_conf_nkeys;

/* Where a record came from, for the caller (and for tests that compare
 * with tshark record by record). */
struct flowdec_src {
	uint64_t tag;        /* the caller's tag of the datagram it came in */
	uint16_t set;        /* 1-based set/flowset index; sFlow: sample index */
	uint16_t rec;        /* 1-based record index in the set; sFlow: 1 */
};

/* Interface counters from an sFlow counter sample (generic interface
 * counters, sFlow v5 counter record 1). */
struct sflow_ifcounters {
	uint32_t source_id;           /* data source (type << 24 | index) */
	uint32_t ifindex, iftype;
	uint64_t ifspeed;
	uint32_t ifdirection, ifstatus;
	uint64_t in_octets, out_octets;
	uint32_t in_ucast, in_mcast, in_bcast, in_discards, in_errors, in_unknown;
	uint32_t out_ucast, out_mcast, out_bcast, out_discards, out_errors;
	uint32_t promisc;
	uint64_t seen_ms;             /* when this sample arrived */
};

struct flowdec_ops {
	/* a decoded flow record; <r> is valid during the call only */
	void (*record)(void *arg, const struct flow_rec *r, const struct flowdec_src *src);
	/* an sFlow interface counter sample (may be NULL) */
	void (*ifcounters)(void *arg, const struct vt_addr *exporter,
			   const struct sflow_ifcounters *c);
	/* optional: where the decoder may build the next record in place (or
	 * NULL: on its own stack). The next record() call passes either this
	 * pointer, which the consumer then keeps without a copy, or another
	 * one; room() is asked again before each record. */
	struct flow_rec *(*room)(void *arg);
};

#define FD_MAX_IFCOUNTERS 64   /* interfaces remembered per sFlow exporter */

struct fd_exporter_stats {
	struct vt_addr addr;
	uint64_t first_seen_ms, last_seen_ms;
	uint64_t packets, bytes;          /* datagrams and their bytes */
	uint64_t packets_v5, packets_v9, packets_ipfix, packets_sflow;
	uint64_t records;                 /* flow records emitted */
	uint64_t options_records;         /* options data records interpreted */
	uint64_t errors;                  /* sum of error[] */
	uint64_t error[FD_ERR__COUNT];
	uint64_t held_sets;               /* data sets that waited for a template */
	uint64_t late_sets;               /* ... decoded when it came */
	uint64_t no_template_sets;        /* ... whose template never came (expired
					   * or pushed out by the hold bound) */
	uint64_t no_template_bytes;
	uint32_t held_now;
	uint64_t held_bytes_now;          /* memory they take: bytes + bookkeeping */
	uint64_t seq_gaps;                /* times the sequence jumped forward */
	uint64_t seq_lost;                /* units missed: v5 flows, v9 packets,
					   * IPFIX records, sFlow datagrams */
	uint64_t seq_resets;              /* went backwards (restart or reorder),
					   * or a new transport session (port) */
	uint64_t seq_quirks;              /* softflowd-style counter, tolerated */
	uint32_t templates;               /* held now */
	uint64_t templates_defined, templates_redefined, templates_withdrawn;
	uint64_t templates_evicted;
	uint32_t sampling;                /* rate applied to the last record (1 = none) */
	uint64_t sflow_flow_samples, sflow_counter_samples;
	uint32_t ifcounters;              /* entries in the sFlow counter table */
	uint64_t ifcounters_dropped;      /* interfaces beyond FD_MAX_IFCOUNTERS */
	uint64_t samplers_dropped;        /* sampler table entries pushed out (16
					   * per domain) */
	uint64_t domains_dropped;         /* domains forgotten at
					   * max_domains_per_exporter */
};

struct flowdec_stats {
	uint64_t exporters;               /* tracked now */
	uint64_t exporters_evicted;
	uint64_t templates, template_bytes;
	uint64_t templates_evicted;
	uint64_t held_sets_now, held_bytes_now;
	uint64_t datagrams, records;
};

/* Information about one template, for listings. */
struct flowdec_tmpl_info {
	uint8_t version;
	uint8_t options;
	uint16_t id;
	uint32_t domain;
	uint16_t nfields;
};

struct flowdec;

/* flowdec_new() : NULL with errno (EINVAL for a bad conf, ENOMEM). <ops>
 * and <arg> are kept by pointer. */
struct flowdec *flowdec_new(const struct flowdec_conf *conf, const struct flowdec_ops *ops,
			    void *arg);
/* flowdec_free() : frees everything; held data is dropped uncounted. */
void flowdec_free(struct flowdec *fd);

/* flowdec_input() : decodes one datagram of <len> bytes received from
 * <exporter> (source address) and <port> (its UDP source port, 0 when
 * unknown) at <now_ms> (wall clock, ms since the epoch). Templates belong
 * to the exporter address; the port tells transport sessions apart for
 * sequence numbers (a new port is a restarted exporter, not loss). <tag> is
 * returned with each record it produces (also records decoded later from
 * held data). Returns the number of records emitted now, or -EBADMSG when
 * the datagram was rejected (counted in the exporter's error[]). Records
 * from the valid part of a damaged datagram are emitted. */
int flowdec_input(struct flowdec *fd, const struct vt_addr *exporter, uint16_t port,
		  uint64_t now_ms, const uint8_t *buf, size_t len, uint64_t tag);
/* flowdec_frame_len() : the length of the first datagram in <buf> when a
 * file holds several concatenated (v5: 24 + 48 * count; IPFIX: the header
 * length; v9 and sFlow carry no length: the whole buffer). Never more
 * than <len>; <len> when the header is inconsistent. */
size_t flowdec_frame_len(const uint8_t *buf, size_t len);
/* flowdec_expire() : counts held data older than hold_ms at <now_ms> as
 * "no template" and frees it. Call it periodically (once a second);
 * flowdec_expire(fd, UINT64_MAX) ends everything still held. */
void flowdec_expire(struct flowdec *fd, uint64_t now_ms);

/* flowdec_foreach_exporter() : calls <cb> for each exporter, most recently
 * seen first. */
void flowdec_foreach_exporter(const struct flowdec *fd,
			      void (*cb)(void *arg, const struct fd_exporter_stats *st),
			      void *arg);
/* flowdec_exporter_stats() : 0, or -ENOENT for an unknown exporter. */
int flowdec_exporter_stats(const struct flowdec *fd, const struct vt_addr *exporter,
			   struct fd_exporter_stats *st);
/* flowdec_exporter_templates() : fills up to <max> entries; returns how
 * many templates the exporter has (may be more than <max>). */
size_t flowdec_exporter_templates(const struct flowdec *fd, const struct vt_addr *exporter,
				  struct flowdec_tmpl_info *out, size_t max);
/* flowdec_exporter_ifcounters() : the latest sFlow interface counters of
 * an exporter; same return convention. */
size_t flowdec_exporter_ifcounters(const struct flowdec *fd, const struct vt_addr *exporter,
				   struct sflow_ifcounters *out, size_t max);
void flowdec_stats(const struct flowdec *fd, struct flowdec_stats *st);
/* flowdec_template_generation() : increases whenever a template is added,
 * replaced or removed: the caller saves the cache when it changed. */
uint64_t flowdec_template_generation(const struct flowdec *fd);

/* flowdec_templates_save() / _load() : the template file (tmpl_cache.h
 * format), with each domain's sampling table and systemInitTime so that
 * sampled data keeps its rate across a restart. Load returns the number of
 * templates loaded or a negative errno (-ENOENT when the file does not
 * exist, -EBADMSG when it is damaged: nothing is loaded) with a message in
 * <err>. _load_mem() and _serialize() work on a memory image (tests,
 * fuzzing); the caller frees *<out>. */
int flowdec_templates_save(const struct flowdec *fd, const char *path, struct vt_err *err);
int flowdec_templates_load(struct flowdec *fd, const char *path, uint64_t now_ms,
			   struct vt_err *err);
int flowdec_templates_load_mem(struct flowdec *fd, const uint8_t *buf, size_t len,
			       uint64_t now_ms, struct vt_err *err);
int flowdec_templates_serialize(const struct flowdec *fd, uint8_t **out, size_t *len);

/* ---- interface for the per-version decoders ------------------------------ */

struct fd_exporter;
struct tmpl;

/* One datagram being decoded (or a held set being replayed). */
struct fd_msg {
	struct flowdec *fd;
	struct fd_exporter *ex;
	uint64_t now_ms;
	uint64_t tag;
	uint16_t port;               /* UDP source port (transport session) */
	uint8_t version;             /* 5, 9, 10; 105 = sFlow v5 */
	uint32_t domain;
	struct ie_time_ctx tc;
	uint16_t set_index;          /* 1-based, set by the decoder per set */
	bool late;                   /* replaying held data */
	uint32_t data_records;       /* data records decoded (IPFIX sequence) */
	uint32_t options_records;    /* ... of which options data records */
	bool uncounted;              /* a set was held: record count unknown */
	int emitted;                 /* records emitted */
	bool bad;                    /* an error was counted */
};

/* fd_error() : counts reason <e> for the message's exporter. */
void fd_error(struct fd_msg *m, enum fd_err e);
/* fd_room() : where the next record is to be built: the consumer's room
 * (flowdec_ops.room) or <fallback>. The record built there must be
 * passed to fd_emit() before another fd_room() call. */
struct flow_rec *fd_room(struct fd_msg *m, struct flow_rec *fallback);
/* fd_emit() : stamps provenance (exporter, domain, version) on <r>,
 * applies <sampling> (>1 multiplies counts) and hands it to the caller. */
void fd_emit(struct fd_msg *m, struct flow_rec *r, uint32_t sampling, uint16_t rec_index);
/* fd_template() : a template arrived (the cache takes <t>); replays data
 * held for it. */
void fd_template(struct fd_msg *m, struct tmpl *t);
/* fd_withdraw() : one template (id), or all (id == set id 2/3 in IPFIX,
 * RFC 7011 §8.1) of kind <options>. */
void fd_withdraw(struct fd_msg *m, uint16_t id, bool all, int options);
/* fd_data_set() : a v9/IPFIX data set: decoded with its template, or held
 * until the template arrives. Shared by both versions. */
void fd_data_set(struct fd_msg *m, uint16_t set_id, const uint8_t *body, size_t len);
/* fd_sequence() : checks a message's sequence number against the last one
 * of the same (version, domain). <count> is what this message advances
 * the counter by (v5 flows, v9 1, IPFIX data records, sFlow 1); for IPFIX,
 * m->options_records of them may not be counted by the exporter (many
 * leave options records out). Call after the message was decoded. */
void fd_sequence(struct fd_msg *m, uint32_t seq, uint32_t count);
/* fd_sflow_counters() : an sFlow generic interface counter record. */
void fd_sflow_counters(struct fd_msg *m, const struct sflow_ifcounters *c);
/* fd_sflow_sample() : counts an sFlow flow (counter == false) or counter
 * sample. */
void fd_sflow_sample(struct fd_msg *m, bool counter);

#endif
