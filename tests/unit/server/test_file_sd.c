/* tests/unit/server/test_file_sd.c — file_sd target files: JSON and YAML target groups into
 * discovered label sets, and malformed files failing with a positioned, clear error. */
#include "server/file_sd.h"
#include "test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Parses text; returns the targets rendered one per line ("{a="b", ...}"), or "E <msg>". */
static const char *parse(const char *text)
{
    static char out[4096];
    struct arena *a = arena_new(1 << 20);
    struct labels *ts;
    uint32_t n;
    struct err e = {0};
    size_t o = 0;
    out[0] = '\0';
    if (file_sd_parse(a, "/sd/x.json", text, strlen(text), &ts, &n, &e) < 0) {
        (void) snprintf(out, sizeof out, "E %s", e.msg);
    } else {
        for (uint32_t i = 0; i < n; i++)
            o += (size_t) snprintf(out + o, sizeof out - o, "%s\n", labels_format(a, &ts[i]));
    }
    arena_free(a);
    return out;
}

TEST(json_groups)
{
    ASSERT_STR_EQ(parse("[{\"targets\": [\"a:1\", \"b:2\"], \"labels\": {\"env\": \"prod\"}},"
                        " {\"targets\": [\"c:3\"]}]"),
                  "{__address__=\"a:1\", __meta_filepath=\"/sd/x.json\", env=\"prod\"}\n"
                  "{__address__=\"b:2\", __meta_filepath=\"/sd/x.json\", env=\"prod\"}\n"
                  "{__address__=\"c:3\", __meta_filepath=\"/sd/x.json\"}\n");
    /* The target and the file path win over group labels of those names; empty values are no
     * label; an empty list or an empty file have no targets. */
    ASSERT_STR_EQ(parse("[{\"targets\": [\"a:1\"], \"labels\": {\"__address__\": \"x\", "
                        "\"__meta_filepath\": \"y\", \"e\": \"\"}}]"),
                  "{__address__=\"a:1\", __meta_filepath=\"/sd/x.json\"}\n");
    ASSERT_STR_EQ(parse("[]"), "");
    ASSERT_STR_EQ(parse(""), "");
    ASSERT_STR_EQ(parse("[{\"labels\": {\"a\": \"b\"}}]"), "");
}

TEST(yaml_groups)
{
    ASSERT_STR_EQ(parse("- targets: ['h:9100']\n  labels:\n    team: infra\n"
                        "- targets:\n  - '[::1]:9100'\n"),
                  "{__address__=\"h:9100\", __meta_filepath=\"/sd/x.json\", team=\"infra\"}\n"
                  "{__address__=\"[::1]:9100\", __meta_filepath=\"/sd/x.json\"}\n");
}

TEST(malformed_files)
{
    ASSERT_STR_CONTAINS(parse("{\"targets\": [\"a:1\"]}"),
                        "/sd/x.json:1:1: expected a list of target groups, got a mapping");
    ASSERT_STR_CONTAINS(parse("[\"a:1\"]"), "/sd/x.json:1:2: a target group must be a mapping");
    ASSERT_STR_CONTAINS(parse("[{\"targets\": \"a:1\"}]"), "/sd/x.json:1:14:");
    ASSERT_STR_CONTAINS(parse("[{\"targets\": [[\"a:1\"]]}]"), "key 'targets' expects a string");
    ASSERT_STR_CONTAINS(parse("[{\"targets\": [\"\"]}]"), "targets: empty target");
    ASSERT_STR_CONTAINS(parse("[{\"targets\": [\"a:1\"], \"labels\": {\"bad-name\": \"x\"}}]"),
                        "invalid label name 'bad-name'");
    ASSERT_STR_CONTAINS(parse("[{\"targets\": [\"a:1\"], \"labels\": [\"x\"]}]"),
                        "expects a mapping of label names to values");
    ASSERT_STR_CONTAINS(parse("[{\"targets\": [\"a:1\"], \"bogus\": 1}]"), "bogus");
    ASSERT_STR_CONTAINS(parse("[{\"targets\": [\"a:1\"]"), "/sd/x.json:");
    ASSERT_STR_CONTAINS(parse("[{\"targets\": [\"a:1\"], \"targets\": []}]"), "targets");
    ASSERT_STR_CONTAINS(parse("not a list"), "expected a list of target groups, got a scalar");
    ASSERT_STR_CONTAINS(parse("- a\n---\n- b\n"), "only one YAML document");
    char deep[300];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    ASSERT_STR_CONTAINS(parse(deep), "nested deeper than");
    ASSERT_STR_CONTAINS(parse("[{\"targets\": [\"a\0b\"]}]"), "/sd/x.json");
}

TEST(tiny_arena)
{
    struct arena *a = arena_new(64);
    struct labels *ts;
    uint32_t n;
    struct err e = {0};
    const char *text = "[{\"targets\": [\"a:1\", \"b:2\", \"c:3\"], \"labels\": {\"env\": \"p\"}}]";
    int r = file_sd_parse(a, "/sd/x.json", text, strlen(text), &ts, &n, &e);
    ASSERT_TRUE(r == ERR_LIMIT || r == -ENOMEM);
    ASSERT_TRUE(e.msg[0] != '\0');
    arena_free(a);
}
