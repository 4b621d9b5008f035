/* tsdb/base/err.h — error codes and caller-owned error context.
 * Fallible functions return int: >= 0 success, < 0 failure (-errno or an ERR_* code below). */
#ifndef EMBER_BASE_ERR_H
#define EMBER_BASE_ERR_H

#include <stdarg.h>

/* One table generates the codes, their names and their messages, so they cannot drift. */
#define EMBER_ERR_MAP(X)                                                                           \
    X(ERR_PARSE, -1001, "parse error")                                                             \
    X(ERR_LIMIT, -1002, "limit exceeded")                                                          \
    X(ERR_CORRUPT, -1003, "corrupt data")                                                          \
    X(ERR_TIMEOUT, -1004, "timeout")                                                               \
    X(ERR_CANCELED, -1005, "canceled")                                                             \
    X(ERR_INTERNAL, -1006, "internal error")                                                       \
    X(ERR_NOT_FOUND, -1007, "not found")                                                           \
    X(ERR_EXEC, -1008, "execution error")                                                          \
    X(ERR_OUT_OF_ORDER, -1009, "out of order sample")                                              \
    X(ERR_DUPLICATE, -1010, "duplicate sample for timestamp")                                      \
    X(ERR_UNAVAILABLE, -1011, "unavailable")

enum ember_err {
#define X(name, code, msg) name = code,
    EMBER_ERR_MAP(X)
#undef X
};

/* Context for a failure; written only on failure. msg is always NUL-terminated. */
struct err {
    int code;
    char msg[256];
};

/* Fills e (which may be NULL) and returns code, so callers can `return err_set(...)`. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prepends context to an existing message: "open x: " + old msg. Returns e->code. */
int err_prefix(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Name ("ERR_PARSE", "ENOENT") and human message for a code (ember or -errno). */
const char *err_name(int code);
const char *err_str(int code);
/* Clears e (may be NULL). */
void err_clear(struct err *e);

/* "Cannot happen" on an input path: asserts in debug builds, evaluates to the condition in release
 * so the caller handles it (sqlite's NEVER()). */
#ifdef NDEBUG
#define NEVER(x) (x)
#else
#include <assert.h>
#define NEVER(x) (assert(!(x)), (x))
#endif

#endif
