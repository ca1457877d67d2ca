/* Fuzz target: IPFIX messages through the collector's decoder
 * (lib/wire/ipfix_dec.c via flowdec), as a sequence of datagrams sharing
 * one decoder state (see fuzz_flow.h), and the same bytes as a TCP byte
 * stream through ipfix_stream, cut at a point the input chooses. */
#include "fuzz_flow.h"
#include "wire/ipfix_dec.h"

struct st_ctx {
	struct flowdec *fd;
	size_t total;
};

static void on_msg(void *arg, const uint8_t *msg, size_t len)
{
	struct st_ctx *c = arg;
	struct vt_addr a = { { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1 } };

	/* framing invariant: a complete message of its own stated length */
	if (len < IPFIX_HDR_LEN || ld_be16(msg) != 10 || ld_be16(msg + 2) != len)
		__builtin_trap();
	c->total += len;
	flowdec_input(c->fd, &a, 4739, 0, msg, len, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a first byte with bit 0 set keeps the length fields as mutated */
	fz_run(data, size, 10, !(size && (data[0] & 1)));

	struct flowdec_ops ops = { fz_check, fz_ifc };
	struct flowdec_conf conf;
	uint64_t n = 0;
	flowdec_conf_defaults(&conf);
	struct st_ctx c = { flowdec_new(&conf, &ops, &n), 0 };
	struct ipfix_stream s;
	if (!c.fd)
		return 0;
	ipfix_stream_init(&s);
	size_t cut = size ? data[0] % (size + 1) : 0;
	if (ipfix_stream_feed(&s, data, cut, on_msg, &c) == 0)
		(void)ipfix_stream_feed(&s, data + cut, size - cut, on_msg, &c);
	if (c.total + ipfix_stream_pending(&s) > size || ipfix_stream_pending(&s) > IPFIX_MSG_MAX)
		__builtin_trap();
	ipfix_stream_free(&s);
	flowdec_free(c.fd);
	return 0;
}
