/* tests/unit/server/test_flags.c — Prometheus flag names, both value spellings, and one-line
 * errors for unknown flags and bad values. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server/flags.h"
#include "test.h"

static int parse(struct flags *f, struct err *e, int argc, ...)
{
    char *argv[16] = {"ember"};
    va_list ap;
    va_start(ap, argc);
    for (int i = 1; i < argc && i < 16; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    return flags_parse(argc, argv, f, e);
}

TEST(defaults_are_safe)
{
    struct flags f;
    struct err e;
    ASSERT_OK(parse(&f, &e, 1));
    ASSERT_STR_EQ(f.listen_address, "127.0.0.1:9090");
    ASSERT_STR_EQ(f.storage_path, "data");
    ASSERT_TRUE(f.config_file == NULL);
    ASSERT_EQ(f.lookback_delta_ms, 300000);
    ASSERT_EQ(f.query_timeout_ms, 120000);
    ASSERT_EQ(f.max_samples, 50000000);
    ASSERT_EQ(f.retention_ms, 15LL * 86400000);
}

TEST(both_value_spellings)
{
    struct flags f;
    struct err e;
    ASSERT_OK(parse(&f, &e, 6, "--config.file=/etc/p.yml", "--web.listen-address", ":9091",
                    "--query.lookback-delta=1m30s", "--log.level=debug"));
    ASSERT_STR_EQ(f.config_file, "/etc/p.yml");
    ASSERT_STR_EQ(f.listen_address, ":9091");
    ASSERT_EQ(f.lookback_delta_ms, 90000);
    ASSERT_EQ(f.log_level, LOG_LEVEL_DEBUG);
    ASSERT_OK(parse(&f, &e, 2, "--version"));
    ASSERT_TRUE(f.version);
}

TEST(bad_flags_and_values_name_the_flag)
{
    struct flags f;
    struct err e;
    ASSERT_EQ(parse(&f, &e, 2, "--bogus"), ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "--bogus");
    ASSERT_EQ(parse(&f, &e, 2, "--query.timeout=10"), ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "query.timeout");
    ASSERT_EQ(parse(&f, &e, 2, "--query.max-samples=-5"), ERR_PARSE);
    ASSERT_EQ(parse(&f, &e, 2, "--log.format=xml"), ERR_PARSE);
    ASSERT_EQ(parse(&f, &e, 2, "--config.file"), ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "expected argument");
    ASSERT_EQ(parse(&f, &e, 2, "positional"), ERR_PARSE);
    ASSERT_EQ(parse(&f, &e, 2, "--version=maybe"), ERR_PARSE);
    ASSERT_TRUE(strchr(e.msg, '\n') == NULL);
}

TEST(spin_takes_zero_to_a_tenth_of_a_second_in_microseconds)
{
    struct flags f;
    struct err e;
    ASSERT_OK(parse(&f, &e, 1));
    ASSERT_EQ(f.spin_us, 50);
    ASSERT_OK(parse(&f, &e, 2, "--web.spin-microseconds=0"));
    ASSERT_EQ(f.spin_us, 0);
    ASSERT_OK(parse(&f, &e, 2, "--web.spin-microseconds=100000"));
    ASSERT_EQ(f.spin_us, 100000);
    ASSERT_EQ(parse(&f, &e, 2, "--web.spin-microseconds=100001"), ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "web.spin-microseconds");
    ASSERT_EQ(parse(&f, &e, 2, "--web.spin-microseconds=-1"), ERR_PARSE);
    ASSERT_EQ(parse(&f, &e, 2, "--web.spin-microseconds=50us"), ERR_PARSE);
}

TEST(help_lists_every_flag)
{
    const char *u = flags_usage();
    ASSERT_STR_CONTAINS(u, "--config.file");
    ASSERT_STR_CONTAINS(u, "--storage.tsdb.path");
    ASSERT_STR_CONTAINS(u, "--web.listen-address");
    ASSERT_STR_CONTAINS(u, "--log.format");
}

TEST(retention_size_takes_prometheus_units)
{
    struct flags f;
    struct err e;
    ASSERT_OK(parse(&f, &e, 1));
    ASSERT_EQ(f.retention_bytes, 0);
    ASSERT_OK(parse(&f, &e, 2, "--storage.tsdb.retention.size=512MB"));
    ASSERT_EQ(f.retention_bytes, 512LL << 20);
    ASSERT_OK(parse(&f, &e, 2, "--storage.tsdb.retention.size=10GiB"));
    ASSERT_EQ(f.retention_bytes, 10LL << 30);
    ASSERT_OK(parse(&f, &e, 2, "--storage.tsdb.retention.size=4096B"));
    ASSERT_EQ(f.retention_bytes, 4096);
    ASSERT_EQ(parse(&f, &e, 2, "--storage.tsdb.retention.size=12"), ERR_PARSE);
    ASSERT_EQ(parse(&f, &e, 2, "--storage.tsdb.retention.size=1.5GB"), ERR_PARSE);
    ASSERT_EQ(parse(&f, &e, 2, "--storage.tsdb.retention.size=5XB"), ERR_PARSE);
    ASSERT_STR_CONTAINS(e.msg, "retention.size");
}

struct seen {
    char text[2048];
    size_t len;
};

static void collect(void *ctx, const char *name, const char *value)
{
    struct seen *s = ctx;
    s->len += (size_t) snprintf(s->text + s->len, sizeof s->text - s->len, "%s=%s;", name, value);
}

TEST(visit_gives_every_flag_as_prometheus_prints_it)
{
    struct flags f;
    struct err e;
    struct seen s = {{0}, 0};
    ASSERT_OK(parse(&f, &e, 4, "--web.enable-lifecycle", "--storage.tsdb.retention.size=1536MB",
                    "--query.timeout=90s"));
    ASSERT_TRUE(f.enable_lifecycle);
    flags_visit(&f, collect, &s);
    ASSERT_TRUE(strstr(s.text, "config.file=;") != NULL);
    ASSERT_TRUE(strstr(s.text, "storage.tsdb.retention.time=15d;") != NULL);
    ASSERT_TRUE(strstr(s.text, "storage.tsdb.retention.size=1GiB512MiB;") != NULL);
    ASSERT_TRUE(strstr(s.text, "web.enable-lifecycle=true;") != NULL);
    ASSERT_TRUE(strstr(s.text, "web.enable-admin-api=false;") != NULL);
    ASSERT_TRUE(strstr(s.text, "query.timeout=1m30s;") != NULL);
    ASSERT_TRUE(strstr(s.text, "log.level=info;") != NULL);
    ASSERT_TRUE(strstr(s.text, "help=") == NULL);
    char b[64];
    flags_format_bytes(b, sizeof b, 0);
    ASSERT_STR_EQ(b, "0B");
    flags_format_bytes(b, sizeof b, 10LL << 30);
    ASSERT_STR_EQ(b, "10GiB");
}
