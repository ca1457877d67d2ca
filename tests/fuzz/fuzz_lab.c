/* Fuzz target: the lab's parsers of network input — the sequence-stream
 * datagrams (lab/seq.c, fed to the receiver's tracker) and the HTTP request
 * heads of `vtap lab http-serve` (lab/httpd.c). The lab's modules are
 * linked into the vtap binary, not libvtap, so they are compiled in here. */
#include <stddef.h>
#include <stdint.h>

#include "../../lab/httpd.c"
#include "../../lab/seq.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpd_req req;
	struct seq_pkt p;
	struct seq_tracker t;
	int r = httpd_parse((const char *)data, size, &req);

	if (r > (int)size)
		__builtin_trap(); /* a head longer than the input */
	if (r > 0) {
		uint64_t len;
		(void)httpd_route(&req, &len);
	}
	if (seq_decode(data, size, &p) == 0) {
		uint8_t buf[SEQ_END_LEN];
		size_t hl = p.type == SEQ_END ? SEQ_END_LEN : SEQ_HDR_LEN;
		/* what decodes re-encodes to the same header (the flags, bytes
		 * 6-7, are ignored on input and sent as 0) */
		if (seq_encode(buf, sizeof(buf), &p, 0) != hl || memcmp(buf, data, 6) != 0 ||
		    memcmp(buf + 8, data + 8, hl - 8) != 0)
			__builtin_trap();
	}
	/* the input as a run of datagrams of 1..64 bytes for the tracker */
	if (seq_tracker_init(&t, 1024, 0) == 0) {
		size_t off = 0;
		while (off < size) {
			size_t n = 1 + data[off] % 64;
			if (n > size - off)
				n = size - off;
			seq_tracker_add(&t, data + off, n, off);
			off += n;
		}
		if (t.unique > t.received || seq_missing(&t) > seq_expected(&t))
			__builtin_trap();
		struct vbuf b;
		vbuf_init(&b, 1 << 20);
		(void)seq_report_json(&t, &b, 16);
		vbuf_free(&b);
		seq_tracker_free(&t);
	}
	return 0;
}
