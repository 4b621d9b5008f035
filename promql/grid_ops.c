/* promql/grid_ops.c — operators and aggregations on the step grid (see grid.c): the per-step
 * semantics of binops.c and aggregations.c, with the label work done once per series. Matching
 * signatures and grouping keys are computed once per series and turned into small integer ids;
 * values are then combined step by step in plain arrays. count_values and quantile go through
 * promql_grid_stepwise(). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "promql/engine.h"
#include "tsdb/base/base.h"

#define MSG_SAME_LABELSET "vector cannot contain metrics with the same labelset"

static double *dense(struct promql_ev *ev) /* a full-grid scratch array */
{
    return promql_grid_scratch(ev, 0, ev->g_n * sizeof(double));
}

/* ---- binary operators ---- */

static int scalar_scalar(struct promql_ev *ev, const struct promql_expr *x,
                         const struct promql_gval *l, const struct promql_gval *r,
                         struct promql_gval *ret)
{
    enum promql_op op = x->u.bin.op;
    int rv = promql_grid_scalar(ev, ret);
    if (rv < 0)
        return rv;
    for (size_t k = 0; k < ev->g_n; k++) {
        int keep;
        double v = promql_binops_scalar(op, l->sc[k], r->sc[k], &keep);
        if (promql_op_is_comparison(op))
            v = keep ? 1 : 0;
        ret->sc[k] = v;
    }
    return 0;
}

static int vector_scalar(struct promql_ev *ev, const struct promql_expr *x,
                         const struct promql_gval *vec, const struct promql_gval *sc,
                         int scalar_left, struct promql_gval *ret)
{
    enum promql_op op = x->u.bin.op;
    int rb = x->u.bin.return_bool, cmp = promql_op_is_comparison(op);
    int dn = promql_binops_drops_name(op) || rb;
    double *d = dense(ev);
    int r = promql_grid_vector(ev, ret, vec->n);
    if (!d || r < 0)
        return promql_grid_err(ev);
    const double none = promql_absent_value();
    for (size_t i = 0; i < vec->n; i++) {
        const struct promql_gseries *s = &vec->s[i];
        if ((i & 1023) == 1023 && (r = promql_engine_check(ev)) < 0)
            return r;
        for (size_t j = 0; j < s->len; j++) {
            size_t k = s->k0 + j;
            d[k] = none;
            if (promql_absent(s->v[j]))
                continue;
            double lv = s->v[j], rv = sc->sc[k];
            if (scalar_left) {
                lv = sc->sc[k];
                rv = s->v[j];
            }
            int keep;
            double v = promql_binops_scalar(op, lv, rv, &keep);
            /* A comparison always yields the vector element's value, whichever side it is on. */
            if (cmp && scalar_left)
                v = rv;
            if (rb) {
                v = keep ? 1 : 0;
                keep = 1;
            }
            if (keep)
                d[k] = v;
        }
        struct labels m = s->metric;
        if (dn && (r = promql_grid_drop_name(ev, &m, &m)) < 0)
            return r;
        if ((r = promql_grid_put(ev, ret, &m, d + s->k0, s->k0, s->len)) < 0)
            return r;
    }
    const struct promql_expr *vx = scalar_left ? x->u.bin.r : x->u.bin.l;
    return promql_grid_unique(ev, ret, !promql_value_one_name(vx), MSG_SAME_LABELSET);
}

/* Matching signatures of both sides as ids: equal signatures, equal ids (0 .. *ret_n - 1). */
static int sig_ids(struct promql_ev *ev, const struct promql_matching *vm,
                   const struct promql_gval *l, const struct promql_gval *r, uint32_t **ret_l,
                   uint32_t **ret_r, size_t *ret_n)
{
    struct promql_hidx idx = {.a = ev->qa};
    size_t total = l->n + r->n, n = 0;
    const struct labels **rep = arena_alloc(ev->qa, (total ? total : 1) * sizeof *rep);
    uint32_t *ids = arena_alloc(ev->qa, (total ? total : 1) * sizeof *ids);
    if (!rep || !ids)
        return promql_engine_oom(ev);
    for (size_t i = 0; i < total; i++) {
        const struct labels *m = i < l->n ? &l->s[i].metric : &r->s[i - l->n].metric;
        uint64_t h = promql_binops_sig_hash(vm, m);
        size_t cur = 0, j;
        int found = 0;
        while (!found && promql_hidx_next(&idx, h, &cur, &j))
            found = promql_binops_sig_equal(vm, rep[j], m);
        if (!found) {
            j = n++;
            rep[j] = m;
            if (promql_hidx_add(&idx, h, j) < 0)
                return promql_engine_oom(ev);
        }
        ids[i] = (uint32_t) j;
    }
    *ret_l = ids;
    *ret_r = ids + l->n;
    *ret_n = n;
    return 0;
}

/* and, or, unless: which elements pass depends only on which signatures the other side has at
 * that step, so each side's presence is gathered per signature first. */
static int set_op(struct promql_ev *ev, const struct promql_expr *x, const struct promql_gval *l,
                  const struct promql_gval *r, struct promql_gval *ret)
{
    enum promql_op op = x->u.bin.op;
    size_t n = ev->g_n, n_sigs;
    uint32_t *lid, *rid;
    int rv = sig_ids(ev, x->u.bin.vm, l, r, &lid, &rid, &n_sigs);
    if (rv < 0)
        return rv;
    struct promql_gval tmp = {0};
    /* Presence per signature of the side that decides: the right for and/unless, the left for
     * or. NULL: no element has that signature. */
    const struct promql_gval *by = op == OP_OR ? l : r;
    const uint32_t *by_id = op == OP_OR ? lid : rid;
    uint8_t **pres = promql_grid_tmp_alloc(ev, &tmp, n_sigs ? n_sigs : 1, sizeof *pres);
    double *d = dense(ev);
    if (!pres || !d) {
        rv = promql_grid_err(ev);
        goto out;
    }
    memset(pres, 0, (n_sigs ? n_sigs : 1) * sizeof *pres);
    for (size_t i = 0; i < by->n; i++) {
        const struct promql_gseries *s = &by->s[i];
        uint8_t *p = pres[by_id[i]];
        if (!p) {
            if (!(p = promql_grid_tmp_steps(ev, &tmp, n, 1))) {
                rv = promql_grid_err(ev);
                goto out;
            }
            memset(p, 0, n);
            pres[by_id[i]] = p;
        }
        for (size_t j = 0; j < s->len; j++)
            if (!promql_absent(s->v[j]))
                p[s->k0 + j] = 1;
    }
    if ((rv = promql_grid_vector(ev, ret, l->n + (op == OP_OR ? r->n : 0))) < 0)
        goto out;
    const double none = promql_absent_value();
    for (int side = 0; side < (op == OP_OR ? 2 : 1); side++) {
        const struct promql_gval *v = side ? r : l;
        const uint32_t *ids = side ? rid : lid;
        for (size_t i = 0; i < v->n; i++) {
            const struct promql_gseries *s = &v->s[i];
            const uint8_t *p = pres[ids[i]];
            if ((i & 1023) == 1023 && (rv = promql_engine_check(ev)) < 0)
                goto out;
            for (size_t j = 0; j < s->len; j++) {
                size_t k = s->k0 + j;
                int hit = p && p[k];
                int pass = op == OP_AND ? hit : op == OP_UNLESS ? !hit : side == 0 || !hit;
                d[k] = pass ? s->v[j] : none;
            }
            if ((rv = promql_grid_put(ev, ret, &s->metric, d + s->k0, s->k0, s->len)) < 0)
                goto out;
        }
    }
    size_t a, b; /* or: the same label set on both sides at different steps is one series */
    if (op == OP_OR)
        rv = promql_grid_merge_same(ev, ret, 0, &a, &b);
out:
    promql_grid_free(ev, &tmp);
    return rv;
}

/* Arithmetic and comparisons between two vectors, one-to-one or many-to-one. Per step, as
 * Prometheus: the "one" side may not have two elements with a signature, each "many" element
 * meets the "one" element of its signature, one-to-one allows one match per signature, and
 * many-to-one output label sets are unique within a signature and overall. Here the pairs are
 * found per series; the checks look at the steps where both elements are present. */
static int vector_vector(struct promql_ev *ev, const struct promql_expr *x,
                         const struct promql_gval *l, const struct promql_gval *r,
                         struct promql_gval *ret)
{
    const struct promql_matching *vm = x->u.bin.vm;
    enum promql_op op = x->u.bin.op;
    int swap = vm->card == CARD_ONE_TO_MANY, rb = x->u.bin.return_bool;
    const struct promql_gval *many = swap ? r : l, *one = swap ? l : r;
    size_t n = ev->g_n, n_sigs;
    uint32_t *lid, *rid;
    int rv = sig_ids(ev, vm, l, r, &lid, &rid, &n_sigs);
    if (rv < 0)
        return rv;
    const uint32_t *many_id = swap ? rid : lid, *one_id = swap ? lid : rid;
    struct promql_gval tmp = {0};
    size_t ns = n_sigs ? n_sigs : 1;
    /* The "one" elements of each signature as a list: first_one[sig], next_one[i]; counts of
     * both sides' elements per signature. */
    int32_t *first_one = promql_grid_tmp_alloc(ev, &tmp, ns, sizeof *first_one);
    int32_t *next_one = promql_grid_tmp_alloc(ev, &tmp, one->n ? one->n : 1, sizeof *next_one);
    uint32_t *n_one = promql_grid_tmp_alloc(ev, &tmp, ns, sizeof *n_one);
    uint32_t *n_many = promql_grid_tmp_alloc(ev, &tmp, ns, sizeof *n_many);
    /* per signature and step: which element holds the signature */
    int32_t **owner = promql_grid_tmp_alloc(ev, &tmp, ns, sizeof *owner);
    double *d = dense(ev);
    int32_t *who = promql_grid_scratch(ev, 2, n * sizeof *who);
    if (!first_one || !next_one || !n_one || !n_many || !owner || !d || !who) {
        rv = promql_grid_err(ev);
        goto out;
    }
    for (size_t g = 0; g < ns; g++) {
        first_one[g] = -1;
        n_one[g] = n_many[g] = 0;
        owner[g] = NULL;
    }
    for (size_t i = one->n; i-- > 0;) {
        next_one[i] = first_one[one_id[i]];
        first_one[one_id[i]] = (int32_t) i;
        n_one[one_id[i]]++;
    }
    for (size_t i = 0; i < many->n; i++)
        n_many[many_id[i]]++;
    /* Two "one" elements with a signature at the same step: many-to-many. */
    for (size_t i = 0; i < one->n; i++) {
        uint32_t g = one_id[i];
        const struct promql_gseries *s = &one->s[i];
        if (n_one[g] < 2)
            continue;
        if (!owner[g]) {
            if (!(owner[g] = promql_grid_tmp_steps(ev, &tmp, n, sizeof **owner))) {
                rv = promql_grid_err(ev);
                goto out;
            }
            for (size_t k = 0; k < n; k++)
                owner[g][k] = -1;
        }
        for (size_t j = 0; j < s->len; j++) {
            size_t k = s->k0 + j;
            if (promql_absent(s->v[j]))
                continue;
            if (owner[g][k] >= 0) {
                const struct labels *dup = &one->s[owner[g][k]].metric;
                struct labels ml;
                if (promql_value_filter(ev->sa, &s->metric, vm->labels, vm->n_labels, vm->on,
                                        &ml) < 0) {
                    rv = promql_engine_oom(ev);
                    goto out;
                }
                rv = err_set(ev->e, ERR_EXEC,
                             "found duplicate series for the match group %s on the %s hand-side "
                             "of the operation: [%s, %s];many-to-many matching not allowed: "
                             "matching labels must be unique on one side",
                             labels_string(ev->sa, &ml), swap ? "left" : "right",
                             labels_string(ev->sa, &s->metric), labels_string(ev->sa, dup));
                goto out;
            }
            owner[g][k] = (int32_t) i;
        }
    }
    /* From here owner[] tracks, one-to-one, which "many" element matched a signature. */
    for (size_t g = 0; g < ns; g++)
        owner[g] = NULL;
    size_t max_out = 0;
    for (size_t i = 0; i < many->n; i++)
        max_out += n_one[many_id[i]];
    uint32_t *out_sig = promql_grid_tmp_alloc(ev, &tmp, max_out ? max_out : 1, sizeof *out_sig);
    if (!out_sig || (rv = promql_grid_vector(ev, ret, max_out)) < 0) {
        rv = promql_grid_err(ev);
        goto out;
    }
    const double none = promql_absent_value();
    for (size_t i = 0; i < many->n; i++) {
        const struct promql_gseries *s = &many->s[i];
        uint32_t g = many_id[i];
        if (first_one[g] < 0)
            continue;
        if ((i & 255) == 255 && (rv = promql_engine_check(ev)) < 0)
            goto out;
        int32_t only = -2; /* the one candidate every match used; -1 once they differ */
        size_t lo = s->k0 + s->len, hi = 0;
        for (size_t j = 0; j < s->len; j++) {
            size_t k = s->k0 + j;
            d[k] = none;
            who[k] = -1;
            if (promql_absent(s->v[j]))
                continue;
            int32_t c = first_one[g];
            double ov = none;
            for (; c >= 0; c = next_one[c])
                if (!promql_absent(ov = promql_grid_at(&one->s[c], k)))
                    break;
            if (c < 0)
                continue;
            double vl = s->v[j], vr = ov;
            if (swap) {
                vl = ov;
                vr = s->v[j];
            }
            int keep;
            double v = promql_binops_scalar(op, vl, vr, &keep);
            if (rb)
                v = keep ? 1 : 0;
            else if (!keep)
                continue;
            if (vm->card == CARD_ONE_TO_ONE && n_many[g] > 1) {
                if (!owner[g]) {
                    if (!(owner[g] = promql_grid_tmp_steps(ev, &tmp, n, sizeof **owner))) {
                        rv = promql_grid_err(ev);
                        goto out;
                    }
                    for (size_t q = 0; q < n; q++)
                        owner[g][q] = -1;
                }
                if (owner[g][k] >= 0) {
                    rv = err_set(ev->e, ERR_EXEC,
                                 "multiple matches for labels: many-to-one matching must be "
                                 "explicit (group_left/group_right)");
                    goto out;
                }
                owner[g][k] = (int32_t) i;
            }
            d[k] = v;
            who[k] = c;
            only = only == -2 || only == c ? c : -1;
            if (k < lo)
                lo = k;
            hi = k + 1;
        }
        if (lo >= hi)
            continue;
        /* One output series per "one" element met (usually exactly one). */
        for (int32_t c = first_one[g]; c >= 0; c = next_one[c]) {
            if (only >= 0 && c != only)
                continue;
            double *dc = d;
            if (only < 0) {
                if (!(dc = promql_grid_scratch(ev, 3, n * sizeof *dc))) {
                    rv = promql_grid_err(ev);
                    goto out;
                }
                for (size_t k = lo; k < hi; k++)
                    dc[k] = who[k] == c ? d[k] : none;
            }
            struct labels m;
            if (promql_binops_result_metric(ev->qa, x, &s->metric, &one->s[c].metric, &m) < 0) {
                rv = promql_engine_oom(ev);
                goto out;
            }
            size_t before = ret->n;
            if ((rv = promql_grid_put(ev, ret, &m, dc + lo, lo, hi - lo)) < 0)
                goto out;
            if (ret->n > before)
                out_sig[before] = g;
        }
    }
    size_t a, b;
    rv = promql_grid_merge_same(ev, ret, 1, &a, &b);
    if (rv == 1)
        rv = err_set(ev->e, ERR_EXEC, "%s",
                     vm->card != CARD_ONE_TO_ONE && out_sig[a] == out_sig[b]
                         ? "multiple matches for labels: grouping labels must ensure unique "
                           "matches"
                         : MSG_SAME_LABELSET);
out:
    promql_grid_free(ev, &tmp);
    return rv;
}

int promql_grid_binop(struct promql_ev *ev, const struct promql_expr *x, struct promql_gval *l,
                      struct promql_gval *r, struct promql_gval *ret)
{
    if (l->type == PROMQL_SCALAR && r->type == PROMQL_SCALAR)
        return scalar_scalar(ev, x, l, r, ret);
    if (l->type == PROMQL_VECTOR && r->type == PROMQL_SCALAR)
        return vector_scalar(ev, x, l, r, 0, ret);
    if (l->type == PROMQL_SCALAR && r->type == PROMQL_VECTOR)
        return vector_scalar(ev, x, r, l, 1, ret);
    if (NEVER(!x->u.bin.vm))
        return err_set(ev->e, ERR_INTERNAL, "vector operation without matching");
    if (promql_op_is_set(x->u.bin.op))
        return set_op(ev, x, l, r, ret);
    return vector_vector(ev, x, l, r, ret);
}

/* ---- aggregations ---- */

/* One group of an aggregation: its output labels and arrays over the steps [k0, k0 + len). */
struct agroup {
    struct labels src, metric;
    size_t k0, end, size; /* size: member series */
    double *val, *mean, *cnt;
};

/* Groups of in's series by x's by/without labels, in order of first appearance: gid[i] for
 * each series, the groups' spans and output labels in gs[0..*ret_n). */
static int group_series(struct promql_ev *ev, const struct promql_expr *x,
                        const struct promql_gval *in, struct promql_gval *tmp,
                        struct agroup **ret_gs, uint32_t **ret_gid, size_t *ret_n)
{
    const char **grouping = x->u.agg.grouping;
    size_t ng = x->u.agg.n_grouping, n_groups = 0;
    int without = x->u.agg.without, mode = without ? PROMQL_LS_DROP : PROMQL_LS_KEEP;
    struct promql_hidx idx = {.a = ev->qa};
    struct agroup *gs = promql_grid_tmp_alloc(ev, tmp, in->n ? in->n : 1, sizeof *gs);
    uint32_t *gid = promql_grid_tmp_alloc(ev, tmp, in->n ? in->n : 1, sizeof *gid);
    if (!gs || !gid)
        return promql_grid_err(ev);
    for (size_t i = 0; i < in->n; i++) {
        const struct promql_gseries *s = &in->s[i];
        uint64_t h = promql_value_hash(&s->metric, grouping, ng, mode);
        size_t cur = 0, g;
        int found = 0;
        while (!found && promql_hidx_next(&idx, h, &cur, &g))
            found = promql_value_equal(&gs[g].src, &s->metric, grouping, ng, mode);
        if (!found) {
            g = n_groups++;
            gs[g] = (struct agroup){.src = s->metric, .k0 = s->k0, .end = s->k0 + s->len};
            if (promql_hidx_add(&idx, h, g) < 0 ||
                promql_value_filter(ev->qa, &s->metric, grouping, ng, !without, &gs[g].metric) <
                    0)
                return promql_engine_oom(ev);
        }
        if (s->k0 < gs[g].k0)
            gs[g].k0 = s->k0;
        if (s->k0 + s->len > gs[g].end)
            gs[g].end = s->k0 + s->len;
        gs[g].size++;
        gid[i] = (uint32_t) g;
    }
    *ret_gs = gs;
    *ret_gid = gid;
    *ret_n = n_groups;
    return 0;
}

/* topk and bottomk, step by step over the precomputed groups: at each step every present
 * element is offered, in input order, to its group's heap (aggregations.c's, so ties pick the
 * same elements); the selected elements keep their own series and labels. */
static int topk(struct promql_ev *ev, const struct promql_expr *x, const struct promql_gval *param,
                const struct promql_gval *in, struct promql_gval *ret)
{
    int rev = x->u.agg.op == AGG_BOTTOMK, r;
    size_t n = ev->g_n, n_groups;
    struct promql_gval tmp = {0};
    struct agroup *gs;
    uint32_t *gid;
    for (size_t k = 0; k < n; k++) {
        double f = param->sc[k];
        if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0))
            return err_set(ev->e, ERR_EXEC, "Scalar value %g overflows int64", f);
    }
    if ((r = group_series(ev, x, in, &tmp, &gs, &gid, &n_groups)) < 0)
        goto out;
    /* Each group's heap has room for all its members; groups' heaps follow each other. */
    size_t *off = promql_grid_tmp_alloc(ev, &tmp, n_groups + 1, sizeof *off);
    size_t *fill = promql_grid_tmp_alloc(ev, &tmp, n_groups ? n_groups : 1, sizeof *fill);
    struct promql_sample *heap = promql_grid_tmp_alloc(ev, &tmp, in->n ? in->n : 1, sizeof *heap);
    /* per input series: its values where it was selected */
    double **out = promql_grid_tmp_alloc(ev, &tmp, in->n ? in->n : 1, sizeof *out);
    uint32_t *order = promql_grid_tmp_alloc(ev, &tmp, in->n ? in->n : 1, sizeof *order);
    double *cnt = promql_grid_scratch(ev, 1, n * sizeof *cnt);
    size_t n_out = 0;
    if (!off || !fill || !heap || !out || !order || !cnt) {
        r = promql_grid_err(ev);
        goto out;
    }
    off[0] = 0;
    for (size_t g = 0; g < n_groups; g++)
        off[g + 1] = off[g] + gs[g].size;
    for (size_t i = 0; i < in->n; i++)
        out[i] = NULL;
    for (size_t k = 0; k < n; k++) /* elements present at each step */
        cnt[k] = 0;
    for (size_t i = 0; i < in->n; i++)
        for (size_t j = 0; j < in->s[i].len; j++)
            cnt[in->s[i].k0 + j] += !promql_absent(in->s[i].v[j]);
    const double none = promql_absent_value();
    for (size_t k = 0; k < n; k++) {
        int64_t kk = (int64_t) param->sc[k];
        if (kk < 1 || cnt[k] == 0)
            continue;
        size_t cap = (size_t) kk > (size_t) cnt[k] ? (size_t) cnt[k] : (size_t) kk;
        if ((k & 63) == 63 && (r = promql_engine_check(ev)) < 0)
            goto out;
        for (size_t g = 0; g < n_groups; g++)
            fill[g] = 0;
        for (size_t i = 0; i < in->n; i++) {
            const struct promql_gseries *s = &in->s[i];
            if (k < s->k0 || k - s->k0 >= s->len || promql_absent(s->v[k - s->k0]))
                continue;
            struct promql_sample e = {.t = (int64_t) i, .v = s->v[k - s->k0]};
            uint32_t g = gid[i];
            promql_aggregations_heap_offer(heap + off[g], &fill[g], &e, cap, rev);
        }
        for (size_t g = 0; g < n_groups; g++) {
            struct promql_sample *h = heap + off[g];
            promql_aggregations_heap_sort(h, fill[g], rev);
            for (size_t j = 0; j < fill[g]; j++) {
                size_t i = (size_t) h[j].t;
                if (!out[i]) {
                    if (!(out[i] = promql_grid_tmp_steps(ev, &tmp, n, sizeof **out))) {
                        r = promql_grid_err(ev);
                        goto out;
                    }
                    for (size_t q = 0; q < n; q++)
                        out[i][q] = none;
                    order[n_out++] = (uint32_t) i; /* an instant query's output order */
                }
                out[i][k] = h[j].v;
            }
        }
    }
    if ((r = promql_grid_vector(ev, ret, n_out)) < 0)
        goto out;
    for (size_t j = 0; j < n_out && r >= 0; j++)
        r = promql_grid_put(ev, ret, &in->s[order[j]].metric, out[order[j]], 0, n);
out:
    promql_grid_free(ev, &tmp);
    return r;
}

int promql_grid_agg(struct promql_ev *ev, const struct promql_expr *x, struct promql_gval *param,
                    struct promql_gval *in, struct promql_gval *ret)
{
    enum promql_agg op = x->u.agg.op;
    if (op == AGG_TOPK || op == AGG_BOTTOMK)
        return topk(ev, x, param, in, ret);
    if (op == AGG_COUNT_VALUES || op == AGG_QUANTILE) {
        struct promql_gval args[2] = {*param, *in};
        return promql_grid_stepwise(ev, x, 'a', args, 2, ret);
    }
    struct promql_gval tmp = {0};
    struct agroup *gs;
    uint32_t *gid;
    size_t n_groups;
    int r = group_series(ev, x, in, &tmp, &gs, &gid, &n_groups);
    if (r < 0)
        goto out;
    const double none = promql_absent_value();
    int with_mean = op == AGG_AVG || op == AGG_STDDEV || op == AGG_STDVAR;
    for (size_t g = 0; g < n_groups; g++) {
        struct agroup *G = &gs[g];
        size_t len = G->end - G->k0;
        if (!(G->val = promql_grid_tmp_steps(ev, &tmp, len, sizeof *G->val)) ||
            (with_mean && (!(G->mean = promql_grid_tmp_steps(ev, &tmp, len, sizeof *G->mean)) ||
                           !(G->cnt = promql_grid_tmp_steps(ev, &tmp, len, sizeof *G->cnt))))) {
            r = promql_grid_err(ev);
            goto out;
        }
        for (size_t k = 0; k < len; k++)
            G->val[k] = none;
    }
    /* Elements in input order at every step: the per-step evaluator's order of operations. */
    for (size_t i = 0; i < in->n; i++) {
        const struct promql_gseries *s = &in->s[i];
        struct agroup *G = &gs[gid[i]];
        if ((i & 1023) == 1023 && (r = promql_engine_check(ev)) < 0)
            goto out;
        double *val = G->val + (s->k0 - G->k0);
        double *mean = G->mean ? G->mean + (s->k0 - G->k0) : NULL;
        double *cnt = G->cnt ? G->cnt + (s->k0 - G->k0) : NULL;
        for (size_t j = 0; j < s->len; j++) {
            double v = s->v[j];
            if (promql_absent(v))
                continue;
            if (promql_absent(val[j])) { /* the group's first element at this step */
                switch (op) {
                case AGG_AVG:
                    mean[j] = v;
                    cnt[j] = 1;
                    val[j] = 0;
                    break;
                case AGG_COUNT:
                case AGG_GROUP: val[j] = 1; break;
                case AGG_STDDEV:
                case AGG_STDVAR:
                    mean[j] = v;
                    cnt[j] = 1;
                    val[j] = 0;
                    break;
                default: val[j] = v; break;
                }
                continue;
            }
            switch (op) {
            case AGG_SUM: val[j] += v; break;
            case AGG_AVG:
                cnt[j]++;
                if (isinf(mean[j])) {
                    if (isinf(v) && (mean[j] > 0) == (v > 0))
                        break;
                    if (!isinf(v) && !isnan(v))
                        break;
                }
                /* Divide both terms by the count first so huge values do not overflow. */
                mean[j] += v / cnt[j] - mean[j] / cnt[j];
                break;
            case AGG_MAX:
                if (val[j] < v || isnan(val[j]))
                    val[j] = v;
                break;
            case AGG_MIN:
                if (val[j] > v || isnan(val[j]))
                    val[j] = v;
                break;
            case AGG_COUNT: val[j]++; break;
            case AGG_STDDEV:
            case AGG_STDVAR: {
                cnt[j]++;
                double dl = v - mean[j];
                mean[j] += dl / cnt[j];
                val[j] += dl * (v - mean[j]);
                break;
            }
            default: break;
            }
        }
    }
    double *d = dense(ev);
    if (!d || (r = promql_grid_vector(ev, ret, n_groups)) < 0) {
        r = promql_grid_err(ev);
        goto out;
    }
    for (size_t g = 0; g < n_groups && r >= 0; g++) {
        struct agroup *G = &gs[g];
        for (size_t k = G->k0; k < G->end; k++) {
            size_t j = k - G->k0;
            double v = G->val[j];
            if (!promql_absent(v)) {
                switch (op) {
                case AGG_AVG: v = G->mean[j]; break;
                case AGG_STDVAR: v = v / G->cnt[j]; break;
                case AGG_STDDEV: v = sqrt(v / G->cnt[j]); break;
                default: break;
                }
            }
            d[k] = v;
        }
        r = promql_grid_put(ev, ret, &G->metric, d + G->k0, G->k0, G->end - G->k0);
    }
out:
    promql_grid_free(ev, &tmp);
    return r;
}
