/* cmd_taprun.c — `vtap tap-run`, the tap engine's test harness (hidden):
 * arms the given ports of the current network namespace for the given
 * sessions, re-arms a port the moment it reappears (link events), runs
 * until SIGTERM/SIGINT, and prints every counter as one JSON line on
 * SIGUSR1 and at exit. SIGUSR2 disarms every port / arms them again, so a
 * benchmark can alternate tapped and untapped inside one TCP run. The agent replaces it: it calls the same engine
 * API from its netlink handler with identities from libvirt. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/tap/tap.h"
#include "cli/commands.h"
#include "core/buf.h"
#include "core/compiler.h"
#include "core/evloop.h"
#include "core/fileio.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "nl/link.h"

#define MAX_WATCH OPT_LIST_MAX

struct taprun_opts {
	struct opt_strlist ports;
	struct opt_strlist sessions;
	int backend;
	uint64_t ring;
	uint64_t batch;
	const char *vx_name;
	uint64_t vx_port;
	const char *ready;
	const char *host;
	int log_level;
};

static const char *const backends[] = { "ebpf", "afpacket", NULL };
static const char *const levels[] = { "err", "warn", "info", "debug", NULL };

static const struct opt_def taprun_optdefs[] = {
	{ "port", 'p', OPT_STRLIST, offsetof(struct taprun_opts, ports), "IFNAME[=VM,UUID]",
	  "a VM port to tap, with the VM's name and UUID (default: name = IFNAME); "
	  "armed now if it exists, else when it appears; re-armed when it is re-created",
	  0, 0, NULL, NULL },
	{ "session", 's', OPT_STRLIST, offsetof(struct taprun_opts, sessions), "FILE",
	  "a JSON file with a session object, a list of them or {\"sessions\": [...]} "
	  "(see docs/tap.md)", 0, 0, NULL, NULL },
	{ "backend", 'b', OPT_ENUM, offsetof(struct taprun_opts, backend), "NAME",
	  "ebpf (tc programs, in-kernel VXLAN) or afpacket (TPACKET_V3 sockets)", 0, 0,
	  backends, "ebpf" },
	{ "ring-size", 0, OPT_SIZE, offsetof(struct taprun_opts, ring), "SIZE",
	  "eBPF ring buffer (a power of 2) or AF_PACKET ring per port", 65536, 1ull << 30, NULL,
	  "16M" },
	{ "batch", 0, OPT_UINT, offsetof(struct taprun_opts, batch), "N",
	  "copies per sendmmsg() call", 1, 1024, NULL, "64" },
	{ "vxlan-dev", 0, OPT_STR, offsetof(struct taprun_opts, vx_name), "NAME",
	  "the collect_md VXLAN device for in-kernel VXLAN copies", 0, 0, NULL, "vtapvx0" },
	{ "vxlan-port", 0, OPT_UINT, offsetof(struct taprun_opts, vx_port), "PORT",
	  "UDP port of that device", 1, 65535, NULL, "4789" },
	{ "ready", 0, OPT_STR, offsetof(struct taprun_opts, ready), "FILE",
	  "create FILE once the sessions are set and the existing ports armed", 0, 0, NULL, NULL },
	{ "host", 0, OPT_STR, offsetof(struct taprun_opts, host), "NAME",
	  "host name written into pcapng interface descriptions (default: hostname)", 0, 0,
	  NULL, NULL },
	{ "log-level", 'l', OPT_ENUM, offsetof(struct taprun_opts, log_level), "LEVEL",
	  "err, warn, info or debug", 0, 0, levels, "info" },
};

struct watch {
	char ifname[VT_IFNAME_MAX];
	struct vm_ident vm;
	uint32_t ifindex;    /* armed as, 0 = not armed */
};

struct taprun {
	struct evloop *ev;
	struct tap_engine *eng;
	struct watch w[MAX_WATCH];
	size_t nw;
	struct nl_sock *nl;  /* requests: links by name */
	struct nl_sock *mon; /* link events */
	struct ev_io mon_io;
	bool mon_on;
	uint64_t event_ns;   /* when the pending link events were read */
	bool paused;         /* SIGUSR2: ports disarmed until the next one */
	int rc;
};

static int parse_port(const char *spec, struct watch *w, struct vt_err *err)
{
	const char *eq = strchr(spec, '='), *comma;
	size_t n = eq ? (size_t)(eq - spec) : strlen(spec);

	memset(w, 0, sizeof(*w));
	if (n == 0 || n >= VT_IFNAME_MAX)
		return vt_err_set(err, -EINVAL, "--port '%s': the interface name must have 1..%d characters",
				  spec, VT_IFNAME_MAX - 1);
	memcpy(w->ifname, spec, n);
	if (!eq) {
		snprintf(w->vm.name, sizeof(w->vm.name), "%s", w->ifname);
		return 0;
	}
	comma = strchr(eq + 1, ',');
	n = comma ? (size_t)(comma - eq - 1) : strlen(eq + 1);
	if (n == 0 || n >= VT_NAME_MAX)
		return vt_err_set(err, -EINVAL, "--port '%s': the VM name must have 1..%d characters", spec,
				  VT_NAME_MAX - 1);
	memcpy(w->vm.name, eq + 1, n);
	if (comma && uuid_parse(comma + 1, w->vm.uuid) != 0)
		return vt_err_set(err, -EINVAL, "--port '%s': '%s' is not a UUID", spec, comma + 1);
	return 0;
}

static void print_stats(struct taprun *t)
{
	struct vbuf b;
	struct jw w;

	vbuf_init(&b, 16u << 20);
	jw_init(&w, &b, false);
	tap_engine_stats_json(t->eng, &w);
	if (!w.err) {
		fwrite(b.data, 1, b.len, stdout);
		fputc('\n', stdout);
		fflush(stdout);
	}
	vbuf_free(&b);
}

/* <t0_ns>: when the link event was read (0: armed at start). */
static void arm(struct taprun *t, struct watch *w, uint32_t ifindex, uint64_t t0_ns)
{
	struct vt_err err = { 0 };

	if (w->ifindex == ifindex || t->paused)
		return;
	if (w->ifindex)
		(void)tap_port_disarm(t->eng, w->ifindex, true);
	w->ifindex = 0;
	if (tap_port_arm(t->eng, ifindex, w->ifname, &w->vm, &err) != 0) {
		log_err("tap-run: %s", err.msg);
		return;
	}
	w->ifindex = ifindex;
	if (t0_ns)
		log_info("tap-run: %s: link event to armed in %llu us", w->ifname,
			 (unsigned long long)((mono_ns() - t0_ns) / 1000));
}

/* arm_existing() : arms every watched port that exists now; <t0_ns> as
 * for arm(). */
static void arm_existing(struct taprun *t, uint64_t t0_ns, bool say_missing)
{
	for (size_t i = 0; i < t->nw; i++) {
		struct nl_link_info l;

		if (nl_link_get(t->nl, t->w[i].ifname, &l) == 0)
			arm(t, &t->w[i], l.ifindex, t0_ns);
		else if (say_missing)
			log_info("tap-run: %s does not exist yet: armed when it appears", t->w[i].ifname);
	}
}

static int on_link(enum nl_link_event ev, const struct nl_link_info *l, void *arg)
{
	struct taprun *t = arg;

	for (size_t i = 0; i < t->nw; i++) {
		struct watch *w = &t->w[i];

		if (ev == NL_LINK_NEW && strcmp(l->name, w->ifname) == 0) {
			arm(t, w, l->ifindex, t->event_ns);
		} else if (ev == NL_LINK_DEL && w->ifindex == l->ifindex) {
			(void)tap_port_disarm(t->eng, w->ifindex, true);
			w->ifindex = 0;
		}
	}
	return 0;
}

static void on_mon(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct taprun *t = io->arg;

	(void)ev;
	(void)events;
	int r;

	t->event_ns = mono_ns();
	r = nl_link_events_read(t->mon, 64, on_link, t);
	if (r == -ENOBUFS)      /* events were lost: look at every watched name */
		arm_existing(t, t->event_ns, false);
	else if (r < 0 && r != -EAGAIN)
		log_ratelimited(LOG_LVL_WARN, "tap-run: link events: %s", strerror(-r));
}

static void on_signal(struct evloop *ev, int signo, void *arg)
{
	struct taprun *t = arg;

	if (signo == SIGUSR1) {
		print_stats(t);
		return;
	}
	if (signo == SIGUSR2) {
		t->paused = !t->paused;
		for (size_t i = 0; t->paused && i < t->nw; i++) {
			if (t->w[i].ifindex) {
				(void)tap_port_disarm(t->eng, t->w[i].ifindex, false);
				t->w[i].ifindex = 0;
			}
		}
		if (!t->paused)
			arm_existing(t, 0, false);
		log_info("tap-run: %s", t->paused ? "paused (ports disarmed)" : "resumed");
		return;
	}
	ev_stop(ev);
}

static int load_sessions(struct taprun *t, const struct taprun_opts *o)
{
	for (size_t i = 0; i < o->sessions.n; i++) {
		const char *path = o->sessions.v[i];
		struct vbuf b;
		struct tap_session_def *v = NULL;
		struct vt_err err = { 0 };
		int n, rc;

		rc = file_read_all(path, 4u << 20, false, &b, &err);
		if (rc) {
			log_err("tap-run: --session %s", err.msg);
			vbuf_free(&b);
			return rc;
		}
		n = tap_sessions_parse((const char *)b.data, b.len, &v, &err);
		vbuf_free(&b);
		if (n < 0) {
			log_err("tap-run: %s: %s", path, err.msg);
			return n;
		}
		for (int j = 0; j < n && !rc; j++) {
			rc = tap_session_add(t->eng, &v[j], &err);
			if (rc)
				log_err("tap-run: %s: %s", path, err.msg);
		}
		tap_sessions_free(v, (size_t)n);
		if (rc)
			return rc;
	}
	return 0;
}

static int taprun_run(const struct cmd *c, void *opts, int argc, char **argv)
{
	struct taprun_opts *o = opts;
	struct taprun *t = calloc(1, sizeof(*t));
	struct tap_engine_opts eo = { 0 };
	struct vt_err err = { 0 };
	int rc = 1;

	(void)c;
	(void)argc;
	(void)argv;
	if (!t)
		return 1;
	log_set_level((enum log_level)o->log_level);
	if (o->ports.n == 0 || o->sessions.n == 0) {
		fprintf(stderr, "vtap tap-run: give at least one --port and one --session\n");
		free(t);
		return 2;
	}
	for (size_t i = 0; i < o->ports.n; i++) {
		if (parse_port(o->ports.v[i], &t->w[i], &err) != 0) {
			fprintf(stderr, "vtap tap-run: %s\n", err.msg);
			free(t);
			return 2;
		}
	}
	t->nw = o->ports.n;
	t->ev = ev_new(64);
	if (!t->ev)
		goto out;
	ev_signal(t->ev, SIGTERM, on_signal, t);
	ev_signal(t->ev, SIGINT, on_signal, t);
	ev_signal(t->ev, SIGUSR1, on_signal, t);
	ev_signal(t->ev, SIGUSR2, on_signal, t);
	signal(SIGPIPE, SIG_IGN);
	eo.backend = (enum tap_backend)o->backend;
	eo.ring_bytes = o->ring;
	eo.afp_block_bytes = o->ring;
	eo.batch = (unsigned)o->batch;
	eo.vx_name = o->vx_name;
	eo.vx_port = (uint16_t)o->vx_port;
	eo.host = o->host;
	t->eng = tap_engine_new(t->ev, &eo, &err);
	if (!t->eng) {
		log_err("tap-run: %s", err.msg);
		goto out;
	}
	if (load_sessions(t, o) != 0)
		goto out;
	/* subscribe before looking, so a port created in between is not missed */
	t->nl = nl_sock_open(0);
	t->mon = nl_link_events_open(-1);
	if (!t->nl || !t->mon) {
		log_err("tap-run: rtnetlink: %s", strerror(errno));
		goto out;
	}
	if (ev_io_add(t->ev, &t->mon_io, nl_sock_fd(t->mon), EPOLLIN, on_mon, t) != 0) {
		log_err("tap-run: cannot watch link events");
		goto out;
	}
	t->mon_on = true;
	arm_existing(t, 0, true);
	(void)tap_engine_sweep(t->eng);
	if (o->ready) {
		int fd = open(o->ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0 || write(fd, "ready\n", 6) != 6) {
			log_err("tap-run: --ready %s: %s", o->ready, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
	}
	rc = ev_run(t->ev) == 0 ? 0 : 1;
	print_stats(t);
out:
	if (t->mon_on)
		ev_io_del(t->ev, &t->mon_io);
	nl_sock_close(t->mon);
	nl_sock_close(t->nl);
	tap_engine_free(t->eng);
	ev_free(t->ev);
	free(t);
	return rc;
}

const struct cmd cmd_taprun = {
	.name = "tap-run",
	.summary = "run the tap engine on ports of this netns (test harness)",
	.usage = NULL,
	.description =
		"Arms the given VM ports for the sessions in the given files, keeps them armed "
		"across re-creation, and runs until SIGTERM. SIGUSR1 prints all counters as one "
		"JSON line on stdout; so does the exit. SIGUSR2 disarms all ports, the next one "
		"arms them again.",
	.opts = taprun_optdefs,
	.nopts = ARRAY_SIZE(taprun_optdefs),
	.opts_size = sizeof(struct taprun_opts),
	.run = taprun_run,
	.hidden = true,
};
