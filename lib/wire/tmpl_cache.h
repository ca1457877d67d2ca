/* tmpl_cache.h — NetFlow v9 / IPFIX templates: the shared template
 * representation, record decoding against a template, and the collector's
 * bounded, persistent template cache.
 *
 * Templates are keyed by (exporter, protocol version, observation domain,
 * template id). The exporter is a struct tmpl_owner that the caller embeds
 * in its per-exporter state (flowdec.c): the cache links the owner's
 * templates into a per-owner LRU list so that per-exporter bounds, "drop
 * this exporter" and per-exporter listings cost no lookup. Bounds: a
 * number and a byte size of templates per owner and in total; hitting a
 * bound evicts the least recently used template (per owner first, then
 * globally) and counts it.
 *
 * Persistence: tmpl_cache_save() writes every template to a versioned,
 * CRC-checked file by atomic replace (temp file, fsync, rename);
 * tmpl_cache_load() validates the whole file before using any of it. */
#ifndef VT_TMPL_CACHE_H
#define VT_TMPL_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/be.h"
#include "core/buf.h"
#include "core/err.h"
#include "flow/addr.h"
#include "wire/ie_table.h"

/* The most fields one template may have. A 65535-byte IPFIX set could
 * describe 16383; real templates have a few dozen (pmacct's largest in the
 * corpus has ~100). Larger ones are rejected and counted. */
#define TMPL_MAX_FIELDS 512

/* The kinds of grouped stores (tmpl_finish): a fixed-length template whose
 * fields are all planned stores decodes a record kind by kind, each kind a
 * tight loop, instead of dispatching on every field's op. */
enum tmpl_kind {
	TK_U8_1, TK_U16_2, TK_U32_4, TK_U64_8, TK_U64_4,
	TK_COPY4, TK_COPY6, TK_COPY16,
	TK_TIME_MS8,       /* an absolute time in ms, 8 bytes, and its precision */
	TK_TIME_UP4,       /* an uptime in ms, 4 bytes, and its "seen" flag */
	TK_OTHER,          /* any other planned store: ie_store() */
	TK_N
};

struct tmpl_field {
	uint16_t id;       /* element id, enterprise bit cleared */
	uint16_t len;      /* bytes, or 65535 = variable length */
	uint32_t pen;      /* enterprise number, 0 = IANA */
	uint8_t map;       /* enum ie_map, resolved at creation */
	uint8_t rev;       /* RFC 5103 reverse element (PEN 29305) */
	uint8_t op;        /* enum ie_op: how a fixed-length template applies it */
	uint16_t off;      /* ... the offset it stores at in struct ie_acc */
	uint16_t src;      /* ... and its offset in a record (fixed lengths) */
};

/* One grouped store of a fixed-length template (struct tmpl): where the
 * field's bytes are in a record and where they go in struct ie_acc,
 * next to each other so that decoding a record reads no tmpl_field. */
struct tmpl_step {
	uint16_t off;      /* tmpl_field.off */
	uint16_t src;      /* tmpl_field.src */
	uint16_t fi;       /* the field's index (TK_OTHER needs its op and
			    * length); for a time, where its flag goes */
};

struct tmpl_owner;

struct tmpl {
	/* ---- key ---- */
	struct tmpl_owner *owner;
	uint32_t domain;           /* observation domain / v9 source id */
	uint16_t id;               /* >= 256 */
	uint8_t version;           /* 9 or 10 */
	uint8_t options;           /* an options template */
	/* ---- layout ---- */
	uint16_t nscope;           /* scope fields (options templates), first */
	uint16_t nfields;          /* all fields incl. scope */
	uint32_t min_len;          /* shortest record: fixed lengths + 1 per varlen */
	bool varlen;               /* has variable-length fields */
	/* Every record of this template leaves the accumulator (struct
	 * ie_acc) in the same state whatever state the record before left:
	 * fixed lengths, every field a plain overwrite (times: the finest
	 * precision of a fixed set wins either way), no repeated elements
	 * that count their occurrences, not an options template. A data set
	 * then zeroes the accumulator once, not per record. */
	bool reuse_acc;
	uint64_t have[2], rhave[2];   /* the ie_acc bits of the planned fields */
	/* Grouped stores (enum tmpl_kind): a struct tmpl_step per field, in
	 * the allocation after f[]; steps [kind_end[k - 1], kind_end[k]) are
	 * of kind k, in field order within a kind. 0 steps: not grouped (a
	 * varlen or options template, a field ie_apply() must see in order,
	 * or stores that overlap across kinds), decoded field by field. */
	uint16_t nsteps;
	uint16_t kind_end[TK_N];
	uint64_t used_ms;          /* last time data used it (or it was defined) */
	/* ---- cache links (owned by the cache) ---- */
	struct tmpl *hnext;
	struct tmpl *gprev, *gnext;   /* global LRU, head = most recent */
	struct tmpl *oprev, *onext;   /* owner's LRU */
	struct tmpl_field f[];
};

/* Per-exporter anchor, embedded in the caller's exporter state. Zero it
 * and set <addr> before first use; tmpl_cache_drop_owner() before freeing. */
struct tmpl_owner {
	struct vt_addr addr;
	uint32_t ntmpl;            /* templates held */
	size_t bytes;              /* their size (tmpl_size) */
	uint64_t evicted;          /* templates dropped by the bounds */
	struct tmpl *head, *tail;  /* LRU: head = most recent */
};

/* ---- building and decoding ---------------------------------------------- */

/* tmpl_new() : an unlinked template with room for <nfields> fields (at
 * most TMPL_MAX_FIELDS); NULL with errno ENOMEM / E2BIG. The caller fills
 * the key and f[i].id/len/pen, then calls tmpl_finish(). Free with
 * tmpl_free() unless handed to tmpl_cache_put(). */
struct tmpl *tmpl_new(uint16_t nfields);
void tmpl_free(struct tmpl *t);
/* tmpl_size() : bytes a template occupies (what the byte bounds count). */
size_t tmpl_size(const struct tmpl *t);
/* tmpl_finish() : resolves each field's mapping (ie_lookup) and computes
 * min_len. NetFlow v9 scope fields (v9_scope) are scope types, not
 * elements: only "Interface" (2) is mapped; an IPFIX scope field
 * ingressInterface maps the same way (per-interface sampling). Returns 0, or -EINVAL when a
 * record would be 0 bytes long (no field, or only fields of length 0):
 * such records cannot be delimited in a set. */
int tmpl_finish(struct tmpl *t, bool v9_scope);
/* tmpl_same_layout() : whether two templates describe the same record. */
bool tmpl_same_layout(const struct tmpl *a, const struct tmpl *b);

/* tmpl_decode_record() : decodes one record from <r> into <acc>, which the
 * caller has initialised. Variable-length fields use the IPFIX encoding
 * (1 byte, or 255 + 2 bytes), also in NetFlow v9 (H3C sends it so).
 * Returns 0, or -EBADMSG when the record runs past the reader (the reader
 * is then failed). */
int tmpl_decode_record(const struct tmpl *t, struct vt_rd *r, struct ie_acc *acc);

/* ---- the cache ---------------------------------------------------------- */

struct tmpl_cache_conf {
	uint32_t max_total;          /* templates in the cache */
	uint32_t max_per_owner;      /* templates per exporter */
	size_t max_bytes_total;
	size_t max_bytes_per_owner;
};

struct tmpl_cache_stats {
	uint64_t templates;          /* held now */
	uint64_t bytes;              /* their size */
	uint64_t evicted_owner;      /* dropped by a per-exporter bound */
	uint64_t evicted_total;      /* dropped by a global bound */
};

struct tmpl_cache;

/* tmpl_cache_new() : NULL with errno on allocation failure or EINVAL for
 * zero bounds. */
struct tmpl_cache *tmpl_cache_new(const struct tmpl_cache_conf *conf);
/* tmpl_cache_free() : frees every template; owners are left empty. */
void tmpl_cache_free(struct tmpl_cache *c);

/* tmpl_cache_get() : the template, or NULL. Marks it used at <now_ms>. */
struct tmpl *tmpl_cache_get(struct tmpl_cache *c, struct tmpl_owner *o, uint8_t version,
			    uint32_t domain, uint16_t id, uint64_t now_ms);
/* tmpl_cache_put() : inserts <t> (its key filled, owner set to <o>),
 * replacing a template with the same key. The cache owns <t> afterwards,
 * also on error (then it is freed). May evict other templates to respect
 * the bounds. Returns 0 (new), 1 (replaced an identical template), 2
 * (replaced a different one: a re-definition), or -E2BIG when <t> alone is
 * larger than a byte bound. */
int tmpl_cache_put(struct tmpl_cache *c, struct tmpl_owner *o, struct tmpl *t);
/* tmpl_cache_del() : withdraws one template: 0, or -ENOENT. */
int tmpl_cache_del(struct tmpl_cache *c, struct tmpl_owner *o, uint8_t version,
		   uint32_t domain, uint16_t id);
/* tmpl_cache_del_all() : withdraws all templates (options == 0) or all
 * options templates (options == 1) of a domain; returns how many. */
unsigned tmpl_cache_del_all(struct tmpl_cache *c, struct tmpl_owner *o, uint8_t version,
			    uint32_t domain, int options);
/* tmpl_cache_drop_owner() : frees all templates of <o>. */
void tmpl_cache_drop_owner(struct tmpl_cache *c, struct tmpl_owner *o);
void tmpl_cache_stats(const struct tmpl_cache *c, struct tmpl_cache_stats *st);

/* ---- persistence -------------------------------------------------------- */

/* Finds or creates the owner for an exporter address while loading; NULL
 * skips that exporter's templates (e.g. the exporter table is full). */
typedef struct tmpl_owner *(*tmpl_owner_fn)(void *arg, const struct vt_addr *addr);

/* The file may carry entries of other kinds than templates (kind >= 2):
 * state of the caller's that must survive a restart with the templates
 * (flowdec: sampling tables). The cache stores them without looking. */
struct tmpl_file_ext {
	/* save() : appends whole entries to <b> with tmpl_file_entry_begin/end;
	 * returns how many, or a negative errno */
	int (*save)(void *arg, struct vbuf *b);
	/* load() : called twice per entry: first to check it (apply false:
	 * -EBADMSG refuses the whole file), then to use it (apply true) */
	int (*load)(void *arg, uint8_t kind, const uint8_t *body, size_t len, bool apply);
	void *arg;
};

/* tmpl_file_entry_begin() / _end() : frame an entry of <kind> in <b>:
 * kind u8 | length u32 | body. begin returns the offset end() needs. */
size_t tmpl_file_entry_begin(struct vbuf *b, uint8_t kind);
int tmpl_file_entry_end(struct vbuf *b, size_t at);

/* tmpl_cache_save() : writes all templates (and <ext>'s entries; <ext> may
 * be NULL) to <path> atomically. 0, or a negative errno with a message
 * naming the path in <err>. */
int tmpl_cache_save(const struct tmpl_cache *c, const char *path,
		    const struct tmpl_file_ext *ext, struct vt_err *err);
/* tmpl_cache_load() : reads a file written by tmpl_cache_save() and adds
 * its templates (bounds apply). A missing file is -ENOENT; a damaged one
 * (bad magic, version, checksum, lengths, an entry refused by <ext>) is
 * -EBADMSG with the reason and byte offset in <err>, and adds nothing.
 * Returns the number of templates loaded. */
int tmpl_cache_load(struct tmpl_cache *c, const char *path, tmpl_owner_fn owner_fn,
		    void *arg, const struct tmpl_file_ext *ext, uint64_t now_ms,
		    struct vt_err *err);
/* tmpl_cache_load_mem() : the same from a buffer (fuzzing, tests). */
int tmpl_cache_load_mem(struct tmpl_cache *c, const uint8_t *buf, size_t len,
			tmpl_owner_fn owner_fn, void *arg, const struct tmpl_file_ext *ext,
			uint64_t now_ms, struct vt_err *err);
/* tmpl_cache_serialize() : the file image; the caller frees *<out>. 0 or
 * a negative errno (-ENOSPC beyond TMPL_FILE_MAX). */
int tmpl_cache_serialize(const struct tmpl_cache *c, const struct tmpl_file_ext *ext,
			 uint8_t **out, size_t *len);

#define TMPL_ENTRY_TEMPLATE 1
#define TMPL_FILE_MAGIC "VTAPTMPL"
#define TMPL_FILE_VERSION 1
#define TMPL_FILE_MAX (256u << 20)

#endif
