/* busy.h — when a receiver counts as busy for the store (ingest.c):
 * RX_BUSY_ON rate windows in a row at the spin level make it busy, and it
 * stays busy until RX_BUSY_OFF_NS pass without such a window (or it
 * stops). The state is the worker's own; its transitions are what it
 * tells the sink (sink_set_busy). Header-only so a unit test drives it
 * with its own clock. */
#ifndef VT_COLLECTOR_BUSY_H
#define VT_COLLECTOR_BUSY_H

#include <stdbool.h>
#include <stdint.h>

#define RX_BUSY_ON 3
#define RX_BUSY_OFF_NS 1000000000ull

struct busy_state {
	unsigned hot_run;        /* windows in a row at the spin level */
	uint64_t last_hot_ns;    /* end of the last such window */
	bool busy;               /* written by the worker, read by the API (atomic) */
};

/* busy_window() : a rate window ended at <now_ns>, <hot> when it was at
 * the spin level. True when the worker has just become busy. */
static inline bool busy_window(struct busy_state *b, bool hot, uint64_t now_ns)
{
	if (!hot) {
		b->hot_run = 0;
		return false;
	}
	b->last_hot_ns = now_ns;
	if (b->busy || ++b->hot_run < RX_BUSY_ON)
		return false;
	__atomic_store_n(&b->busy, true, __ATOMIC_RELAXED);
	return true;
}

/* busy_expire() : called every loop (and with <stopping> at exit). True
 * when the worker has just stopped being busy. */
static inline bool busy_expire(struct busy_state *b, uint64_t now_ns, bool stopping)
{
	if (!b->busy || (!stopping && now_ns - b->last_hot_ns < RX_BUSY_OFF_NS))
		return false;
	__atomic_store_n(&b->busy, false, __ATOMIC_RELAXED);
	b->hot_run = 0;
	return true;
}

#endif
