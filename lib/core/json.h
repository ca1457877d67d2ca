/* json.h — JSON writer (into a bounded struct vbuf) and a small DOM parser.
 *
 * The writer tracks nesting and inserts commas itself, so callers only say
 * what to emit. The parser builds a tree of struct json_val with bounded
 * depth and size; it is used for inventories, API request bodies and the
 * lab's state — never on a hot path. */
#ifndef VT_JSON_H
#define VT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "core/err.h"

#define JSON_MAX_DEPTH 64

/* ---- writer ------------------------------------------------------------ */

struct jw {
	struct vbuf *out;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	bool pretty;
	int err;            /* first error (-ENOSPC when out is full) */
};

void jw_init(struct jw *w, struct vbuf *out, bool pretty);
void jw_obj_open(struct jw *w, const char *key);   /* key NULL in arrays/top */
void jw_obj_close(struct jw *w);
void jw_arr_open(struct jw *w, const char *key);
void jw_arr_close(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *v);   /* NULL -> null */
void jw_strn(struct jw *w, const char *key, const char *v, size_t n);
void jw_uint(struct jw *w, const char *key, uint64_t v);
void jw_int(struct jw *w, const char *key, int64_t v);
void jw_double(struct jw *w, const char *key, double v);
void jw_bool(struct jw *w, const char *key, bool v);
void jw_null(struct jw *w, const char *key);
/* jw_raw() : inserts an already-encoded JSON value. */
void jw_raw(struct jw *w, const char *key, const char *json);
/* json_escape() : appends <s> (<n> bytes) as a quoted JSON string. Bytes
 * that are not valid UTF-8 are emitted as \u00XX so output stays valid. */
int json_escape(struct vbuf *b, const char *s, size_t n);

/* ---- parser ------------------------------------------------------------ */

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_ARR, JSON_OBJ };

struct json_val {
	enum json_type type;
	union {
		bool b;
		double num;
		struct {
			char *s;        /* NUL-terminated, unescaped */
			size_t len;
		} str;
		struct {
			struct json_val **items;
			char **keys;    /* objects only, parallel to items */
			size_t n;
		} list;
	} u;
	bool is_int;            /* number had no fraction/exponent */
	int64_t i;              /* valid when is_int */
};

/* json_parse() : parses <len> bytes into a tree owned by the caller (free
 * with json_free). At most <max_nodes> values. NULL on error with a message
 * that gives the byte offset in <err>. */
struct json_val *json_parse(const char *text, size_t len, size_t max_nodes,
			    struct vt_err *err);
void json_free(struct json_val *v);
/* Lookups return NULL when absent or of another type. */
const struct json_val *json_get(const struct json_val *obj, const char *key);
const char *json_get_str(const struct json_val *obj, const char *key);
/* For printing answers: json_str_or() : the string member <key>, else
 * <def>; json_u64() : the non-negative integer member <key>, else 0. */
const char *json_str_or(const struct json_val *obj, const char *key, const char *def);
uint64_t json_u64(const struct json_val *obj, const char *key);
bool json_get_int(const struct json_val *obj, const char *key, int64_t *out);
size_t json_len(const struct json_val *arr);
const struct json_val *json_at(const struct json_val *arr, size_t i);

#endif
