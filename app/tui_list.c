/* tui_list.c - the tensor list of a checkpoint: one row per tensor with
 * shape, size and SQNR under the current configuration, computed one tensor
 * per step so the terminal layer can poll keys in between (pure). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "textesc.h"
#include "tui_model.h"

void sq_tui_config_fit(sq_qconfig *cfg, const size_t *shape, int ndim)
{
    if (ndim <= 0) {
        cfg->granularity = SQ_GRAN_TENSOR;
        return;
    }
    if (cfg->axis < 0 || cfg->axis >= ndim)
        cfg->axis = 0;
    size_t last = shape[ndim - 1];
    if (cfg->group_size == 0)
        cfg->group_size = 1;
    if (last > 0) {
        if (cfg->group_size > last)
            cfg->group_size = last;
        while (cfg->group_size > 1 && last % cfg->group_size != 0)
            cfg->group_size--;
    }
}

sq_status sq_tui_list_init(sq_tui_list *l, const sq_tui_source *src, const char *title,
                           const sq_qconfig *initial, sq_error *err)
{
    memset(l, 0, sizeof *l);
    l->src = src;
    snprintf(l->title, sizeof l->title, "%s", title ? title : "tensors");
    l->cfg = initial ? *initial : sq_qconfig_default();
    sq_status s = sq_qconfig_check(&l->cfg, NULL, 0, err);
    if (s != SQ_OK)
        return s;
    l->e = calloc(src->n ? src->n : 1, sizeof *l->e);
    l->order = calloc(src->n ? src->n : 1, sizeof *l->order);
    if (!l->e || !l->order) {
        sq_tui_list_free(l);
        return sq_fail(err, SQ_ERR_NOMEM, "out of memory for a list of %zu tensors", src->n);
    }
    for (size_t i = 0; i < src->n; i++)
        l->order[i] = i;
    return SQ_OK;
}

void sq_tui_list_free(sq_tui_list *l)
{
    free(l->e);
    free(l->order);
    l->e = NULL;
    l->order = NULL;
}

void sq_tui_list_invalidate(sq_tui_list *l)
{
    for (size_t i = 0; i < l->src->n; i++)
        l->e[i].state = SQ_ENTRY_PENDING;
    l->done = 0;
}

/* Finish an entry: count it, sort when the last one is done. */
static void entry_done(sq_tui_list *l)
{
    l->done++;
    if (l->sort != SQ_SORT_INDEX && l->done == l->src->n)
        sq_tui_list_sort(l);
}

/* The SQNR of quantized entry i against its original when the source has
 * one of the right shape, else NaN (unknown). */
static double quantized_sqnr(const sq_tui_list *l, size_t i, const sq_qtensor *q)
{
    sq_tensor *t = NULL;
    sq_stats st;
    sq_error err;
    double r = NAN;
    if (l->src->load_orig && l->src->load_orig(l->src->ctx, i, &t, &err) == SQ_OK &&
        sq_tui_qtensor_check(q, t, &err) == SQ_OK && sq_roundtrip_stats(t, q, NULL, &st, NULL, &err) == SQ_OK)
        r = st.sqnr_db;
    sq_tensor_free(t);
    return r;
}

/* A quantized entry: its shape, configuration and bits per weight, and its
 * SQNR against its original when the source has it (else unknown). */
static void step_quantized(sq_tui_list *l, sq_tui_entry *e, size_t i)
{
    sq_qtensor *q = NULL;
    sq_error err;
    sq_error_clear(&err);
    if (l->src->load_q(l->src->ctx, i, &q, &err) == SQ_OK) {
        e->state = SQ_ENTRY_DONE;
        e->loaded = true;
        e->quant = true;
        e->ndim = q->ndim;
        memcpy(e->shape, q->shape, sizeof e->shape);
        e->numel = q->numel;
        e->dtype = q->orig_dtype;
        e->qcfg = q->config;
        e->sqnr_db = quantized_sqnr(l, i, q);
        e->bits_per_weight = q->numel ? 8.0 * (double)sq_qtensor_storage_bytes(q) / (double)q->numel : 0;
    } else {
        e->state = SQ_ENTRY_ERROR;
        snprintf(e->err, sizeof e->err, "%.120s", err.msg);
    }
    sq_qtensor_free(q);
    entry_done(l);
}

bool sq_tui_list_step(sq_tui_list *l)
{
    size_t i;
    for (i = 0; i < l->src->n; i++)
        if (l->e[l->order[i]].state == SQ_ENTRY_PENDING)
            break;
    if (i == l->src->n)
        return false;
    sq_tui_entry *e = &l->e[l->order[i]];
    if (l->src->is_quantized && l->src->load_q && l->src->is_quantized(l->src->ctx, l->order[i])) {
        step_quantized(l, e, l->order[i]);
        return true;
    }
    sq_tensor *t = NULL;
    sq_qtensor *q = NULL;
    sq_stats st;
    sq_error err;
    sq_error_clear(&err);
    sq_status s = l->src->load(l->src->ctx, l->order[i], &t, &err);
    if (s == SQ_OK) {
        e->loaded = true;
        e->ndim = t->ndim;
        memcpy(e->shape, t->shape, sizeof e->shape);
        e->numel = t->numel;
        e->dtype = t->dtype;
        s = sq_quantize(t, &l->cfg, &q, &err);
    }
    if (s == SQ_OK)
        s = sq_roundtrip_stats(t, q, NULL, &st, NULL, &err);
    if (s == SQ_OK) {
        e->state = SQ_ENTRY_DONE;
        e->sqnr_db = st.sqnr_db;
        e->bits_per_weight = q->numel ? 8.0 * (double)sq_qtensor_storage_bytes(q) / (double)q->numel : 0;
    } else {
        e->state = SQ_ENTRY_ERROR;
        snprintf(e->err, sizeof e->err, "%.120s", err.msg);
    }
    sq_qtensor_free(q);
    sq_tensor_free(t);
    entry_done(l);
    return true;
}

static const sq_tui_list *sort_list; /* qsort context (the panel is single-threaded) */

/* Sort key comparison: SQNR ascending (worst first) or size descending; pending
 * and failed entries last; ties by index. */
static int cmp_entries(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const sq_tui_entry *x = &sort_list->e[a], *y = &sort_list->e[b];
    if (sort_list->sort == SQ_SORT_SQNR) {
        bool dx = x->state == SQ_ENTRY_DONE && !isnan(x->sqnr_db);
        bool dy = y->state == SQ_ENTRY_DONE && !isnan(y->sqnr_db);
        if (dx != dy)
            return dx ? -1 : 1;
        if (dx && x->sqnr_db != y->sqnr_db)
            return x->sqnr_db < y->sqnr_db ? -1 : 1;
    } else if (sort_list->sort == SQ_SORT_SIZE) {
        if (x->loaded != y->loaded)
            return x->loaded ? -1 : 1;
        if (x->numel != y->numel)
            return x->numel > y->numel ? -1 : 1;
    }
    return a < b ? -1 : a > b;
}

void sq_tui_list_sort(sq_tui_list *l)
{
    size_t cur = l->src->n ? l->order[l->sel] : 0;
    sort_list = l;
    qsort(l->order, l->src->n, sizeof *l->order, cmp_entries);
    sort_list = NULL;
    for (size_t i = 0; i < l->src->n; i++)
        if (l->order[i] == cur)
            l->sel = i;
}

size_t sq_tui_list_selected(const sq_tui_list *l)
{
    return l->src->n ? l->order[l->sel] : 0;
}

/* The most dimensions among the entries analysed so far (at least 1). */
static int list_max_ndim(const sq_tui_list *l)
{
    int nd = 1;
    for (size_t i = 0; i < l->src->n; i++)
        if (l->e[i].loaded && l->e[i].ndim > nd)
            nd = l->e[i].ndim;
    return nd;
}

/* Say on the status line that a key has nothing to do. */
static int list_idle(sq_tui_list *l, const char *why)
{
    snprintf(l->msg, sizeof l->msg, "%s", why);
    return SQ_TUI_HANDLED | SQ_TUI_REDRAW;
}

/* A configuration key that has nothing to do in the list's state, or NULL. */
static const char *list_key_idle(const sq_tui_list *l, int key)
{
    const sq_qconfig *c = &l->cfg;
    if (key == 'b' && c->bits <= SQ_BITS_MIN)
        return SQ_TUI_MSG_BITS_MIN;
    if (key == 'B' && c->bits >= SQ_BITS_MAX)
        return SQ_TUI_MSG_BITS_MAX;
    if (key == 'a' && c->granularity != SQ_GRAN_CHANNEL)
        return SQ_TUI_MSG_NOT_CHANNEL;
    if ((key == '[' || key == ']') && c->granularity != SQ_GRAN_GROUP)
        return SQ_TUI_MSG_NOT_GROUP;
    if (key == '[' && c->group_size <= 1)
        return "[: group size 1 is already the smallest";
    if (key == ']' && c->group_size >= 65536)
        return "]: group size 65536 is already the largest";
    return NULL;
}

int sq_tui_list_key(sq_tui_list *l, int key)
{
    size_t n = l->src->n;
    const int moved = SQ_TUI_HANDLED | SQ_TUI_REDRAW;
    sq_qconfig old = l->cfg;
    l->msg[0] = '\0';
    if (l->help && key != '?' && key != 'q' && key != 'Q' && key != SQ_TUI_KEY_ESC)
        l->help = false; /* any other key closes the help and then acts */
    const char *why = key > 0 && key < 128 ? list_key_idle(l, key) : NULL;
    if (why)
        return list_idle(l, why);
    switch (key) {
    case SQ_TUI_KEY_UP:
    case 'k':
        if (l->sel > 0)
            l->sel--;
        return moved;
    case SQ_TUI_KEY_DOWN:
    case 'j':
        if (l->sel + 1 < n)
            l->sel++;
        return moved;
    case SQ_TUI_KEY_PGUP:
        l->sel = l->sel > 10 ? l->sel - 10 : 0;
        return moved;
    case SQ_TUI_KEY_PGDN:
        l->sel = l->sel + 10 < n ? l->sel + 10 : (n ? n - 1 : 0);
        return moved;
    case SQ_TUI_KEY_HOME:
        l->sel = 0;
        return moved;
    case SQ_TUI_KEY_END:
        l->sel = n ? n - 1 : 0;
        return moved;
    case SQ_TUI_KEY_ENTER:
        return n ? SQ_TUI_HANDLED | SQ_TUI_OPEN : SQ_TUI_HANDLED;
    case 'o':
        l->sort = (sq_tui_sort)((l->sort + 1) % SQ_SORT_COUNT);
        sq_tui_list_sort(l);
        return moved;
    case 'b':
        if (l->cfg.bits > SQ_BITS_MIN)
            l->cfg.bits--;
        break;
    case 'B':
        if (l->cfg.bits < SQ_BITS_MAX)
            l->cfg.bits++;
        break;
    case 'm':
        l->cfg.mode = l->cfg.mode == SQ_MODE_SYMMETRIC ? SQ_MODE_ASYMMETRIC : SQ_MODE_SYMMETRIC;
        break;
    case 'g':
        l->cfg.granularity = (sq_granularity)((l->cfg.granularity + 1) % 3);
        break;
    case 'r':
        l->cfg.rounding = l->cfg.rounding == SQ_ROUND_AWAY ? SQ_ROUND_EVEN : SQ_ROUND_AWAY;
        break;
    case 'a':
        if (list_max_ndim(l) <= 1)
            return list_idle(l, SQ_TUI_MSG_ONE_AXIS);
        l->cfg.axis = (l->cfg.axis + 1) % list_max_ndim(l);
        break;
    case '?':
        l->help = !l->help;
        return moved;
    case '[':
        if (l->cfg.group_size > 1)
            l->cfg.group_size /= 2;
        break;
    case ']':
        if (l->cfg.group_size < 65536)
            l->cfg.group_size *= 2;
        break;
    case 'q':
    case 'Q':
    case SQ_TUI_KEY_ESC:
        if (l->help) {
            l->help = false;
            return moved;
        }
        return SQ_TUI_HANDLED | SQ_TUI_QUIT;
    default:
        return SQ_TUI_IGNORED;
    }
    if (memcmp(&old, &l->cfg, sizeof old) != 0)
        sq_tui_list_invalidate(l);
    return SQ_TUI_HANDLED | SQ_TUI_REDRAW | SQ_TUI_RECOMPUTE;
}

static const char *const list_help[] = {
    "Keys (tensor list)",
    "j / k      select (also arrows, PgUp/PgDn, Home/End)",
    "Enter      open the selected tensor in the panel",
    "o          sort: file order, SQNR, size",
    "b / B      bits down / up (2..8)",
    "m          symmetric / asymmetric",
    "g          granularity: tensor, channel, group",
    "a          per-channel axis",
    "r          rounding: half away / half even",
    "[ / ]      group size halve / double",
    "?          this help",
    "q / Esc    back",
};

static const char *sort_names[] = {"file order", "SQNR (worst first)", "size (largest first)"};

/* Width of the list's fixed columns: selection mark, dtype, size, SQNR,
 * bits/w and the separating blanks. */
#define LIST_FIXED_W 38
/* The configuration column of quantized entries, with its blanks. */
#define LIST_QCFG_W 18

void sq_tui_list_columns(int w, bool quantized, int *name_w, int *shape_w)
{
    int rest = w - LIST_FIXED_W - (quantized ? LIST_QCFG_W : 0);
    int sw = rest / 4, nw;
    sw = sw < 9 ? 9 : sw > 18 ? 18 : sw;
    nw = rest - sw;
    *name_w = nw < 6 ? 6 : nw > 60 ? 60 : nw;
    *shape_w = sw;
}

/* The SQNR / bits-per-weight cell of an entry (and a quantized entry's
 * configuration). */
static void entry_values(const sq_tui_entry *e, char *v, size_t size)
{
    char desc[96];
    if (e->state == SQ_ENTRY_DONE && e->quant && isnan(e->sqnr_db))
        snprintf(v, size, "%9s %7.3f  %s", "no source", e->bits_per_weight,
                 sq_tui_config_short(&e->qcfg, desc, sizeof desc));
    else if (e->state == SQ_ENTRY_DONE && e->quant)
        snprintf(v, size, "%9.2f %7.3f  %s", e->sqnr_db, e->bits_per_weight,
                 sq_tui_config_short(&e->qcfg, desc, sizeof desc));
    else if (e->state == SQ_ENTRY_DONE)
        snprintf(v, size, "%9.2f %7.3f", e->sqnr_db, e->bits_per_weight);
    else if (e->state == SQ_ENTRY_ERROR)
        snprintf(v, size, "%.60s", e->err);
    else
        snprintf(v, size, "%9s", "...");
}

void sq_tui_list_render(sq_tui_list *l, int w, int h, sq_tui_grid *g)
{
    char desc[96], shape[128], size[32], v[160], dt[16];
    size_t n = l->src->n;
    int nw, sw;
    bool quantized = false;
    if (!sq_tui_grid_resize(g, w, h))
        return;
    for (size_t i = 0; i < n && !quantized; i++)
        quantized = l->e[i].quant;
    sq_tui_list_columns(w, quantized, &nw, &sw);
    for (int x = 0; x < w; x++)
        sq_tui_grid_put(g, x, 0, " ", SQ_ROLE_HEADER, 1);
    sq_tui_grid_printf(g, 0, 0, SQ_ROLE_HEADER, " %s: %zu tensors | %s | sorted by %s", l->title, n,
                       sq_qconfig_describe_from(&l->cfg, 1, desc, sizeof desc), sort_names[l->sort]);
    sq_tui_grid_printf(g, 0, 1, SQ_ROLE_LABEL, "  %-*s %-*s %-5s %10s %9s %7s%s", nw, "name", sw, "shape", "dtype",
                       "size", "SQNR dB", "bits/w", quantized ? "  config" : "");
    int rows = h - 4;
    if (rows < 1)
        rows = 1;
    if (l->sel < l->top)
        l->top = l->sel;
    if (l->sel >= l->top + (size_t)rows)
        l->top = l->sel - (size_t)rows + 1;
    if (l->top + (size_t)rows > n) /* a taller window shows more rows, not blanks */
        l->top = n > (size_t)rows ? n - (size_t)rows : 0;
    for (int r = 0; r < rows && l->top + (size_t)r < n; r++) {
        size_t d = l->top + (size_t)r;
        const sq_tui_entry *e = &l->e[l->order[d]];
        const char *raw = l->src->name(l->src->ctx, l->order[d]);
        char name[512];
        sq_escape_text(name, sizeof name, raw ? raw : "?"); /* control characters shown as \x.. */
        if (e->loaded) {
            sq_shape_format(e->shape, e->ndim, shape, sizeof shape);
            sq_tui_fmt_bytes((double)e->numel * 4.0, size, sizeof size);
        } else {
            snprintf(shape, sizeof shape, "?");
            snprintf(size, sizeof size, "?");
        }
        if (e->quant)
            snprintf(dt, sizeof dt, "int%d", e->qcfg.bits);
        else
            snprintf(dt, sizeof dt, "%s", e->loaded ? sq_dtype_name(e->dtype) : "?");
        entry_values(e, v, sizeof v);
        sq_tui_grid_printf(g, 0, 2 + r, d == l->sel ? SQ_ROLE_SELECTED : SQ_ROLE_NORMAL, "%s %-*.*s %-*.*s %-5s %10s %s",
                           d == l->sel ? ">" : " ", nw, nw, name, sw, sw, shape, dt, size, v);
    }
    if (l->done < n)
        sq_tui_grid_printf(g, 0, h - 2, SQ_ROLE_WARN, "quantizing %zu/%zu ... (keys stay live)", l->done, n);
    else
        sq_tui_grid_printf(g, 0, h - 2, SQ_ROLE_LABEL, "%s", l->msg[0] ? l->msg : "all tensors analysed");
    for (int x = 0; x < w; x++)
        sq_tui_grid_put(g, x, h - 1, " ", SQ_ROLE_FOOTER, 1);
    sq_tui_grid_put(g, 0, h - 1,
                    w >= 100 ? "j/k select  Enter open  o sort  b/B bits  m mode  g gran  a axis  r round  [/] group  ? help  q quit"
                             : "j/k select Enter open o sort b/B bits m g a r [/] ? help q quit",
                    SQ_ROLE_FOOTER, -1);
    if (l->help)
        sq_tui_draw_box(g, list_help, (int)(sizeof list_help / sizeof list_help[0]), SQ_ROLE_HEADER);
}
