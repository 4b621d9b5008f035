/* tests/unit/scrape/test_schedule.c — when targets scrape: offsets are deterministic, whole slots
 * within the interval and spread over (nearly) all of them; ticks keep their phase after a late
 * wake-up and skip, not repeat, intervals a blocked loop missed. */
#include "scrape/loop.h"
#include "scrape/schedule.h"
#include "test.h"

#include <stdio.h>

/* Target i of a job like the scrape benchmark's: one loopback port each. */
static uint64_t target_hash(unsigned i, int64_t interval_ms, char *addr, size_t cap)
{
    (void) snprintf(addr, cap, "127.0.0.1:%u", 40000 + i);
    struct label l[2] = {{"instance", addr}, {"job", "node"}};
    struct scrape_target_spec s = {
        .job = "node", .scheme = "http", .address = addr, .metrics_path = "/metrics",
        .query = "", .accept = "text/plain", .interval_ms = interval_ms,
        .timeout_ms = interval_ms, .labels = {l, 2},
    };
    return scrape_spec_hash(&s);
}

TEST(slot_length_per_interval)
{
    ASSERT_EQ(scrape_schedule_slot_ms(5000), 250);
    ASSERT_EQ(scrape_schedule_slot_ms(15000), 250); /* capped: 60 slots */
    ASSERT_EQ(scrape_schedule_slot_ms(60000), 250);
    ASSERT_EQ(scrape_schedule_slot_ms(1000), 50);    /* 20 slots */
    ASSERT_EQ(scrape_schedule_slot_ms(10), 1);       /* no rounding left */
}

/* 200 targets every 5 s: 20 slots of 250 ms, each used, none crowded; the same target always
 * gets the same offset. */
static void check_spread(int64_t interval_ms, unsigned n, unsigned min_used, unsigned max_per)
{
    int64_t slot = scrape_schedule_slot_ms(interval_ms);
    unsigned slots = (unsigned) ((interval_ms + slot - 1) / slot), count[256] = {0};
    ASSERT_TRUE(slots <= 256);
    char addr[64];
    for (unsigned i = 0; i < n; i++) {
        uint64_t h = target_hash(i, interval_ms, addr, sizeof addr);
        int64_t off = scrape_schedule_offset_ms(h, interval_ms);
        ASSERT_TRUE(off >= 0 && off < interval_ms);
        ASSERT_EQ(off % slot, 0);
        ASSERT_TRUE(h % (uint64_t) interval_ms - (uint64_t) off < (uint64_t) slot);
        ASSERT_EQ(scrape_schedule_offset_ms(target_hash(i, interval_ms, addr, sizeof addr),
                                            interval_ms), off);
        count[off / slot]++;
    }
    unsigned used = 0, most = 0;
    for (unsigned k = 0; k < slots; k++) {
        used += count[k] > 0;
        most = count[k] > most ? count[k] : most;
    }
    ASSERT_TRUE(used >= min_used);
    ASSERT_TRUE(most <= max_per);
}

TEST(offsets_are_whole_slots_spread_over_the_interval)
{
    check_spread(5000, 200, 20, 25);   /* mean 10 a slot */
    check_spread(15000, 200, 50, 12);  /* 60 slots, mean 3.3 */
    check_spread(1000, 40, 15, 8);     /* 20 slots of 50 ms, mean 2 */
}

TEST(first_tick_at_the_offset_phase)
{
    ASSERT_EQ(scrape_schedule_first_ms(12345, 250, 5000), 15250);
    ASSERT_EQ(scrape_schedule_first_ms(15250, 250, 5000), 15250); /* due now */
    ASSERT_EQ(scrape_schedule_first_ms(15251, 250, 5000), 20250);
    ASSERT_EQ(scrape_schedule_first_ms(0, 4750, 5000), 4750);
}

TEST(next_tick_keeps_phase_and_skips_missed_intervals)
{
    ASSERT_EQ(scrape_schedule_next_ms(15250, 15250, 5000), 20250);
    ASSERT_EQ(scrape_schedule_next_ms(15250, 15290, 5000), 20250); /* woke 40 ms late */
    ASSERT_EQ(scrape_schedule_next_ms(15250, 20250, 5000), 25250); /* a whole interval late */
    ASSERT_EQ(scrape_schedule_next_ms(15250, 31000, 5000), 35250);
    int64_t due = scrape_schedule_first_ms(777, 1250, 5000);
    for (int i = 0; i < 100; i++) {
        int64_t late = (i * 37) % 200; /* wake-ups 0-199 ms late */
        due = scrape_schedule_next_ms(due, due + late, 5000);
        ASSERT_EQ(due % 5000, 1250);
    }
}
