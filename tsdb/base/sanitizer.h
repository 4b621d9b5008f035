/* tsdb/base/sanitizer.h — EMBER_ASAN is 1 in AddressSanitizer builds (gcc defines
 * __SANITIZE_ADDRESS__, clang answers __has_feature), else 0. Code that recycles memory (arenas,
 * pools) checks it to keep use-after-free visible to the tests' ASan build while the shipped
 * build skips the extra work. */
#ifndef EMBER_SANITIZER_H
#define EMBER_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define EMBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMBER_ASAN 1
#endif
#endif
#ifndef EMBER_ASAN
#define EMBER_ASAN 0
#endif

#endif
