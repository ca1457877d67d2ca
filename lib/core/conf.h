/* conf.h — configuration files with a declarative key table.
 *
 * Format (one file per daemon):
 *
 *	# comment
 *	[section]
 *	key = value
 *	[zone web]            named sections: one instance per name
 *	vm = web-*
 *	port = 4739   # a '#' after a blank, outside "quotes", ends the value
 *
 * Every key is declared once in a table with its type, bounds, default and
 * help text; the same table drives parsing, validation, defaults, the
 * generated docs page and `vtap config-keys`. Every error names the file,
 * the line, the section and the key, and says what was expected. */
#ifndef VT_CONF_H
#define VT_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "core/err.h"

enum conf_type {
	CONF_STR,       /* char * (strdup'd); max = maximum length, 0 = 4096 */
	CONF_BOOL,      /* bool: yes/no/true/false/on/off/1/0 */
	CONF_UINT,      /* uint64_t within [min, max] */
	CONF_DURATION,  /* uint64_t milliseconds within [min, max] */
	CONF_SIZE,      /* uint64_t bytes within [min, max] */
	CONF_ENUM,      /* int: index into enum_names */
	CONF_STRLIST,   /* struct conf_strlist: the key may repeat; max = count */
	CONF_CUSTOM,    /* parsed by ->parse into the field */
};

struct conf_strlist {
	char **v;
	size_t n;
};

struct conf_key {
	const char *name;
	enum conf_type type;
	size_t off;                       /* offset of the field in the section struct */
	uint64_t min, max;
	const char *def;                  /* default, written as in the file; NULL = none */
	const char *help;
	const char *const *enum_names;    /* CONF_ENUM: NULL-terminated */
	/* CONF_CUSTOM: parse <val> into <field>; on error fill <err> with what
	 * was expected (the caller adds file, line and key). */
	int (*parse)(const char *val, void *field, struct vt_err *err);
	const char *custom_type;          /* CONF_CUSTOM: name shown in docs */
	bool required;
};

struct conf_section {
	const char *name;
	const char *help;
	const struct conf_key *keys;
	size_t nkeys;
	/* unnamed sections: the struct lives at <off> inside the root struct */
	size_t off;
	/* named sections ([zone web]): returns a zeroed instance for <name>
	 * owned by <root>, or NULL with <err> set (duplicate, too many). */
	void *(*instance)(void *root, const char *name, struct vt_err *err);
};

/* A daemon's whole config file: listed by `vtap config-keys` and turned
 * into docs/reference/NAME.conf.md. */
struct conf_schema {
	const char *name;       /* "agent" */
	const char *title;      /* page title */
	const struct conf_section *secs;
	size_t nsecs;
};

/* conf_defaults() : applies every default of the unnamed sections. */
int conf_defaults(const struct conf_section *secs, size_t nsecs, void *root,
		  struct vt_err *err);
/* conf_parse() : parses <text>; <fname> is used in messages only. Defaults
 * must have been applied first (conf_load does both). */
int conf_parse(const char *text, size_t len, const char *fname,
	       const struct conf_section *secs, size_t nsecs, void *root,
	       struct vt_err *err);
/* conf_load() : defaults, then the file at <path> (NULL: defaults only),
 * then required-key checks. */
int conf_load(const char *path, const struct conf_section *secs, size_t nsecs,
	      void *root, struct vt_err *err);
/* conf_set() : sets one key from a "section.key=value" override (CLI -o).
 * For a list key, "key=value" replaces the list and "key+=value" appends. */
int conf_set(const char *assign, const struct conf_section *secs, size_t nsecs,
	     void *root, struct vt_err *err);
/* conf_free_section() : frees strings and lists of one section instance. */
void conf_free_section(const struct conf_section *sec, void *inst);
/* conf_free() : frees every unnamed section in <root>. */
void conf_free(const struct conf_section *secs, size_t nsecs, void *root);
/* conf_doc_markdown() : the reference page for docs/ from the table. */
void conf_doc_markdown(FILE *fp, const char *title, const struct conf_section *secs,
		       size_t nsecs);

#endif
