/* tsdb/base/base.h — the foundation every folder may include: errors, arenas, buffers, logging,
 * numbers and time, regexes. Nothing here knows about series, HTTP or PromQL. */
#ifndef EMBER_BASE_H
#define EMBER_BASE_H

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "hmap.h"
#include "log.h"
#include "num.h"
#include "re.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
