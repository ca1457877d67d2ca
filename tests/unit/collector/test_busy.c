/* Unit tests: src/collector/busy.h — when a receiver counts as busy for
 * the store: three hot windows in a row turn it on, a second without one
 * (or the worker's exit) turns it off, and each transition is reported
 * once. */
#include "collector/busy.h"

#include "vt_test.h"

#define MS 1000000ull

static void test_on_after_three_in_a_row(void)
{
	struct busy_state b = { 0 };
	uint64_t t = 1000 * MS;

	/* two hot, one cold: the run starts over */
	CHECK(!busy_window(&b, true, t += 20 * MS));
	CHECK(!busy_window(&b, true, t += 20 * MS));
	CHECK(!busy_window(&b, false, t += 20 * MS));
	CHECK(!busy_window(&b, true, t += 20 * MS));
	CHECK(!busy_window(&b, true, t += 20 * MS));
	CHECK(!b.busy);
	CHECK(busy_window(&b, true, t += 20 * MS));   /* the third in a row */
	CHECK(b.busy);
	/* reported once: more hot windows change nothing */
	CHECK(!busy_window(&b, true, t += 20 * MS));
	CHECK(!busy_window(&b, false, t += 20 * MS));
	CHECK(b.busy);
}

static void test_off_after_a_quiet_second(void)
{
	struct busy_state b = { 0 };
	uint64_t t = 5000 * MS, last;

	for (int i = 0; i < 3; i++)
		busy_window(&b, true, t += 20 * MS);
	CHECK(b.busy);
	last = t;
	/* cold windows and loops within the second keep it busy */
	CHECK(!busy_window(&b, false, t += 20 * MS));
	CHECK(!busy_expire(&b, last + RX_BUSY_OFF_NS - 1, false));
	CHECK(b.busy);
	/* a hot window restarts the second */
	CHECK(!busy_window(&b, true, last + 500 * MS));
	CHECK(!busy_expire(&b, last + RX_BUSY_OFF_NS, false));
	last += 500 * MS;
	CHECK(busy_expire(&b, last + RX_BUSY_OFF_NS, false));
	CHECK(!b.busy);
	CHECK(!busy_expire(&b, last + 2 * RX_BUSY_OFF_NS, false));   /* once */
	/* and it takes three hot windows again */
	t = last + 3 * RX_BUSY_OFF_NS;
	CHECK(!busy_window(&b, true, t += 20 * MS));
	CHECK(!busy_window(&b, true, t += 20 * MS));
	CHECK(busy_window(&b, true, t += 20 * MS));
}

static void test_off_at_exit(void)
{
	struct busy_state b = { 0 };
	uint64_t t = 0;

	CHECK(!busy_expire(&b, t, true));   /* never busy: nothing to report */
	for (int i = 0; i < 3; i++)
		busy_window(&b, true, t += 20 * MS);
	CHECK(busy_expire(&b, t, true));    /* busy a moment ago, but stopping */
	CHECK(!b.busy);
}

VT_TEST_MAIN(VT_T(test_on_after_three_in_a_row), VT_T(test_off_after_a_quiet_second),
	     VT_T(test_off_at_exit))
