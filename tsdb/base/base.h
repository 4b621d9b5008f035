/* tsdb/base/base.h — the foundation every folder may include: errors, arenas, buffers, logging,
 * numbers and time, regexes. Nothing here knows about series, HTTP or PromQL. */
#ifndef EMBER_BASE_H
#define EMBER_BASE_H

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "buf.h"
#include "err.h"
#include "hmap.h"
#include "log.h"
#include "num.h"
#include "re.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A zeroed small object on a hot path (one per request or query): glibc's calloc() never uses
 * the per-thread cache that serves malloc(), and costs ~200 instructions more a call. The empty
 * asm hides where p came from: gcc and clang would otherwise fold malloc + memset back into
 * calloc. */
static inline void *zalloc(size_t n)
{
    void *p = malloc(n);
    __asm__("" : "+r"(p));
    if (p)
        memset(p, 0, n);
    return p;
}

#endif
