/* vmstats_int.h — the internals vmstats.c (accounting) and vmstats_json.c
 * (the JSON and Prometheus views) share. Not for other modules: they use
 * vmstats.h. */
#ifndef VT_COLLECTOR_VMSTATS_INT_H
#define VT_COLLECTOR_VMSTATS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector/vmstats.h"

#define KEYLEN 20
#define PEER_SET 32                  /* distinct clients/servers counted exactly */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* ---- small maps: fixed 20-byte keys, entries in one growable array ----- */

struct smap {
	uint32_t *slot;              /* entry index + 1 */
	size_t mask;
	uint8_t *ent;                /* n entries of esz bytes, each starting with its key */
	size_t esz, n, cap, max;
};

static inline void *smap_at(const struct smap *m, size_t i)
{
	return m->ent + i * m->esz;
}

/* ---- entries ----------------------------------------------------------- */

struct cnt {
	uint64_t bytes, packets, flows;
};

struct bucket {
	uint64_t bytes_in, bytes_out, packets_in, packets_out;
};

struct port_ent {
	uint8_t key[KEYLEN];
	uint8_t proto;
	uint16_t port;
	struct cnt in, out;
};

struct peer_ent {
	uint8_t key[KEYLEN];
	bool is_vm;
	uint8_t locality;
	char name[VT_NAME_MAX];
	uint8_t uuid[16];
	struct vt_addr addr;         /* the peer's address (the last seen for a VM) */
	struct cnt in, out;
	uint64_t last_ms;
};

struct svc_ent {
	uint8_t key[KEYLEN];
	uint8_t proto;
	uint16_t port;
	uint64_t flows;              /* records from the client */
	uint64_t answers;            /* records from the server that answer */
	uint64_t refused;            /* records from the server that refuse (bare RST) */
	uint64_t bytes_in, bytes_out, packets_in, packets_out;   /* from the VM's side */
	uint32_t peer[PEER_SET];     /* hashes of distinct other ends */
	uint8_t npeer;
	bool peer_sat;
	uint64_t first_ms, last_ms;
};

struct vm_entry {
	uint8_t key[KEYLEN];
	char name[VT_NAME_MAX];
	uint8_t uuid[16];
	char host[VT_NAME_MAX];
	uint16_t zone;
	uint64_t first_ms, last_ms;  /* flow times */
	struct cnt in, out;
	struct cnt loc_in[3], loc_out[3];
	struct bucket *ser;          /* series_points buckets (owned) */
	int64_t head;                /* bucket number of the newest; -1 none */
	struct smap ports, peers, offered, consumed;
	struct cnt ports_other_in, ports_other_out, peers_other_in, peers_other_out;
	uint64_t services_other;
};

struct role_slot {
	uint64_t h;                  /* connection hash; 0 empty */
	struct vt_addr srv;          /* the server's address and port */
	uint16_t srv_port;
	uint64_t seen_ms;
};

#define ROLE_WAYS 4

struct vmstats {
	pthread_mutex_t mu;
	struct vmstats_conf c;
	uint64_t seed;
	struct smap vms;
	struct role_slot *roles;
	size_t role_sets;            /* power of two */
	struct vmstats_totals t;
};

#endif
