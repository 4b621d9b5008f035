/* tsdb/base/log.h — leveled logger writing one logfmt (or JSON) line per event with one write(2),
 * so any thread may log. The level is tested before anything is formatted. */
#ifndef EMBER_BASE_LOG_H
#define EMBER_BASE_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };
enum log_format { LOG_FORMAT_LOGFMT, LOG_FORMAT_JSON };

/* Set once at start-up by server/main.c before other threads exist. */
void log_setup(enum log_level level, enum log_format format, int fd);
int log_level_parse(const char *s, enum log_level *ret);   /* "debug"|"info"|"warn"|"error" */
int log_format_parse(const char *s, enum log_format *ret); /* "logfmt"|"json" */
int log_enabled(enum log_level level);
/* s with '"' and '\\' backslash-escaped for a "%s" field, cut to fit out (cap >= 1); returns out. */
const char *log_escape(const char *s, char *out, size_t cap);

/* fields: printf format producing `key=value key2="quoted value"` pairs (logfmt form; values
 * with spaces must be quoted by the caller: "%s" of log_escape-d text). */
void log_write(enum log_level level, const char *component, const char *msg, const char *fields,
               ...) __attribute__((format(printf, 4, 5)));

#define LOG_AT(lvl, comp, msg, ...)                                                               \
    do {                                                                                           \
        if (log_enabled(lvl))                                                                      \
            log_write(lvl, comp, msg, __VA_ARGS__);                                                \
    } while (0)
#define LOG_DEBUG(comp, msg, ...) LOG_AT(LOG_LEVEL_DEBUG, comp, msg, __VA_ARGS__)
#define LOG_INFO(comp, msg, ...) LOG_AT(LOG_LEVEL_INFO, comp, msg, __VA_ARGS__)
#define LOG_WARN(comp, msg, ...) LOG_AT(LOG_LEVEL_WARN, comp, msg, __VA_ARGS__)
#define LOG_ERROR(comp, msg, ...) LOG_AT(LOG_LEVEL_ERROR, comp, msg, __VA_ARGS__)

/* At most one line per interval_ms per call site; the count of dropped lines is reported in
 * the next line that gets through (dropped=N). */
struct log_ratelimit {
    int64_t next_ms;
    uint64_t dropped;
};
int log_ratelimit_pass(struct log_ratelimit *rl, int64_t interval_ms, uint64_t *ret_dropped);
#define LOG_RATELIMITED(lvl, comp, msg, fields, ...)                                              \
    do {                                                                                           \
        static struct log_ratelimit rl_;                                                           \
        uint64_t dropped_;                                                                         \
        if (log_enabled(lvl) && log_ratelimit_pass(&rl_, 5000, &dropped_))                         \
            log_write(lvl, comp, msg, fields " dropped=%llu", __VA_ARGS__,                         \
                      (unsigned long long) dropped_);                                              \
    } while (0)

#endif
