/* Fuzz target: lib/core/conf parser with a table covering every key type. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/conf.h"
#include "core/timeutil.h"

struct sec {
	char *s;
	bool b;
	uint64_t u, d, z;
	int e;
	struct conf_strlist l;
};
struct root {
	struct sec a;
	struct sec named[4];
	int n;
};

static const char *const names[] = { "x", "y", NULL };
static const struct conf_key keys[] = {
	{ "s", CONF_STR, offsetof(struct sec, s), 0, 64, "d", "", NULL, NULL, NULL, false },
	{ "b", CONF_BOOL, offsetof(struct sec, b), 0, 0, "no", "", NULL, NULL, NULL, false },
	{ "u", CONF_UINT, offsetof(struct sec, u), 0, 1000, "5", "", NULL, NULL, NULL, false },
	{ "d", CONF_DURATION, offsetof(struct sec, d), 0, 100000, "1s", "", NULL, NULL, NULL, false },
	{ "z", CONF_SIZE, offsetof(struct sec, z), 0, 1 << 20, "1k", "", NULL, NULL, NULL, false },
	{ "e", CONF_ENUM, offsetof(struct sec, e), 0, 0, "x", "", names, NULL, NULL, false },
	{ "l", CONF_STRLIST, offsetof(struct sec, l), 0, 4, "", "", NULL, NULL, NULL, false },
};

static void *inst(void *root, const char *name, struct vt_err *err)
{
	struct root *r = root;
	(void)name;
	if (r->n >= 4) {
		vt_err_set(err, -E2BIG, "full");
		return NULL;
	}
	return &r->named[r->n++];
}

static const struct conf_section secs[] = {
	{ "a", "", keys, sizeof(keys) / sizeof(keys[0]), offsetof(struct root, a), NULL },
	{ "n", "", keys, sizeof(keys) / sizeof(keys[0]), 0, inst },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct root r;
	struct vt_err err = { 0 };

	memset(&r, 0, sizeof(r));
	if (conf_defaults(secs, 2, &r, &err) < 0)
		__builtin_trap();
	(void)conf_parse((const char *)data, size, "fuzz", secs, 2, &r, &err);
	conf_free(secs, 2, &r);
	for (int i = 0; i < r.n; i++)
		conf_free_section(&secs[1], &r.named[i]);
	return 0;
}
