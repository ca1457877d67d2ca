/* Unit tests: lib/wire/pcapng_wr — block encoders byte for byte, the
 * rotated ring (sizes, counts, numbering across restarts), and the files
 * read back by our test reader and by the real peers, tshark and capinfos. */
#include "wire/pcapng_wr.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pcap_min.h"
#include "vt_test.h"

static void t_shb_bytes(void)
{
	uint8_t buf[128];
	struct vt_wr w = wr_init(buf, sizeof(buf));
	static const uint8_t want[] = {
		0x0a, 0x0d, 0x0d, 0x0a, 40, 0, 0, 0,          /* type, total length */
		0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0,           /* BOM, v1.0 */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* section length -1 */
		4, 0, 4, 0, 'v', 't', 'a', 'p',               /* shb_userappl "vtap" */
		0, 0, 0, 0,                                   /* opt_endofopt */
		40, 0, 0, 0,
	};

	CHECK_EQ(pcapng_put_shb(&w, NULL, "", "vtap"), 40);
	CHECK_EQ(wr_len(&w), sizeof(want));
	CHECK_MEM(buf, want, sizeof(want));
}

static void t_idb_bytes(void)
{
	uint8_t buf[128];
	struct vt_wr w = wr_init(buf, sizeof(buf));
	struct pcapng_if ifc = { 1, 0, "web-1", "uuid" };
	static const uint8_t want[] = {
		1, 0, 0, 0, 52, 0, 0, 0,
		1, 0, 0, 0, 0, 0, 0, 0,                         /* linktype 1, snaplen 0 */
		2, 0, 5, 0, 'w', 'e', 'b', '-', '1', 0, 0, 0,   /* if_name, padded */
		3, 0, 4, 0, 'u', 'u', 'i', 'd',                 /* if_description */
		9, 0, 1, 0, 9, 0, 0, 0,                         /* if_tsresol = 9 */
		0, 0, 0, 0,
		52, 0, 0, 0,
	};

	CHECK_EQ(pcapng_idb_size(&ifc), sizeof(want));
	CHECK_EQ(pcapng_put_idb(&w, &ifc), 52);
	CHECK_MEM(buf, want, sizeof(want));
	/* no room: nothing written */
	w = wr_init(buf, 51);
	CHECK_EQ(pcapng_put_idb(&w, &ifc), -ENOSPC);
	CHECK_EQ(wr_len(&w), 0);
}

static void t_epb_bytes(void)
{
	uint8_t buf[128];
	struct vt_wr w = wr_init(buf, sizeof(buf));
	static const uint8_t data[5] = { 0xde, 0xad, 0xbe, 0xef, 0x01 };
	static const uint8_t want[] = {
		6, 0, 0, 0, 52, 0, 0, 0,
		2, 0, 0, 0,                                     /* interface 2 */
		0x01, 0x00, 0x00, 0x00, 0x04, 0x03, 0x02, 0x01, /* ts 0x0000000101020304 high, low */
		5, 0, 0, 0, 60, 0, 0, 0,                        /* caplen 5, origlen 60 */
		0xde, 0xad, 0xbe, 0xef, 0x01, 0, 0, 0,
		2, 0, 4, 0, 2, 0, 0, 0,                         /* epb_flags outbound */
		0, 0, 0, 0,
		52, 0, 0, 0,
	};

	CHECK_EQ(pcapng_epb_size(5, PCAPNG_EPB_OUTBOUND), sizeof(want));
	CHECK_EQ(pcapng_put_epb(&w, 2, 0x0000000101020304ull, data, 5, 60, PCAPNG_EPB_OUTBOUND), 52);
	CHECK_MEM(buf, want, sizeof(want));
	/* without flags: no options at all; origlen never below caplen */
	w = wr_init(buf, sizeof(buf));
	CHECK_EQ(pcapng_put_epb(&w, 0, 0, data, 4, 0, 0), 32 + 4);
	CHECK_EQ(ld_le32(buf + 24), 4);
	CHECK_EQ(pcapng_epb_size(4, 0), 36);
}

static char tmpdir[] = "/tmp/vtap-pcapng-XXXXXX";

static int count_files(const char *prefix)
{
	int n = 0;
	char p[512];

	for (int s = 1; s < 100; s++) {
		snprintf(p, sizeof(p), "%s/%s_%06d.pcapng", tmpdir, prefix, s);
		if (access(p, F_OK) == 0)
			n++;
	}
	return n;
}

static void rm_all(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -f %s/*.pcapng", tmpdir);
	CHECK_EQ(system(cmd), 0);
}

/* Two interfaces, 300 packets of 200 bytes, rotated at 16 KiB, 3 kept:
 * every file starts with SHB + both IDBs; the packets of the kept files are
 * the last ones written; directions and interface ids survive. */
static void t_ring_rotation(void)
{
	struct pcapng_ring_opts o = { .dir = tmpdir, .prefix = "s1", .file_size = 16384,
				      .file_count = 3, .app = "vtap test", .buf_size = 4096 };
	struct vt_err err = { 0 };
	struct pcapng_ring *r = pcapng_ring_open(&o, &err);
	struct pcapng_if a = { 1, 0, "vm-a", "uuid=a host=h port=vp-a" };
	struct pcapng_if b = { 1, 0, "vm-b", "uuid=b host=h port=vp-b" };
	uint8_t frame[200];
	unsigned seen = 0, last_seq = 0;
	bool order_ok = true;

	CHECK(r != NULL);
	if (!r) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	CHECK_EQ(pcapng_ring_add_if(r, &a), 0);
	CHECK_EQ(pcapng_ring_add_if(r, &b), 1);
	memset(frame, 0, sizeof(frame));
	for (uint32_t i = 1; i <= 300; i++) {
		st_be32(frame + 20, i);   /* sequence number inside the frame */
		CHECK_EQ(pcapng_ring_packet(r, i & 1, 1700000000000000000ull + i, frame,
					    sizeof(frame), 1514,
					    (i & 1) ? PCAPNG_EPB_INBOUND : PCAPNG_EPB_OUTBOUND), 0);
	}
	CHECK_EQ(pcapng_ring_packet(r, 2, 0, frame, 10, 10, 0), -EINVAL);
	CHECK_EQ(pcapng_ring_flush(r), 0);
	CHECK_EQ_U64(pcapng_ring_stats(r)->packets, 300);
	CHECK_EQ_U64(pcapng_ring_stats(r)->write_errors, 1);
	pcapng_ring_close(r);

	/* 300 * 236-byte EPBs + headers = ~71 KB: 5 files made, 3 kept */
	CHECK_EQ(count_files("s1"), 3);
	for (int s = 3; s <= 5; s++) {
		char p[512];
		struct pcap_min pm;
		const uint8_t *d;
		uint32_t cl, wl;
		int rc;

		snprintf(p, sizeof(p), "%s/s1_%06d.pcapng", tmpdir, s);
		CHECK_EQ(pm_open(&pm, p), 0);
		while ((rc = pm_next(&pm, &d, &cl, &wl)) == 1) {
			uint32_t seq = ld_be32(d + 20);
			CHECK_EQ(pm.nifs, 2);
			CHECK_EQ(cl, 200);
			CHECK_EQ(wl, 1514);
			CHECK_EQ(pm.ifid, seq & 1);
			CHECK_EQ(pm.epb_flags, (seq & 1) ? 1 : 2);
			if (last_seq && seq != last_seq + 1)
				order_ok = false;
			last_seq = seq;
			seen++;
		}
		CHECK_EQ(rc, 0);
		pm_close(&pm);
	}
	CHECK(order_ok);
	CHECK_EQ(last_seq, 300);
	CHECK(seen > 150 && seen < 300);
}

/* A restart continues the numbering and applies the count limit to the
 * files it finds. */
static void t_ring_restart(void)
{
	struct pcapng_ring_opts o = { .dir = tmpdir, .prefix = "s1", .file_size = 0,
				      .file_count = 2 };
	struct vt_err err = { 0 };
	struct pcapng_ring *r = pcapng_ring_open(&o, &err);
	char p[512];

	CHECK(r != NULL);
	if (!r)
		return;
	snprintf(p, sizeof(p), "%s/s1_000006.pcapng", tmpdir);
	CHECK_STR(pcapng_ring_path(r), p);
	pcapng_ring_close(r);
	CHECK_EQ(count_files("s1"), 2);
	snprintf(p, sizeof(p), "%s/s1_000005.pcapng", tmpdir);
	CHECK_EQ(access(p, F_OK), 0);
}

static void t_ring_errors(void)
{
	struct vt_err err = { 0 };
	struct pcapng_ring_opts o = { .dir = "/nonexistent/dir", .prefix = "x" };

	CHECK(pcapng_ring_open(&o, &err) == NULL);
	CHECK_CONTAINS(err.msg, "/nonexistent/dir/x_000001.pcapng");
	o.dir = tmpdir;
	o.prefix = "a/b";
	CHECK(pcapng_ring_open(&o, &err) == NULL);
	CHECK_CONTAINS(err.msg, "prefix");
}

/* The peers: capinfos counts the packets and interfaces, tshark shows the
 * interface names and descriptions and the direction of every packet. A
 * frame bigger than the write buffer goes around it. */
static void t_peers_read_it(void)
{
	struct pcapng_ring_opts o = { .dir = tmpdir, .prefix = "peer", .app = "vtap",
				      .buf_size = 1024 };
	struct vt_err err = { 0 };
	struct pcapng_ring *r;
	struct pcapng_if a = { 1, 0, "web-1", "uuid=6695eb01-f6a4-8304-79aa-97f2502e193f host=hv1 port=vp-web1" };
	uint8_t frame[3000];
	char cmd[1024], line[512], path[512];
	FILE *fp;
	unsigned n = 0, in = 0, out = 0;

	rm_all();
	r = pcapng_ring_open(&o, &err);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_EQ(pcapng_ring_add_if(r, &a), 0);
	/* an Ethernet/IPv4/UDP frame, so tshark dissects something real */
	memset(frame, 0, sizeof(frame));
	memcpy(frame, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	frame[14] = 0x45;
	st_be16(frame + 16, 100 - 14);
	frame[22] = 64;
	frame[23] = 17;
	memcpy(frame + 26, "\xc6\x12\x00\x01\xc6\x12\x00\x02", 8);
	st_be16(frame + 34, 1000);
	st_be16(frame + 36, 2000);
	st_be16(frame + 38, 100 - 34);
	for (int i = 0; i < 10; i++)
		CHECK_EQ(pcapng_ring_packet(r, 0, 1700000000000000000ull + (uint64_t)i * 1000, frame,
					    100, 100, i < 4 ? PCAPNG_EPB_INBOUND : PCAPNG_EPB_OUTBOUND), 0);
	/* bigger than the buffer, sliced: origlen > caplen */
	CHECK_EQ(pcapng_ring_packet(r, 0, 1700000000000020000ull, frame, 2000, 2500,
				    PCAPNG_EPB_OUTBOUND), 0);
	snprintf(path, sizeof(path), "%s", pcapng_ring_path(r));
	/* readable while being written: flush, read, keep writing */
	CHECK_EQ(pcapng_ring_flush(r), 0);
	snprintf(cmd, sizeof(cmd), "capinfos -c -I -M '%s' 2>&1", path);
	fp = popen(cmd, "r");
	CHECK(fp != NULL);
	while (fp && fgets(line, sizeof(line), fp)) {
		unsigned v;
		if (sscanf(line, "Number of packets = %u", &v) == 1 ||
		    sscanf(line, "Number of packets: %u", &v) == 1)
			CHECK_EQ(v, 11);
		if (sscanf(line, "Number of interfaces in file: %u", &v) == 1)
			CHECK_EQ(v, 1);
		n++;
	}
	CHECK(fp && pclose(fp) == 0);
	CHECK(n > 0);
	pcapng_ring_close(r);

	snprintf(cmd, sizeof(cmd),
		 "tshark -r '%s' -T fields -E separator='|' -e frame.interface_name "
		 "-e frame.interface_description -e frame.packet_flags_direction -e frame.len "
		 "-e frame.cap_len -e udp.dstport 2>/dev/null", path);
	fp = popen(cmd, "r");
	CHECK(fp != NULL);
	n = 0;
	while (fp && fgets(line, sizeof(line), fp)) {
		char name[64], desc[256];
		unsigned dir, len, cap, port;

		if (sscanf(line, "%63[^|]|%255[^|]|0x%x|%u|%u|%u", name, desc, &dir, &len, &cap, &port) != 6) {
			fprintf(stderr, "  tshark line: %s", line);
			CHECK(0);
			continue;
		}
		CHECK_STR(name, "web-1");
		CHECK_STR(desc, a.description);
		CHECK_EQ(port, 2000);
		in += dir == 1;
		out += dir == 2;
		if (n == 10) {
			CHECK_EQ(len, 2500);
			CHECK_EQ(cap, 2000);
		}
		n++;
	}
	CHECK(fp && pclose(fp) == 0);
	CHECK_EQ(n, 11);
	CHECK_EQ(in, 4);
	CHECK_EQ(out, 7);
}

static void t_setup(void)
{
	CHECK(mkdtemp(tmpdir) != NULL);
}

static void t_cleanup(void)
{
	rm_all();
	CHECK_EQ(rmdir(tmpdir), 0);
}

VT_TEST_MAIN(VT_T(t_shb_bytes), VT_T(t_idb_bytes), VT_T(t_epb_bytes), VT_T(t_setup),
	     VT_T(t_ring_rotation), VT_T(t_ring_restart), VT_T(t_ring_errors),
	     VT_T(t_peers_read_it), VT_T(t_cleanup))
