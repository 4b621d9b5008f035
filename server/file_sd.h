/* server/file_sd.h — file_sd_configs: target-group files (JSON or YAML lists of
 * {targets, labels}) read into discovered targets, and the snapshot of every job's file targets
 * that the scrape config is applied with (module-internal to server/).
 *
 * A snapshot is immutable once built; the loop thread owns the current one and replaces it after
 * each refresh. file_sd_refresh() reads files and so runs on a worker; it only reads the previous
 * snapshot, which the loop must keep alive until the refresh is done. */
#ifndef EMBER_SERVER_FILE_SD_H
#define EMBER_SERVER_FILE_SD_H

#include "server/config.h"

#define FILE_SD_META_FILEPATH "__meta_filepath"

/* Parses one target-group file's text[0..len) (NUL at len). path names the file in messages and
 * becomes each target's __meta_filepath. Each target is a sorted label set in arena a: its
 * group's labels, __address__ (the target) and __meta_filepath. ERR_PARSE with
 * "<path>:<line>:<col>: ..." for anything malformed; ERR_LIMIT, -ENOMEM. */
int file_sd_parse(struct arena *a, const char *path, const char *text, size_t len,
                  struct labels **ret, uint32_t *ret_n, struct err *e);

struct file_sd_snapshot;

/* Worker thread: expands the globs of every job's file_sd_configs, reads and parses each file.
 * A file that cannot be read or parsed is logged and keeps the targets prev had for it (job and
 * path equal); a file no glob matches any more loses its targets. *ret taken (may hold no
 * files). Fails only on memory. *ret_errors counts the files that failed. */
int file_sd_refresh(const struct config *cfg, const struct file_sd_snapshot *prev,
                    struct file_sd_snapshot **ret, uint64_t *ret_errors, struct err *e);
/* job's targets in s, in path then file order; borrowed until s is freed. s may be NULL. */
uint32_t file_sd_count(const struct file_sd_snapshot *s, const char *job);
uint32_t file_sd_copy(const struct file_sd_snapshot *s, const char *job, struct labels *out);
void file_sd_snapshot_free(struct file_sd_snapshot *s); /* NULL is fine */

#endif
