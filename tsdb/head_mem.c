/* tsdb/head_mem.c — where the head's memory goes (head.h: head_memory), for the storage
 * benchmark and for anyone shrinking it: bytes as the allocator hands them out (usable sizes,
 * so size-class rounding counts), grouped by what holds them. */
#include <malloc.h>

#include "head.h"
#include "tsdb/symtab.h"

static size_t usable(const void *p)
{
    return p ? malloc_usable_size((void *) p) + sizeof(size_t) : 0; /* + glibc's header */
}

static size_t hmap_bytes(const struct hmap *m)
{
    return usable(m->slots);
}

static void count_series(struct head *h, const struct mem_series *s, struct head_mem *m)
{
    size_t bytes = sizeof *s + s->n_labels * sizeof s->lv[0];
    m->series_structs += bytes <= CHUNK_POOL_SLAB_MAX ? chunk_pool_slab_size(bytes) : usable(s);
    pthread_mutex_t *lock = head_series_lock(h, s);
    pthread_mutex_lock(lock);
    m->open_chunks += s->open.b.cap > CHUNK_POOL_SLAB_MAX ? usable(s->open.b.p) : s->open.b.cap;
    m->open_used += s->open.b.len;
    for (const struct head_chunk *c = s->closed; c; c = c->older) {
        m->closed_headers += sizeof *c;
        m->closed_data += c->len;
        m->closed_samples += c->n;
        m->n_closed++;
    }
    m->open_samples += s->open.n;
    pthread_mutex_unlock(lock);
    m->n_series++;
}

void head_memory(struct head *h, struct head_mem *m)
{
    *m = (struct head_mem){0};
    pthread_rwlock_rdlock(&h->gc_lock);
    for (size_t p = 0; p < HEAD_PAGES; p++) {
        struct mem_series **page = atomic_load(&h->pages[p]);
        if (!page)
            continue;
        m->page_table += usable(page);
        for (size_t i = 0; i < (1u << HEAD_PAGE_BITS); i++) {
            struct mem_series *s = __atomic_load_n(&page[i], __ATOMIC_ACQUIRE);
            if (s)
                count_series(h, s, m);
        }
    }
    for (int i = 0; i < HEAD_STRIPES; i++) {
        pthread_mutex_lock(&h->stripes[i].lock);
        m->series_hash += series_map_bytes(&h->stripes[i].series) ? usable(h->stripes[i].series.slots) : 0;
        pthread_mutex_unlock(&h->stripes[i].lock);
    }
    pthread_rwlock_rdlock(&h->index_lock);
    m->postings += hmap_bytes(&h->names);
    for (size_t i = 0; i < h->names.cap; i++) {
        const struct index_name *n = h->names.slots[i].item;
        if (!n)
            continue;
        m->postings += usable(n) + usable(n->slots);
        for (uint32_t j = 0; j < n->cap; j++) {
            const struct index_value *v = index_name_at(n, j);
            if (v)
                m->postings += chunk_pool_slab_size(sizeof *v) +
                               (v->refs.cap ? usable(v->refs.u.p) : 0);
        }
    }
    m->postings += h->all_refs.cap ? usable(h->all_refs.u.p) : 0;
    pthread_rwlock_unlock(&h->index_lock);
    pthread_rwlock_unlock(&h->gc_lock);
    m->symbols = symtab_bytes(h->symtab);
    m->chunk_pool = chunk_pool_bytes(h->chunks);
}
