/* watch.c — bridge port events of a lab host (see watch.h).
 *
 * Subscribe first, then dump: a port that joins between the two is seen
 * by the dump or by an event, never by neither. After an event overrun
 * (-ENOBUFS) the dump is repeated and compared with what we knew. */
#include "lab/watch.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/evloop.h"
#include "core/json.h"
#include "core/log.h"
#include "core/timeutil.h"
#include "lab/labstate.h"
#include "nl/link.h"
#include "nl/netns.h"

struct port {
	uint32_t ifindex;
	char name[IFNAMSIZ];
	bool member;
	bool seen;                    /* present in the current dump */
};

struct watch {
	const struct watch_opts *o;
	struct evloop *ev;
	struct nl_sock *events, *sk;
	struct ev_io io;
	struct ev_timer deadline;
	uint32_t bridge;
	struct port ports[WATCH_MAX_LINKS];
	unsigned nports;
	uint64_t emitted, overruns, untracked;
};

static struct port *port_get(struct watch *w, uint32_t ifindex, bool create)
{
	for (unsigned i = 0; i < w->nports; i++)
		if (w->ports[i].ifindex == ifindex)
			return &w->ports[i];
	if (!create)
		return NULL;
	if (w->nports >= WATCH_MAX_LINKS) {
		w->untracked++;
		return NULL;
	}
	memset(&w->ports[w->nports], 0, sizeof(w->ports[0]));
	w->ports[w->nports].ifindex = ifindex;
	return &w->ports[w->nports++];
}

static void emit(struct watch *w, const char *event, const struct nl_link_info *li,
		 const char *name)
{
	struct vbuf b;
	struct jw j;
	char mac[VT_MACSTRLEN];

	vbuf_init(&b, 4096);
	jw_init(&j, &b, false);
	jw_obj_open(&j, NULL);
	jw_uint(&j, "time_ms", wall_ms());
	jw_str(&j, "host", w->o->host);
	jw_str(&j, "event", event);
	jw_str(&j, "port", name);
	jw_uint(&j, "ifindex", li ? li->ifindex : 0);
	jw_str(&j, "bridge", w->o->bridge);
	if (li) {
		jw_str(&j, "kind", li->kind);
		if (li->mac_len == 6)
			jw_str(&j, "mac", mac_fmt(li->mac, mac, sizeof(mac)));
	}
	jw_obj_close(&j);
	printf("%s\n", vbuf_str(&b));
	fflush(stdout);
	vbuf_free(&b);
	w->emitted++;
	if (w->o->count && w->emitted >= w->o->count)
		ev_stop(w->ev);
}

/* update() : applies what the kernel says about one link. */
static void update(struct watch *w, bool deleted, const struct nl_link_info *li, bool quiet)
{
	struct port *p = port_get(w, li->ifindex, !deleted);
	bool member = !deleted && li->master == w->bridge && w->bridge;

	if (!p)
		return;
	p->seen = true;
	if (member && !p->member && !quiet)
		emit(w, "join", li, li->name);
	if (!member && p->member && !quiet)
		emit(w, "leave", li, p->name);
	p->member = member;
	snprintf(p->name, sizeof(p->name), "%s", li->name);
	if (deleted)
		*p = w->ports[--w->nports];
}

static int on_event(enum nl_link_event ev, const struct nl_link_info *li, void *arg)
{
	update(arg, ev == NL_LINK_DEL, li, false);
	return 0;
}

static int on_dump(const struct nl_link_info *li, void *arg)
{
	struct watch *w = arg;

	update(w, false, li, w->emitted == 0 && w->overruns == 0);
	return 0;
}

/* resync() : after lost events, a dump tells who is a member now; links
 * that vanished meanwhile are reported as leaving. */
static void resync(struct watch *w)
{
	for (unsigned i = 0; i < w->nports; i++)
		w->ports[i].seen = false;
	if (nl_link_dump(w->sk, on_dump, w) < 0)
		return;
	for (unsigned i = 0; i < w->nports;) {
		struct port *p = &w->ports[i];
		if (!p->seen) {
			if (p->member)
				emit(w, "leave", NULL, p->name);
			*p = w->ports[--w->nports];
		} else {
			i++;
		}
	}
}

static void on_readable(struct evloop *ev, struct ev_io *io, uint32_t events)
{
	struct watch *w = io->arg;
	int r = nl_link_events_read(w->events, 16, on_event, w);

	(void)ev;
	(void)events;
	if (r == -ENOBUFS) {
		w->overruns++;
		log_warn("watch %s: link events were lost; re-reading the link table", w->o->host);
		resync(w);
	}
}

static void on_stop(struct evloop *ev, int signo, void *arg)
{
	(void)signo;
	(void)arg;
	ev_stop(ev);
}

static void on_deadline(struct evloop *ev, struct ev_timer *t)
{
	(void)t;
	ev_stop(ev);
}

int watch_main(const struct watch_opts *o)
{
	static struct watch w;
	char ns[64];
	int fd = -1, r, rc = 1;

	memset(&w, 0, sizeof(w));
	w.o = o;
	if (lab_ns_name(ns, sizeof(ns), o->prefix, o->host) < 0 || (fd = nl_netns_open(ns)) < 0) {
		log_err("watch: lab '%s' has no host %s", o->prefix, o->host);
		return 2;
	}
	w.events = nl_link_events_open(fd);
	w.sk = nl_netns_sock_open(fd, 0);
	w.ev = ev_new(4);
	if (!w.events || !w.sk || !w.ev) {
		log_err("watch: %s", strerror(errno));
		goto out;
	}
	r = nl_link_index(w.sk, o->bridge);
	if (r < 0) {
		log_err("watch: %s has no bridge %s", o->host, o->bridge);
		goto out;
	}
	w.bridge = (uint32_t)r;
	if (nl_link_dump(w.sk, on_dump, &w) < 0) {
		log_err("watch: cannot list the links of %s", o->host);
		goto out;
	}
	if (ev_io_add(w.ev, &w.io, nl_sock_fd(w.events), EPOLLIN, on_readable, &w) < 0 ||
	    ev_signal(w.ev, SIGTERM, on_stop, NULL) < 0 || ev_signal(w.ev, SIGINT, on_stop, NULL) < 0)
		goto out;
	if (o->timeout_ms) {
		ev_timer_init(&w.deadline, on_deadline, &w);
		ev_timer_start(w.ev, &w.deadline, o->timeout_ms, 0);
	}
	if (o->ready_file) {
		FILE *fp = fopen(o->ready_file, "w");
		if (!fp || fclose(fp) != 0) {
			log_err("watch: cannot write %s", o->ready_file);
			goto out;
		}
	}
	ev_run(w.ev);
	rc = 0;
	if (w.untracked)
		log_warn("watch: %llu links beyond the %d tracked were ignored",
			 (unsigned long long)w.untracked, WATCH_MAX_LINKS);
out:
	ev_free(w.ev);
	nl_sock_close(w.events);
	nl_sock_close(w.sk);
	if (fd >= 0)
		close(fd);
	return rc;
}
