/* tsdb/base/base.h — the foundation every folder may include: errors, arenas, buffers, logging,
 * numbers and time, regexes. Nothing here knows about series, HTTP or PromQL. */
#ifndef EMBER_BASE_H
#define EMBER_BASE_H

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "num.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
