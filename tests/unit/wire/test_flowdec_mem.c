/* Unit test: the decoder's memory per exporter (issue 4: 10,000 exporters
 * each with its own templates must fit a documented bound).
 *
 * 10,000 exporters each send what a typical router sends: 4 data
 * templates of 25-30 fields, an options template with its sampling
 * record, and data. The heap in use is measured before and after, and the
 * cost per exporter must stay within the bound written in
 * docs/wire/flow-decoding.md ("Memory"). A second case fills one exporter
 * past its bounds to check the worst case is what the configuration
 * says. */
#include <malloc.h>

#include "fd_test.h"
#include "vt_test.h"

#if defined(__SANITIZE_ADDRESS__)
/* ASan's allocator does not fill mallinfo; it exports this (declared in
 * <sanitizer/allocator_interface.h>, which gcc does not install) */
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t heap_in_use(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}
#endif

#define NEXP 10000
/* The documented bound for this exporter profile (flow-decoding.md). */
#define TYPICAL_BOUND 4096

static size_t build(struct mb *m, int n_tmpl, uint32_t seq)
{
	mb_ipfix(m, 1700000000, seq, 1);
	for (int t = 0; t < n_tmpl; t++) {
		uint16_t nf = (uint16_t)(25 + t);
		mb_set(m, 2);
		wr_u16(&m->w, (uint16_t)(256 + t));
		wr_u16(&m->w, nf);
		for (uint16_t f = 0; f < nf; f++)
			mb_field(m, (uint16_t)(1 + f), 4, f % 7 == 6 ? 2636 : 0);
		mb_set_end(m, 0);
	}
	mb_set(m, 3);
	wr_u16(&m->w, 300);
	wr_u16(&m->w, 3);
	wr_u16(&m->w, 1);
	mb_field(m, 302, 4, 0);
	mb_field(m, 305, 4, 0);
	mb_field(m, 306, 4, 0);
	mb_set_end(m, 0);
	mb_set(m, 300);
	wr_u32(&m->w, 1);
	wr_u32(&m->w, 1);
	wr_u32(&m->w, 999);
	mb_set_end(m, 0);
	mb_set(m, 256);
	for (int f = 0; f < 25; f++)
		wr_u32(&m->w, (uint32_t)f);
	mb_set_end(m, 0);
	return mb_end(m);
}

static void t_ten_thousand_exporters(void)
{
	struct cap c;
	struct flowdec_conf conf;
	static struct mb m;

	flowdec_conf_defaults(&conf);
	struct flowdec *fd = fd_cap_new(&c, &conf);
	size_t before = heap_in_use();
	size_t n = build(&m, 4, 0);
	for (int i = 0; i < NEXP; i++) {
		struct vt_addr a = ip4(10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i);
		CHECK_EQ(flowdec_input(fd, &a, 4739, 1000, m.b, n, (uint64_t)i), 1);
	}
	size_t after = heap_in_use();
	struct flowdec_stats st;
	flowdec_stats(fd, &st);
	CHECK_EQ(st.exporters, NEXP);
	CHECK_EQ(st.templates, NEXP * 5);
	CHECK_EQ(st.records, NEXP);
	/* every record was attributed to its own exporter */
	CHECK_EQ(c.n, NEXP);
	CHECK(addr_cmp(&c.r[7].exporter, &(struct vt_addr){ 0 }) != 0);
	size_t per = (after - before) / NEXP;
	printf("# %d exporters x 5 templates: %zu bytes of heap per exporter "
	       "(templates %llu bytes per exporter)\n", NEXP, per,
	       (unsigned long long)(st.template_bytes / NEXP));
	CHECK(per <= TYPICAL_BOUND);
	CHECK(per > 1000);       /* the measurement measures something */
	flowdec_free(fd);
}

/* One exporter pushing templates and held data beyond its bounds: what it
 * holds never exceeds the configured per-exporter bounds. */
static void t_worst_case_exporter(void)
{
	struct cap c;
	struct flowdec_conf conf;
	static struct mb m;

	flowdec_conf_defaults(&conf);
	conf.max_template_bytes_per_exporter = 16384;
	conf.hold_bytes_per_exporter = 8192;
	struct flowdec *fd = fd_cap_new(&c, &conf);
	struct vt_addr a = ip4(10, 0, 0, 1);
	for (int r = 0; r < 200; r++) {
		mb_ipfix(&m, 1700000000, 0, 1);
		mb_set(&m, 2);
		wr_u16(&m.w, (uint16_t)(256 + r));
		wr_u16(&m.w, 100);
		for (uint16_t f = 0; f < 100; f++)
			mb_field(&m, (uint16_t)(1 + f), 4, 0);
		mb_set_end(&m, 0);
		mb_set(&m, (uint16_t)(10000 + r));      /* data that never gets a template */
		wr_zero(&m.w, 400);
		mb_set_end(&m, 0);
		size_t n = mb_end(&m);
		flowdec_input(fd, &a, 1, 1000, m.b, n, 1);
	}
	struct flowdec_stats st;
	flowdec_stats(fd, &st);
	struct fd_exporter_stats es = exp_stats(fd, a);
	CHECK(st.template_bytes <= conf.max_template_bytes_per_exporter);
	CHECK(es.templates_evicted > 0);
	CHECK(es.held_bytes_now <= conf.hold_bytes_per_exporter);
	CHECK(es.no_template_sets > 0);
	printf("# worst case: %llu template bytes (bound %zu), %llu held bytes (bound %zu)\n",
	       (unsigned long long)st.template_bytes, conf.max_template_bytes_per_exporter,
	       (unsigned long long)es.held_bytes_now, conf.hold_bytes_per_exporter);
	flowdec_free(fd);
}

VT_TEST_MAIN(VT_T(t_ten_thousand_exporters), VT_T(t_worst_case_exporter))
