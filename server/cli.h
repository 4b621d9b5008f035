/* server/cli.h — ember's subcommands (`ember tsdb import ...`), dispatched before the server's
 * flags are parsed. */
#ifndef EMBER_SERVER_CLI_H
#define EMBER_SERVER_CLI_H

/* 1 when argv names a subcommand, which has then run and left its exit code in *ret_code;
 * 0 when argv is for the server. */
int cli_run(int argc, char **argv, int *ret_code);
/* `ember check config|rules`, `ember test rules` (cli_rules.c): same contract as cli_run. */
int cli_rules_run(int argc, char **argv, int *ret_code);

/* `ember tsdb import`'s reading: OpenMetrics text with timestamps into bf; progress on stderr
 * when tty. ERR_PARSE with the line on malformed input or a sample without a timestamp.
 * mapped: p..p+n is a private read-only file mapping, whose pages behind the parser may be
 * dropped (madvise) to bound resident memory; 0 for any other memory. */
#include "tsdb/tsdb.h"
int cli_import_openmetrics(tsdb_backfill *bf, const char *p, size_t n, int mapped, int tty,
                           struct err *e);

#endif
