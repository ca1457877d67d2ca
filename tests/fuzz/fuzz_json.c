/* Fuzz target: lib/core/json parser (inventories, API bodies, lab state).
 * Anything that parses must re-serialise to JSON that parses again. */
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"

static void emit(struct jw *w, const struct json_val *v, const char *key)
{
	switch (v->type) {
	case JSON_NULL: jw_null(w, key); break;
	case JSON_BOOL: jw_bool(w, key, v->u.b); break;
	case JSON_NUM: jw_double(w, key, v->u.num); break;
	case JSON_STR: jw_strn(w, key, v->u.str.s, v->u.str.len); break;
	case JSON_ARR:
		jw_arr_open(w, key);
		for (size_t i = 0; i < v->u.list.n; i++)
			emit(w, v->u.list.items[i], NULL);
		jw_arr_close(w);
		break;
	case JSON_OBJ:
		jw_obj_open(w, key);
		for (size_t i = 0; i < v->u.list.n; i++)
			emit(w, v->u.list.items[i], v->u.list.keys[i]);
		jw_obj_close(w);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_err err = { 0 };
	struct json_val *v = json_parse((const char *)data, size, 10000, &err);

	if (!v)
		return 0;
	struct vbuf b;
	struct jw w;
	vbuf_init(&b, 1 << 24);
	jw_init(&w, &b, false);
	emit(&w, v, NULL);
	if (!w.err) {
		struct json_val *again = json_parse((const char *)b.data, b.len, 20000, &err);
		if (!again)
			__builtin_trap(); /* our own output must parse */
		json_free(again);
	}
	vbuf_free(&b);
	json_free(v);
	return 0;
}
