/* Fuzz target: the collector's inventory documents (src/collector/inventory.c,
 * inv_parse_json), then attribution against what was parsed. The
 * collector's modules are linked into the vtap binary, not libvtap, so the
 * module is compiled in here. Invariants: a rejected document adds
 * nothing; an accepted one yields a snapshot whose lookups find the VMs it
 * holds. The same bytes also go through the libvirt domain-XML scanner. */
#include <stddef.h>
#include <stdint.h>

#include "../../src/collector/enrich.c"
#include "../../src/collector/inventory.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inventory *inv = inv_new(1000);
	struct vt_err err = { 0 };
	static char *zvm[] = { "vm*" };
	static char *znet[] = { "198.18.0.0/15" };
	struct zone_conf zc;
	struct zones *z;
	struct enrich_snap *s;
	struct flow_rec r;
	struct flow_attr a;

	if (!inv)
		return 0;
	uint8_t macs[INV_MAX_ADDRS][6];
	if (inv_domain_macs((const char *)data, size, macs, INV_MAX_ADDRS) > INV_MAX_ADDRS)
		__builtin_trap();
	if (inv_parse_json(inv, (const char *)data, size, "fuzz", &err) < 0) {
		if (inv_count(inv) != 0 || !err.msg[0])
			__builtin_trap();
		inv_free(inv);
		return 0;
	}
	memset(&zc, 0, sizeof(zc));
	snprintf(zc.name, sizeof(zc.name), "z");
	zc.vm = (struct conf_strlist){ zvm, 1 };
	zc.net = (struct conf_strlist){ znet, 1 };
	z = zones_new(&zc, 1, &err);
	s = enrich_snap_new(inv, z);
	if (!s) {
		zones_free(z);
		return 0;
	}
	inv = (struct inventory *)enrich_snap_inventory(s);
	for (size_t i = 0; i < inv_count(inv); i++) {
		const struct inv_vm *vm = inv_vm_at(inv, i);
		memset(&r, 0, sizeof(r));
		if (vm->nip)
			r.src = vm->ip[0];
		if (vm->nmac)
			memcpy(r.src_mac, vm->mac[0], 6);
		memcpy(r.vm.uuid, vm->uuid, 16);
		memcpy(r.vm.name, vm->name, sizeof(r.vm.name));
		r.direction = FLOW_DIR_INGRESS;
		enrich_flow(s, &r, &a, NULL);
		/* a VM with an identity is found again */
		if ((vm->name[0] || !uuid_is_nil(vm->uuid)) && !vm_known(&a.src_vm))
			__builtin_trap();
		if (!uuid_is_nil(vm->uuid) && !enrich_by_uuid(s, vm->uuid))
			__builtin_trap();
	}
	enrich_snap_free(s);
	zones_free(z);
	return 0;
}
