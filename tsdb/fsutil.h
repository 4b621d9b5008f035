/* tsdb/fsutil.h — file-system chores the storage engine repeats: durable directory changes,
 * recursive removal, sizes (module-internal to tsdb/). */
#ifndef EMBER_TSDB_FSUTIL_H
#define EMBER_TSDB_FSUTIL_H

#include <stdint.h>

#include "tsdb/base/base.h"

/* fsync of a directory, so renames and creations in it survive a crash. */
int fs_sync_dir(const char *dir, struct err *e);
/* rm -rf; a missing path is fine. Does not follow symlinks. */
int fs_remove_tree(const char *path, struct err *e);
/* Total size of regular files under path (recursive); 0 when missing. */
uint64_t fs_tree_bytes(const char *path);
/* Hard-links every regular file of src's tree into a new tree dst (for snapshots). */
int fs_link_tree(const char *src, const char *dst, struct err *e);

#endif
