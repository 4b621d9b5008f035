/* promql/aggregations.c — sum avg count min max group stddev stdvar topk bottomk count_values
 * quantile, grouped by/without labels. Groups appear in order of their first element, topk and
 * bottomk keep a binary heap laid out exactly as Go's container/heap does, so ties select the
 * same series as Prometheus 2.42 (aggregation() in promql/engine.go). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine.h"
#include "tsdb/base/base.h"

struct group {
    struct labels src;    /* first element's labels: the group's identity */
    struct labels metric; /* output labels */
    double value, mean;
    uint64_t count;
    struct promql_sample *heap; /* topk/bottomk (k slots) and quantile (all values) */
    size_t n_heap, cap_heap;
};

/* Heap order: topk keeps the smallest on top, bottomk the largest; NaN always sorts first. */
static int heap_less(const struct promql_sample *h, size_t i, size_t j, int reverse)
{
    if (isnan(h[i].v))
        return 1;
    return reverse ? h[i].v > h[j].v : h[i].v < h[j].v;
}

static void heap_swap(struct promql_sample *h, size_t i, size_t j)
{
    struct promql_sample t = h[i];
    h[i] = h[j];
    h[j] = t;
}

static void heap_up(struct promql_sample *h, size_t j, int rev)
{
    while (j > 0) {
        size_t i = (j - 1) / 2;
        if (!heap_less(h, j, i, rev))
            break;
        heap_swap(h, i, j);
        j = i;
    }
}

static void heap_down(struct promql_sample *h, size_t i, size_t n, int rev)
{
    for (;;) {
        size_t j1 = 2 * i + 1;
        if (j1 >= n)
            break;
        size_t j = j1;
        if (j1 + 1 < n && heap_less(h, j1 + 1, j1, rev))
            j = j1 + 1;
        if (!heap_less(h, j, i, rev))
            break;
        heap_swap(h, i, j);
        i = j;
    }
}

void promql_aggregations_heap_offer(struct promql_sample *heap, size_t *n,
                                    const struct promql_sample *s, size_t k, int rev)
{
    if (*n == 0) { /* the group's first element */
        heap[(*n)++] = *s;
        return;
    }
    int better = rev ? heap[0].v > s->v : heap[0].v < s->v;
    if (!(*n < k || better || isnan(heap[0].v)))
        return;
    if (*n == k) {
        if (k == 1) {
            heap[0] = *s;
            return;
        }
        /* heap.Pop: move the top to the end, restore the heap, drop the end. */
        heap_swap(heap, 0, *n - 1);
        heap_down(heap, 0, *n - 1, rev);
        (*n)--;
    }
    heap[(*n)++] = *s;
    heap_up(heap, *n - 1, rev);
}

static void heap_offer(struct group *g, const struct promql_sample *s, size_t k, int rev)
{
    promql_aggregations_heap_offer(g->heap, &g->n_heap, s, k, rev);
}

/* sort.Sort(sort.Reverse(heap)): Go's insertion sort for small inputs is stable; keep it so. */
void promql_aggregations_heap_sort(struct promql_sample *h, size_t n, int rev)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && heap_less(h, j - 1, j, rev); j--)
            heap_swap(h, j, j - 1);
}

static int cmp_value(const void *a, const void *b)
{
    double x = ((const struct promql_sample *) a)->v, y = ((const struct promql_sample *) b)->v;
    if (isnan(x))
        return isnan(y) ? 0 : -1;
    if (isnan(y))
        return 1;
    return (x > y) - (x < y);
}

/* Prometheus' quantile(): weighted average of the two samples around rank q * (n - 1). */
double promql_aggregations_quantile(double q, struct promql_sample *v, size_t n);
double promql_aggregations_quantile(double q, struct promql_sample *v, size_t n)
{
    if (n == 0)
        return (double) NAN;
    if (q < 0)
        return -(double) INFINITY;
    if (q > 1)
        return (double) INFINITY;
    if (isnan(q))
        return (double) NAN;
    qsort(v, n, sizeof *v, cmp_value);
    double rank = q * (double) (n - 1);
    double lower = fmax(0, floor(rank));
    double upper = fmin((double) (n - 1), lower + 1);
    double w = rank - floor(rank);
    return v[(size_t) lower].v * (1 - w) + v[(size_t) upper].v * w;
}

static int label_name_ok(const char *s)
{
    return labels_name_valid(s, strlen(s));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

int promql_aggregations_eval(struct promql_ev *ev, const struct promql_expr *x,
                             struct promql_val *param, struct promql_val *in, int64_t t,
                             struct promql_val *ret)
{
    enum promql_agg op = x->u.agg.op;
    const char **grouping = x->u.agg.grouping;
    size_t n_grouping = x->u.agg.n_grouping;
    int without = x->u.agg.without;
    int64_t k = 0;
    const char *value_label = NULL;
    *ret = (struct promql_val){.type = PROMQL_VECTOR};
    if (op == AGG_TOPK || op == AGG_BOTTOMK) {
        double f = param->scalar;
        if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
            return err_set(ev->e, ERR_EXEC, "Scalar value %g overflows int64", f);
        k = (int64_t) f;
        if (k < 1)
            return 0;
    }
    if (op == AGG_COUNT_VALUES) {
        value_label = param->str;
        if (!label_name_ok(value_label))
            return err_set(ev->e, ERR_EXEC, "invalid label name \"%s\"", value_label);
        if (!without) {
            const char **g = arena_alloc(ev->sa, (n_grouping + 1) * sizeof *g);
            if (!g)
                return promql_engine_oom(ev);
            if (n_grouping)
                memcpy(g, grouping, n_grouping * sizeof *g);
            g[n_grouping++] = value_label;
            qsort(g, n_grouping, sizeof *g, cmp_str);
            grouping = g;
        }
    }
    size_t heap_cap = (size_t) (k > (int64_t) in->n ? (int64_t) in->n : k);
    struct promql_hidx idx = {.a = ev->sa};
    int mode = without ? PROMQL_LS_DROP : PROMQL_LS_KEEP;
    struct group *groups = arena_alloc(ev->sa, (in->n ? in->n : 1) * sizeof *groups);
    size_t n_groups = 0;
    if (!groups)
        return promql_engine_oom(ev);
    for (size_t i = 0; i < in->n; i++) {
        struct promql_sample s = in->vec[i];
        if (op == AGG_COUNT_VALUES) {
            char num[NUM_FLOAT_MAX];
            num_format(num, s.v, 'f');
            char *nv = arena_strdup(ev->sa, num);
            if (!nv || promql_value_set(ev->sa, &s.metric, value_label, nv, &s.metric) < 0)
                return promql_engine_oom(ev);
        }
        uint64_t h = promql_value_hash(&s.metric, grouping, n_grouping, mode);
        size_t cur = 0, gi;
        int found = 0;
        while (!found && promql_hidx_next(&idx, h, &cur, &gi))
            found = promql_value_equal(&groups[gi].src, &s.metric, grouping, n_grouping, mode);
        if (!found) {
            if (promql_hidx_add(&idx, h, n_groups) < 0)
                return promql_engine_oom(ev);
            struct group *g = &groups[n_groups++];
            memset(g, 0, sizeof *g);
            g->src = s.metric;
            if (promql_value_filter(ev->sa, &s.metric, grouping, n_grouping, !without, &g->metric) <
                0)
                return promql_engine_oom(ev);
            g->value = s.v;
            g->mean = s.v;
            g->count = 1;
            if (op == AGG_STDDEV || op == AGG_STDVAR)
                g->value = 0;
            else if (op == AGG_GROUP)
                g->value = 1;
            if (op == AGG_TOPK || op == AGG_BOTTOMK || op == AGG_QUANTILE) {
                g->cap_heap = op == AGG_QUANTILE ? 8 : (heap_cap ? heap_cap : 1);
                if (!(g->heap = arena_alloc(ev->sa, g->cap_heap * sizeof *g->heap)))
                    return promql_engine_oom(ev);
                g->heap[0] = s;
                g->n_heap = 1;
            }
            continue;
        }
        struct group *g = &groups[gi];
        switch (op) {
        case AGG_SUM: g->value += s.v; break;
        case AGG_AVG:
            g->count++;
            if (isinf(g->mean)) {
                if (isinf(s.v) && (g->mean > 0) == (s.v > 0))
                    break;
                if (!isinf(s.v) && !isnan(s.v))
                    break;
            }
            /* Divide both terms by the count first so huge values do not overflow. */
            g->mean += s.v / (double) g->count - g->mean / (double) g->count;
            break;
        case AGG_MAX:
            if (g->value < s.v || isnan(g->value))
                g->value = s.v;
            break;
        case AGG_MIN:
            if (g->value > s.v || isnan(g->value))
                g->value = s.v;
            break;
        case AGG_COUNT:
        case AGG_COUNT_VALUES: g->count++; break;
        case AGG_STDDEV:
        case AGG_STDVAR: {
            g->count++;
            double d = s.v - g->mean;
            g->mean += d / (double) g->count;
            g->value += d * (s.v - g->mean);
            break;
        }
        case AGG_TOPK:
        case AGG_BOTTOMK: heap_offer(g, &s, heap_cap, op == AGG_BOTTOMK); break;
        case AGG_QUANTILE:
            if (g->n_heap == g->cap_heap) {
                size_t nc = g->cap_heap * 2;
                struct promql_sample *nh =
                    arena_realloc(ev->sa, g->heap, g->cap_heap * sizeof *nh, nc * sizeof *nh);
                if (!nh)
                    return promql_engine_oom(ev);
                g->heap = nh;
                g->cap_heap = nc;
            }
            g->heap[g->n_heap++] = s;
            break;
        default: break;
        }
    }
    size_t cap = 0;
    for (size_t i = 0; i < n_groups; i++) {
        struct group *g = &groups[i];
        double v = g->value;
        switch (op) {
        case AGG_AVG: v = g->mean; break;
        case AGG_COUNT:
        case AGG_COUNT_VALUES: v = (double) g->count; break;
        case AGG_STDVAR: v = g->value / (double) g->count; break;
        case AGG_STDDEV: v = sqrt(g->value / (double) g->count); break;
        case AGG_QUANTILE:
            v = promql_aggregations_quantile(param->scalar, g->heap, g->n_heap);
            break;
        case AGG_TOPK:
        case AGG_BOTTOMK:
            promql_aggregations_heap_sort(g->heap, g->n_heap, op == AGG_BOTTOMK);
            for (size_t j = 0; j < g->n_heap; j++)
                if (promql_value_push(ev->sa, ret, &cap, &g->heap[j].metric, t, g->heap[j].v) < 0)
                    return promql_engine_oom(ev);
            continue;
        default: break;
        }
        if (promql_value_push(ev->sa, ret, &cap, &g->metric, t, v) < 0)
            return promql_engine_oom(ev);
    }
    return promql_engine_count(ev, ret->n);
}
