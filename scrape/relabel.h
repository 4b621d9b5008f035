/* scrape/relabel.h — applying compiled relabel rules (module-internal to scrape/; building them
 * is public, in scrape/scrape.h). */
#ifndef EMBER_SCRAPE_RELABEL_H
#define EMBER_SCRAPE_RELABEL_H

#include "scrape/scrape.h"

/* Identity of the rules (what they do), for target identity across reloads; NULL: 0. */
uint64_t scrape_relabel_hash(const scrape_relabel *rs);

/* relabel_text.c. */
void scrape_relabel_text_md5(const void *p, size_t n, unsigned char out[16]);
/* One code point of s[0..n) (n >= 1), Go's rules: an invalid sequence is U+FFFD of length 1. */
uint32_t scrape_relabel_text_utf8_decode(const unsigned char *s, size_t n, size_t *ret_len);
/* A letter or digit (Unicode, from the C.UTF-8 tables beyond ASCII); U+FFFD is not. */
int scrape_relabel_text_is_alnum(uint32_t cp);
/* s case-mapped as Go's strings.ToLower/ToUpper (invalid bytes become U+FFFD), in a; NULL when
 * a is full. */
const char *scrape_relabel_text_case(struct arena *a, const char *s, int upper);

#endif
