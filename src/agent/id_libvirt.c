/* id_libvirt.c — libvirt as an identity source: every domain of a
 * read-only connection, its name, UUID and, from its XML description
 * (libxml2), each <interface>'s guest MAC and host port (<target dev>).
 *
 * qemu:///system on a KVM host; the test driver test:///path/node.xml in
 * the lab (which reads its file at each connection, so every load opens a
 * fresh connection). libvirt names TAP devices it creates vnetN; its test
 * driver drops target names starting with vnet/vif/macvtap, which is why
 * interfaces are also matched by MAC. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "agent/identity.h"
#include "config.h"
#include "flow/addr.h"

#ifdef HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#endif

const char *id_libvirt_file(const char *uri)
{
	static const char pfx[] = "test://";

	/* test:///abs/path.xml -> /abs/path.xml; test:///default is built in */
	if (!uri || strncmp(uri, pfx, sizeof(pfx) - 1) != 0)
		return NULL;
	uri += sizeof(pfx) - 1;
	if (uri[0] != '/' || strcmp(uri, "/default") == 0)
		return NULL;
	return uri;
}

#ifdef HAVE_LIBVIRT

static const xmlNode *child(const xmlNode *n, const char *name)
{
	for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, (const xmlChar *)name) == 0)
			return c;
	return NULL;
}

/* text() : the text content of element <n> into <buf>; false when absent,
 * empty or longer than the buffer. */
static bool text(const xmlNode *n, char *buf, size_t cap)
{
	xmlChar *s;
	size_t len;

	if (!n)
		return false;
	s = xmlNodeGetContent(n);
	if (!s)
		return false;
	len = strlen((const char *)s);
	if (len == 0 || len >= cap) {
		xmlFree(s);
		return false;
	}
	memcpy(buf, s, len + 1);
	xmlFree(s);
	return true;
}

static bool attr(const xmlNode *n, const char *name, char *buf, size_t cap)
{
	xmlChar *s;
	size_t len;

	if (!n)
		return false;
	s = xmlGetProp(n, (const xmlChar *)name);
	if (!s)
		return false;
	len = strlen((const char *)s);
	if (len == 0 || len >= cap) {
		xmlFree(s);
		return false;
	}
	memcpy(buf, s, len + 1);
	xmlFree(s);
	return true;
}

static void xml_silent(void *ctx, const char *msg, ...)
{
	(void)ctx;
	(void)msg;
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_setup(void)
{
	xmlInitParser();
	xmlSetGenericErrorFunc(NULL, xml_silent);
}

int id_parse_domain_xml(const char *xml, size_t len, struct id_set *out, struct vt_err *err)
{
	xmlDoc *doc;
	const xmlNode *root, *devs;
	struct id_entry base;
	char uuid[VT_UUIDSTRLEN + 8];
	int r = 0;

	pthread_once(&xml_once, xml_setup);
	if (len > ID_FILE_MAX || len > (size_t)INT32_MAX)
		return vt_err_set(err, -EFBIG, "domain XML larger than %u bytes", ID_FILE_MAX);
	/* no network, no entity expansion, no DTD loading: the text is data */
	doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
				    XML_PARSE_NOBLANKS);
	if (!doc)
		return vt_err_set(err, -EINVAL, "domain XML is not well-formed");
	root = xmlDocGetRootElement(doc);
	if (!root || xmlStrcmp(root->name, (const xmlChar *)"domain") != 0) {
		r = vt_err_set(err, -EINVAL, "domain XML: root element is not <domain>");
		goto out;
	}
	memset(&base, 0, sizeof(base));
	if (!text(child(root, "name"), base.name, sizeof(base.name))) {
		r = vt_err_set(err, -EINVAL, "domain XML: missing or oversized <name>");
		goto out;
	}
	if (!text(child(root, "uuid"), uuid, sizeof(uuid)) || uuid_parse(uuid, base.uuid) < 0) {
		r = vt_err_set(err, -EINVAL, "domain '%s': missing or invalid <uuid>", base.name);
		goto out;
	}
	devs = child(root, "devices");
	for (const xmlNode *c = devs ? devs->children : NULL; c; c = c->next) {
		struct id_entry e = base;
		char mac[VT_MACSTRLEN + 8];

		if (c->type != XML_ELEMENT_NODE || xmlStrcmp(c->name, (const xmlChar *)"interface") != 0)
			continue;
		if (attr(child(c, "mac"), "address", mac, sizeof(mac)) && mac_parse(mac, e.mac) == 0 &&
		    !(e.mac[0] & 1))
			e.has_mac = true;
		/* an oversized target name cannot be a Linux interface: ignored */
		attr(child(c, "target"), "dev", e.port, sizeof(e.port));
		if (!e.has_mac && !e.port[0])
			continue;
		r = id_set_add(out, &e);
		if (r < 0) {
			vt_err_set(err, r, "more than %zu interfaces", out->max);
			goto out;
		}
	}
out:
	xmlFreeDoc(doc);
	return r;
}

static void virt_silent(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e;
}

static pthread_once_t virt_once = PTHREAD_ONCE_INIT;
static int virt_init_rc;

static void virt_setup(void)
{
	virt_init_rc = virInitialize();
	/* errors are fetched and reported by us, not printed by libvirt */
	virSetErrorFunc(NULL, virt_silent);
}

int id_load_libvirt(const char *uri, struct id_set *out, struct vt_err *err)
{
	virConnectPtr conn;
	virDomainPtr *doms = NULL;
	int n, r = 0;

	pthread_once(&virt_once, virt_setup);
	if (virt_init_rc < 0)
		return vt_err_set(err, -EIO, "libvirt: initialisation failed");
	conn = virConnectOpenReadOnly(uri);
	if (!conn)
		return vt_err_set(err, -ECONNREFUSED, "libvirt %s: %s", uri, virGetLastErrorMessage());
	n = virConnectListAllDomains(conn, &doms, 0);
	if (n < 0) {
		r = vt_err_set(err, -EIO, "libvirt %s: listing domains: %s", uri,
			       virGetLastErrorMessage());
		goto out;
	}
	for (int i = 0; i < n; i++) {
		char *xml = virDomainGetXMLDesc(doms[i], 0);
		struct vt_err e = { 0 };
		if (!xml) {
			/* a domain that vanished meanwhile: not an error of the source */
			continue;
		}
		r = id_parse_domain_xml(xml, strlen(xml), out, &e);
		free(xml);
		if (r == -ENOSPC) {
			vt_err_set(err, r, "libvirt %s: %s", uri, e.msg);
			goto out;
		}
		r = 0;   /* one odd domain does not hide the others */
	}
out:
	for (int i = 0; doms && i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	virConnectClose(conn);
	return r;
}

#else /* !HAVE_LIBVIRT */

int id_parse_domain_xml(const char *xml, size_t len, struct id_set *out, struct vt_err *err)
{
	(void)xml;
	(void)len;
	(void)out;
	return vt_err_set(err, -ENOTSUP, "built without libvirt");
}

int id_load_libvirt(const char *uri, struct id_set *out, struct vt_err *err)
{
	(void)out;
	return vt_err_set(err, -ENOTSUP, "libvirt %s: vtap was built without libvirt", uri);
}

#endif
