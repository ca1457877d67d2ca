/* Fuzz target: the collector's template file loader (tmpl_cache_load_mem).
 * Whatever loads must serialise to a file that loads again to the same
 * number of templates. */
#include <stdlib.h>

#include "wire/tmpl_cache.h"

struct owners {
	struct tmpl_owner o[16];
	int n;
};

static struct tmpl_owner *owner(void *arg, const struct vt_addr *a)
{
	struct owners *ow = arg;

	for (int i = 0; i < ow->n; i++)
		if (addr_cmp(&ow->o[i].addr, a) == 0)
			return &ow->o[i];
	if (ow->n == 16)
		return NULL;
	memset(&ow->o[ow->n], 0, sizeof(ow->o[0]));
	ow->o[ow->n].addr = *a;
	return &ow->o[ow->n++];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tmpl_cache_conf conf = { 64, 16, 1 << 20, 1 << 16 };
	struct tmpl_cache *c = tmpl_cache_new(&conf), *d = tmpl_cache_new(&conf);
	struct owners *ow = calloc(2, sizeof(*ow));
	struct vt_err err;
	uint8_t *img = NULL;
	size_t len;

	if (!c || !d || !ow)
		goto out;
	int r = tmpl_cache_load_mem(c, data, size, owner, &ow[0], 1, &err);
	if (r <= 0)
		goto out;
	struct tmpl_cache_stats st;
	tmpl_cache_stats(c, &st);
	if (tmpl_cache_serialize(c, &img, &len) < 0)
		goto out;
	if (tmpl_cache_load_mem(d, img, len, owner, &ow[1], 1, &err) != (int)st.templates)
		__builtin_trap();
out:
	free(img);
	for (int k = 0; ow && k < 2; k++)
		for (int i = 0; i < ow[k].n; i++)
			tmpl_cache_drop_owner(k ? d : c, &ow[k].o[i]);
	tmpl_cache_free(c);
	tmpl_cache_free(d);
	free(ow);
	return 0;
}
