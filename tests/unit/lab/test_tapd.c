/* Unit tests: lab/tapd — the relay loop, over SEQPACKET socket pairs that
 * keep frame boundaries as TAP fds do. */
#include "lab/tapd.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/compiler.h"
#include "vt_test.h"

struct rig {
	int vm[2], host[2];     /* [0]: the test's end, [1]: the relay's end */
	uint8_t buf[4096];
	struct tapd_relay r;
};

static void rig_open(struct rig *g, size_t cap)
{
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, g->vm), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, g->host), 0);
	memset(&g->r, 0, sizeof(g->r));
	g->r.fd[0] = g->vm[1];
	g->r.fd[1] = g->host[1];
	g->r.buf = g->buf;
	g->r.cap = cap;
}

static void rig_close(struct rig *g)
{
	for (int i = 0; i < 2; i++) {
		if (g->vm[i] >= 0)
			close(g->vm[i]);
		if (g->host[i] >= 0)
			close(g->host[i]);
	}
}

/* a frame: 12-byte vnet header (gso_type in byte 1) + <len> payload bytes */
static void send_frame(int fd, uint8_t gso, size_t len, uint8_t tag)
{
	uint8_t f[2048];
	memset(f, tag, sizeof(f));
	memset(f, 0, TAPD_VNET_HDR_SZ);
	f[1] = gso;
	CHECK_EQ(write(fd, f, TAPD_VNET_HDR_SZ + len), (ssize_t)(TAPD_VNET_HDR_SZ + len));
}

static void t_both_directions(void)
{
	struct rig g;
	uint8_t in[4096];

	rig_open(&g, sizeof(g.buf));
	static const struct { int side; uint8_t gso; size_t len; } frames[] = {
		{ 0, 0, 60, }, { 0, 1, 1500 }, { 1, 0, 100 }, { 0, 4, 1000 }, { 1, 1, 1400 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(frames); i++) {
		int src = frames[i].side == 0 ? g.vm[0] : g.host[0];
		int dst = frames[i].side == 0 ? g.host[0] : g.vm[0];
		ssize_t n;
		send_frame(src, frames[i].gso, frames[i].len, (uint8_t)(0x40 + i));
		CHECK_EQ(tapd_pump(&g.r, frames[i].side, TAPD_BATCH), 1);
		n = read(dst, in, sizeof(in));
		/* frame boundaries and bytes, vnet header included, unchanged */
		CHECK_EQ(n, (ssize_t)(TAPD_VNET_HDR_SZ + frames[i].len));
		CHECK_EQ(in[1], frames[i].gso);
		CHECK_EQ(in[n - 1], 0x40 + i);
	}
	CHECK_EQ_U64(g.r.st.frames[TAPD_TO_HOST], 3);
	CHECK_EQ_U64(g.r.st.frames[TAPD_TO_VM], 2);
	CHECK_EQ_U64(g.r.st.gso[TAPD_TO_HOST], 2);
	CHECK_EQ_U64(g.r.st.gso[TAPD_TO_VM], 1);
	CHECK_EQ_U64(g.r.st.bytes[TAPD_TO_HOST], 3 * 12 + 60 + 1500 + 1000);
	/* nothing pending: 0, not an error */
	CHECK_EQ(tapd_pump(&g.r, 0, TAPD_BATCH), 0);
	rig_close(&g);
}

static void t_batch_bound(void)
{
	struct rig g;

	rig_open(&g, sizeof(g.buf));
	for (int i = 0; i < 100; i++)
		send_frame(g.vm[0], 0, 40, (uint8_t)i);
	/* at most one batch per wake-up, the rest on the next */
	CHECK_EQ(tapd_pump(&g.r, 0, TAPD_BATCH), TAPD_BATCH);
	CHECK_EQ(tapd_pump(&g.r, 0, TAPD_BATCH), 100 - TAPD_BATCH);
	CHECK_EQ_U64(g.r.st.frames[TAPD_TO_HOST], 100);
	rig_close(&g);
}

static void t_drops_and_ends(void)
{
	struct rig g;

	signal(SIGPIPE, SIG_IGN);
	/* a frame that fills the buffer may have been cut: dropped, counted */
	rig_open(&g, 512);
	send_frame(g.vm[0], 0, 600, 1);
	send_frame(g.vm[0], 0, 100, 2);
	CHECK_EQ(tapd_pump(&g.r, 0, TAPD_BATCH), 2);
	CHECK_EQ_U64(g.r.st.truncated[TAPD_TO_HOST], 1);
	CHECK_EQ_U64(g.r.st.frames[TAPD_TO_HOST], 1);
	/* the other side refusing: dropped and counted, the relay goes on */
	close(g.host[0]);
	g.host[0] = -1;
	send_frame(g.vm[0], 0, 100, 3);
	CHECK_EQ(tapd_pump(&g.r, 0, TAPD_BATCH), 1);
	CHECK_EQ_U64(g.r.st.drops[TAPD_TO_HOST], 1);
	/* the source gone for good: an error, so the relay exits */
	close(g.vm[0]);
	g.vm[0] = -1;
	CHECK(tapd_pump(&g.r, 0, TAPD_BATCH) < 0);
	rig_close(&g);
}

VT_TEST_MAIN(VT_T(t_both_directions), VT_T(t_batch_bound), VT_T(t_drops_and_ends))
