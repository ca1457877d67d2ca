/* inv_libvirt.c — libvirt as an inventory source for the collector: every
 * domain of a read-only connection (name, UUID, the guest MAC of each
 * interface from its XML description) on one host. qemu:///system on a KVM
 * host (qemu+ssh://HOST/system remotely); the lab's test driver
 * test:///run/vtap/lab/P/hN.xml, rewritten at each migration. Part of
 * enrich.h's interface; only linked into the vtap binary (libvirt). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/inventory.h"
#include "config.h"

#ifdef HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#define MAX_IFACES INV_MAX_ADDRS

/* libvirt prints every error on stderr by default; ours carry them */
static void quiet(void *arg, virErrorPtr e)
{
	(void)arg;
	(void)e;
}

int inv_load_libvirt(struct inventory *inv, const char *spec, struct vt_err *err)
{
	const char *eq = strchr(spec, '='), *uri = spec;
	char host[VT_NAME_MAX] = "";
	virConnectPtr conn;
	virDomainPtr *doms = NULL;
	int n, r = 0;

	/* "HOST=URI": a URI has no '=' before its "://" */
	if (eq && (!strstr(spec, "://") || eq < strstr(spec, "://"))) {
		if ((size_t)(eq - spec) >= sizeof(host) || eq == spec)
			return vt_err_set(err, -EINVAL, "libvirt '%s': host name of 1-%zu characters expected before '='",
					  spec, sizeof(host) - 1);
		memcpy(host, spec, (size_t)(eq - spec));
		host[eq - spec] = '\0';
		uri = eq + 1;
	}
	virSetErrorFunc(NULL, quiet);
	conn = virConnectOpenReadOnly(uri);
	if (!conn)
		return vt_err_set(err, -EIO, "libvirt %s: %s", uri, virGetLastErrorMessage());
	if (!host[0]) {
		char *h = virConnectGetHostname(conn);
		snprintf(host, sizeof(host), "%s", h ? h : "");
		free(h);
	}
	n = virConnectListAllDomains(conn, &doms, 0);
	if (n < 0) {
		r = vt_err_set(err, -EIO, "libvirt %s: %s", uri, virGetLastErrorMessage());
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct inv_vm vm;
		struct inv_attr attrs[2];
		char *xml;

		memset(&vm, 0, sizeof(vm));
		snprintf(vm.name, sizeof(vm.name), "%s", virDomainGetName(doms[i]));
		if (virDomainGetUUID(doms[i], vm.uuid) < 0)
			memset(vm.uuid, 0, sizeof(vm.uuid));
		snprintf(vm.host, sizeof(vm.host), "%s", host);
		xml = virDomainGetXMLDesc(doms[i], 0);
		if (xml) {
			vm.nmac = (uint8_t)inv_domain_macs(xml, strlen(xml), vm.mac, MAX_IFACES);
			free(xml);
		}
		/* attributes for zones, as an inventory file would give them */
		snprintf(attrs[0].key, sizeof(attrs[0].key), "name");
		snprintf(attrs[0].val, sizeof(attrs[0].val), "%s", vm.name);
		snprintf(attrs[1].key, sizeof(attrs[1].key), "host");
		snprintf(attrs[1].val, sizeof(attrs[1].val), "%s", host);
		vm.attr = attrs;
		vm.nattr = 2;
		if (inv_add_vm(inv, &vm) == -ENOMEM) {
			r = vt_err_set(err, -ENOMEM, "libvirt %s: out of memory", uri);
			break;
		}
	}
out:
	for (int i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	virConnectClose(conn);
	return r;
}

#else

int inv_load_libvirt(struct inventory *inv, const char *spec, struct vt_err *err)
{
	(void)inv;
	return vt_err_set(err, -ENOTSUP, "libvirt '%s': this vtap was built without libvirt", spec);
}

#endif
