/* ports.c — VM port discovery over link messages (see ports.h). */
#include "agent/ports.h"

#include <errno.h>
#include <fnmatch.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/compiler.h"
#include "core/log.h"

/* A link of the namespace, port or not (what is needed to decide). */
struct lrec {
	uint32_t ifindex;
	char name[IFNAMSIZ];
	bool is_bridge;
	bool seen;                  /* during a resync */
	struct nl_link_info li;     /* the last message about it */
};

struct ports {
	ports_fn fn;
	void *arg;
	char **bridges, **interfaces, **exclude;
	size_t nbridges, ninterfaces, nexclude;
	unsigned kinds;
	uint32_t max_ports;

	struct lrec *links;
	size_t nlinks, caplinks;

	struct port **ports;        /* in order of arrival */
	size_t nports;
	uint32_t *free_slots;       /* FIFO of free slots */
	uint32_t free_head, free_n;
	uint64_t refused;
};

const char *port_kind_name(enum port_kind k)
{
	switch (k) {
	case PORT_KIND_VETH: return "veth";
	case PORT_KIND_TAP: return "tap";
	case PORT_KIND_OTHER: return "other";
	}
	return "?";
}

enum port_kind port_kind_of(const struct nl_link_info *li)
{
	if (strcmp(li->kind, "veth") == 0)
		return PORT_KIND_VETH;
	if (strcmp(li->kind, "tun") == 0 && li->tun_tap)
		return PORT_KIND_TAP;
	return PORT_KIND_OTHER;
}

static char **dup_list(const char *const *v, size_t n)
{
	char **out = calloc(n ? n : 1, sizeof(*out));

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		out[i] = strdup(v[i]);
		if (!out[i]) {
			for (size_t j = 0; j < i; j++)
				free(out[j]);
			free(out);
			return NULL;
		}
	}
	return out;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

struct ports *ports_new(const struct ports_cfg *cfg, ports_fn fn, void *arg)
{
	struct ports *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	if (cfg->max_ports == 0 || cfg->max_ports > 65534) {
		free(ps);
		errno = EINVAL;
		return NULL;
	}
	ps->fn = fn;
	ps->arg = arg;
	ps->kinds = cfg->kinds;
	ps->max_ports = cfg->max_ports;
	ps->bridges = dup_list(cfg->bridges, cfg->nbridges);
	ps->interfaces = dup_list(cfg->interfaces, cfg->ninterfaces);
	ps->exclude = dup_list(cfg->exclude, cfg->nexclude);
	ps->nbridges = cfg->nbridges;
	ps->ninterfaces = cfg->ninterfaces;
	ps->nexclude = cfg->nexclude;
	ps->free_slots = calloc(cfg->max_ports, sizeof(*ps->free_slots));
	if (!ps->bridges || !ps->interfaces || !ps->exclude || !ps->free_slots) {
		ports_free(ps);
		errno = ENOMEM;
		return NULL;
	}
	for (uint32_t i = 0; i < cfg->max_ports; i++)
		ps->free_slots[i] = i;
	ps->free_n = cfg->max_ports;
	return ps;
}

void ports_free(struct ports *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->nports; i++)
		free(ps->ports[i]);
	free(ps->ports);
	free(ps->links);
	free(ps->free_slots);
	free_list(ps->bridges, ps->nbridges);
	free_list(ps->interfaces, ps->ninterfaces);
	free_list(ps->exclude, ps->nexclude);
	free(ps);
}

static bool in_list(char *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return false;
}

static struct lrec *link_find(const struct ports *ps, uint32_t ifindex)
{
	for (size_t i = 0; i < ps->nlinks; i++)
		if (ps->links[i].ifindex == ifindex)
			return &ps->links[i];
	return NULL;
}

/* bridge_of() : the configured bridge with ifindex <master>, or NULL. */
static const struct lrec *bridge_of(const struct ports *ps, uint32_t master)
{
	const struct lrec *l;

	if (!master)
		return NULL;
	l = link_find(ps, master);
	return l && l->is_bridge ? l : NULL;
}

/* wanted() : whether link <l> is a VM port; sets *explicit_if. */
static bool wanted(const struct ports *ps, const struct lrec *l, bool *explicit_if)
{
	*explicit_if = false;
	if (l->is_bridge || (l->li.flags & IFF_LOOPBACK))
		return false;
	if (in_list(ps->interfaces, ps->ninterfaces, l->name)) {
		*explicit_if = true;
		return true;
	}
	if (!bridge_of(ps, l->li.master))
		return false;
	if (!(ps->kinds & port_kind_of(&l->li)))
		return false;
	for (size_t i = 0; i < ps->nexclude; i++)
		if (fnmatch(ps->exclude[i], l->name, 0) == 0)
			return false;
	return true;
}

static struct port *port_find(const struct ports *ps, uint32_t ifindex, size_t *idx)
{
	for (size_t i = 0; i < ps->nports; i++)
		if (ps->ports[i]->ifindex == ifindex) {
			if (idx)
				*idx = i;
			return ps->ports[i];
		}
	return NULL;
}

/* fill() : the port's view of link <l>; returns what changed. */
static unsigned fill(const struct ports *ps, struct port *p, const struct lrec *l, bool explicit_if)
{
	const struct lrec *br = bridge_of(ps, l->li.master);
	unsigned ch = 0;
	bool has_mac = l->li.mac_len == 6;
	bool up = (l->li.flags & IFF_UP) != 0;

	if (strcmp(p->name, l->name) != 0)
		ch |= PORT_CH_NAME;
	if (has_mac != p->has_mac || (has_mac && memcmp(p->mac, l->li.mac, 6) != 0))
		ch |= PORT_CH_MAC;
	if (strcmp(p->alias, l->li.alias) != 0)
		ch |= PORT_CH_ALIAS;
	if (p->master != l->li.master || strcmp(p->bridge, br ? br->name : "") != 0)
		ch |= PORT_CH_BRIDGE;
	if (up != p->up)
		ch |= PORT_CH_STATE;
	p->ifindex = l->ifindex;
	snprintf(p->name, sizeof(p->name), "%s", l->name);
	p->kind = port_kind_of(&l->li);
	p->explicit_if = explicit_if;
	p->master = br ? l->li.master : 0;
	snprintf(p->bridge, sizeof(p->bridge), "%s", br ? br->name : "");
	p->has_mac = has_mac;
	if (has_mac)
		memcpy(p->mac, l->li.mac, 6);
	snprintf(p->alias, sizeof(p->alias), "%s", l->li.alias);
	p->up = up;
	return ch;
}

static void port_remove(struct ports *ps, size_t idx)
{
	struct port *p = ps->ports[idx];

	ps->fn(ps->arg, PORTS_REMOVED, p, 0);
	/* oldest-freed first: the slot goes to the back of the queue */
	ps->free_slots[(ps->free_head + ps->free_n) % ps->max_ports] = p->slot;
	ps->free_n++;
	memmove(&ps->ports[idx], &ps->ports[idx + 1], (ps->nports - idx - 1) * sizeof(ps->ports[0]));
	ps->nports--;
	free(p);
}

/* evaluate() : brings the port of link <l> (may be NULL: gone) in line. */
static int evaluate(struct ports *ps, uint32_t ifindex, const struct lrec *l)
{
	bool explicit_if = false;
	bool want = l && wanted(ps, l, &explicit_if);
	size_t idx;
	struct port *p = port_find(ps, ifindex, &idx);

	if (p && !want) {
		port_remove(ps, idx);
		return 0;
	}
	if (!want)
		return 0;
	if (p) {
		unsigned ch = fill(ps, p, l, explicit_if);
		if (ch)
			ps->fn(ps->arg, PORTS_CHANGED, p, ch);
		return 0;
	}
	if (ps->free_n == 0) {
		if (ps->refused++ == 0 || ps->refused % 100 == 0)
			log_warn("ports: %s not tapped: max_ports (%u) reached (%llu refused)", l->name,
				 ps->max_ports, (unsigned long long)ps->refused);
		return -ENOSPC;
	}
	p = calloc(1, sizeof(*p));
	struct port **v = realloc(ps->ports, (ps->nports + 1) * sizeof(*v));
	if (!p || !v) {
		free(p);
		if (v)
			ps->ports = v;
		return -ENOMEM;
	}
	ps->ports = v;
	p->slot = ps->free_slots[ps->free_head];
	ps->free_head = (ps->free_head + 1) % ps->max_ports;
	ps->free_n--;
	fill(ps, p, l, explicit_if);
	ps->ports[ps->nports++] = p;
	ps->fn(ps->arg, PORTS_ADDED, p, 0);
	return 0;
}

static int evaluate_all(struct ports *ps)
{
	int r = 0;

	/* ports of links that are gone or no longer wanted first, so their
	 * slots are free for the new ones */
	for (size_t i = 0; i < ps->nports;) {
		struct port *p = ps->ports[i];
		const struct lrec *l = link_find(ps, p->ifindex);
		bool explicit_if;
		if (!l || !wanted(ps, l, &explicit_if)) {
			port_remove(ps, i);
			continue;
		}
		i++;
	}
	for (size_t i = 0; i < ps->nlinks; i++) {
		int e = evaluate(ps, ps->links[i].ifindex, &ps->links[i]);
		if (e < 0 && r == 0)
			r = e;
	}
	return r;
}

int ports_update(struct ports *ps, bool deleted, const struct nl_link_info *li)
{
	struct lrec *l;
	bool was_bridge = false, bridge_change;
	char old_name[IFNAMSIZ] = "";

	if (li->family == AF_BRIDGE || li->ifindex == 0)
		return 0;
	l = link_find(ps, li->ifindex);
	if (l) {
		was_bridge = l->is_bridge;
		snprintf(old_name, sizeof(old_name), "%s", l->name);
	}
	if (deleted) {
		if (!l)
			return 0;
		*l = ps->links[--ps->nlinks];
		if (was_bridge)
			return evaluate_all(ps);
		return evaluate(ps, li->ifindex, NULL);
	}
	if (!l) {
		if (ps->nlinks == ps->caplinks) {
			size_t cap = ps->caplinks ? ps->caplinks * 2 : 32;
			struct lrec *v = realloc(ps->links, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			ps->links = v;
			ps->caplinks = cap;
		}
		l = &ps->links[ps->nlinks++];
		memset(l, 0, sizeof(*l));
	}
	l->ifindex = li->ifindex;
	snprintf(l->name, sizeof(l->name), "%s", li->name);
	l->li = *li;
	l->seen = true;
	l->is_bridge = strcmp(li->kind, "bridge") == 0 &&
		       in_list(ps->bridges, ps->nbridges, li->name);
	/* a configured bridge appearing, vanishing or renamed changes the
	 * fate of every link enslaved to it */
	bridge_change = l->is_bridge != was_bridge ||
			(l->is_bridge && strcmp(old_name, l->name) != 0);
	if (bridge_change)
		return evaluate_all(ps);
	return evaluate(ps, li->ifindex, l);
}

void ports_sync_begin(struct ports *ps)
{
	for (size_t i = 0; i < ps->nlinks; i++)
		ps->links[i].seen = false;
}

void ports_sync_end(struct ports *ps)
{
	for (size_t i = 0; i < ps->nlinks;) {
		if (!ps->links[i].seen) {
			ps->links[i] = ps->links[--ps->nlinks];
			continue;
		}
		i++;
	}
	(void)evaluate_all(ps);
}

size_t ports_count(const struct ports *ps)
{
	return ps->nports;
}

struct port *ports_at(const struct ports *ps, size_t i)
{
	return i < ps->nports ? ps->ports[i] : NULL;
}

struct port *ports_by_ifindex(const struct ports *ps, uint32_t ifindex)
{
	return port_find(ps, ifindex, NULL);
}

struct port *ports_by_slot(const struct ports *ps, uint32_t slot)
{
	for (size_t i = 0; i < ps->nports; i++)
		if (ps->ports[i]->slot == slot)
			return ps->ports[i];
	return NULL;
}

size_t ports_links(const struct ports *ps)
{
	return ps->nlinks;
}

uint64_t ports_refused(const struct ports *ps)
{
	return ps->refused;
}

bool ports_bridge_known(const struct ports *ps, const char *name)
{
	for (size_t i = 0; i < ps->nlinks; i++)
		if (ps->links[i].is_bridge && strcmp(ps->links[i].name, name) == 0)
			return true;
	return false;
}
