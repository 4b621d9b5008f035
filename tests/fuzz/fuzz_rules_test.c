/* tests/fuzz/fuzz_rules_test.c — `ember test rules` files on arbitrary bytes: parsing, the input
 * series notation and the evaluation loop never crash or leak, and always end in pass (0),
 * fail (1) or an error with a message. */
#include "rules/rules.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct buf out = BUF_INIT;
    struct err e = {0};
    int r = rules_unittest_text("fuzz.yml", (const char *) data, size, &out, &e);
    if (r > 1 || (r < 0 && (e.code != r || !e.msg[0])) || out.len == 0)
        abort();
    buf_free(&out);
    return 0;
}
