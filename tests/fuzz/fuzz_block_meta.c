/* tests/fuzz/fuzz_block_meta.c — a block's meta.json (tsdb/block.c) from arbitrary bytes: the
 * reader must refuse cleanly with a message, or accept a meta whose fields hold their invariants
 * and which reads back the same when written out the way the block writer writes it. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tsdb/block.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct block_meta m, again;
    struct err e = {0};
    if (block_meta_parse((const char *) data, size, &m, &e) < 0) {
        if (!e.msg[0])
            abort(); /* every refusal says why */
        return 0;
    }
    if (strlen(m.ulid) != BLOCK_ULID_LEN || m.maxt < m.mint || m.level < 1 ||
        m.version < BLOCK_FORMAT_MIN_VERSION || m.version > BLOCK_FORMAT_VERSION)
        abort();
    char out[512];
    int n = snprintf(out, sizeof out,
                     "{\"ulid\": \"%s\", \"minTime\": %" PRId64 ", \"maxTime\": %" PRId64
                     ", \"stats\": {\"numSamples\": %" PRIu64 ", \"numSeries\": %" PRIu64
                     ", \"numChunks\": %" PRIu64 "}, \"compaction\": {\"level\": %" PRIu32
                     "}, \"version\": %" PRIu32 "}",
                     m.ulid, m.mint, m.maxt + 1, m.n_samples, m.n_series, m.n_chunks, m.level,
                     m.version);
    if (n < 0 || (size_t) n >= sizeof out || block_meta_parse(out, (size_t) n, &again, &e) < 0 ||
        memcmp(&m, &again, sizeof m) != 0)
        abort();
    return 0;
}
