/* tests/fuzz/fuzz_omparse.c — the OpenMetrics parser on arbitrary bytes (exposition_check.h);
 * success also requires '# EOF' last. */
#include "exposition_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return check_exposition(data, size, TEXTPARSE_OPENMETRICS);
}
