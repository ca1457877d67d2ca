/* conf.c — see conf.h. */
#include "core/conf.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/fileio.h"
#include "core/timeutil.h"

#define CONF_MAX_FILE (4u << 20)
#define CONF_MAX_LINE 4096
#define CONF_STR_DEFAULT_MAX 4096

static const char *type_name(const struct conf_key *k)
{
	switch (k->type) {
	case CONF_STR: return "string";
	case CONF_BOOL: return "boolean";
	case CONF_UINT: return "integer";
	case CONF_DURATION: return "duration";
	case CONF_SIZE: return "size";
	case CONF_ENUM: return "choice";
	case CONF_STRLIST: return "list";
	case CONF_CUSTOM: return k->custom_type ? k->custom_type : "value";
	}
	return "value";
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) { *out = true; return 0; }
		if (strcasecmp(s, no[i]) == 0) { *out = false; return 0; }
	}
	return -EINVAL;
}

/* Sets one key; on failure fills <err> with "what was wrong" only. */
static int key_set(const struct conf_key *k, void *sec, const char *val,
		   struct vt_err *err)
{
	void *field = (char *)sec + k->off;
	uint64_t u;
	int r;

	switch (k->type) {
	case CONF_STR: {
		size_t max = k->max ? k->max : CONF_STR_DEFAULT_MAX;
		if (strlen(val) > max)
			return vt_err_set(err, -ERANGE, "longer than %zu characters", max);
		if (k->min && strlen(val) < k->min)
			return k->min == 1 ? vt_err_set(err, -EINVAL, "must not be empty") :
				vt_err_set(err, -EINVAL, "shorter than %llu characters",
					   (unsigned long long)k->min);
		char *s = strdup(val);
		if (!s)
			return vt_err_set(err, -ENOMEM, "out of memory");
		free(*(char **)field);
		*(char **)field = s;
		return 0;
	}
	case CONF_BOOL:
		if (parse_bool(val, (bool *)field) < 0)
			return vt_err_set(err, -EINVAL, "'%s' is not a boolean (yes/no)", val);
		return 0;
	case CONF_UINT:
		r = parse_u64(val, k->min, k->max, &u);
		if (r == -ERANGE)
			return vt_err_set(err, r, "%s is out of range [%llu, %llu]", val,
					  (unsigned long long)k->min, (unsigned long long)k->max);
		if (r < 0)
			return vt_err_set(err, r, "'%s' is not an integer", val);
		*(uint64_t *)field = u;
		return 0;
	case CONF_DURATION:
		r = parse_duration_ms(val, &u);
		if (r < 0)
			return vt_err_set(err, r, "'%s' is not a duration (e.g. 500ms, 15s, 2m, 1h)", val);
		if (u < k->min || u > k->max)
			return vt_err_set(err, -ERANGE, "%s is out of range [%llums, %llums]", val,
					  (unsigned long long)k->min, (unsigned long long)k->max);
		*(uint64_t *)field = u;
		return 0;
	case CONF_SIZE:
		r = parse_size(val, &u);
		if (r < 0)
			return vt_err_set(err, r, "'%s' is not a size (e.g. 4096, 64k, 16M, 2G)", val);
		if (u < k->min || u > k->max)
			return vt_err_set(err, -ERANGE, "%s is out of range [%llu, %llu] bytes", val,
					  (unsigned long long)k->min, (unsigned long long)k->max);
		*(uint64_t *)field = u;
		return 0;
	case CONF_ENUM:
		for (int i = 0; k->enum_names[i]; i++) {
			if (strcmp(val, k->enum_names[i]) == 0) {
				*(int *)field = i;
				return 0;
			}
		}
		{
			char choices[256] = "";
			for (int i = 0; k->enum_names[i]; i++) {
				size_t n = strlen(choices);
				snprintf(choices + n, sizeof(choices) - n, "%s%s",
					 i ? ", " : "", k->enum_names[i]);
			}
			return vt_err_set(err, -EINVAL, "'%s' is not one of: %s", val, choices);
		}
	case CONF_STRLIST: {
		struct conf_strlist *l = field;
		char **v;
		if (k->max && l->n >= k->max)
			return vt_err_set(err, -E2BIG, "more than %llu entries",
					  (unsigned long long)k->max);
		v = realloc(l->v, (l->n + 1) * sizeof(*v));
		if (!v)
			return vt_err_set(err, -ENOMEM, "out of memory");
		l->v = v;
		l->v[l->n] = strdup(val);
		if (!l->v[l->n])
			return vt_err_set(err, -ENOMEM, "out of memory");
		l->n++;
		return 0;
	}
	case CONF_CUSTOM:
		r = k->parse(val, field, err);
		if (r < 0 && err && !err->msg[0])
			vt_err_set(err, r, "'%s' is not a valid %s", val, type_name(k));
		return r;
	}
	return -EINVAL;
}

static void key_free(const struct conf_key *k, void *sec)
{
	void *field = (char *)sec + k->off;

	if (k->type == CONF_STR) {
		free(*(char **)field);
		*(char **)field = NULL;
	} else if (k->type == CONF_STRLIST) {
		struct conf_strlist *l = field;
		for (size_t i = 0; i < l->n; i++)
			free(l->v[i]);
		free(l->v);
		l->v = NULL;
		l->n = 0;
	}
}

void conf_free_section(const struct conf_section *sec, void *inst)
{
	if (!inst)
		return;
	for (size_t i = 0; i < sec->nkeys; i++)
		key_free(&sec->keys[i], inst);
}

void conf_free(const struct conf_section *secs, size_t nsecs, void *root)
{
	for (size_t i = 0; i < nsecs; i++)
		if (!secs[i].instance)
			conf_free_section(&secs[i], (char *)root + secs[i].off);
}

static int section_defaults(const struct conf_section *sec, void *inst,
			    struct vt_err *err)
{
	for (size_t i = 0; i < sec->nkeys; i++) {
		const struct conf_key *k = &sec->keys[i];
		struct vt_err e = { 0 };
		if (!k->def)
			continue;
		if (k->type == CONF_STRLIST) {
			key_free(k, inst);
			if (!k->def[0])
				continue;
		}
		if (key_set(k, inst, k->def, &e) < 0)
			return vt_err_set(err, e.code, "default of [%s] %s: %s (a bug in the key table)",
					  sec->name, k->name, e.msg);
	}
	return 0;
}

int conf_defaults(const struct conf_section *secs, size_t nsecs, void *root,
		  struct vt_err *err)
{
	for (size_t i = 0; i < nsecs; i++) {
		if (secs[i].instance)
			continue;
		int r = section_defaults(&secs[i], (char *)root + secs[i].off, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t c = prev[j - 1] + (a[i - 1] != b[j - 1]);
			c = VT_MIN(c, prev[j] + 1);
			c = VT_MIN(c, cur[j - 1] + 1);
			cur[j] = c;
		}
		memcpy(prev, cur, (lb + 1) * sizeof(size_t));
	}
	return prev[lb];
}

static const struct conf_key *find_key(const struct conf_section *sec,
				       const char *name, const char **suggest)
{
	size_t best = 3;

	*suggest = NULL;
	for (size_t i = 0; i < sec->nkeys; i++) {
		if (strcmp(sec->keys[i].name, name) == 0)
			return &sec->keys[i];
		size_t d = edit_distance(sec->keys[i].name, name);
		if (d < best) {
			best = d;
			*suggest = sec->keys[i].name;
		}
	}
	return NULL;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Cuts an inline comment off a value: '#' after a space or tab, outside
 * double quotes ("port = 4739   # IPFIX"). Without this the comment
 * became part of the value: a list key silently gained the words as
 * entries, an address key failed on them. A '#' inside a word or inside
 * quotes stays ("a#b", "\"# not a comment\""). */
static char *cut_comment(char *s)
{
	bool quoted = false;

	for (char *p = s; *p; p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '#' && !quoted && p > s && (p[-1] == ' ' || p[-1] == '\t')) {
			*p = '\0';
			break;
		}
	}
	return trim(s);
}

/* Strips one level of matching double quotes (values may then contain
 * leading spaces or '#'). */
static char *unquote(char *s)
{
	size_t n = strlen(s);

	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = '\0';
		return s + 1;
	}
	return s;
}

/* Which keys a file set, per section instance, and on which line: one
 * entry per distinct (key, instance), so the set is bounded by the schema
 * and the instances it allows, never by how often a list key repeats. */
struct seen_key {
	const struct conf_key *k;
	void *inst;
	unsigned line;
};

struct seen_set {
	struct seen_key *v;     /* owned */
	size_t n, cap;
};

static const struct seen_key *seen_find(const struct seen_set *s, const struct conf_key *k,
					 const void *inst)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].k == k && s->v[i].inst == inst)
			return &s->v[i];
	return NULL;
}

static int seen_add(struct seen_set *s, const struct conf_key *k, void *inst, unsigned line)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		struct seen_key *v = realloc(s->v, ncap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = ncap;
	}
	s->v[s->n++] = (struct seen_key){ k, inst, line };
	return 0;
}

int conf_parse(const char *text, size_t len, const char *fname,
	       const struct conf_section *secs, size_t nsecs, void *root,
	       struct vt_err *err)
{
	const struct conf_section *sec = NULL;
	void *inst = NULL;
	struct seen_set seen = { NULL, 0, 0 };
	unsigned lineno = 0;
	size_t pos = 0;
	char line[CONF_MAX_LINE + 1];
	int r = 0;

	while (pos < len) {
		size_t end = pos, n;
		char *s, *eq;

		while (end < len && text[end] != '\n')
			end++;
		n = end - pos;
		lineno++;
		if (n > CONF_MAX_LINE) {
			r = vt_err_set(err, -E2BIG, "%s:%u: line longer than %u characters",
				       fname, lineno, CONF_MAX_LINE);
			goto out;
		}
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos = end + 1;
		if (memchr(line, '\0', n)) {
			r = vt_err_set(err, -EINVAL, "%s:%u: NUL byte in line", fname, lineno);
			goto out;
		}
		s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']'), *name, *iname;
			if (!close || trim(close + 1)[0]) {
				r = vt_err_set(err, -EINVAL, "%s:%u: malformed section header '%s'",
					       fname, lineno, s);
				goto out;
			}
			*close = '\0';
			name = trim(s + 1);
			iname = strpbrk(name, " \t");
			if (iname) {
				*iname++ = '\0';
				iname = unquote(trim(iname));
			}
			sec = NULL;
			for (size_t i = 0; i < nsecs; i++)
				if (strcmp(secs[i].name, name) == 0)
					sec = &secs[i];
			if (!sec) {
				char known[512] = "";
				for (size_t i = 0; i < nsecs; i++) {
					size_t l = strlen(known);
					snprintf(known + l, sizeof(known) - l, "%s[%s]",
						 i ? ", " : "", secs[i].name);
				}
				r = vt_err_set(err, -EINVAL, "%s:%u: unknown section [%s] (known: %s)",
					       fname, lineno, name, known);
				goto out;
			}
			if (sec->instance) {
				struct vt_err e = { 0 };
				if (!iname || !*iname) {
					r = vt_err_set(err, -EINVAL, "%s:%u: section [%s] needs a name, e.g. [%s NAME]",
						       fname, lineno, sec->name, sec->name);
					goto out;
				}
				inst = sec->instance(root, iname, &e);
				if (!inst) {
					r = vt_err_set(err, e.code ? e.code : -EINVAL, "%s:%u: [%s %s]: %s",
						       fname, lineno, sec->name, iname, e.msg);
					goto out;
				}
				r = section_defaults(sec, inst, err);
				if (r < 0)
					goto out;
			} else {
				if (iname && *iname) {
					r = vt_err_set(err, -EINVAL, "%s:%u: section [%s] takes no name",
						       fname, lineno, sec->name);
					goto out;
				}
				inst = (char *)root + sec->off;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			r = vt_err_set(err, -EINVAL, "%s:%u: expected 'key = value', got '%s'",
				       fname, lineno, s);
			goto out;
		}
		*eq = '\0';
		char *key = trim(s), *val = unquote(cut_comment(trim(eq + 1)));
		if (!sec) {
			r = vt_err_set(err, -EINVAL, "%s:%u: key '%s' before any [section]",
				       fname, lineno, key);
			goto out;
		}
		const char *suggest;
		const struct conf_key *k = find_key(sec, key, &suggest);
		if (!k) {
			if (suggest)
				r = vt_err_set(err, -EINVAL, "%s:%u: unknown key '%s' in [%s] (did you mean '%s'?)",
					       fname, lineno, key, sec->name, suggest);
			else
				r = vt_err_set(err, -EINVAL, "%s:%u: unknown key '%s' in [%s]",
					       fname, lineno, key, sec->name);
			goto out;
		}
		const struct seen_key *prev = seen_find(&seen, k, inst);
		if (prev && k->type != CONF_STRLIST) {
			r = vt_err_set(err, -EINVAL, "%s:%u: [%s] %s: already set on line %u",
				       fname, lineno, sec->name, key, prev->line);
			goto out;
		}
		if (!prev) {
			/* the first occurrence of a list replaces its default */
			if (k->type == CONF_STRLIST)
				key_free(k, inst);
			if (seen_add(&seen, k, inst, lineno) < 0) {
				r = vt_err_set(err, -ENOMEM, "out of memory");
				goto out;
			}
		}
		struct vt_err e = { 0 };
		if (key_set(k, inst, val, &e) < 0) {
			r = vt_err_set(err, e.code, "%s:%u: [%s] %s: %s", fname, lineno,
				       sec->name, key, e.msg);
			goto out;
		}
	}
	/* required keys, in unnamed sections */
	for (size_t i = 0; i < nsecs; i++) {
		if (secs[i].instance)
			continue;
		for (size_t j = 0; j < secs[i].nkeys; j++) {
			const struct conf_key *k = &secs[i].keys[j];
			bool found = false;
			if (!k->required)
				continue;
			for (size_t s2 = 0; s2 < seen.n; s2++)
				found |= seen.v[s2].k == k;
			if (!found) {
				r = vt_err_set(err, -EINVAL, "%s: [%s] %s is required (%s)",
					       fname, secs[i].name, k->name, k->help);
				goto out;
			}
		}
	}
out:
	free(seen.v);
	return r;
}

int conf_load(const char *path, const struct conf_section *secs, size_t nsecs,
	      void *root, struct vt_err *err)
{
	struct vbuf text;
	int r;

	r = conf_defaults(secs, nsecs, root, err);
	if (r < 0)
		return r;
	if (!path) /* defaults only, but required keys are still required */
		return conf_parse("", 0, "(no config file)", secs, nsecs, root, err);
	r = file_read_all(path, CONF_MAX_FILE, false, &text, err);
	if (r == 0)
		r = conf_parse((const char *)text.data, text.len, path, secs, nsecs, root, err);
	vbuf_free(&text);
	return r;
}

int conf_set(const char *assign, const struct conf_section *secs, size_t nsecs,
	     void *root, struct vt_err *err)
{
	const char *dot = strchr(assign, '.'), *eq = strchr(assign, '=');
	char secname[64], keyname[64];
	const char *suggest;
	bool append;

	if (!dot || !eq || dot > eq || (size_t)(dot - assign) >= sizeof(secname) ||
	    (size_t)(eq - dot - 1) >= sizeof(keyname))
		return vt_err_set(err, -EINVAL, "'%s': expected section.key=value", assign);
	append = eq > dot + 1 && eq[-1] == '+';
	memcpy(secname, assign, (size_t)(dot - assign));
	secname[dot - assign] = '\0';
	memcpy(keyname, dot + 1, (size_t)(eq - dot - 1 - append));
	keyname[eq - dot - 1 - append] = '\0';
	for (size_t i = 0; i < nsecs; i++) {
		if (strcmp(secs[i].name, secname) != 0 || secs[i].instance)
			continue;
		const struct conf_key *k = find_key(&secs[i], keyname, &suggest);
		if (!k)
			return vt_err_set(err, -EINVAL, "'%s': unknown key '%s' in [%s]%s%s%s",
					  assign, keyname, secname, suggest ? " (did you mean '" : "",
					  suggest ? suggest : "", suggest ? "'?)" : "");
		struct vt_err e = { 0 };
		if (append && k->type != CONF_STRLIST)
			return vt_err_set(err, -EINVAL, "'%s': [%s] %s is not a list; use '='",
					  assign, secname, keyname);
		/* key=value replaces a list (as the first occurrence in a file
		 * does); key+=value appends to it */
		if (k->type == CONF_STRLIST && !append)
			key_free(k, (char *)root + secs[i].off);
		if (key_set(k, (char *)root + secs[i].off, eq + 1, &e) < 0)
			return vt_err_set(err, e.code, "[%s] %s: %s", secname, keyname, e.msg);
		return 0;
	}
	return vt_err_set(err, -EINVAL, "'%s': unknown section [%s]", assign, secname);
}

void conf_doc_markdown(FILE *fp, const char *title, const struct conf_section *secs,
		       size_t nsecs)
{
	fprintf(fp, "# %s\n\n", title);
	fprintf(fp, "<!-- generated from the key table by `vtap config-keys`; a test keeps it in sync -->\n\n");
	for (size_t i = 0; i < nsecs; i++) {
		const struct conf_section *s = &secs[i];
		fprintf(fp, "## [%s%s]\n\n%s\n\n", s->name, s->instance ? " NAME" : "",
			s->help ? s->help : "");
		fprintf(fp, "| key | type | default | range | description |\n");
		fprintf(fp, "|---|---|---|---|---|\n");
		for (size_t j = 0; j < s->nkeys; j++) {
			const struct conf_key *k = &s->keys[j];
			char range[96] = "";
			if (k->type == CONF_UINT || k->type == CONF_SIZE)
				snprintf(range, sizeof(range), "%llu..%llu",
					 (unsigned long long)k->min, (unsigned long long)k->max);
			else if (k->type == CONF_DURATION)
				snprintf(range, sizeof(range), "%llums..%llums",
					 (unsigned long long)k->min, (unsigned long long)k->max);
			else if (k->type == CONF_STRLIST && k->max)
				snprintf(range, sizeof(range), "up to %llu entries",
					 (unsigned long long)k->max);
			else if (k->type == CONF_ENUM) {
				for (int e = 0; k->enum_names[e]; e++) {
					size_t l = strlen(range);
					snprintf(range + l, sizeof(range) - l, "%s`%s`",
						 e ? ", " : "", k->enum_names[e]);
				}
			}
			fprintf(fp, "| `%s` | %s | %s%s%s | %s | %s%s |\n", k->name, type_name(k),
				k->def && k->def[0] ? "`" : "", k->def && k->def[0] ? k->def : (k->required ? "(required)" : "—"),
				k->def && k->def[0] ? "`" : "", range, k->help,
				k->type == CONF_STRLIST ? " (repeat the key for several)" : "");
		}
		fprintf(fp, "\n");
	}
}
