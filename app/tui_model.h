/*
 * tui_model.h - the panel's state and everything computed from it, without
 * any terminal: the configuration, the selected channel/group, the log-count
 * toggle, pinned comparison rows; key -> state transitions; the analysis
 * (quantize + statistics + histograms + per-channel error) for a plot width;
 * the explanations (tui_explain.c: one element's quantization step by step,
 * a selection's histogram with its levels, code usage, the transfer
 * function, the glossary); rendering the whole panel into a cell grid for a
 * terminal size; saving the results to CSV / JSON / text; and the tensor
 * list shown for a checkpoint. Sizes shown are one file accounting:
 * sq_qtensor_storage_bytes (the seed's packed-code figures are labelled
 * "seed").
 *
 *     sq_tui_model m;
 *     if (sq_tui_model_init(&m, t, "demo", NULL, &err) != SQ_OK) ...;
 *     sq_tui_layout lay;  sq_tui_layout_compute(&m, 100, 30, &lay);
 *     sq_tui_model_update(&m, lay.plot_w, &err);  // after RECOMPUTE or resize
 *     sq_tui_render(&m, &lay, grid, sq_tui_glyphs_get(true));
 *     int f = sq_tui_model_key(&m, 'b');           // SQ_TUI_RECOMPUTE | ...
 *     sq_tui_model_free(&m);
 *
 * The model borrows the tensor (it must outlive the model). Not thread-safe.
 */
#ifndef SQ_TUI_MODEL_H
#define SQ_TUI_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diff.h"
#include "error.h"
#include "quant.h"
#include "stats.h"
#include "tensor.h"
#include "tui.h"
#include "tui_render.h"

#define SQ_TUI_MAX_PINS 8
#define SQ_TUI_MIN_W 60
#define SQ_TUI_MIN_H 20

/* Keys beyond ASCII, as the terminal layer reports them (terminal-neutral). */
enum {
    SQ_TUI_KEY_LEFT = 0x1001,
    SQ_TUI_KEY_RIGHT,
    SQ_TUI_KEY_UP,
    SQ_TUI_KEY_DOWN,
    SQ_TUI_KEY_HOME,
    SQ_TUI_KEY_END,
    SQ_TUI_KEY_PGUP,
    SQ_TUI_KEY_PGDN,
    SQ_TUI_KEY_ENTER,
    SQ_TUI_KEY_ESC
};

/* What a key did (bit flags), htop-style. */
enum {
    SQ_TUI_IGNORED = 0,
    SQ_TUI_HANDLED = 1,    /* the key meant something */
    SQ_TUI_REDRAW = 2,     /* the screen must be redrawn */
    SQ_TUI_RECOMPUTE = 4,  /* the configuration changed: re-run the analysis */
    SQ_TUI_SAVE = 8,       /* the caller should save (it owns the screen text) */
    SQ_TUI_QUIT = 16,      /* leave the view */
    SQ_TUI_OPEN = 32       /* list: open the selected tensor */
};

/* A pinned comparison row. */
typedef struct sq_tui_pin {
    sq_qconfig cfg;
    sq_stats st;
    size_t codes_used;
    size_t storage;              /* sq_qtensor_storage_bytes */
} sq_tui_pin;

/* The lower-left pane (t cycles it). */
typedef enum sq_tui_pane { SQ_PANE_ERROR = 0, SQ_PANE_CODES, SQ_PANE_TRANSFER, SQ_PANE_COUNT } sq_tui_pane;

typedef struct sq_tui_model {
    const sq_tensor *t;          /* borrowed: the values analysed (for a loaded
                                    quantized tensor without a source, its
                                    dequantized values) */
    const sq_qtensor *fixed;     /* borrowed: a loaded quantized tensor, or NULL */
    bool has_source;             /* t holds real values (false only for a
                                    loaded quantized tensor without a source) */
    char name[128];
    sq_qconfig cfg;
    size_t sel;                  /* selected scale index (channel or group) */
    bool log_counts;
    bool help;
    bool glossary;               /* ? a second time: the glossary page */
    bool walk;                   /* e: the walk-through of element walk_i */
    size_t walk_i;               /* 0-based element index */
    bool sel_hist;               /* v: value histogram of the selection alone */
    sq_tui_pane pane;            /* t: error histogram, code usage, transfer */
    sq_qconfig int_cfg;          /* the INT configuration f/F return to */
    sq_tui_pin pins[SQ_TUI_MAX_PINS];
    int n_pins;
    char msg[512];               /* footer message (saved paths, errors); "" for none */
    char fail[512];              /* why the last analysis failed; "" after a success */
    sq_qconfig fail_cfg;         /* the configuration it failed for */
    sq_summary sum;              /* of the tensor, computed once */
    /* ---- results of the last sq_tui_model_update ---- */
    bool have;                   /* the fields below are valid */
    sq_qconfig done_cfg;         /* the configuration they belong to */
    const sq_qtensor *q;         /* q_own, or fixed when showing its own codes */
    sq_qtensor *q_own;           /* owned: t quantized with done_cfg */
    bool showing_fixed;          /* the results are those of the loaded tensor */
    bool err_known;              /* error figures are known (false without a
                                    source: they are NaN, shown "unknown") */
    sq_stats st;
    sq_hist err_hist;
    uint64_t codes[256];
    size_t codes_used;
    double *ch_rmse;             /* q->n_scales entries: RMSE of each scale group */
    size_t n_ch;
    sq_hist val_hist;            /* original values over [sum.min, sum.max] */
    int bins;                    /* bins of both histograms */
    size_t storage;              /* sq_qtensor_storage_bytes(q) */
    float *xhat;                 /* q dequantized (numel), made on demand by
                                    sq_tui_model_xhat; NULL until then */
    float *xhat_buf;             /* xhat's memory, kept from one configuration
                                    to the next (no fresh pages each key) */
    size_t xhat_cap;             /* floats in xhat_buf */
    sq_hist sel_h;               /* v: the selection's histogram, made by
                                    sq_tui_model_update for sel_h_k /
                                    sel_h_bins of these results (a redraw
                                    reuses it); counts NULL when not made */
    size_t sel_h_k;
    int sel_h_bins;
    bool sel_r_ok;               /* t's transfer pane: sq_tui_selection_range */
    size_t sel_r_k;              /* of scale index sel_r_k, made by the update */
    double sel_lo, sel_hi;
} sq_tui_model;

/* Set up m for tensor t (borrowed) named name, starting at initial (NULL:
 * int8 symmetric per-tensor). Fails (ARG) when initial is invalid for t's
 * shape. Nothing is computed yet. */
sq_status sq_tui_model_init(sq_tui_model *m, const sq_tensor *t, const char *name,
                            const sq_qconfig *initial, sq_error *err);
/* Set up m for a loaded quantized tensor q (borrowed) named name, at q's own
 * configuration, showing q's own codes and scales - never a re-quantization
 * of its dequantized values. source (borrowed, may be NULL) is the tensor q
 * approximates: its values and q's error against it are shown, and changing
 * the configuration re-quantizes source (returning to q's configuration
 * shows q again). Without a source, deq (borrowed, required: q dequantized)
 * supplies the value histogram, error figures are unknown and the
 * configuration keys only say that it is fixed. Errors: source shape differs
 * from q's, q's configuration invalid (ARG). */
sq_status sq_tui_model_init_qtensor(sq_tui_model *m, const sq_qtensor *q, const sq_tensor *source,
                                    const sq_tensor *deq, const char *name, sq_error *err);
/* Check that source (may be NULL) has q's shape and q's configuration is
 * valid; errors (ARG) name both shapes. */
sq_status sq_tui_qtensor_check(const sq_qtensor *q, const sq_tensor *source, sq_error *err);
/* Message shown when a configuration key is pressed on a loaded quantized
 * tensor without a source. */
#define SQ_TUI_MSG_FIXED "the configuration of a loaded quantized tensor is fixed (no source to re-quantize)"
/* Status-line messages of keys that have nothing to do (the state is left
 * unchanged). */
#define SQ_TUI_MSG_BITS_MIN "b: already at 2 bits, the fewest"
#define SQ_TUI_MSG_BITS_MAX "B: already at 8 bits, the most"
#define SQ_TUI_MSG_Z_SYM "z: zero-in-range is for asymmetric mode only (m switches the mode)"
#define SQ_TUI_MSG_NOT_CHANNEL "a: the axis is for per-channel only (g switches the granularity)"
#define SQ_TUI_MSG_ONE_AXIS "a: a 1-D tensor has only axis 1"
#define SQ_TUI_MSG_NOT_GROUP "[ ]: the group size is for per-group only (g switches the granularity)"
#define SQ_TUI_MSG_NO_SEL ", .: per-tensor has no channels or groups to select (g switches)"
#define SQ_TUI_MSG_FORMAT_FIXED "fixes bits, mode and blocks (f/F change the format)"
/* Free everything m owns (not the tensor). */
void sq_tui_model_free(sq_tui_model *m);
/* The dequantized values of m->q (computed once per analysis), or NULL when
 * there are no results or no memory. */
const float *sq_tui_model_xhat(sq_tui_model *m);

/* Analyse with the current configuration, histograms with `bins` bins (the
 * plot width). Recomputes only what changed (the value histogram only when
 * bins changes; with v on, the selection's histogram when the selection
 * changed). On failure m->have is false and m->msg holds the error. */
sq_status sq_tui_model_update(sq_tui_model *m, int bins, sq_error *err);

/* Apply one key (ASCII or SQ_TUI_KEY_*); returns SQ_TUI_* flags. */
int sq_tui_model_key(sq_tui_model *m, int key);

/* ---- pure helpers (tested one by one) ------------------------------------ */

/* Next configuration value for the keys (all keep cfg valid for shape). */
void sq_tui_cycle_granularity(sq_qconfig *cfg, const size_t *shape, int ndim);
/* Group size one step down (dir < 0: the largest divisor <= half, else the
 * next smaller divisor) or up (dir > 0: the smallest divisor >= double, else
 * the next larger divisor) among the divisors of last_dim. */
size_t sq_tui_group_step(size_t g, size_t last_dim, int dir);

/* The dequantized level values (q - zp) * scale for q = qmin..qmax of cfg;
 * out must have 256 entries. Returns how many. */
size_t sq_tui_levels(const sq_qconfig *cfg, double scale, double zp, double *out);
/* Mark mark[c] for each of cols columns over [lo, hi] that holds a level. */
void sq_tui_marker_columns(const double *levels, size_t n, double lo, double hi, int cols, bool *mark);
/* Reduce n values to cols columns, each the max of its share (n <= cols:
 * one value per column, the rest 0). Returns the columns used. */
int sq_tui_strip_columns(const double *v, size_t n, int cols, double *out);
/* Column of item sel of n in a strip of cols columns (as sq_tui_strip_columns). */
int sq_tui_strip_column_of(size_t sel, size_t n, int cols);

/* ---- explanations (tui_explain.c) --------------------------------------- */

/* The elements governed by scale index k of q: how many, and the j-th one
 * (0-based element index; j < sq_tui_member_count). 0 for k out of range. */
size_t sq_tui_member_count(const sq_qtensor *q, size_t k);
size_t sq_tui_member(const sq_qtensor *q, size_t k, size_t j);
/* The same elements as runs: run r (0 <= r < *n_runs) is the *run_len
 * consecutive elements from *start + r * *stride (none for k out of range). */
void sq_tui_member_runs(const sq_qtensor *q, size_t k, size_t *start, size_t *n_runs, size_t *run_len,
                        size_t *stride);
/* The levels available to element i (sq_qtensor_levels), a new array the
 * caller frees, *n of them; NULL (and *n 0) without memory. */
float *sq_tui_element_levels(const sq_qtensor *q, size_t i, size_t *n);
/* The range of scale index k: its values' min..max widened to its levels'
 * (so unused levels show), never empty. */
void sq_tui_selection_range(const sq_tensor *t, const sq_qtensor *q, size_t k, double *lo, double *hi);
/* The clip range of scale index k: the values beyond it are clipped. INT:
 * (qmin - zp) * scale .. (qmax - zp) * scale; other formats: the extreme
 * levels of the block of its first element. NaN for k out of range. */
void sq_tui_clip_range(const sq_qtensor *q, size_t k, double *lo, double *hi);
/* Of cols columns over [lo, hi], how many leading columns (*below) and
 * trailing columns (*above) have their centre beyond [clo, chi] (0 for a
 * NaN threshold). */
void sq_tui_clip_columns(double lo, double hi, double clo, double chi, int cols, int *below, int *above);
/* Column of v in cols columns over [lo, hi] (hi in the last); -1 outside. */
int sq_tui_value_column(double v, double lo, double hi, int cols);
/* Histogram of scale index k's values over sq_tui_selection_range; h is new
 * (free with sq_hist_free). Errors: bins < 1 (ARG), no memory. */
sq_status sq_tui_selection_hist(const sq_tensor *t, const sq_qtensor *q, size_t k, int bins, sq_hist *h,
                                sq_error *err);

/* One element's quantization, step by step (e). INT: t = x * (1/scale) + zp,
 * rounded, clamped to [qmin, qmax] giving the engine's code, x-hat =
 * (code - zp) * scale as float; other formats: the block's scale(s), the
 * level nearest x, the stored code and the decoder's x-hat. */
typedef struct sq_tui_walk {
    size_t i, k;                 /* element and its scale index, 0-based */
    bool is_int;
    double x, scale, zp;
    double t, rounded;           /* INT */
    int qmin, qmax;              /* INT: the code range; formats 0..2^bits-1 */
    int code;                    /* sq_qtensor_code */
    bool clipped;
    double nearest;              /* formats: the level nearest x */
    size_t n_levels;             /* formats: levels of the block */
    double xhat, err;            /* x-hat and x - x-hat */
    double range_lo, range_hi;   /* INT min/max calibration: the range the
                                    scale came from (NaN otherwise) */
} sq_tui_walk;
#define SQ_TUI_WALK_W 192
#define SQ_TUI_WALK_LINES 12
#define SQ_TUI_WALK_FIT 76     /* widest line kept whole (the box at 80 columns) */
/* Fill w for element i of q (t the values, xhat q dequantized: needed for
 * the formats, may be NULL for INT). */
void sq_tui_walk_compute(const sq_tensor *t, const sq_qtensor *q, const float *xhat, size_t i, sq_tui_walk *w);
/* The walk-through as text lines (at most max); known: x and the error are
 * known (false without a source). Returns the line count. */
int sq_tui_walk_lines(const sq_tui_walk *w, const sq_qtensor *q, bool known, char lines[][SQ_TUI_WALK_W],
                      int max);
/* The same with x-hat spelled xh (sq_tui_glyphs xhat: "x\u0302" in UTF-8,
 * "x^" in ASCII); the labels are padded to 24 display columns and the width
 * limit SQ_TUI_WALK_FIT counts display columns (sq_tui_text_cols). */
int sq_tui_walk_lines_glyph(const sq_tui_walk *w, const sq_qtensor *q, bool known, const char *xh,
                            char lines[][SQ_TUI_WALK_W], int max);
/* Index of the element with the largest |x - xhat| (the first on a tie). */
size_t sq_tui_worst_element(const sq_tensor *t, const float *xhat);
/* x-hat of cols evenly spaced x over [lo, hi] (column centres) with element
 * i's scale / levels: the staircase of the transfer function. */
void sq_tui_transfer(const sq_qtensor *q, size_t i, double lo, double hi, int cols, double *out);
/* Row (0 = top) of value v in a plot `rows` tall over [lo, hi]; -1 outside. */
int sq_tui_transfer_row(double v, double lo, double hi, int rows);
/* Code-usage bars: counts[0..n) (one per code) into cols columns. When
 * every code has a column, code k fills columns [k*w, k*w + w) with w =
 * cols / n (the last one left blank as a gap when w >= 3) and the rest stay
 * 0; otherwise sq_tui_rebin. */
void sq_tui_code_columns(const uint64_t *counts, size_t n, int cols, uint64_t *out);
/* The glossary lines (? twice), ASCII, each at most 76 characters. */
extern const char *const sq_tui_glossary[];
extern const int sq_tui_glossary_n;

/* A configuration in a short, complete form that tells configurations apart
 * without truncation: bits, sym/asym, tensor / chAXIS (1-based) / gSIZE, then
 * " even" for half-even rounding, " zr" for zero-in-range (asymmetric), " sf32"
 * / " sf16" for a rounded scale store: "i4 sym g32", "i8 asym ch1 even zr".
  * At most 27 characters. Returns buf. */
char *sq_tui_config_short(const sq_qconfig *cfg, char *buf, size_t bufsize);
/* Width of the configuration column of the comparison table (longer labels
 * widen the row rather than being cut). */
#define SQ_TUI_SHORT_W 16
/* One pinned/comparison row's cell text: config, SQNR, RMSE, max|err|,
 * bits/weight and ratio from the file accounting (storage bytes:
 * sq_qtensor_storage_bytes), codes used; header when cfg is NULL. Returns buf. */
char *sq_tui_pin_row(const sq_qconfig *cfg, const sq_stats *st, size_t codes_used, size_t storage, char *buf,
                     size_t bufsize);
/* The statistics table: label and value text of row i (0 <= i < count);
 * returns false past the end. "stored", "ratio" and "bits/w" are the file
 * accounting (storage bytes); "seed size" the seed's packed codes and ratio. */
bool sq_tui_stats_cell(const sq_stats *st, const sq_qconfig *cfg, size_t codes_used, size_t storage,
                       size_t n_scales, int i, const char **label, char *value, size_t vsize);

/* ---- layout and rendering ------------------------------------------------ */

typedef struct sq_tui_layout {
    int w, h;
    bool too_small;
    int left_w;                  /* histogram column width */
    int plot_x, plot_w;          /* histogram bars */
    int vtitle_y, vbars_y, vbars_h, vmark_y, vrange_y;
    int etitle_y, ebars_y, ebars_h, erange_y;
    int xtitle_y, xbars_y, xbars_h, xrange_y; /* a third chart when tall enough
                                    (xbars_h > 0): code usage, or the transfer
                                    function when t selects it */
    int stats_x, stats_y, stats_h;
    int strip_y, strip_h;        /* 0 rows for per-tensor */
    int pins_y, pins_h, pins_shown;
    int footer_y;
} sq_tui_layout;

/* Lay the panel out for a w x h terminal. */
void sq_tui_layout_compute(const sq_tui_model *m, int w, int h, sq_tui_layout *lay);
/* Draw the panel into g (resized to the layout's size). */
void sq_tui_render(const sq_tui_model *m, const sq_tui_layout *lay, sq_tui_grid *g, const sq_tui_glyphs *gl);

/* ---- saving ---------------------------------------------------------------- */

/* Write the statistics, both histograms and the pinned table as CSV
 * (<base>-stats.csv, <base>-hist.csv, <base>-pins.csv) and JSON
 * (<base>.json), and screen_text (may be NULL) as <base>-screen.txt, into dir
 * (NULL: "."), base = "squint-" + the tensor name with unsafe characters
 * replaced. Each file is written atomically (temporary file in dir, fsync,
 * rename). On success `written` (may be NULL) receives a short description of
 * the paths. Requires m->have. */
sq_status sq_tui_save(const sq_tui_model *m, const char *screen_text, const char *dir, char *written,
                      size_t wsize, sq_error *err);
/* Write len bytes to path atomically (see sq_tui_save). */
sq_status sq_tui_write_atomic(const char *path, const char *data, size_t len, sq_error *err);

/* Adjust cfg to be valid for shape: axis into range, group size to a
 * divisor of the last dimension, per-tensor for a scalar. */
void sq_tui_config_fit(sq_qconfig *cfg, const size_t *shape, int ndim);

/* ---- a pair of tensors (tui_pair.c, sq.view(a, b)) ------------------------ */

/* The panel on b compared against the reference a (same shape, borrowed):
 * the error statistics (sq_diff_stats), the value histograms of both over
 * their common range and the error histogram. Quantization keys only say
 * that they do nothing here (SQ_TUI_MSG_PAIR). */
typedef struct sq_tui_pair {
    const sq_tensor *a, *b;      /* borrowed */
    char name[128];
    bool log_counts, help;
    char msg[512];               /* status line; "" for none */
    bool have;                   /* d and the histograms are valid */
    int bins;
    sq_diff d;
    sq_hist ha, hb, he;          /* values of a, of b (one range), e = a - b */
} sq_tui_pair;

#define SQ_TUI_PAIR_CONFIG_KEYS "bBmgaz[]rfFc()evtwpx,.<>s"
#define SQ_TUI_MSG_PAIR "sq.view(a, b) compares two tensors: there is no quantization to change here"

typedef struct sq_tui_pair_layout_t {
    int w, h;
    bool too_small;
    int left_w, plot_x, plot_w, stats_x;
    int title_y[3], bars_y[3], bars_h[3], range_y[3]; /* a, b, error */
} sq_tui_pair_layout_t;

/* Set p up and compute everything (64 bins). Errors: those of
 * sq_diff_stats (shape mismatch, non-finite values: ARG / NONFINITE), no
 * memory; p is then empty. */
sq_status sq_tui_pair_init(sq_tui_pair *p, const sq_tensor *a, const sq_tensor *b, const char *name,
                           sq_error *err);
/* Recompute for `bins` histogram bins (nothing when unchanged). On failure
 * p->have is false and p->msg says why. */
sq_status sq_tui_pair_update(sq_tui_pair *p, int bins, sq_error *err);
void sq_tui_pair_free(sq_tui_pair *p);
/* Apply a key: l log counts, ? help, q / Esc quit (closing the help
 * first); quantization keys set p->msg. Returns SQ_TUI_* flags. */
int sq_tui_pair_key(sq_tui_pair *p, int key);
/* Row i of the statistics table (false past the end). */
bool sq_tui_pair_stats_cell(const sq_diff *d, int i, const char **label, char *value, size_t vsize);
void sq_tui_pair_layout(int w, int h, sq_tui_pair_layout_t *l);
void sq_tui_pair_render(const sq_tui_pair *p, const sq_tui_pair_layout_t *l, sq_tui_grid *g,
                        const sq_tui_glyphs *gl);

/* ---- tensor list (a checkpoint) ---------------------------------------- */

typedef enum sq_tui_entry_state { SQ_ENTRY_PENDING = 0, SQ_ENTRY_DONE, SQ_ENTRY_ERROR } sq_tui_entry_state;

typedef struct sq_tui_entry {
    sq_tui_entry_state state;
    bool loaded;                 /* shape/dtype known */
    int ndim;
    size_t shape[SQ_MAX_DIMS];
    size_t numel;
    sq_dtype dtype;
    double sqnr_db;              /* NaN: unknown (a quantized entry) */
    double bits_per_weight;      /* 8 * sq_qtensor_storage_bytes / numel (the file accounting) */
    bool quant;                  /* a loaded quantized tensor */
    sq_qconfig qcfg;             /* its configuration */
    char err[128];
} sq_tui_entry;

typedef enum sq_tui_sort { SQ_SORT_INDEX = 0, SQ_SORT_SQNR, SQ_SORT_SIZE, SQ_SORT_COUNT } sq_tui_sort;

typedef struct sq_tui_list {
    const sq_tui_source *src;    /* borrowed */
    char title[128];
    sq_qconfig cfg;
    sq_tui_entry *e;             /* src->n entries */
    size_t *order;               /* display order: indices into e */
    size_t sel, top;             /* selected display row, first shown row */
    size_t done;                 /* entries not pending */
    sq_tui_sort sort;
    bool help;                   /* the help box is shown */
    char msg[256];
} sq_tui_list;

sq_status sq_tui_list_init(sq_tui_list *l, const sq_tui_source *src, const char *title,
                           const sq_qconfig *initial, sq_error *err);
void sq_tui_list_free(sq_tui_list *l);
/* Analyse the next pending entry (load, quantize, stats, free). Returns
 * false when nothing was pending. */
bool sq_tui_list_step(sq_tui_list *l);
/* Apply a key: arrows/j/k move, Enter gives SQ_TUI_OPEN, o cycles the sort,
 * b/B/m/g/a/r/[/] change the configuration (all entries become pending; a key
 * with nothing to do says so in l->msg instead), ? toggles the help, q quits
 * (closing the help first). */
int sq_tui_list_key(sq_tui_list *l, int key);
/* Source index of the selected row. */
size_t sq_tui_list_selected(const sq_tui_list *l);
/* Re-sort (keeps the selected entry selected). */
void sq_tui_list_sort(sq_tui_list *l);
/* Mark every entry pending (after a configuration change). */
void sq_tui_list_invalidate(sq_tui_list *l);
/* Column widths of the list for a terminal w columns wide: the name column
 * (12..60) and the shape column (9..18) share what the fixed columns (and,
 * when some entry is quantized, its configuration column) leave. */
void sq_tui_list_columns(int w, bool quantized, int *name_w, int *shape_w);
/* Draw the list into g for a w x h terminal. */
void sq_tui_list_render(sq_tui_list *l, int w, int h, sq_tui_grid *g);

#endif
