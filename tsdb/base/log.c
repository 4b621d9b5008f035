/* tsdb/base/log.c — logfmt/JSON line formatting. The fields string arrives in logfmt form
 * (key=value, values optionally "quoted"); for JSON it is re-tokenised into "key":"value" pairs. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level g_level = LOG_LEVEL_INFO;
static enum log_format g_format = LOG_FORMAT_LOGFMT;
static int g_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_setup(enum log_level level, enum log_format format, int fd)
{
    g_level = level;
    g_format = format;
    g_fd = fd;
}

int log_level_parse(const char *s, enum log_level *ret)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *ret = (enum log_level) i;
            return 0;
        }
    }
    return -1;
}

int log_format_parse(const char *s, enum log_format *ret)
{
    if (strcmp(s, "logfmt") == 0)
        *ret = LOG_FORMAT_LOGFMT;
    else if (strcmp(s, "json") == 0)
        *ret = LOG_FORMAT_JSON;
    else
        return -1;
    return 0;
}

const char *log_escape(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 2 < cap; s++) {
        if (*s == '"' || *s == '\\')
            out[o++] = '\\';
        out[o++] = *s;
    }
    out[o] = '\0';
    return out;
}

int log_enabled(enum log_level level)
{
    return level >= g_level;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int log_ratelimit_pass(struct log_ratelimit *rl, int64_t interval_ms, uint64_t *ret_dropped)
{
    /* Racy across threads by design: a lost update only lets an extra line through. */
    int64_t now = now_ms();
    if (now < __atomic_load_n(&rl->next_ms, __ATOMIC_RELAXED)) {
        __atomic_add_fetch(&rl->dropped, 1, __ATOMIC_RELAXED);
        return 0;
    }
    __atomic_store_n(&rl->next_ms, now + interval_ms, __ATOMIC_RELAXED);
    *ret_dropped = __atomic_exchange_n(&rl->dropped, 0, __ATOMIC_RELAXED);
    return 1;
}

/* Appends s to out as a logfmt value (quoted when needed) or a JSON string. */
static size_t put_value(char *out, size_t pos, size_t cap, const char *s, size_t n, int json)
{
    int quote = json || n == 0;
    for (size_t i = 0; i < n && !quote; i++)
        if (s[i] == ' ' || s[i] == '"' || s[i] == '=' || (unsigned char) s[i] < 0x20)
            quote = 1;
    if (quote && pos < cap)
        out[pos++] = '"';
    for (size_t i = 0; i < n && pos + 2 < cap; i++) {
        unsigned char c = (unsigned char) s[i];
        if (quote && (c == '"' || c == '\\')) {
            out[pos++] = '\\';
            out[pos++] = (char) c;
        } else if (c == '\n') {
            out[pos++] = '\\';
            out[pos++] = 'n';
        } else if (c < 0x20) {
            out[pos++] = ' ';
        } else {
            out[pos++] = (char) c;
        }
    }
    if (quote && pos < cap)
        out[pos++] = '"';
    return pos;
}

static size_t put_raw(char *out, size_t pos, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n > cap - pos)
        n = cap - pos;
    memcpy(out + pos, s, n);
    return pos + n;
}

static size_t put_field(char *out, size_t pos, size_t cap, const char *k, size_t kn, const char *v,
                        size_t vn, int first)
{
    if (g_format == LOG_FORMAT_JSON) {
        pos = put_raw(out, pos, cap, first ? "{" : ",");
        pos = put_value(out, pos, cap, k, kn, 1);
        pos = put_raw(out, pos, cap, ":");
        return put_value(out, pos, cap, v, vn, 1);
    }
    if (!first)
        pos = put_raw(out, pos, cap, " ");
    if (kn > cap - pos)
        kn = cap - pos;
    memcpy(out + pos, k, kn);
    pos += kn;
    pos = put_raw(out, pos, cap, "=");
    return put_value(out, pos, cap, v, vn, 0);
}

/* Splits `a=1 b="x y" c=z` into pairs and emits each through put_field. */
static size_t put_fields(char *out, size_t pos, size_t cap, const char *f)
{
    const char *p = f;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *k = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        size_t kn = (size_t) (p - k);
        if (*p != '=') {
            if (kn)
                pos = put_field(out, pos, cap, k, kn, "", 0, 0);
            continue;
        }
        p++;
        char val[1024];
        size_t vn = 0;
        if (*p == '"') {
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1])
                    p++;
                if (vn < sizeof val)
                    val[vn++] = *p;
                p++;
            }
            if (*p == '"')
                p++;
        } else {
            while (*p && *p != ' ') {
                if (vn < sizeof val)
                    val[vn++] = *p;
                p++;
            }
        }
        pos = put_field(out, pos, cap, k, kn, val, vn, 0);
    }
    return pos;
}

void log_write(enum log_level level, const char *component, const char *msg, const char *fields,
               ...)
{
    char fbuf[2048];
    va_list ap;
    va_start(ap, fields);
    (void) vsnprintf(fbuf, sizeof fbuf, fields, ap);
    va_end(ap);

    char ts[40];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    size_t tn = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    (void) snprintf(ts + tn, sizeof ts - tn, ".%03ldZ", now.tv_nsec / 1000000);

    char out[4096];
    size_t cap = sizeof out - 2, pos = 0;
    pos = put_field(out, pos, cap, "ts", 2, ts, strlen(ts), 1);
    const char *lv = level_names[level];
    pos = put_field(out, pos, cap, "level", 5, lv, strlen(lv), 0);
    pos = put_field(out, pos, cap, "component", 9, component, strlen(component), 0);
    pos = put_field(out, pos, cap, "msg", 3, msg, strlen(msg), 0);
    pos = put_fields(out, pos, cap, fbuf);
    if (g_format == LOG_FORMAT_JSON)
        out[pos++] = '}';
    out[pos++] = '\n';
    (void) !write(g_fd, out, pos);
}
