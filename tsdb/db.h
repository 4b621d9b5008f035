/* tsdb/db.h — module-internal view of the database object: its parts for the other tsdb files. */
#ifndef EMBER_TSDB_DB_H
#define EMBER_TSDB_DB_H

#include "tsdb/tsdb.h"

struct head;
struct head *tsdb_db_head(tsdb *db);

#endif
