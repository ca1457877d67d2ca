/* Fuzz target: the collector's template file loader (templates and the
 * sampling-state entries flowdec adds), through flowdec_templates_load_mem.
 * Whatever loads must serialise to a file that loads again to the same
 * number of templates and the same image. */
#include <stdlib.h>
#include <string.h>

#include "wire/flowdec.h"

static void on_rec(void *arg, const struct flow_rec *r, const struct flowdec_src *s)
{
	(void)arg;
	(void)r;
	(void)s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flowdec_ops ops = { on_rec, NULL };
	struct flowdec_conf conf;
	struct vt_err err;
	uint8_t *img = NULL, *img2 = NULL;
	size_t len, len2;

	flowdec_conf_defaults(&conf);
	conf.max_exporters = 16;
	conf.max_templates = 64;
	conf.max_templates_per_exporter = 16;
	struct flowdec *a = flowdec_new(&conf, &ops, NULL), *b = flowdec_new(&conf, &ops, NULL);
	if (!a || !b)
		goto out;
	int r = flowdec_templates_load_mem(a, data, size, 1, &err);
	if (r < 0)
		goto out;
	struct flowdec_stats st;
	flowdec_stats(a, &st);
	if (flowdec_templates_serialize(a, &img, &len) < 0)
		goto out;
	if (flowdec_templates_load_mem(b, img, len, 1, &err) != (int)st.templates)
		__builtin_trap();
	if (flowdec_templates_serialize(b, &img2, &len2) < 0 || len2 != len)
		__builtin_trap();
out:
	free(img);
	free(img2);
	flowdec_free(a);
	flowdec_free(b);
	return 0;
}
