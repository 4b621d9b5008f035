/* tests/fuzz/fuzz_textparse.c — the text format 0.0.4 parser on arbitrary bytes
 * (exposition_check.h). */
#include "exposition_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return check_exposition(data, size, TEXTPARSE_PROM);
}
