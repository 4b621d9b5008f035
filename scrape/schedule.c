/* scrape/schedule.c — target offsets rounded to slots and drift-free tick times (schedule.h). */
#include "scrape/schedule.h"

int64_t scrape_schedule_slot_ms(int64_t interval_ms)
{
    int64_t slot = interval_ms / SCRAPE_SCHEDULE_SLOTS;
    if (slot > SCRAPE_SCHEDULE_SLOT_MAX_MS)
        slot = SCRAPE_SCHEDULE_SLOT_MAX_MS;
    return slot > 0 ? slot : 1;
}

int64_t scrape_schedule_offset_ms(uint64_t hash, int64_t interval_ms)
{
    if (interval_ms <= 0)
        return 0;
    int64_t offset = (int64_t) (hash % (uint64_t) interval_ms);
    return offset - offset % scrape_schedule_slot_ms(interval_ms);
}

int64_t scrape_schedule_first_ms(int64_t now_ms, int64_t offset_ms, int64_t interval_ms)
{
    if (interval_ms <= 0)
        return now_ms;
    int64_t phase = now_ms % interval_ms;
    if (phase < 0)
        phase += interval_ms;
    int64_t wait = (offset_ms - phase) % interval_ms;
    return now_ms + (wait < 0 ? wait + interval_ms : wait);
}

int64_t scrape_schedule_next_ms(int64_t due_ms, int64_t now_ms, int64_t interval_ms)
{
    if (interval_ms <= 0)
        return now_ms;
    int64_t next = due_ms + interval_ms;
    if (next <= now_ms)
        next += ((now_ms - next) / interval_ms + 1) * interval_ms;
    return next;
}
