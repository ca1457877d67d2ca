/* commands.h — the top-level subcommands of `vtap`; each lives in its own
 * file under src/ and is listed in main.c. */
#ifndef VT_CLI_COMMANDS_H
#define VT_CLI_COMMANDS_H

#include "core/opt.h"

extern const struct cmd vtap_root;

extern const struct cmd cmd_version;
extern const struct cmd cmd_help;
extern const struct cmd cmd_man;
extern const struct cmd cmd_docs;
extern const struct cmd cmd_config_keys;
extern const struct cmd cmd_agent;
extern const struct cmd cmd_lab;
extern const struct cmd cmd_decode;
extern const struct cmd cmd_meter;
extern const struct cmd cmd_flowdecode;      /* src/collector/cmd_flowdecode.c */
extern const struct cmd cmd_flows;
extern const struct cmd cmd_store;
extern const struct cmd cmd_flowgen;         /* src/collector/cmd_flowgen.c (hidden) */
extern const struct cmd cmd_collector;       /* src/collector/cmd_collector.c */
extern const struct cmd cmd_vms;             /* src/collector/cmd_vms.c */
extern const struct cmd cmd_vm;
extern const struct cmd cmd_taprun;          /* src/agent/tap/cmd_taprun.c */
extern const struct cmd cmd_session;         /* src/agent/cmd_session.c */

#include "core/conf.h"
/* Config schemas of every daemon, NULL-terminated (cmd_meta.c). */
extern const struct conf_schema *const vtap_conf_schemas[];

#endif
