/* promql/binops.c — binary operators: scalar/scalar, vector/scalar and vector/vector arithmetic
 * and comparisons, one-to-one and many-to-one matching (on, ignoring, group_left, group_right),
 * and the set operators and/or/unless. Semantics and error wording follow Prometheus 2.42
 * (VectorBinop, VectorscalarBinop, VectorAnd/Or/Unless in promql/engine.go). */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "promql/engine.h"
#include "tsdb/base/base.h"

/* Value of l op r; *keep is 0 when a comparison is false (the element is filtered out). */
double promql_binops_scalar(enum promql_op op, double l, double r, int *keep)
{
    *keep = 1;
    switch (op) {
    case OP_ADD: return l + r;
    case OP_SUB: return l - r;
    case OP_MUL: return l * r;
    case OP_DIV: return l / r;
    case OP_POW: return pow(l, r);
    case OP_MOD: return fmod(l, r);
    case OP_ATAN2: return atan2(l, r);
    case OP_EQL: *keep = l == r; return l;
    case OP_NEQ: *keep = l != r; return l;
    case OP_GTR: *keep = l > r; return l;
    case OP_LSS: *keep = l < r; return l;
    case OP_GTE: *keep = l >= r; return l;
    case OP_LTE: *keep = l <= r; return l;
    default: *keep = 0; return (double) NAN;
    }
}

/* Arithmetic changes what the value means, so the metric name goes (atan2 keeps it in 2.42). */
int promql_binops_drops_name(enum promql_op op)
{
    return op == OP_ADD || op == OP_SUB || op == OP_MUL || op == OP_DIV || op == OP_POW ||
           op == OP_MOD;
}

static int vector_scalar(struct promql_ev *ev, const struct promql_expr *x,
                         const struct promql_val *vec, double s, int scalar_left, int64_t t,
                         struct promql_val *ret)
{
    enum promql_op op = x->u.bin.op;
    int rb = x->u.bin.return_bool;
    size_t cap = 0;
    *ret = (struct promql_val){.type = PROMQL_VECTOR};
    for (size_t i = 0; i < vec->n; i++) {
        double lv = vec->vec[i].v, rv = s;
        if (scalar_left) {
            lv = s;
            rv = vec->vec[i].v;
        }
        int keep;
        double v = promql_binops_scalar(op, lv, rv, &keep);
        /* A comparison always yields the vector element's value, whichever side it is on. */
        if (promql_op_is_comparison(op) && scalar_left)
            v = rv;
        if (rb) {
            v = keep ? 1 : 0;
            keep = 1;
        }
        if (!keep)
            continue;
        struct labels m = vec->vec[i].metric;
        if ((promql_binops_drops_name(op) || rb) && promql_value_drop_name(ev->sa, &m, &m) < 0)
            return promql_engine_oom(ev);
        if (promql_value_push(ev->sa, ret, &cap, &m, t, v) < 0)
            return promql_engine_oom(ev);
    }
    const struct promql_expr *vx = scalar_left ? x->u.bin.r : x->u.bin.l;
    return promql_value_one_name(vx) ? 0 : promql_value_check_unique(ev, ret);
}

/* Matching signatures: the labels on(...) keeps, or all but ignoring(...) and the name. */
uint64_t promql_binops_sig_hash(const struct promql_matching *vm, const struct labels *m)
{
    return promql_value_hash(m, vm->labels, vm->n_labels, vm->on ? PROMQL_LS_KEEP : PROMQL_LS_DROP);
}

int promql_binops_sig_equal(const struct promql_matching *vm, const struct labels *a,
                            const struct labels *b)
{
    return promql_value_equal(a, b, vm->labels, vm->n_labels,
                              vm->on ? PROMQL_LS_KEEP : PROMQL_LS_DROP);
}

/* Index in v of an element whose signature equals m's, or -1. */
static ptrdiff_t sig_find(const struct promql_hidx *idx, const struct promql_matching *vm,
                          const struct promql_val *v, const struct labels *m, uint64_t h)
{
    size_t cur = 0, j;
    while (promql_hidx_next(idx, h, &cur, &j))
        if (promql_binops_sig_equal(vm, &v->vec[j].metric, m))
            return (ptrdiff_t) j;
    return -1;
}

static int set_op(struct promql_ev *ev, const struct promql_expr *x, const struct promql_val *l,
                  const struct promql_val *r, int64_t t, struct promql_val *ret)
{
    const struct promql_matching *vm = x->u.bin.vm;
    enum promql_op op = x->u.bin.op;
    struct promql_hidx m = {.a = ev->sa};
    size_t cap = 0;
    *ret = (struct promql_val){.type = PROMQL_VECTOR};
    /* and/unless: index the right side; or: index the left side. */
    const struct promql_val *indexed = op == OP_OR ? l : r;
    for (size_t i = 0; i < indexed->n; i++)
        if (promql_hidx_add(&m, promql_binops_sig_hash(vm, &indexed->vec[i].metric), i) < 0)
            return promql_engine_oom(ev);
    for (size_t i = 0; i < l->n; i++) {
        int hit = 1;
        if (op != OP_OR)
            hit = sig_find(&m, vm, r, &l->vec[i].metric,
                           promql_binops_sig_hash(vm, &l->vec[i].metric)) >= 0;
        if ((op == OP_UNLESS ? !hit : hit) &&
            promql_value_push(ev->sa, ret, &cap, &l->vec[i].metric, t, l->vec[i].v) < 0)
            return promql_engine_oom(ev);
    }
    for (size_t i = 0; op == OP_OR && i < r->n; i++) {
        const struct labels *rm = &r->vec[i].metric;
        if (sig_find(&m, vm, l, rm, promql_binops_sig_hash(vm, rm)) < 0 &&
            promql_value_push(ev->sa, ret, &cap, rm, t, r->vec[i].v) < 0)
            return promql_engine_oom(ev);
    }
    return 0;
}

/* The output labels of a matched pair: Prometheus' resultMetric(). New arrays go to arena a. */
int promql_binops_result_metric(struct arena *a, const struct promql_expr *x,
                                const struct labels *lhs, const struct labels *rhs,
                                struct labels *ret)
{
    const struct promql_matching *vm = x->u.bin.vm;
    struct labels m = *lhs;
    if (promql_binops_drops_name(x->u.bin.op) && promql_value_drop_name(a, &m, &m) < 0)
        return -ENOMEM;
    if (vm->card == CARD_ONE_TO_ONE) {
        if (vm->on) {
            if (promql_value_filter(a, &m, vm->labels, vm->n_labels, 1, &m) < 0)
                return -ENOMEM;
        } else {
            for (size_t i = 0; i < vm->n_labels; i++)
                if (promql_value_set(a, &m, vm->labels[i], "", &m) < 0)
                    return -ENOMEM;
        }
    }
    for (size_t i = 0; i < vm->n_include; i++) {
        const char *v = labels_get(rhs, vm->include[i]);
        if (promql_value_set(a, &m, vm->include[i], v ? v : "", &m) < 0)
            return -ENOMEM;
    }
    if (x->u.bin.return_bool && promql_value_drop_name(a, &m, &m) < 0)
        return -ENOMEM;
    *ret = m;
    return 0;
}

static int vector_vector(struct promql_ev *ev, const struct promql_expr *x,
                         const struct promql_val *l, const struct promql_val *r, int64_t t,
                         struct promql_val *ret)
{
    const struct promql_matching *vm = x->u.bin.vm;
    int swap = vm->card == CARD_ONE_TO_MANY;
    const struct promql_val *many = swap ? r : l, *one = swap ? l : r;
    struct promql_hidx ones = {.a = ev->sa}, matched = {.a = ev->sa}, outs = {.a = ev->sa};
    size_t cap = 0;
    /* out_src[i]: the "many" element output i came from (for the uniqueness checks). */
    size_t *out_src = arena_alloc(ev->sa, (many->n ? many->n : 1) * sizeof *out_src);
    if (!out_src)
        return promql_engine_oom(ev);
    *ret = (struct promql_val){.type = PROMQL_VECTOR};
    for (size_t i = 0; i < one->n; i++) {
        uint64_t h = promql_binops_sig_hash(vm, &one->vec[i].metric);
        ptrdiff_t dup = sig_find(&ones, vm, one, &one->vec[i].metric, h);
        if (dup >= 0) {
            struct labels ml;
            if (promql_value_filter(ev->sa, &one->vec[i].metric, vm->labels, vm->n_labels, vm->on,
                                    &ml) < 0)
                return promql_engine_oom(ev);
            return err_set(ev->e, ERR_EXEC,
                           "found duplicate series for the match group %s on the %s hand-side of "
                           "the operation: [%s, %s];many-to-many matching not allowed: matching "
                           "labels must be unique on one side",
                           labels_string(ev->sa, &ml), swap ? "left" : "right",
                           labels_string(ev->sa, &one->vec[i].metric),
                           labels_string(ev->sa, &one->vec[dup].metric));
        }
        if (promql_hidx_add(&ones, h, i) < 0)
            return promql_engine_oom(ev);
    }
    for (size_t i = 0; i < many->n; i++) {
        const struct labels *mm = &many->vec[i].metric;
        uint64_t h = promql_binops_sig_hash(vm, mm);
        ptrdiff_t j = sig_find(&ones, vm, one, mm, h);
        if (j < 0)
            continue;
        const struct promql_sample *rs = &one->vec[j];
        double vl = many->vec[i].v, vr = rs->v;
        if (swap) {
            vl = rs->v;
            vr = many->vec[i].v;
        }
        int keep;
        double v = promql_binops_scalar(x->u.bin.op, vl, vr, &keep);
        if (x->u.bin.return_bool) {
            v = keep ? 1 : 0;
        } else if (!keep) {
            continue;
        }
        struct labels m;
        if (promql_binops_result_metric(ev->sa, x, mm, &rs->metric, &m) < 0)
            return promql_engine_oom(ev);
        if (vm->card == CARD_ONE_TO_ONE) {
            if (sig_find(&matched, vm, many, mm, h) >= 0)
                return err_set(ev->e, ERR_EXEC,
                               "multiple matches for labels: many-to-one "
                               "matching must be explicit (group_left/group_right)");
            if (promql_hidx_add(&matched, h, i) < 0)
                return promql_engine_oom(ev);
        } else {
            /* The output label set must be unique within one match group. */
            uint64_t oh = h ^ promql_value_hash(&m, NULL, 0, PROMQL_LS_ALL);
            size_t cur = 0, o;
            while (promql_hidx_next(&outs, oh, &cur, &o))
                if (promql_binops_sig_equal(vm, &many->vec[out_src[o]].metric, mm) &&
                    labels_equal(&ret->vec[o].metric, &m))
                    return err_set(ev->e, ERR_EXEC,
                                   "multiple matches for labels: grouping labels "
                                   "must ensure unique matches");
            if (promql_hidx_add(&outs, oh, ret->n) < 0)
                return promql_engine_oom(ev);
        }
        out_src[ret->n] = i;
        if (promql_value_push(ev->sa, ret, &cap, &m, t, v) < 0)
            return promql_engine_oom(ev);
    }
    return promql_value_check_unique(ev, ret);
}

int promql_binops_eval(struct promql_ev *ev, const struct promql_expr *x, struct promql_val *l,
                       struct promql_val *r, int64_t t, struct promql_val *ret)
{
    enum promql_op op = x->u.bin.op;
    if (l->type == PROMQL_SCALAR && r->type == PROMQL_SCALAR) {
        int keep;
        double v = promql_binops_scalar(op, l->scalar, r->scalar, &keep);
        if (promql_op_is_comparison(op))
            v = keep ? 1 : 0;
        *ret = (struct promql_val){.type = PROMQL_SCALAR, .scalar = v};
        return 0;
    }
    if (l->type == PROMQL_VECTOR && r->type == PROMQL_SCALAR)
        return vector_scalar(ev, x, l, r->scalar, 0, t, ret);
    if (l->type == PROMQL_SCALAR && r->type == PROMQL_VECTOR)
        return vector_scalar(ev, x, r, l->scalar, 1, t, ret);
    if (NEVER(!x->u.bin.vm))
        return err_set(ev->e, ERR_INTERNAL, "vector operation without matching");
    if (promql_op_is_set(op))
        return set_op(ev, x, l, r, t, ret);
    return vector_vector(ev, x, l, r, t, ret);
}
