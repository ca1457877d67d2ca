/* Fuzz target: the agent's identity parsers — inventory JSON, libvirt
 * domain XML and interface aliases (src/agent/identity.h). The first byte
 * picks the parser; whatever is accepted must be well-formed entries. */
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/identity.h"

static void check_set(const struct id_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct id_entry *e = &s->v[i];
		if (strnlen(e->name, sizeof(e->name)) == sizeof(e->name) ||
		    strnlen(e->port, sizeof(e->port)) == sizeof(e->port) ||
		    (!e->has_mac && !e->port[0]) || (e->has_mac && (e->mac[0] & 1)))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vt_err err = { 0 };
	struct id_set s;
	char *text;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	id_set_init(&s, 1000);
	switch (data[0] % 3) {
	case 0:
		if (id_parse_inventory(text, size - 1, &s, &err) == 0)
			check_set(&s);
		else if (!err.msg[0])
			__builtin_trap();   /* every refusal says why */
		break;
	case 1:
		if (id_parse_domain_xml(text, size - 1, &s, &err) == 0)
			check_set(&s);
		break;
	case 2: {
		struct id_entry e;
		int r = id_parse_alias(text, &e, &err);
		if (r == 0 && strnlen(e.name, sizeof(e.name)) == sizeof(e.name))
			__builtin_trap();
		if (r == -EINVAL && !err.msg[0])
			__builtin_trap();
		break;
	}
	}
	id_set_free(&s);
	free(text);
	return 0;
}
