/* bench_tui.c - `make bench-tui`: the panel's update after a key (quantize +
 * statistics + histograms + per-channel errors + render into a cell grid;
 * with the walk-through open also every element's x-hat; then each format) on
 * a 4096 x 4096 tensor, next to the engine's own sq_quantize_stats with the
 * panel's options (per-index MSE, code counts, the plot's bins) of the same
 * configuration in the same run: the difference is the panel's overhead.
 * Best of several runs per configuration. Target (issue 11): < 40 ms a key.
 * Usage: bench_tui [rows cols] (default 4096 4096). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "memtune.h"

#include "tui_model.h"

#define TARGET_MS 40.0

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    size_t shape[2] = {4096, 4096};
    sq_memtune(); /* as the squint program does */
    if (argc == 3) {
        shape[0] = strtoull(argv[1], NULL, 10);
        shape[1] = strtoull(argv[2], NULL, 10);
    }
    sq_error err;
    sq_tensor *t;
    if (sq_tensor_randn(shape, 2, 7, &t, &err) != SQ_OK) {
        fprintf(stderr, "bench_tui: %s\n", err.msg);
        return EXIT_FAILURE;
    }
    /* key sequence: each step is one key press in the panel */
    static const struct { int key; const char *what; } keys[] = {
        {'b', "b (int7 sym per-tensor)"}, {'b', "b (int6)"}, {'b', "b (int5)"}, {'b', "b (int4)"},
        {'m', "m (asym)"}, {'g', "g (per-channel)"}, {'g', "g (per-group 32)"}, {'m', "m (sym)"},
        {'g', "g (per-tensor)"},
        {'f', "f (q4_0)"}, {'f', "f (q4_1)"}, {'f', "f (q5_0)"}, {'f', "f (q5_1)"}, {'f', "f (q8_0)"},
        {'f', "f (q2_k)"}, {'f', "f (q3_k)"}, {'f', "f (q4_k)"}, {'f', "f (q5_k)"}, {'f', "f (q6_k)"},
        {'f', "f (iq4_nl)"}, {'f', "f (iq4_xs)"}, {'f', "f (fp8_e4m3)"}, {'f', "f (fp8_e5m2)"},
        {'f', "f (fp4_e2m1)"}, {'f', "f (nf4)"}, {'f', "f (mxfp4)"}, {'f', "f (mxfp8)"}, {'f', "f (nvfp4)"},
        {'f', "f (int4 sym per-tensor)"}, {'g', "g (per-channel)"}, {'v', "v (channel's histogram)"},
        {'t', "t (code usage)"}, {'t', "t (transfer x -> x^)"}, {'e', "e (walk-through: all x^)"},
        {'g', "g (per-group 32, e v t on)"}, {'F', "F (nvfp4, e v t on)"}, {'F', "F (mxfp8, e v t on)"},
    };
    sq_tui_model m;
    sq_tui_grid g = {0};
    sq_tui_layout lay;
    const int reps = 3;
    if (sq_tui_model_init(&m, t, "bench", NULL, &err) != SQ_OK)
        return EXIT_FAILURE;
    sq_tui_layout_compute(&m, 120, 40, &lay);
    sq_tui_model_update(&m, lay.plot_w, &err); /* first view (also builds the value histogram) */
    printf("squint bench-tui: %zu x %zu f32, one key = update (quantize + stats + histograms + per-channel\n"
           "errors) + layout + render to a %dx%d cell grid; best of %d. engine = sq_quantize_stats alone with\n"
           "the panel's options; overhead = panel - engine. Target < %.0f ms a key.\n\n",
           shape[0], shape[1], lay.w, lay.h, reps, TARGET_MS);
    printf("%-28s %10s %10s %10s %10s %8s\n", "key", "panel ms", "engine ms", "overhead", "render ms", "< 40 ms");
    int missed = 0, missed_panel = 0;
    double *imse = malloc(((size_t)shape[0] * shape[1] + 1) * sizeof *imse);
    uint64_t codes[256];
    if (!imse)
        return EXIT_FAILURE;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        sq_tui_model_key(&m, keys[k].key);
        double best = 1e30, beste = 1e30, bestr = 1e30;
        for (int r = 0; r < reps; r++) {
            sq_qtensor *q;
            sq_stats st;
            sq_hist h = {0};
            sq_stats_opts o = sq_stats_opts_default();
            o.hist_bins = lay.plot_w;
            o.index_mse = imse;
            o.code_counts = codes;
            double t0 = now();
            if (sq_quantize_stats(t, &m.cfg, &o, &q, &st, &h, &err) != SQ_OK)
                return EXIT_FAILURE;
            double t1 = now();
            sq_qtensor_free(q);
            sq_hist_free(&h);
            m.have = false; /* force the full recompute a key causes */
            double t2 = now();
            if (sq_tui_model_update(&m, lay.plot_w, &err) != SQ_OK) {
                fprintf(stderr, "bench_tui: %s\n", err.msg);
                return EXIT_FAILURE;
            }
            sq_tui_layout_compute(&m, 120, 40, &lay);
            if (m.walk && m.done_cfg.format != SQ_FORMAT_INT)
                sq_tui_model_xhat(&m); /* as the panel does for an open walk-through */
            double tr = now();
            sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(true));
            double t3 = now();
            bestr = t3 - tr < bestr ? t3 - tr : bestr;
            beste = t1 - t0 < beste ? t1 - t0 : beste;
            best = t3 - t2 < best ? t3 - t2 : best;
        }
        bool ok = best * 1e3 < TARGET_MS;
        missed += !ok;
        missed_panel += !ok && beste * 1e3 < TARGET_MS; /* the engine alone was within it */
        printf("%-28s %10.1f %10.1f %10.1f %10.2f %8s\n", keys[k].what, best * 1e3, beste * 1e3, (best - beste) * 1e3,
               bestr * 1e3,
               ok ? "yes" : beste * 1e3 < TARGET_MS ? "MISSED" : "engine");
    }
    free(imse);
    /* a redraw without a configuration change (a selection move, a resize to
     * the same width, a message): per-tensor int8 with v on, the selection
     * being the whole tensor - the update keeps its cached results */
    m.cfg = sq_qconfig_default();
    if (!m.sel_hist)
        sq_tui_model_key(&m, 'v');
    m.walk = false;
    sq_tui_model_update(&m, lay.plot_w, &err);
    double bestd = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        sq_tui_model_update(&m, lay.plot_w, &err);
        sq_tui_layout_compute(&m, 120, 40, &lay);
        sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(true));
        double t1 = now();
        bestd = t1 - t0 < bestd ? t1 - t0 : bestd;
    }
    printf("%-28s %10.2f %10s %10s %10s %8s\n", "redraw (int8, v on)", bestd * 1e3, "-", "-", "-",
           bestd * 1e3 < TARGET_MS ? "yes" : "MISSED");
    sq_tui_model_free(&m);
    sq_tui_grid_free(&g);
    sq_tensor_free(t);
    printf("\n%d of %zu keys within %.0f ms; %d missed by the panel's own overhead (MISSED), %d where the\n"
           "engine's quantize + stats alone takes %.0f ms or more (engine)\n",
           (int)(sizeof keys / sizeof keys[0]) - missed, sizeof keys / sizeof keys[0], TARGET_MS, missed_panel,
           missed - missed_panel, TARGET_MS);
    return EXIT_SUCCESS;
}
