/* tsdb/base/err.c — error names and messages generated from EMBER_ERR_MAP; err_set/err_prefix. */
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        e->code = code;
        (void) vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

int err_prefix(struct err *e, const char *fmt, ...)
{
    if (!e)
        return ERR_INTERNAL;
    char old[sizeof e->msg];
    memcpy(old, e->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t) n < sizeof e->msg)
        (void) snprintf(e->msg + n, sizeof e->msg - (size_t) n, "%s", old);
    return e->code;
}

void err_clear(struct err *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = '\0';
    }
}

const char *err_name(int code)
{
    switch (code) {
#define X(name, c, msg)                                                                            \
    case c:                                                                                        \
        return #name;
        EMBER_ERR_MAP(X)
#undef X
    case -ENOMEM:
        return "ENOMEM";
    case -ENOENT:
        return "ENOENT";
    case -EINVAL:
        return "EINVAL";
    case -EIO:
        return "EIO";
    case -ENOSPC:
        return "ENOSPC";
    case 0:
        return "OK";
    }
    return "ERR_UNKNOWN";
}

const char *err_str(int code)
{
    switch (code) {
#define X(name, c, msg)                                                                            \
    case c:                                                                                        \
        return msg;
        EMBER_ERR_MAP(X)
#undef X
    case 0:
        return "success";
    }
    if (code < 0 && code > -4096)
        return strerror(-code);
    return "unknown error";
}
