/* opt.c — see opt.h. */
#include "core/opt.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "core/compiler.h"
#include "core/timeutil.h"

#define OPT_MAX 64

static int opt_apply(const struct opt_def *o, void *dst, const char *val,
		     struct vt_err *err)
{
	void *field = (char *)dst + o->off;
	char name[64];
	uint64_t u;
	int r;

	if (o->shrt)
		snprintf(name, sizeof(name), "-%c/--%s", o->shrt, o->lng);
	else
		snprintf(name, sizeof(name), "--%s", o->lng);
	switch (o->type) {
	case OPT_FLAG:
		*(bool *)field = true;
		return 0;
	case OPT_COUNT:
		(*(unsigned *)field)++;
		return 0;
	case OPT_STR:
		if (!*val)
			return vt_err_set(err, -EINVAL, "option %s: empty value", name);
		*(const char **)field = val;
		return 0;
	case OPT_UINT:
		r = parse_u64(val, o->min, o->max, &u);
		if (r == -ERANGE)
			return vt_err_set(err, r, "option %s: %s is out of range [%llu, %llu]",
					  name, val, (unsigned long long)o->min,
					  (unsigned long long)o->max);
		if (r < 0)
			return vt_err_set(err, r, "option %s: '%s' is not an integer", name, val);
		*(uint64_t *)field = u;
		return 0;
	case OPT_DURATION:
		r = parse_duration_ms(val, &u);
		if (r < 0)
			return vt_err_set(err, r, "option %s: '%s' is not a duration (e.g. 500ms, 15s, 2m)",
					  name, val);
		if (u < o->min || u > o->max)
			return vt_err_set(err, -ERANGE, "option %s: %s is out of range [%llums, %llums]",
					  name, val, (unsigned long long)o->min,
					  (unsigned long long)o->max);
		*(uint64_t *)field = u;
		return 0;
	case OPT_SIZE:
		r = parse_size(val, &u);
		if (r < 0)
			return vt_err_set(err, r, "option %s: '%s' is not a size (e.g. 64k, 16M)",
					  name, val);
		if (u < o->min || u > o->max)
			return vt_err_set(err, -ERANGE, "option %s: %s is out of range [%llu, %llu]",
					  name, val, (unsigned long long)o->min,
					  (unsigned long long)o->max);
		*(uint64_t *)field = u;
		return 0;
	case OPT_ENUM:
		for (int i = 0; o->enum_names[i]; i++) {
			if (strcmp(o->enum_names[i], val) == 0) {
				*(int *)field = i;
				return 0;
			}
		}
		{
			char choices[256] = "";
			for (int i = 0; o->enum_names[i]; i++) {
				size_t n = strlen(choices);
				snprintf(choices + n, sizeof(choices) - n, "%s%s", i ? ", " : "",
					 o->enum_names[i]);
			}
			return vt_err_set(err, -EINVAL, "option %s: '%s' is not one of: %s",
					  name, val, choices);
		}
	case OPT_STRLIST: {
		struct opt_strlist *l = field;
		if (l->n >= OPT_LIST_MAX)
			return vt_err_set(err, -E2BIG, "option %s: given more than %d times",
					  name, OPT_LIST_MAX);
		l->v[l->n++] = val;
		return 0;
	}
	}
	return -EINVAL;
}

/* What getopt_long() refused in <arg> ("--name" or "--name=value"): an
 * argument given to a flag, an abbreviation of several options, or a name
 * we do not know. glibc's optopt does not tell these apart reliably. */
static int long_opt_error(const struct opt_def *opts, size_t nopts, const char *arg,
			  struct vt_err *err)
{
	const char *name = arg + 2, *eq = strchr(name, '='), *one = NULL;
	size_t n = eq ? (size_t)(eq - name) : strlen(name), nmatch = 0, l;
	char list[256] = "";

	for (size_t i = 0; n && i <= nopts; i++) {
		const char *lng = i < nopts ? opts[i].lng : "help";
		if (strncmp(lng, name, n) != 0)
			continue;
		if (lng[n] == '\0') { /* an exact name wins over abbreviations */
			one = lng;
			nmatch = 1;
			break;
		}
		l = strlen(list);
		snprintf(list + l, sizeof(list) - l, "%s--%s", nmatch ? ", " : "", lng);
		one = lng;
		nmatch++;
	}
	if (nmatch > 1)
		return vt_err_set(err, -EINVAL, "option --%.*s is ambiguous (%s)", (int)n, name, list);
	/* one match refused: only a value given to a flag does that */
	if (nmatch == 1 && eq)
		return vt_err_set(err, -EINVAL, "option --%s takes no argument", one);
	return vt_err_set(err, -EINVAL, "unknown option --%.*s", (int)n, name);
}

int opt_parse(const struct opt_def *opts, size_t nopts, void *dst, int argc,
	      char **argv, bool stop_at_args, int *first_arg, bool *help,
	      struct vt_err *err)
{
	struct option lo[OPT_MAX + 2];
	char so[OPT_MAX * 2 + 4];
	size_t ns = 0;
	int c, idx;

	if (nopts > OPT_MAX)
		return vt_err_set(err, -E2BIG, "too many options in table");
	*help = false;
	/* defaults */
	for (size_t i = 0; i < nopts; i++) {
		if (opts[i].def) {
			int r = opt_apply(&opts[i], dst, opts[i].def, err);
			if (r < 0)
				return r;
		}
	}
	/* '+': stop at the first positional argument; '-' would return them
	 * in order, which we do not want; nothing: GNU permutation. */
	if (stop_at_args)
		so[ns++] = '+';
	so[ns++] = ':';
	for (size_t i = 0; i < nopts; i++) {
		bool arg = opts[i].type != OPT_FLAG && opts[i].type != OPT_COUNT;
		lo[i] = (struct option){ opts[i].lng, arg ? required_argument : no_argument,
					 NULL, (int)(0x100 + i) };
		if (opts[i].shrt) {
			so[ns++] = opts[i].shrt;
			if (arg)
				so[ns++] = ':';
		}
	}
	lo[nopts] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[nopts + 1] = (struct option){ NULL, 0, NULL, 0 };
	so[ns++] = 'h';
	so[ns] = '\0';
	optind = 0; /* 0, not 1: glibc then re-reads the ordering mode ("+") */
	opterr = 0;
	while ((c = getopt_long(argc, argv, so, lo, &idx)) != -1) {
		const struct opt_def *o = NULL;
		if (c == 'h') {
			*help = true;
			continue;
		}
		if (c == '?') {
			const char *a = optind > 0 && optind <= argc ? argv[optind - 1] : "";
			if (strncmp(a, "--", 2) == 0)
				return long_opt_error(opts, nopts, a, err);
			return vt_err_set(err, -EINVAL, "unknown option -%c", optopt);
		}
		if (c == ':')
			return vt_err_set(err, -EINVAL, "option %s needs an argument",
					  argv[optind - 1]);
		if (c >= 0x100)
			o = &opts[c - 0x100];
		else
			for (size_t i = 0; i < nopts; i++)
				if (opts[i].shrt == c)
					o = &opts[i];
		if (!o)
			return vt_err_set(err, -EINVAL, "unknown option -%c", c);
		int r = opt_apply(o, dst, optarg, err);
		if (r < 0)
			return r;
	}
	*first_arg = optind;
	return 0;
}

const struct cmd *cmd_find(const struct cmd *root, int npath, char **path)
{
	const struct cmd *c = root;

	for (int i = 0; i < npath; i++) {
		const struct cmd *next = NULL;
		for (size_t j = 0; c->subs && c->subs[j]; j++)
			if (strcmp(c->subs[j]->name, path[i]) == 0)
				next = c->subs[j];
		if (!next)
			return NULL;
		c = next;
	}
	return c;
}

static void print_opt_left(FILE *fp, const struct opt_def *o, char *buf, size_t len)
{
	(void)fp;
	if (o->shrt)
		snprintf(buf, len, "-%c, --%s%s%s", o->shrt, o->lng, o->arg ? " " : "",
			 o->arg ? o->arg : "");
	else
		snprintf(buf, len, "    --%s%s%s", o->lng, o->arg ? " " : "",
			 o->arg ? o->arg : "");
}

static void help_of(FILE *fp, const struct cmd *c, const char *fullname)
{
	fprintf(fp, "Usage: %s", fullname);
	if (c->nopts)
		fprintf(fp, " [OPTIONS]");
	if (c->subs)
		fprintf(fp, " COMMAND");
	if (c->usage)
		fprintf(fp, " %s", c->usage);
	fprintf(fp, "\n\n%s\n", c->summary);
	if (c->description)
		fprintf(fp, "\n%s\n", c->description);
	if (c->subs) {
		fprintf(fp, "\nCommands:\n");
		for (size_t i = 0; c->subs[i]; i++)
			if (!c->subs[i]->hidden)
				fprintf(fp, "  %-14s %s\n", c->subs[i]->name, c->subs[i]->summary);
	}
	fprintf(fp, "\nOptions:\n");
	for (size_t i = 0; i < c->nopts; i++) {
		const struct opt_def *o = &c->opts[i];
		char left[96];
		print_opt_left(fp, o, left, sizeof(left));
		fprintf(fp, "  %-30s %s", left, o->help);
		if (o->def && o->type != OPT_FLAG)
			fprintf(fp, " (default %s)", o->def);
		fputc('\n', fp);
	}
	fprintf(fp, "  %-30s %s\n", "-h, --help", "show this help");
	if (c->subs)
		fprintf(fp, "\nRun '%s COMMAND --help' for a command's options.\n", fullname);
}

void cmd_print_help(FILE *fp, const struct cmd *root, const char *prog, int npath,
	      char **path)
{
	const struct cmd *c = cmd_find(root, npath, path);
	char full[256];
	size_t n;

	if (!c) {
		fprintf(fp, "%s: unknown command '%s'\n", prog, npath ? path[npath - 1] : "");
		return;
	}
	n = (size_t)snprintf(full, sizeof(full), "%s", prog);
	for (int i = 0; i < npath && n < sizeof(full); i++)
		n += (size_t)snprintf(full + n, sizeof(full) - n, " %s", path[i]);
	help_of(fp, c, full);
}

int cmd_dispatch(const struct cmd *root, const char *prog, int argc, char **argv)
{
	const struct cmd *c = root;
	char full[256];
	int i = 1;
	size_t n = (size_t)snprintf(full, sizeof(full), "%s", prog);

	/* descend while the next word names a subcommand */
	while (c->subs && i < argc && argv[i][0] != '-') {
		const struct cmd *next = NULL;
		for (size_t j = 0; c->subs[j]; j++)
			if (strcmp(c->subs[j]->name, argv[i]) == 0)
				next = c->subs[j];
		if (!next) {
			if (!c->run) {
				fprintf(stderr, "%s: unknown command '%s'; see '%s --help'\n",
					full, argv[i], full);
				return 2;
			}
			break;
		}
		c = next;
		if (n < sizeof(full))
			n += (size_t)snprintf(full + n, sizeof(full) - n, " %s", argv[i]);
		i++;
	}

	void *opts = calloc(1, c->opts_size ? c->opts_size : 1);
	struct vt_err err = { 0 };
	bool help;
	int first, rc;

	if (!opts) {
		fprintf(stderr, "%s: out of memory\n", full);
		return 1;
	}
	/* getopt sees argv[i-1] as the program name */
	int sub_argc = argc - i + 1;
	char **sub_argv = argv + i - 1;
	if (opt_parse(c->opts, c->nopts, opts, sub_argc, sub_argv, c->stop_at_args || c->subs,
		      &first, &help, &err) < 0) {
		fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", full, err.msg, full);
		free(opts);
		return 2;
	}
	if (help || (!c->run && c->subs)) {
		help_of(help ? stdout : stderr, c, full);
		free(opts);
		return help ? 0 : 2;
	}
	int npos = sub_argc - first;
	if ((unsigned)npos < c->min_args || (unsigned)npos > c->max_args) {
		if ((unsigned)npos < c->min_args)
			fprintf(stderr, "%s: missing argument%s%s\n", full,
				c->usage ? ": " : "", c->usage ? c->usage : "");
		else
			fprintf(stderr, "%s: unexpected argument '%s'\n", full,
				sub_argv[first + (int)c->max_args]);
		fprintf(stderr, "Run '%s --help' for usage.\n", full);
		free(opts);
		return 2;
	}
	rc = c->run(c, opts, npos, sub_argv + first);
	free(opts);
	return rc;
}

static void man_escape(FILE *fp, const char *s)
{
	bool bol = true;

	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", fp);
		if (*s == '\\')
			fputs("\\e", fp);
		else if (*s == '-')
			fputs("\\-", fp);
		else
			fputc(*s, fp);
		bol = *s == '\n';
	}
}

void cmd_print_man(FILE *fp, const struct cmd *c, const char *fullname,
	     const char *version)
{
	char upper[128];
	size_t i;

	for (i = 0; fullname[i] && i < sizeof(upper) - 1; i++)
		upper[i] = fullname[i] == ' ' ? '-' :
			(fullname[i] >= 'a' && fullname[i] <= 'z' ? (char)(fullname[i] - 32) : fullname[i]);
	upper[i] = '\0';
	fprintf(fp, ".TH %s 1 \"\" \"vtap %s\" \"vtap manual\"\n", upper, version);
	fprintf(fp, ".SH NAME\n");
	man_escape(fp, fullname);
	fprintf(fp, " \\- ");
	man_escape(fp, c->summary);
	fprintf(fp, "\n.SH SYNOPSIS\n.B ");
	man_escape(fp, fullname);
	fprintf(fp, "\n");
	if (c->nopts)
		fprintf(fp, "[\\fIOPTIONS\\fR] ");
	if (c->subs)
		fprintf(fp, "\\fICOMMAND\\fR ");
	if (c->usage)
		man_escape(fp, c->usage);
	fprintf(fp, "\n");
	if (c->description) {
		fprintf(fp, ".SH DESCRIPTION\n");
		man_escape(fp, c->description);
		fprintf(fp, "\n");
	}
	if (c->subs) {
		fprintf(fp, ".SH COMMANDS\n");
		for (i = 0; c->subs[i]; i++) {
			if (c->subs[i]->hidden)
				continue;
			fprintf(fp, ".TP\n.B %s\n", c->subs[i]->name);
			man_escape(fp, c->subs[i]->summary);
			fprintf(fp, "\n");
		}
	}
	fprintf(fp, ".SH OPTIONS\n");
	for (i = 0; i < c->nopts; i++) {
		const struct opt_def *o = &c->opts[i];
		fprintf(fp, ".TP\n");
		if (o->shrt)
			fprintf(fp, "\\fB\\-%c\\fR, ", o->shrt);
		fprintf(fp, "\\fB\\-\\-");
		man_escape(fp, o->lng);
		fprintf(fp, "\\fR");
		if (o->arg)
			fprintf(fp, " \\fI%s\\fR", o->arg);
		fprintf(fp, "\n");
		man_escape(fp, o->help);
		if (o->def && o->type != OPT_FLAG) {
			fprintf(fp, " (default ");
			man_escape(fp, o->def);
			fprintf(fp, ")");
		}
		fprintf(fp, "\n");
	}
	fprintf(fp, ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nshow help\n");
}

void cmd_print_markdown(FILE *fp, const struct cmd *c, const char *fullname)
{
	fprintf(fp, "## `%s`\n\n%s\n\n", fullname, c->summary);
	fprintf(fp, "```\n%s%s%s%s%s\n```\n\n", fullname, c->nopts ? " [OPTIONS]" : "",
		c->subs ? " COMMAND" : "", c->usage ? " " : "", c->usage ? c->usage : "");
	if (c->description)
		fprintf(fp, "%s\n\n", c->description);
	if (c->nopts) {
		fprintf(fp, "| option | argument | default | description |\n|---|---|---|---|\n");
		for (size_t i = 0; i < c->nopts; i++) {
			const struct opt_def *o = &c->opts[i];
			char sh[8] = "";
			if (o->shrt)
				snprintf(sh, sizeof(sh), "`-%c`, ", o->shrt);
			fprintf(fp, "| %s`--%s` | %s | %s | %s |\n", sh, o->lng,
				o->arg ? o->arg : "", o->def && o->type != OPT_FLAG ? o->def : "",
				o->help);
		}
		fprintf(fp, "\n");
	}
	for (size_t i = 0; c->subs && c->subs[i]; i++) {
		char sub[256];
		if (c->subs[i]->hidden)
			continue;
		snprintf(sub, sizeof(sub), "%s %s", fullname, c->subs[i]->name);
		cmd_print_markdown(fp, c->subs[i], sub);
	}
}
