/* tap_bpf.c — the eBPF backend of the tap engine: skeleton lifecycle,
 * adoption of a previous instance, tc attachment, maps and the ring (see
 * tap_bpf.h). */
#include "agent/tap/tap_bpf.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/tap/tap_nl.h"
#include "bpf/tap.skel.h"
#include "core/compiler.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "nl/link.h"

#define RB_BUSY_BIT (1u << 31)
#define RB_DISCARD_BIT (1u << 30)
#define RB_HDR_SZ 8u

struct old_port {
	uint32_t ifindex, slot;
};

struct tap_bpf {
	struct tap_skel *skel;
	int ncpus;
	bool adopted;
	uint64_t start_ns;          /* records older than this are stale */
	uint64_t stale;
	uint32_t vx_ifindex;
	bool vx_owned;              /* we created or adopted it: delete at close */
	struct nl_sock *nl;         /* the engine's rtnetlink socket */
	uint32_t attached[TAP_MAX_PORTS];
	size_t nattached;
	struct old_port old_ports[TAP_MAX_PORTS];
	size_t nold_ports;
	uint32_t old_sess[TAP_MAX_SESSIONS];   /* slot -> id, 0 = none */
	/* ring */
	int ring_fd;
	size_t ring_size;
	void *cons_map, *prod_map;
	uint64_t *cons_pos;
	const uint64_t *prod_pos;
	const uint8_t *ring_data;
};

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	static char buf[65536];   /* a verifier log comes as one message */
	char *line, *save = NULL;

	(void)level;
	/* our own messages say what failed; libbpf's detail is debug output */
	if (log_get_level() < LOG_LVL_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		log_debug("libbpf: %s", line);
	return 0;
}

/* ---- finding a previous instance ----------------------------------------- */

/* The id of our program at <ap> of <ifindex>, 0 if none. */
static uint32_t our_prog_at(uint32_t ifindex, enum bpf_tc_attach_point ap, char *name, size_t nlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = ap);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TAP_TC_HANDLE, .priority = TAP_TC_PRIO);
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd;
	uint32_t id = 0;

	if (bpf_tc_query(&hook, &opts) != 0 || !opts.prog_id)
		return 0;
	fd = bpf_prog_get_fd_by_id(opts.prog_id);
	if (fd < 0)
		return 0;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && strncmp(info.name, "vtap_", 5) == 0) {
		id = opts.prog_id;
		if (name)
			snprintf(name, nlen, "%s", info.name);
	}
	close(fd);
	return id;
}

/* Reuses the maps of program <prog_id> in <skel> (before load). */
static int adopt_maps(struct tap_skel *skel, uint32_t prog_id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info), ids[32];
	int pfd = bpf_prog_get_fd_by_id(prog_id), n = 0;

	if (pfd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = ARRAY_SIZE(ids);
	info.map_ids = (__u64)(unsigned long)ids;
	if (bpf_obj_get_info_by_fd(pfd, &info, &len) != 0) {
		int e = errno;
		close(pfd);
		return -e;
	}
	close(pfd);
	for (__u32 i = 0; i < VT_MIN(info.nr_map_ids, (__u32)ARRAY_SIZE(ids)); i++) {
		struct bpf_map_info mi;
		__u32 ml = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(ids[i]);
		struct bpf_map *m;

		if (mfd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		if (bpf_obj_get_info_by_fd(mfd, &mi, &ml) == 0 &&
		    (m = bpf_object__find_map_by_name(skel->obj, mi.name)) != NULL &&
		    bpf_map__reuse_fd(m, mfd) == 0)
			n++;
		close(mfd);   /* reuse_fd took its own copy */
	}
	return n;
}

/* Looks for our programs on every link of the netns; returns the id of one
 * port program (whose maps are the ones to adopt), 0 if none. */
static uint32_t find_previous(void)
{
	struct if_nameindex *ifs = if_nameindex(), *p;
	uint32_t id = 0;
	char name[32];

	if (!ifs)
		return 0;
	for (p = ifs; p->if_index && !id; p++) {
		id = our_prog_at(p->if_index, BPF_TC_INGRESS, name, sizeof(name));
		if (id && strcmp(name, "vtap_from_vm") != 0)
			id = 0;
	}
	if_freenameindex(ifs);
	return id;
}

static void read_old_tables(struct tap_bpf *b)
{
	int pfd = bpf_map__fd(b->skel->maps.ports), sfd = bpf_map__fd(b->skel->maps.sessions);
	__u32 key, next, *prev = NULL;

	while (b->nold_ports < TAP_MAX_PORTS && bpf_map_get_next_key(pfd, prev, &next) == 0) {
		struct tap_port p;

		if (bpf_map_lookup_elem(pfd, &next, &p) == 0 && p.slot < TAP_MAX_PORTS) {
			b->old_ports[b->nold_ports].ifindex = next;
			b->old_ports[b->nold_ports].slot = p.slot;
			b->nold_ports++;
		}
		key = next;
		prev = &key;
	}
	for (__u32 s = 0; s < TAP_MAX_SESSIONS; s++) {
		struct tap_session ks;
		if (bpf_map_lookup_elem(sfd, &s, &ks) == 0)
			b->old_sess[s] = ks.id;
	}
}

/* ---- tc ------------------------------------------------------------------- */

static int tc_attach(uint32_t ifindex, enum bpf_tc_attach_point ap, int prog_fd)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = ap);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TAP_TC_HANDLE, .priority = TAP_TC_PRIO,
			    .prog_fd = prog_fd, .flags = BPF_TC_F_REPLACE);
	int rc = bpf_tc_hook_create(&hook);

	if (rc && rc != -EEXIST)
		return rc;
	return bpf_tc_attach(&hook, &opts);
}

static int tc_detach(uint32_t ifindex, enum bpf_tc_attach_point ap)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)ifindex, .attach_point = ap);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = TAP_TC_HANDLE, .priority = TAP_TC_PRIO);

	return bpf_tc_detach(&hook, &opts);
}

/* ---- ring ----------------------------------------------------------------- */

static int ring_map(struct tap_bpf *b)
{
	long page = sysconf(_SC_PAGESIZE);

	b->ring_fd = bpf_map__fd(b->skel->maps.ring);
	b->ring_size = bpf_map__max_entries(b->skel->maps.ring);
	b->cons_map = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, b->ring_fd, 0);
	if (b->cons_map == MAP_FAILED) {
		b->cons_map = NULL;
		return -errno;
	}
	/* data pages are mapped twice in a row, so no record wraps */
	b->prod_map = mmap(NULL, (size_t)page + 2 * b->ring_size, PROT_READ, MAP_SHARED, b->ring_fd,
			   page);
	if (b->prod_map == MAP_FAILED) {
		b->prod_map = NULL;
		return -errno;
	}
	b->cons_pos = b->cons_map;
	b->prod_pos = b->prod_map;
	b->ring_data = (const uint8_t *)b->prod_map + page;
	return 0;
}

int tap_bpf_ring_consume(struct tap_bpf *b, unsigned budget, tap_bpf_rec_cb cb, void *arg)
{
	uint64_t cons = __atomic_load_n(b->cons_pos, __ATOMIC_ACQUIRE);
	uint64_t prod = __atomic_load_n(b->prod_pos, __ATOMIC_ACQUIRE);
	int n = 0;

	while (cons < prod && (unsigned)n < budget) {
		const uint8_t *hdr = b->ring_data + (cons & (b->ring_size - 1));
		uint32_t len = __atomic_load_n((const uint32_t *)(const void *)hdr, __ATOMIC_ACQUIRE);
		uint32_t dlen;

		if (len & RB_BUSY_BIT)
			break;   /* the producer is still writing it */
		dlen = len & ~(RB_BUSY_BIT | RB_DISCARD_BIT);
		if (!(len & RB_DISCARD_BIT) && dlen >= sizeof(struct tap_rec)) {
			const struct tap_rec *r = (const void *)(hdr + RB_HDR_SZ);

			if (r->cap_len <= dlen - sizeof(*r)) {
				if (b->adopted && r->ts_ns < b->start_ns) {
					b->stale++;
				} else {
					cb(arg, r, (const uint8_t *)(r + 1));
					n++;
				}
			}
		}
		cons += (dlen + RB_HDR_SZ + 7) & ~7ull;
		__atomic_store_n(b->cons_pos, cons, __ATOMIC_RELEASE);
	}
	return n;
}

int tap_bpf_ring_fd(const struct tap_bpf *b)
{
	return b->ring_fd;
}

uint64_t tap_bpf_stale_records(const struct tap_bpf *b)
{
	return b->stale;
}

/* ---- open / close ----------------------------------------------------------- */

static struct tap_skel *load(const struct tap_bpf_opts *o, uint32_t adopt_id, bool *adopted)
{
	struct tap_skel *skel = tap_skel__open();
	int n = 0;

	*adopted = false;
	if (!skel)
		return NULL;
	if (bpf_map__set_max_entries(skel->maps.ring, (__u32)o->ring_bytes) != 0)
		goto fail;
	/* wake user space at 1/16 of the ring (the engine also drains on a timer) */
	skel->rodata->wake_bytes = o->ring_bytes / 16;
	if (adopt_id) {
		n = adopt_maps(skel, adopt_id);
		if (n <= 0)
			goto fail;
	}
	if (tap_skel__load(skel) != 0)
		goto fail;
	*adopted = n > 0;
	return skel;
fail:
	tap_skel__destroy(skel);
	return NULL;
}

struct tap_bpf *tap_bpf_open(const struct tap_bpf_opts *o, struct vt_err *err)
{
	struct tap_bpf *b = calloc(1, sizeof(*b));
	uint32_t prev;
	bool created = false;
	int rc;

	if (!b) {
		vt_err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	b->nl = o->nl;
	b->ring_fd = -1;
	b->start_ns = mono_ns();
	libbpf_set_print(libbpf_log);
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus <= 0) {
		vt_err_set(err, -EIO, "cannot count CPUs");
		goto fail;
	}
	if (o->ring_bytes < 4096 || (o->ring_bytes & (o->ring_bytes - 1)) || o->ring_bytes > (1u << 30)) {
		vt_err_set(err, -EINVAL, "ring size %llu: a power of 2 between 4 KiB and 1 GiB",
			   (unsigned long long)o->ring_bytes);
		goto fail;
	}
	prev = find_previous();
	if (prev) {
		b->skel = load(o, prev, &b->adopted);
		if (!b->skel)
			log_warn("tap: found programs of a previous vtap but could not adopt their maps; "
				 "counters restart");
	}
	if (!b->skel)
		b->skel = load(o, 0, &b->adopted);
	if (!b->skel) {
		rc = -errno;
		vt_err_set(err, rc ? rc : -EIO,
			   "cannot load the tap eBPF programs: %s (needs CAP_BPF and CAP_NET_ADMIN; "
			   "run with --log-level debug for the verifier's log)",
			   strerror(errno ? errno : EIO));
		goto fail;
	}
	if (b->adopted) {
		read_old_tables(b);
		log_info("tap: adopted the maps of the running tap programs (%zu ports, counters kept)",
			 b->nold_ports);
	}
	rc = tapnl_vxlan_ensure(o->nl, o->vx_name, o->vx_port, &b->vx_ifindex, &created, err);
	if (rc)
		goto fail;
	b->vx_owned = true;
	rc = tc_attach(b->vx_ifindex, BPF_TC_EGRESS, bpf_program__fd(b->skel->progs.vtap_vx_xmit));
	if (rc) {
		vt_err_set(err, rc, "cannot attach to %s egress: %s", o->vx_name, strerror(-rc));
		goto fail;
	}
	rc = ring_map(b);
	if (rc) {
		vt_err_set(err, rc, "cannot map the ring buffer: %s", strerror(-rc));
		goto fail;
	}
	return b;
fail:
	tap_bpf_close(b);
	errno = err && err->code ? -err->code : EIO;
	return NULL;
}

void tap_bpf_close(struct tap_bpf *b)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!b)
		return;
	for (size_t i = 0; i < b->nattached; i++) {
		(void)tc_detach(b->attached[i], BPF_TC_INGRESS);
		(void)tc_detach(b->attached[i], BPF_TC_EGRESS);
	}
	if (b->vx_owned && b->vx_ifindex)
		(void)nl_link_del_index(b->nl, b->vx_ifindex);
	if (b->prod_map)
		munmap(b->prod_map, (size_t)page + 2 * b->ring_size);
	if (b->cons_map)
		munmap(b->cons_map, (size_t)page);
	tap_skel__destroy(b->skel);
	free(b);
}

/* ---- ports ------------------------------------------------------------------ */

int tap_bpf_attach(struct tap_bpf *b, uint32_t ifindex, struct vt_err *err)
{
	int rc = tc_attach(ifindex, BPF_TC_INGRESS, bpf_program__fd(b->skel->progs.vtap_from_vm));
	size_t i;

	if (!rc)
		rc = tc_attach(ifindex, BPF_TC_EGRESS, bpf_program__fd(b->skel->progs.vtap_to_vm));
	if (rc) {
		(void)tc_detach(ifindex, BPF_TC_INGRESS);
		return vt_err_set(err, rc, "cannot attach the tap to ifindex %u: %s", ifindex,
				  strerror(-rc));
	}
	for (i = 0; i < b->nattached; i++)
		if (b->attached[i] == ifindex)
			return 0;
	if (b->nattached < TAP_MAX_PORTS)
		b->attached[b->nattached++] = ifindex;
	return 0;
}

int tap_bpf_detach(struct tap_bpf *b, uint32_t ifindex)
{
	int r1 = tc_detach(ifindex, BPF_TC_INGRESS), r2 = tc_detach(ifindex, BPF_TC_EGRESS);

	for (size_t i = 0; i < b->nattached; i++) {
		if (b->attached[i] == ifindex) {
			b->attached[i] = b->attached[--b->nattached];
			break;
		}
	}
	/* a port that is gone took its filters with it */
	if (r1 == -ENODEV || r1 == -ENOENT)
		r1 = 0;
	if (r2 == -ENODEV || r2 == -ENOENT)
		r2 = 0;
	return r1 ? r1 : r2;
}

int tap_bpf_port_set(struct tap_bpf *b, uint32_t ifindex, const struct tap_port *p)
{
	return bpf_map_update_elem(bpf_map__fd(b->skel->maps.ports), &ifindex, p, BPF_ANY) ? -errno : 0;
}

int tap_bpf_port_del(struct tap_bpf *b, uint32_t ifindex)
{
	if (bpf_map_delete_elem(bpf_map__fd(b->skel->maps.ports), &ifindex) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int tap_bpf_port_old_slot(const struct tap_bpf *b, uint32_t ifindex)
{
	for (size_t i = 0; i < b->nold_ports; i++)
		if (b->old_ports[i].ifindex == ifindex)
			return (int)b->old_ports[i].slot;
	return -1;
}

int tap_bpf_sweep(struct tap_bpf *b, bool (*armed)(void *arg, uint32_t ifindex), void *arg)
{
	struct if_nameindex *ifs = if_nameindex(), *p;
	int pfd = bpf_map__fd(b->skel->maps.ports), n = 0;
	__u32 key, next, *prev = NULL;
	uint32_t stale[TAP_MAX_PORTS];
	size_t nstale = 0;

	for (p = ifs; p && p->if_index; p++) {
		if (p->if_index == b->vx_ifindex || armed(arg, p->if_index))
			continue;
		if (our_prog_at(p->if_index, BPF_TC_INGRESS, NULL, 0) ||
		    our_prog_at(p->if_index, BPF_TC_EGRESS, NULL, 0)) {
			(void)tc_detach(p->if_index, BPF_TC_INGRESS);
			(void)tc_detach(p->if_index, BPF_TC_EGRESS);
			log_info("tap: removed a previous tap from %s (not armed now)", p->if_name);
			n++;
		}
	}
	if (ifs)
		if_freenameindex(ifs);
	while (nstale < TAP_MAX_PORTS && bpf_map_get_next_key(pfd, prev, &next) == 0) {
		if (!armed(arg, next))
			stale[nstale++] = next;
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < nstale; i++)
		(void)bpf_map_delete_elem(pfd, &stale[i]);
	return n + (int)nstale;
}

/* ---- sessions ---------------------------------------------------------------- */

int tap_bpf_session_set(struct tap_bpf *b, uint32_t slot, const struct tap_session *ks,
			const struct tap_rule *kr)
{
	int rfd = bpf_map__fd(b->skel->maps.rules);

	if (slot >= TAP_MAX_SESSIONS)
		return -EINVAL;
	/* rules first: a port only points at the slot once the entry is whole */
	for (uint32_t i = 0; i < ks->nrules && i < TAP_MAX_RULES; i++) {
		uint32_t k = slot * TAP_MAX_RULES + i;
		if (bpf_map_update_elem(rfd, &k, &kr[i], BPF_ANY) != 0)
			return -errno;
	}
	if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.sessions), &slot, ks, BPF_ANY) != 0)
		return -errno;
	return 0;
}

int tap_bpf_live_set(struct tap_bpf *b, uint32_t slot, bool up)
{
	uint32_t v = up ? TAP_LIVE_UP : 0;

	return bpf_map_update_elem(bpf_map__fd(b->skel->maps.sess_live), &slot, &v, BPF_ANY) ? -errno : 0;
}

int tap_bpf_session_old_slot(const struct tap_bpf *b, uint32_t id)
{
	for (int s = 0; s < TAP_MAX_SESSIONS; s++)
		if (b->old_sess[s] == id)
			return s;
	return -1;
}

uint32_t tap_bpf_session_old_id(const struct tap_bpf *b, uint32_t slot)
{
	return slot < TAP_MAX_SESSIONS ? b->old_sess[slot] : 0;
}

static void zero_percpu(int fd, uint32_t key, size_t vsize, int ncpus)
{
	size_t n = ((vsize + 7) & ~(size_t)7) * (size_t)ncpus;
	void *z = calloc(1, n);

	if (z) {
		(void)bpf_map_update_elem(fd, &key, z, BPF_ANY);
		free(z);
	}
}

void tap_bpf_session_reset(struct tap_bpf *b, uint32_t slot)
{
	struct tap_sess_state st;

	memset(&st, 0, sizeof(st));
	zero_percpu(bpf_map__fd(b->skel->maps.sess_ctr), slot, sizeof(struct tap_sess_ctr), b->ncpus);
	(void)bpf_map_update_elem(bpf_map__fd(b->skel->maps.sess_state), &slot, &st, BPF_ANY);
	b->old_sess[slot % TAP_MAX_SESSIONS] = 0;
}

void tap_bpf_port_reset(struct tap_bpf *b, uint32_t slot)
{
	zero_percpu(bpf_map__fd(b->skel->maps.port_ctr), slot, sizeof(struct tap_port_ctr), b->ncpus);
}

/* Sums a per-CPU value of <n> u64 counters. */
static int sum_percpu(int fd, uint32_t key, uint64_t *out, size_t n, int ncpus)
{
	size_t stride = ((n * 8 + 7) & ~(size_t)7) / 8;
	uint64_t *v = calloc(stride * (size_t)ncpus, 8);

	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, v) != 0) {
		int e = errno;
		free(v);
		return -e;
	}
	memset(out, 0, n * 8);
	for (int c = 0; c < ncpus; c++)
		for (size_t i = 0; i < n; i++)
			out[i] += v[(size_t)c * stride + i];
	free(v);
	return 0;
}

int tap_bpf_session_ctr(struct tap_bpf *b, uint32_t slot, struct tap_sess_ctr *out)
{
	return sum_percpu(bpf_map__fd(b->skel->maps.sess_ctr), slot, (uint64_t *)out,
			  sizeof(*out) / 8, b->ncpus);
}

int tap_bpf_port_ctr(struct tap_bpf *b, uint32_t slot, struct tap_port_ctr *out)
{
	return sum_percpu(bpf_map__fd(b->skel->maps.port_ctr), slot, (uint64_t *)out,
			  sizeof(*out) / 8, b->ncpus);
}

uint32_t tap_bpf_vx_ifindex(const struct tap_bpf *b)
{
	return b->vx_ifindex;
}

bool tap_bpf_adopted(const struct tap_bpf *b)
{
	return b->adopted;
}
