/* cmd_lab.c — `vtap lab ...`: the command tables of the lab and their
 * glue. The work is done in labnet.c (network), labstate.c (files),
 * tapd.c, seq.c, httpd.c and watch.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "core/out.h"
#include "core/timeutil.h"
#include "lab/httpd.h"
#include "lab/labnet.h"
#include "lab/labstate.h"
#include "lab/seq.h"
#include "lab/tapd.h"
#include "lab/watch.h"
#include "nl/netns.h"

#define PREFIX_OPT(st)                                                                   \
	{ "prefix", 'p', OPT_STR, offsetof(st, prefix), "P",                            \
	  "lab name prefix: namespaces are P-h1, P-vm1 ... (default $VTAP_LAB_PREFIX or vt)", \
	  0, 0, NULL, NULL }

static const char *prefix_of(const char *opt)
{
	return opt ? opt : lab_prefix_default();
}

static int check_prefix(const char *cmd, const char *p)
{
	if (lab_prefix_ok(p))
		return 0;
	fprintf(stderr, "vtap lab %s: option --prefix: '%s' must be 1-%d characters of a-z and 0-9, "
		"starting with a letter\n", cmd, p, LAB_PREFIX_MAX);
	return 2;
}

static int load_or_explain(const char *cmd, struct lab *lab, const char *prefix)
{
	struct vt_err err = { 0 };
	int r = lab_load(lab, prefix, &err);

	if (r == -ENOENT) {
		fprintf(stderr, "vtap lab %s: no lab '%s' is up (start one with 'vtap lab up --prefix %s')\n",
			cmd, prefix, prefix);
		return 1;
	}
	if (r < 0) {
		fprintf(stderr, "vtap lab %s: %s\n", cmd, err.msg);
		return 1;
	}
	return 0;
}

/* ---- up ---------------------------------------------------------------- */

struct up_opts {
	const char *prefix;
	uint64_t hosts, vms;
	const char *tap_vms;
	uint64_t monitor_mtu;
	bool no_ipv6, json;
};

static const struct opt_def up_optdefs[] = {
	PREFIX_OPT(struct up_opts),
	{ "hosts", 'H', OPT_UINT, offsetof(struct up_opts, hosts), "N",
	  "hypervisor namespaces", 1, LAB_MAX_HOSTS, NULL, "2" },
	{ "vms-per-host", 'm', OPT_UINT, offsetof(struct up_opts, vms), "M",
	  "VMs on each host (at most 200 VMs in all)", 1, LAB_MAX_VMS, NULL, "3" },
	{ "tap-vms", 0, OPT_STR, offsetof(struct up_opts, tap_vms), "LIST",
	  "VMs attached by a TAP device and relay (comma list, or 'none'; default: the last VM of h1)",
	  0, 0, NULL, NULL },
	{ "monitor-mtu", 0, OPT_UINT, offsetof(struct up_opts, monitor_mtu), "BYTES",
	  "MTU of the management network (flow export and mirror copies)", 1280, 9000, NULL, "1500" },
	{ "no-ipv6", 0, OPT_FLAG, offsetof(struct up_opts, no_ipv6), NULL,
	  "IPv4 only on the VM network", 0, 0, NULL, NULL },
	{ "json", 'j', OPT_FLAG, offsetof(struct up_opts, json), NULL,
	  "print the inventory as JSON", 0, 0, NULL, NULL },
};

static void print_summary(const struct lab *lab)
{
	char s[64], a[VT_ADDRSTRLEN], b[VT_ADDRSTRLEN];

	printf("lab %s: %u hosts, %u VMs; files in %s/%s/\n", lab->prefix, lab->nhosts, lab->nvms,
	       LAB_RUN_DIR, lab->prefix);
	for (unsigned i = 0; i < lab->nvms; i++) {
		const struct lab_vm *vm = &lab->vms[i];
		printf("  %-5s h%-2u %-8s %-4s %s  %-12s %s\n", vm->name, vm->host, vm->port,
		       vm->port_type == LAB_PORT_TAP ? "tap" : "veth", mac_fmt(vm->mac, s, sizeof(s)),
		       addr_fmt(&vm->ip4, a, sizeof(a)), lab->ipv6 ? addr_fmt(&vm->ip6, b, sizeof(b)) : "");
	}
	printf("  ext %s  mgmt %s  analyzer %s  (mgmt MTU %u)\n", LAB_EXT_IP4, LAB_MGMT_IP,
	       LAB_ANALYZER_IP, lab->monitor_mtu);
}

static int up_run(const struct cmd *c, void *o, int argc, char **argv)
{
	const struct up_opts *opts = o;
	const char *prefix = prefix_of(opts->prefix);
	struct lab *lab = calloc(1, sizeof(*lab));
	struct vt_err err = { 0 };
	char exe[4096];
	int lock = -1, rc = 1;

	(void)c;
	(void)argc;
	(void)argv;
	if (!lab)
		return 1;
	if ((rc = check_prefix("up", prefix)) != 0)
		goto out;
	rc = 1;
	if (lab_init(lab, prefix, (unsigned)opts->hosts, (unsigned)opts->vms, opts->tap_vms, &err) < 0) {
		fprintf(stderr, "vtap lab up: %s\n", err.msg);
		rc = 2;
		goto out;
	}
	lab->monitor_mtu = (uint32_t)opts->monitor_mtu;
	lab->ipv6 = !opts->no_ipv6;
	if (labnet_self_exe(exe, sizeof(exe)) < 0) {
		fprintf(stderr, "vtap lab up: cannot find my own executable\n");
		goto out;
	}
	/* lock first, then look: two `lab up` of one prefix must not both pass
	 * the check (the loser's cleanup would remove the winner's lab) */
	lock = lab_lock(prefix, 5000, true);
	if (lock < 0) {
		fprintf(stderr, "vtap lab up: lab '%s' is busy: %s\n", prefix, strerror(-lock));
		goto out;
	}
	{
		char state[256], fabric[64];
		lab_path(state, sizeof(state), prefix, "state.json");
		lab_ns_name(fabric, sizeof(fabric), prefix, "fabric");
		if (access(state, F_OK) == 0 || nl_netns_exists(fabric)) {
			fprintf(stderr, "vtap lab up: lab '%s' exists; remove it with 'vtap lab down --prefix %s'\n",
				prefix, prefix);
			goto out;
		}
	}
	if (labnet_up(lab, exe, &err) < 0) {
		fprintf(stderr, "vtap lab up: %s\n", err.msg);
		goto out;
	}
	if (opts->json) {
		struct vbuf b;
		vbuf_init(&b, 4 << 20);
		if (lab_inventory_json(lab, &b, true) == 0)
			printf("%s\n", vbuf_str(&b));
		vbuf_free(&b);
	} else {
		print_summary(lab);
	}
	rc = 0;
out:
	if (lock >= 0)
		close(lock);
	free(lab);
	return rc;
}

/* ---- down -------------------------------------------------------------- */

struct prefix_opts {
	const char *prefix;
	bool json;
};

static const struct opt_def down_optdefs[] = {
	PREFIX_OPT(struct prefix_opts),
};

static int down_run(const struct cmd *c, void *o, int argc, char **argv)
{
	const struct prefix_opts *opts = o;
	const char *prefix = prefix_of(opts->prefix);
	struct labnet_down_report rep;
	struct vt_err err = { 0 };
	bool existed;
	int rc, lock;

	(void)c;
	(void)argc;
	(void)argv;
	if ((rc = check_prefix("down", prefix)) != 0)
		return rc;
	{
		char dir[256];
		lab_path(dir, sizeof(dir), prefix, NULL);
		existed = access(dir, F_OK) == 0;
	}
	/* a crashed command holds no lock any more; a live one gets a moment */
	lock = lab_lock(prefix, 10000, false);
	if (labnet_down(prefix, &rep, &err) < 0) {
		fprintf(stderr, "vtap lab down: %s\n", err.msg);
		if (lock >= 0)
			close(lock);
		return 1;
	}
	if (lock >= 0)
		close(lock);
	/* the lock file went with the directory: nothing of the lab is left */
	if (!rep.namespaces && !rep.processes && !existed)
		printf("lab %s: nothing to remove\n", prefix);
	else
		printf("lab %s: removed %u namespaces, stopped %u processes%s\n", prefix,
		       rep.namespaces, rep.processes, rep.killed ? " (some needed SIGKILL)" : "");
	return 0;
}

/* ---- status ------------------------------------------------------------ */

static const struct opt_def status_optdefs[] = {
	PREFIX_OPT(struct prefix_opts),
	{ "json", 'j', OPT_FLAG, offsetof(struct prefix_opts, json), NULL,
	  "JSON: the inventory plus each VM's state", 0, 0, NULL, NULL },
};

static const char *vm_state(const struct labnet_vm_status *s)
{
	if (!s->ns)
		return "no-namespace";
	if (!s->port)
		return "no-port";
	if (!s->bridged)
		return "not-bridged";
	if (!s->tapd)
		return "relay-down";
	if (!s->port_up || !s->eth_up)
		return "link-down";
	return "ok";
}

static int status_run(const struct cmd *c, void *o, int argc, char **argv)
{
	const struct prefix_opts *opts = o;
	const char *prefix = prefix_of(opts->prefix);
	struct lab *lab = calloc(1, sizeof(*lab));
	struct labnet_vm_status *st = calloc(LAB_MAX_VMS, sizeof(*st));
	unsigned hosts_ok = 0;
	int problems, rc = 1;

	(void)c;
	(void)argc;
	(void)argv;
	if (!lab || !st)
		goto out;
	if ((rc = check_prefix("status", prefix)) != 0 ||
	    (rc = load_or_explain("status", lab, prefix)) != 0)
		goto out;
	problems = labnet_status(lab, st, &hosts_ok);
	if (opts->json) {
		struct vbuf inv, b;
		struct jw w;
		vbuf_init(&inv, 4 << 20);
		vbuf_init(&b, 8 << 20);
		lab_inventory_json(lab, &inv, false);
		jw_init(&w, &b, true);
		jw_obj_open(&w, NULL);
		jw_str(&w, "prefix", lab->prefix);
		jw_bool(&w, "healthy", problems == 0);
		jw_uint(&w, "problems", (uint64_t)problems);
		jw_uint(&w, "hosts_ok", hosts_ok);
		jw_arr_open(&w, "vms");
		for (unsigned i = 0; i < lab->nvms; i++) {
			const struct lab_vm *vm = &lab->vms[i];
			char host[16];
			jw_obj_open(&w, NULL);
			jw_str(&w, "name", vm->name);
			snprintf(host, sizeof(host), "h%u", vm->host);
			jw_str(&w, "host", host);
			jw_str(&w, "port", vm->port);
			jw_uint(&w, "port_ifindex", st[i].port_ifindex);
			jw_str(&w, "state", vm_state(&st[i]));
			if (vm->port_type == LAB_PORT_TAP)
				jw_uint(&w, "tapd_pid", (uint64_t)vm->tapd_pid);
			jw_obj_close(&w);
		}
		jw_arr_close(&w);
		jw_raw(&w, "inventory", vbuf_str(&inv));
		jw_obj_close(&w);
		printf("%s\n", vbuf_str(&b));
		vbuf_free(&inv);
		vbuf_free(&b);
	} else {
		char s[64], a[VT_ADDRSTRLEN], host[16], state[32];
		static const struct out_col cols[] = {
			{ "vm", "VM", COL_LEFT, COL_STR }, { "host", "HOST", COL_LEFT, COL_STR },
			{ "port", "PORT", COL_LEFT, COL_STR }, { "type", "TYPE", COL_LEFT, COL_STR },
			{ "mac", "MAC", COL_LEFT, COL_STR }, { "ipv4", "IPV4", COL_LEFT, COL_STR },
			{ "uuid", "UUID", COL_LEFT, COL_STR }, { "state", "STATE", COL_LEFT, COL_STR },
		};
		struct out out;
		struct out_table *t = out_table_new(cols, ARRAY_SIZE(cols));
		if (!t)
			goto out;
		out_init(&out, stdout, OUT_FMT_TEXT, false);
		printf("lab %s: %u/%u hosts, %u VMs, %s\n", lab->prefix, hosts_ok, lab->nhosts,
		       lab->nvms, problems ? "PROBLEMS" : "healthy");
		for (unsigned i = 0; i < lab->nvms; i++) {
			const struct lab_vm *vm = &lab->vms[i];
			snprintf(host, sizeof(host), "h%u", vm->host);
			snprintf(state, sizeof(state), "%s", vm_state(&st[i]));
			out_cell_str(t, vm->name);
			out_cell_str(t, host);
			out_cell_str(t, vm->port);
			out_cell_str(t, vm->port_type == LAB_PORT_TAP ? "tap" : "veth");
			out_cell_str(t, mac_fmt(vm->mac, s, sizeof(s)));
			out_cell_str(t, addr_fmt(&vm->ip4, a, sizeof(a)));
			out_cell_str(t, uuid_fmt(vm->uuid, s, sizeof(s)));
			out_cell_str(t, state);
		}
		out_table_print(&out, t, "vms");
		out_finish(&out);
		out_table_free(t);
	}
	rc = problems ? 1 : 0;
out:
	free(lab);
	free(st);
	return rc;
}

/* ---- exec -------------------------------------------------------------- */

static const struct opt_def exec_optdefs[] = {
	PREFIX_OPT(struct prefix_opts),
};

/* resolve_ns() : a lab member name (vm3, h1, mgmt, analyzer, ext, fabric,
 * or the namespace name itself) to its namespace name. */
static int resolve_ns(const char *prefix, const char *name, char *out, size_t cap)
{
	size_t pl = strlen(prefix);
	const char *role = name;

	if (strncmp(name, prefix, pl) == 0 && name[pl] == '-')
		role = name + pl + 1;
	if (!lab_ns_role_ok(role))
		return -EINVAL;
	return lab_ns_name(out, cap, prefix, role);
}

static int exec_run(const struct cmd *c, void *o, int argc, char **argv)
{
	const struct prefix_opts *opts = o;
	const char *prefix = prefix_of(opts->prefix);
	char ns[64];
	int fd, r, first = 1;

	(void)c;
	if ((r = check_prefix("exec", prefix)) != 0)
		return r;
	if (resolve_ns(prefix, argv[0], ns, sizeof(ns)) < 0) {
		fprintf(stderr, "vtap lab exec: '%s' is not a lab member (vmN, hN, mgmt, analyzer, ext, fabric)\n",
			argv[0]);
		return 2;
	}
	if (first < argc && strcmp(argv[first], "--") == 0)
		first++;
	if (first >= argc) {
		fprintf(stderr, "vtap lab exec: missing the command to run in %s\n", argv[0]);
		return 2;
	}
	fd = nl_netns_open(ns);
	if (fd < 0) {
		fprintf(stderr, "vtap lab exec: lab '%s' has no %s (%s)\n", prefix, argv[0], ns);
		return 1;
	}
	r = nl_netns_enter(fd, NL_NETNS_REMOUNT_SYS);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "vtap lab exec: cannot enter %s: %s\n", ns, strerror(-r));
		return 1;
	}
	/* nested `vtap lab` commands default to this lab */
	setenv("VTAP_LAB_PREFIX", prefix, 1);
	setenv("VTAP_LAB_NS", ns, 1);
	execvp(argv[first], argv + first);
	fprintf(stderr, "vtap lab exec: %s: %s\n", argv[first], strerror(errno));
	return 127;
}

/* ---- migrate ----------------------------------------------------------- */

struct migrate_opts {
	const char *prefix;
	uint64_t pause_ms;
	bool json;
};

static const struct opt_def migrate_optdefs[] = {
	PREFIX_OPT(struct migrate_opts),
	{ "pause", 0, OPT_DURATION, offsetof(struct migrate_opts, pause_ms), "DUR",
	  "time between the port leaving the old host and appearing on the new one",
	  0, 60000, NULL, "1s" },
	{ "json", 'j', OPT_FLAG, offsetof(struct migrate_opts, json), NULL,
	  "print the result as JSON", 0, 0, NULL, NULL },
};

static int migrate_run(const struct cmd *c, void *o, int argc, char **argv)
{
	const struct migrate_opts *opts = o;
	const char *prefix = prefix_of(opts->prefix);
	struct lab *lab = calloc(1, sizeof(*lab));
	struct lab_vm *vm;
	struct vt_err err = { 0 };
	char exe[4096];
	uint64_t downtime = 0;
	unsigned from;
	int to, lock = -1, rc = 1;

	(void)c;
	(void)argc;
	if (!lab)
		return 1;
	if ((rc = check_prefix("migrate", prefix)) != 0)
		goto out;
	lock = lab_lock(prefix, 30000, false);
	if (lock == -ENOENT) {
		rc = load_or_explain("migrate", lab, prefix); /* says there is no such lab */
		goto out;
	}
	if (lock < 0) {
		fprintf(stderr, "vtap lab migrate: lab '%s' is busy: %s\n", prefix, strerror(-lock));
		rc = 1;
		goto out;
	}
	if ((rc = load_or_explain("migrate", lab, prefix)) != 0)
		goto out;
	rc = 2;
	vm = lab_vm_find(lab, argv[0]);
	if (!vm) {
		fprintf(stderr, "vtap lab migrate: lab '%s' has no VM '%s' (vm1..vm%u)\n", prefix,
			argv[0], lab->nvms);
		goto out;
	}
	to = lab_host_parse(lab, argv[1]);
	if (to < 0) {
		fprintf(stderr, "vtap lab migrate: lab '%s' has no host '%s' (h1..h%u)\n", prefix,
			argv[1], lab->nhosts);
		goto out;
	}
	{
		/* where the port is, not only what the state says: after a
		 * migration killed halfway, migrating again repairs it */
		bool attached;
		if (labnet_port_host(lab, vm, &attached) == to && attached &&
		    (vm->port_type != LAB_PORT_TAP ||
		     (vm->tapd_pid && lab_proc_is_tapd(vm->tapd_pid, prefix, vm->tapd_start)))) {
			fprintf(stderr, "vtap lab migrate: %s already runs on %s\n", vm->name, argv[1]);
			goto out;
		}
	}
	rc = 1;
	if (labnet_self_exe(exe, sizeof(exe)) < 0)
		goto out;
	from = vm->host;
	if (labnet_migrate(lab, vm, (unsigned)to, opts->pause_ms, exe, &downtime, &err) < 0) {
		fprintf(stderr, "vtap lab migrate: %s\n", err.msg);
		goto out;
	}
	if (opts->json)
		printf("{\"vm\":\"%s\",\"from\":\"h%u\",\"to\":\"h%d\",\"port\":\"%s\","
		       "\"pause_ms\":%llu,\"downtime_ms\":%llu}\n", vm->name, from, to, vm->port,
		       (unsigned long long)opts->pause_ms, (unsigned long long)downtime);
	else
		printf("%s: h%u -> h%d (%s), port down %llu ms\n", vm->name, from, to, vm->port,
		       (unsigned long long)downtime);
	rc = 0;
out:
	if (lock >= 0)
		close(lock);
	free(lab);
	return rc;
}

/* ---- list -------------------------------------------------------------- */

#define LIST_MAX 64

struct list_ctx {
	char prefixes[LIST_MAX][LAB_PREFIX_MAX + 1];
	unsigned nns[LIST_MAX];
	unsigned n;
};

static void list_add(struct list_ctx *l, const char *p, size_t len, bool ns)
{
	unsigned i;

	if (len == 0 || len > LAB_PREFIX_MAX)
		return;
	for (i = 0; i < l->n; i++)
		if (strlen(l->prefixes[i]) == len && strncmp(l->prefixes[i], p, len) == 0)
			break;
	if (i == l->n) {
		if (l->n >= LIST_MAX)
			return;
		memcpy(l->prefixes[i], p, len);
		l->prefixes[i][len] = '\0';
		if (!lab_prefix_ok(l->prefixes[i]))
			return;
		l->n++;
	}
	l->nns[i] += ns;
}

static int list_ns(const char *name, void *arg)
{
	const char *dash = strchr(name, '-');

	if (dash && lab_ns_role_ok(dash + 1))
		list_add(arg, name, (size_t)(dash - name), true);
	return 0;
}

static int list_run(const struct cmd *c, void *o, int argc, char **argv)
{
	const struct prefix_opts *opts = o;
	struct list_ctx l;
	struct vbuf b;
	struct jw w;

	(void)c;
	(void)argc;
	(void)argv;
	memset(&l, 0, sizeof(l));
	nl_netns_list(list_ns, &l);
	vbuf_init(&b, 1 << 20);
	jw_init(&w, &b, false);
	jw_arr_open(&w, NULL);
	for (unsigned i = 0; i < l.n; i++) {
		char state[256];
		bool files;
		lab_path(state, sizeof(state), l.prefixes[i], "inventory.json");
		files = access(state, F_OK) == 0;
		if (opts->json) {
			jw_obj_open(&w, NULL);
			jw_str(&w, "prefix", l.prefixes[i]);
			jw_uint(&w, "namespaces", l.nns[i]);
			jw_bool(&w, "inventory", files);
			jw_obj_close(&w);
		} else {
			printf("%-12s %3u namespaces%s\n", l.prefixes[i], l.nns[i],
			       files ? "" : "  (no inventory: left over, remove with 'vtap lab down')");
		}
	}
	jw_arr_close(&w);
	if (opts->json)
		printf("%s\n", vbuf_str(&b));
	vbuf_free(&b);
	return 0;
}

static const struct opt_def list_optdefs[] = {
	{ "json", 'j', OPT_FLAG, offsetof(struct prefix_opts, json), NULL, "JSON output",
	  0, 0, NULL, NULL },
};

/* ---- watch ------------------------------------------------------------- */

struct watch_cli {
	const char *prefix;
	uint64_t count, timeout_ms;
	const char *ready_file;
};

static const struct opt_def watch_optdefs[] = {
	PREFIX_OPT(struct watch_cli),
	{ "count", 'c', OPT_UINT, offsetof(struct watch_cli, count), "N",
	  "exit after N events (0: never)", 0, 1000000, NULL, "0" },
	{ "timeout", 't', OPT_DURATION, offsetof(struct watch_cli, timeout_ms), "DUR",
	  "exit after DUR (0: never)", 0, 86400000, NULL, "0" },
	{ "ready-file", 0, OPT_STR, offsetof(struct watch_cli, ready_file), "FILE",
	  "create FILE once subscribed (for scripts)", 0, 0, NULL, NULL },
};

static int watch_run(const struct cmd *c, void *o, int argc, char **argv)
{
	const struct watch_cli *opts = o;
	struct watch_opts w = { prefix_of(opts->prefix), argv[0], "br0", opts->count,
				opts->timeout_ms, opts->ready_file };
	int r;

	(void)c;
	(void)argc;
	if ((r = check_prefix("watch", w.prefix)) != 0)
		return r;
	return watch_main(&w);
}

/* ---- traffic helpers --------------------------------------------------- */

static const struct opt_def seq_send_optdefs[] = {
	{ "to", 't', OPT_STR, offsetof(struct seq_send_opts, to), "ADDR:PORT",
	  "destination, [ADDR6]:PORT for IPv6 (required)", 0, 0, NULL, NULL },
	{ "bind", 'b', OPT_STR, offsetof(struct seq_send_opts, bind), "ADDR",
	  "source address", 0, 0, NULL, NULL },
	{ "rate", 'r', OPT_UINT, offsetof(struct seq_send_opts, rate), "PPS",
	  "datagrams per second (0: as fast as possible)", 0, 10000000, NULL, "1000" },
	{ "count", 'c', OPT_UINT, offsetof(struct seq_send_opts, count), "N",
	  "datagrams to send (default 1000 unless --duration)", 0, 1000000000, NULL, NULL },
	{ "duration", 'd', OPT_DURATION, offsetof(struct seq_send_opts, duration_ms), "DUR",
	  "send for DUR instead of a count", 0, 86400000, NULL, NULL },
	{ "size", 's', OPT_UINT, offsetof(struct seq_send_opts, size), "BYTES",
	  "UDP payload bytes", SEQ_HDR_LEN, SEQ_MAX_SIZE, NULL, "64" },
	{ "stream", 0, OPT_UINT, offsetof(struct seq_send_opts, stream), "ID",
	  "stream id carried in every datagram", 1, UINT32_MAX, NULL, "1" },
	{ "end-markers", 0, OPT_UINT, offsetof(struct seq_send_opts, end_markers), "N",
	  "END datagrams (with the total) sent at the end, 10 ms apart", 0, 100, NULL, "3" },
};

static int seq_send_run(const struct cmd *c, void *o, int argc, char **argv)
{
	struct seq_send_opts *opts = o;

	(void)c;
	(void)argc;
	(void)argv;
	if (!opts->to) {
		fprintf(stderr, "vtap lab seq-send: option --to is required\n");
		return 2;
	}
	if (opts->count && opts->duration_ms) {
		fprintf(stderr, "vtap lab seq-send: options --count and --duration exclude each other\n");
		return 2;
	}
	if (!opts->count && !opts->duration_ms)
		opts->count = 1000;
	return seq_send_main(opts);
}

static const struct opt_def seq_recv_optdefs[] = {
	{ "port", 'P', OPT_UINT, offsetof(struct seq_recv_opts, port), "PORT",
	  "UDP port to listen on (required)", 1, 65535, NULL, NULL },
	{ "bind", 'b', OPT_STR, offsetof(struct seq_recv_opts, bind), "ADDR",
	  "address to listen on (default: every address, IPv4 and IPv6)", 0, 0, NULL, NULL },
	{ "stream", 0, OPT_UINT, offsetof(struct seq_recv_opts, stream), "ID",
	  "follow this stream id (0: the first one seen)", 0, UINT32_MAX, NULL, "0" },
	{ "timeout", 't', OPT_DURATION, offsetof(struct seq_recv_opts, timeout_ms), "DUR",
	  "stop after DUR in any case (0: never)", 0, 86400000, NULL, "60s" },
	{ "idle", 'i', OPT_DURATION, offsetof(struct seq_recv_opts, idle_ms), "DUR",
	  "stop after DUR without data once some arrived (0: never)", 0, 86400000, NULL, "0" },
	{ "count", 'c', OPT_UINT, offsetof(struct seq_recv_opts, count), "N",
	  "stop once N distinct numbers arrived (0: at the END marker)", 0, 1000000000, NULL, "0" },
	{ "max-seq", 0, OPT_UINT, offsetof(struct seq_recv_opts, max_seq), "N",
	  "track sequence numbers below N (one bit each)", 1, 1ull << 34, NULL, "16777216" },
	{ "ready-file", 0, OPT_STR, offsetof(struct seq_recv_opts, ready_file), "FILE",
	  "create FILE once listening (for scripts)", 0, 0, NULL, NULL },
	{ "out", 'o', OPT_STR, offsetof(struct seq_recv_opts, out), "FILE",
	  "write the JSON report to FILE instead of stdout", 0, 0, NULL, NULL },
};

static int seq_recv_run(const struct cmd *c, void *o, int argc, char **argv)
{
	const struct seq_recv_opts *opts = o;

	(void)c;
	(void)argc;
	(void)argv;
	if (!opts->port) {
		fprintf(stderr, "vtap lab seq-recv: option --port is required\n");
		return 2;
	}
	return seq_recv_main(opts);
}

static const struct opt_def http_optdefs[] = {
	{ "port", 'P', OPT_UINT, offsetof(struct httpd_opts, port), "PORT",
	  "TCP port to listen on (required)", 1, 65535, NULL, NULL },
	{ "bind", 'b', OPT_STR, offsetof(struct httpd_opts, bind), "ADDR",
	  "address to listen on (default: every address, IPv4 and IPv6)", 0, 0, NULL, NULL },
	{ "count", 'c', OPT_UINT, offsetof(struct httpd_opts, count), "N",
	  "exit after N responses (0: never)", 0, 1000000000, NULL, "0" },
	{ "timeout", 't', OPT_DURATION, offsetof(struct httpd_opts, timeout_ms), "DUR",
	  "exit after DUR (0: never)", 0, 86400000, NULL, "0" },
	{ "ready-file", 0, OPT_STR, offsetof(struct httpd_opts, ready_file), "FILE",
	  "create FILE once listening (for scripts)", 0, 0, NULL, NULL },
};

static int http_run(const struct cmd *c, void *o, int argc, char **argv)
{
	const struct httpd_opts *opts = o;

	(void)c;
	(void)argc;
	(void)argv;
	if (!opts->port) {
		fprintf(stderr, "vtap lab http-serve: option --port is required\n");
		return 2;
	}
	return httpd_main(opts);
}

/* ---- tapd (hidden) ----------------------------------------------------- */

static const struct opt_def tapd_optdefs[] = {
	PREFIX_OPT(struct tapd_opts),
	{ "vm", 0, OPT_STR, offsetof(struct tapd_opts, vm), "VM", "the VM (vmN)", 0, 0, NULL, NULL },
	{ "host", 0, OPT_STR, offsetof(struct tapd_opts, host), "HOST", "its host (hN)",
	  0, 0, NULL, NULL },
	{ "bridge", 0, OPT_STR, offsetof(struct tapd_opts, bridge), "BRIDGE",
	  "the host bridge", 0, 0, NULL, "br0" },
	{ "ready-fd", 0, OPT_UINT, offsetof(struct tapd_opts, ready_fd), "FD",
	  "write 'ready' to FD once the ports are up", 0, 1024, NULL, "0" },
};

static int tapd_run(const struct cmd *c, void *o, int argc, char **argv)
{
	struct tapd_opts *opts = o;

	(void)c;
	(void)argc;
	(void)argv;
	if (!opts->prefix || !opts->vm || !opts->host) {
		fprintf(stderr, "vtap lab tapd: --prefix, --vm and --host are required\n");
		return 2;
	}
	log_init("vtap-tapd", LOG_LVL_INFO, false);
	return tapd_main(opts);
}

/* ---- the table --------------------------------------------------------- */

#define OPTS(defs, st) .opts = defs, .nopts = ARRAY_SIZE(defs), .opts_size = sizeof(st)

static const struct cmd cmd_lab_up = {
	.name = "up",
	.summary = "build a lab: hosts with bridges, VMs on veth and TAP ports, mgmt, analyzer, ext",
	.description =
		"Creates, inside network namespaces named P-*, a fabric (bridges vmnet and mgmt), N "
		"hypervisor namespaces (bridge br0, uplink to vmnet, mgmt0 on the management "
		"network), M VM namespaces per host (eth0 with a MAC, 198.18.1.K/16, "
		"2001:db8:18::1:K/64, a UUID), an outside router ext (198.18.0.1, answering for "
		"198.19.200.0/24), mgmt (198.19.0.250) and analyzer (198.19.0.254). Writes "
		"/run/vtap/lab/P/inventory.json, one libvirt test-driver node per host "
		"(/run/vtap/lab/P/hN.xml) and state.json. Never touches the root namespace.",
	OPTS(up_optdefs, struct up_opts),
	.run = up_run,
};

static const struct cmd cmd_lab_down = {
	.name = "down",
	.summary = "remove a lab: its namespaces, relays, processes and files (idempotent)",
	.description =
		"Finds the lab's namespaces by name in /run/netns (with or without its state file), "
		"stops its TAP relays and any process still running in its namespaces (SIGTERM, "
		"then SIGKILL), removes the namespaces and /run/vtap/lab/P.",
	OPTS(down_optdefs, struct prefix_opts),
	.run = down_run,
};

static const struct cmd cmd_lab_status = {
	.name = "status",
	.summary = "show the lab's VMs and whether each is plugged in and up (exit 1 if not)",
	OPTS(status_optdefs, struct prefix_opts),
	.run = status_run,
};

static const struct cmd cmd_lab_exec = {
	.name = "exec",
	.summary = "run a command inside a lab member's namespace",
	.usage = "NAME [--] CMD [ARG...]",
	.description =
		"NAME is a VM (vm3), a host (h1), mgmt, analyzer, ext or fabric. The command runs "
		"with the member's network namespace and a /sys that shows it (as `ip netns exec`), "
		"with VTAP_LAB_PREFIX set so nested `vtap lab` commands find this lab.",
	OPTS(exec_optdefs, struct prefix_opts),
	.run = exec_run,
	.min_args = 2,
	.max_args = 256,
	.stop_at_args = true,
};

static const struct cmd cmd_lab_migrate = {
	.name = "migrate",
	.summary = "move a VM to another host as live migration looks to the network",
	.usage = "VM HOST",
	.description =
		"The VM's port leaves its host's bridge and namespace; after --pause a port with the "
		"same name, MAC, addresses and UUID joins HOST's bridge (a veth port is moved, a TAP "
		"port is recreated by a new relay on HOST); the VM sends a gratuitous ARP and an "
		"unsolicited neighbour advertisement; inventory.json and the host XMLs follow.",
	OPTS(migrate_optdefs, struct migrate_opts),
	.run = migrate_run,
	.min_args = 2,
	.max_args = 2,
};

static const struct cmd cmd_lab_list = {
	.name = "list",
	.summary = "list the labs on this machine (also left-over ones)",
	OPTS(list_optdefs, struct prefix_opts),
	.run = list_run,
};

static const struct cmd cmd_lab_watch = {
	.name = "watch",
	.summary = "print bridge ports joining and leaving a host's br0, as JSON lines",
	.usage = "HOST",
	OPTS(watch_optdefs, struct watch_cli),
	.run = watch_run,
	.min_args = 1,
	.max_args = 1,
};

static const struct cmd cmd_lab_seq_send = {
	.name = "seq-send",
	.summary = "send a sequence-numbered UDP stream; report what was sent as JSON",
	.description =
		"Datagrams carry a stream id and a sequence number from 0; only datagrams the kernel "
		"accepted are numbered, so the receiver's missing count is exactly the network's "
		"loss. Ends with --end-markers END datagrams carrying the total. Run it in a VM with "
		"`vtap lab exec vm1 -- vtap lab seq-send --to 198.18.1.2:9000`.",
	OPTS(seq_send_optdefs, struct seq_send_opts),
	.run = seq_send_run,
};

static const struct cmd cmd_lab_seq_recv = {
	.name = "seq-recv",
	.summary = "receive a sequence-numbered UDP stream; report received/missing/duplicates as JSON",
	.description =
		"Stops at the sender's END marker (plus 200 ms for stragglers), --count, --idle, "
		"--timeout or SIGTERM, then prints: received, unique, expected, missing, "
		"missing_ranges, duplicates, reordered, last_seq, resumed_after_gap.",
	OPTS(seq_recv_optdefs, struct seq_recv_opts),
	.run = seq_recv_run,
};

static const struct cmd cmd_lab_http = {
	.name = "http-serve",
	.summary = "a tiny HTTP/1.1 server: / and /bytes/N; prints what it served as JSON",
	OPTS(http_optdefs, struct httpd_opts),
	.run = http_run,
};

static const struct cmd cmd_lab_tapd = {
	.name = "tapd",
	.summary = "relay frames between a TAP VM's NIC and its TAP port on the host",
	OPTS(tapd_optdefs, struct tapd_opts),
	.run = tapd_run,
	.hidden = true,
};

static const struct cmd *const lab_subs[] = {
	&cmd_lab_up, &cmd_lab_down, &cmd_lab_status, &cmd_lab_exec, &cmd_lab_migrate,
	&cmd_lab_list, &cmd_lab_watch, &cmd_lab_seq_send, &cmd_lab_seq_recv, &cmd_lab_http,
	&cmd_lab_tapd, NULL,
};

const struct cmd cmd_lab = {
	.name = "lab",
	.summary = "a virtual datacenter in network namespaces: hosts, VMs, migration, traffic",
	.description = "See docs/lab.md for the topology, the addresses and the traffic recipes.",
	.subs = lab_subs,
};
