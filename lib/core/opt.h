/* opt.h — declarative command-line options and subcommands.
 *
 * A command declares its options in a table (long name, short letter,
 * type, field offset, bounds, help). The same table parses argv (through
 * getopt_long), validates values with messages that name the option, and
 * produces `--help`, `vtap help CMD`, the man page and the docs page — so
 * help and docs cannot drift from the code. */
#ifndef VT_OPT_H
#define VT_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "core/err.h"

enum opt_type {
	OPT_FLAG,      /* bool, no argument */
	OPT_COUNT,     /* unsigned: incremented per occurrence (-v -v) */
	OPT_STR,       /* const char * (points into argv) */
	OPT_UINT,      /* uint64_t within [min, max] */
	OPT_DURATION,  /* uint64_t ms */
	OPT_SIZE,      /* uint64_t bytes */
	OPT_ENUM,      /* int index into enum_names */
	OPT_STRLIST,   /* repeatable: struct opt_strlist */
};

#define OPT_LIST_MAX 32
struct opt_strlist {
	const char *v[OPT_LIST_MAX];
	size_t n;
};

struct opt_def {
	const char *lng;                /* "config" for --config */
	char shrt;                      /* 'c' or 0 */
	enum opt_type type;
	size_t off;                     /* offset of the field in the options struct */
	const char *arg;                /* argument name in help: "FILE" */
	const char *help;
	uint64_t min, max;
	const char *const *enum_names;  /* OPT_ENUM: NULL-terminated */
	const char *def;                /* default, as text, applied before parsing */
};

struct cmd;
typedef int (*cmd_fn)(const struct cmd *cmd, void *opts, int argc, char **argv);

struct cmd {
	const char *name;
	const char *summary;            /* one line */
	const char *usage;              /* positional arguments, e.g. "VM HOST" */
	const char *description;        /* paragraphs for help and man page */
	const struct opt_def *opts;
	size_t nopts;
	size_t opts_size;               /* sizeof the options struct */
	cmd_fn run;                     /* NULL when the command only has subs */
	const struct cmd *const *subs;  /* NULL-terminated */
	unsigned min_args, max_args;    /* positional argument bounds */
	bool hidden;                    /* not listed in help */
	/* Options end at the first positional argument (commands that run
	 * another command: `vtap lab exec vm1 ping -c 1 x`). Otherwise options
	 * may follow positional arguments (`lab migrate vm2 h2 --pause 2s`). */
	bool stop_at_args;
};

/* cmd_dispatch() : walks subcommands from argv, parses the options of the
 * command found into a zeroed struct of its opts_size, and runs it with
 * the remaining positional arguments. Handles -h/--help at every level.
 * <prog> is the chain printed in messages ("vtap"). Returns the exit code. */
int cmd_dispatch(const struct cmd *root, const char *prog, int argc, char **argv);
/* cmd_print_help() : prints the help of the command reached by <path>. */
void cmd_print_help(FILE *fp, const struct cmd *root, const char *prog,
	      int npath, char **path);
/* cmd_find() : the command at <path> (names), or NULL. */
const struct cmd *cmd_find(const struct cmd *root, int npath, char **path);
/* cmd_print_man() : a troff man page for <cmd> whose full name is <fullname>. */
void cmd_print_man(FILE *fp, const struct cmd *cmd, const char *fullname,
	     const char *version);
/* cmd_print_markdown() : the docs page of <cmd> and its subcommands. */
void cmd_print_markdown(FILE *fp, const struct cmd *cmd, const char *fullname);

/* opt_parse() : parses <argc/argv> against <opts> into <dst>; on success
 * *<first_arg> is the index of the first positional argument (positional
 * arguments are moved after the options unless <stop_at_args>). Errors
 * name the option. Exposed for tests. */
int opt_parse(const struct opt_def *opts, size_t nopts, void *dst, int argc,
	      char **argv, bool stop_at_args, int *first_arg, bool *help,
	      struct vt_err *err);

#endif
