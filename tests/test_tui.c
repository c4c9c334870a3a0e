/* test_tui.c - the panel's pure logic: formatting, bars, glyphs, key
 * transitions, levels and markers, strip, table cells, layout, rendering,
 * saving, the tensor list; the explanations (walk-through numbers against the
 * engine's codes and dequantized values, selection histograms, code usage,
 * transfer staircase, glossary), the format and calibration keys, the file
 * accounting. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safetensors.h"
#include "testutil.h"
#include "tui_model.h"

START_TEST(test_fmt_si)
{
    char b[32];
    ck_assert_str_eq(sq_tui_fmt_si(0.000123, 8, b, sizeof b), "  123.0u");
    ck_assert_str_eq(sq_tui_fmt_si(15360, 8, b, sizeof b), "  15.36k");
    ck_assert_str_eq(sq_tui_fmt_si(-0.5, 8, b, sizeof b), " -500.0m");
    ck_assert_str_eq(sq_tui_fmt_si(3.14159, 8, b, sizeof b), "   3.142");
    ck_assert_str_eq(sq_tui_fmt_si(0, 6, b, sizeof b), "     0");
    ck_assert_str_eq(sq_tui_fmt_si(INFINITY, 6, b, sizeof b), "   inf");
    ck_assert_str_eq(sq_tui_fmt_si(NAN, 6, b, sizeof b), "   nan");
    ck_assert_str_eq(sq_tui_fmt_si(999.96, 8, b, sizeof b), "  1.000k");
    ck_assert_str_eq(sq_tui_fmt_si(0.0199, 1, b, sizeof b), "19.90m");
    ck_assert_str_eq(sq_tui_fmt_si(1e-15, 10, b, sizeof b), "  1.00e-15");
}
END_TEST

START_TEST(test_fmt_bytes_count)
{
    char b[32];
    ck_assert_str_eq(sq_tui_fmt_bytes(512, b, sizeof b), "512 B");
    ck_assert_str_eq(sq_tui_fmt_bytes(4096, b, sizeof b), "4.00 KiB");
    ck_assert_str_eq(sq_tui_fmt_bytes(67108864, b, sizeof b), "64.00 MiB");
    ck_assert_str_eq(sq_tui_fmt_count(9999, b, sizeof b), "9999");
    ck_assert_str_eq(sq_tui_fmt_count(12345, b, sizeof b), "12.3k");
    ck_assert_str_eq(sq_tui_fmt_count(131072, b, sizeof b), "131k");
    ck_assert_str_eq(sq_tui_fmt_count(16777216, b, sizeof b), "16.8M");
}
END_TEST

START_TEST(test_bar_heights)
{
    uint64_t c[5] = {0, 1, 50, 100, 25};
    int h[5];
    sq_tui_bar_heights(c, 5, 2, false, h); /* 16 eighths for the max */
    ck_assert_int_eq(h[0], 0);
    ck_assert_int_eq(h[1], 1); /* non-zero is at least one eighth */
    ck_assert_int_eq(h[2], 8);
    ck_assert_int_eq(h[3], 16);
    ck_assert_int_eq(h[4], 4);
    uint64_t d[3] = {0, 9, 99};
    sq_tui_bar_heights(d, 3, 1, true, h); /* log(1+c): log 10 / log 100 = 1/2 */
    ck_assert_int_eq(h[0], 0);
    ck_assert_int_eq(h[1], 4);
    ck_assert_int_eq(h[2], 8);
    double v[3] = {0.5, NAN, 2.0};
    sq_tui_bar_heights_d(v, 3, 1, h);
    ck_assert_int_eq(h[0], 2);
    ck_assert_int_eq(h[1], 0);
    ck_assert_int_eq(h[2], 8);
}
END_TEST

START_TEST(test_draw_bars_glyphs)
{
    sq_tui_grid g = {0};
    char row[128];
    int h[4] = {0, 3, 8, 13};
    ck_assert(sq_tui_grid_resize(&g, 4, 2));
    sq_tui_draw_bars(&g, 0, 0, 2, h, 4, sq_tui_glyphs_get(true), SQ_ROLE_BAR_VALUE);
    ck_assert_str_eq(sq_tui_grid_row(&g, 0, row, sizeof row), "   \u2585");
    ck_assert_str_eq(sq_tui_grid_row(&g, 1, row, sizeof row), " \u2583\u2588\u2588");
    ck_assert_int_eq(g.cells[3].role, SQ_ROLE_BAR_VALUE);
    sq_tui_grid_clear(&g);
    sq_tui_draw_bars(&g, 0, 0, 2, h, 4, sq_tui_glyphs_get(false), SQ_ROLE_BAR_VALUE);
    ck_assert_str_eq(sq_tui_grid_row(&g, 0, row, sizeof row), "   |");
    ck_assert_str_eq(sq_tui_grid_row(&g, 1, row, sizeof row), " :##");
    sq_tui_grid_free(&g);
}
END_TEST

START_TEST(test_grid_put_clip)
{
    sq_tui_grid g = {0};
    char row[64];
    ck_assert(sq_tui_grid_resize(&g, 5, 1));
    ck_assert_int_eq(sq_tui_grid_put(&g, 2, 0, "a\u2588cdef", SQ_ROLE_NORMAL, -1), 3);
    ck_assert_str_eq(sq_tui_grid_row(&g, 0, row, sizeof row), "  a\u2588c");
    ck_assert_int_eq(sq_tui_grid_put(&g, -1, 0, "xy", SQ_ROLE_NORMAL, -1), 1);
    ck_assert_str_eq(sq_tui_grid_row(&g, 0, row, sizeof row), "y a\u2588c");
    ck_assert_int_eq(sq_tui_grid_put(&g, 0, 3, "zz", SQ_ROLE_NORMAL, -1), 0);
    char *text = sq_tui_grid_text(&g);
    ck_assert_str_eq(text, "y a\u2588c\n");
    free(text);
    sq_tui_grid_free(&g);
}
END_TEST

START_TEST(test_rebin)
{
    uint64_t in[6] = {1, 2, 3, 4, 5, 6}, out[3], out2[12];
    sq_tui_rebin(in, 6, out, 3);
    ck_assert_uint_eq(out[0], 3);
    ck_assert_uint_eq(out[1], 7);
    ck_assert_uint_eq(out[2], 11);
    sq_tui_rebin(in, 6, out2, 12);
    ck_assert_uint_eq(out2[1], 1);
    ck_assert_uint_eq(out2[0], 0);
    ck_assert_uint_eq(out2[11], 6);
}
END_TEST

START_TEST(test_group_step)
{
    ck_assert_uint_eq(sq_tui_group_step(32, 512, 1), 64);
    ck_assert_uint_eq(sq_tui_group_step(32, 512, -1), 16);
    ck_assert_uint_eq(sq_tui_group_step(512, 512, 1), 512);
    ck_assert_uint_eq(sq_tui_group_step(1, 512, -1), 1);
    /* 768 = 2^8 * 3: doubling among divisors */
    ck_assert_uint_eq(sq_tui_group_step(256, 768, 1), 768);
    ck_assert_uint_eq(sq_tui_group_step(384, 768, -1), 192);
    ck_assert_uint_eq(sq_tui_group_step(3, 768, 1), 6);
    /* 100: 25 -> 50 -> 100, 25 -> 10 (largest divisor <= 12) */
    ck_assert_uint_eq(sq_tui_group_step(25, 100, 1), 50);
    ck_assert_uint_eq(sq_tui_group_step(25, 100, -1), 10);
}
END_TEST

/* A model over a small 2 x 6 tensor. */
static sq_tensor *small_tensor(void)
{
    static const float v[12] = {-1, -0.5f, 0, 0.25f, 0.5f, 1, -4, -2, 0, 1, 2, 4};
    size_t shape[2] = {2, 6};
    return tu_tensor(shape, 2, v);
}

START_TEST(test_keys)
{
    sq_tensor *t = small_tensor();
    sq_tui_model m;
    sq_error err;
    ck_assert_int_eq(sq_tui_model_init(&m, t, "small", NULL, &err), SQ_OK);
    ck_assert_int_eq(m.cfg.bits, 8);
    ck_assert_int_eq(sq_tui_model_key(&m, 'b') & SQ_TUI_RECOMPUTE, SQ_TUI_RECOMPUTE);
    ck_assert_int_eq(m.cfg.bits, 7);
    for (int i = 0; i < 10; i++)
        sq_tui_model_key(&m, 'b');
    ck_assert_int_eq(m.cfg.bits, 2);
    ck_assert_int_eq(sq_tui_model_key(&m, 'b') & SQ_TUI_RECOMPUTE, 0);
    for (int i = 0; i < 10; i++)
        sq_tui_model_key(&m, 'B');
    ck_assert_int_eq(m.cfg.bits, 8);
    sq_tui_model_key(&m, 'm');
    ck_assert_int_eq(m.cfg.mode, SQ_MODE_ASYMMETRIC);
    sq_tui_model_key(&m, 'm');
    ck_assert_int_eq(m.cfg.mode, SQ_MODE_SYMMETRIC);
    /* g: tensor -> channel -> group (32 does not divide 6: 6) -> tensor */
    sq_tui_model_key(&m, 'g');
    ck_assert_int_eq(m.cfg.granularity, SQ_GRAN_CHANNEL);
    sq_tui_model_key(&m, 'g');
    ck_assert_int_eq(m.cfg.granularity, SQ_GRAN_GROUP);
    ck_assert_uint_eq(m.cfg.group_size, 6);
    ck_assert_int_eq(sq_tui_model_key(&m, '[') & SQ_TUI_RECOMPUTE, SQ_TUI_RECOMPUTE);
    ck_assert_uint_eq(m.cfg.group_size, 3);
    sq_tui_model_key(&m, '[');
    ck_assert_uint_eq(m.cfg.group_size, 1);
    sq_tui_model_key(&m, ']');
    ck_assert_uint_eq(m.cfg.group_size, 2);
    ck_assert_int_eq(sq_qconfig_check(&m.cfg, t->shape, t->ndim, &err), SQ_OK);
    sq_tui_model_key(&m, 'g');
    ck_assert_int_eq(m.cfg.granularity, SQ_GRAN_TENSOR);
    sq_tui_model_key(&m, 'g');
    ck_assert_int_eq(m.cfg.granularity, SQ_GRAN_CHANNEL);
    ck_assert_int_eq(sq_tui_model_key(&m, 'a') & SQ_TUI_RECOMPUTE, SQ_TUI_RECOMPUTE);
    ck_assert_int_eq(m.cfg.axis, 1);
    sq_tui_model_key(&m, 'a');
    ck_assert_int_eq(m.cfg.axis, 0);
    sq_tui_model_key(&m, 'g');
    sq_tui_model_key(&m, 'g');
    ck_assert_int_eq(m.cfg.granularity, SQ_GRAN_TENSOR);
    sq_tui_model_key(&m, 'r');
    ck_assert_int_eq(m.cfg.rounding, SQ_ROUND_EVEN);
    ck_assert_int_eq(sq_tui_model_key(&m, 'l'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert(m.log_counts);
    ck_assert_int_eq(sq_tui_model_key(&m, '?') & SQ_TUI_REDRAW, SQ_TUI_REDRAW);
    ck_assert(m.help);
    ck_assert_int_eq(sq_tui_model_key(&m, 'q') & SQ_TUI_QUIT, 0); /* q closes the help first */
    ck_assert(!m.help);
    ck_assert_int_eq(sq_tui_model_key(&m, 's') & SQ_TUI_SAVE, SQ_TUI_SAVE);
    ck_assert_int_eq(sq_tui_model_key(&m, SQ_TUI_KEY_ESC) & SQ_TUI_QUIT, SQ_TUI_QUIT);
    ck_assert_int_eq(sq_tui_model_key(&m, 'q') & SQ_TUI_QUIT, SQ_TUI_QUIT);
    ck_assert_int_eq(sq_tui_model_key(&m, '~'), SQ_TUI_IGNORED);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_selection_and_pins)
{
    sq_tensor *t = small_tensor();
    sq_tui_model m;
    sq_error err;
    sq_qconfig c = sq_qconfig_default();
    c.granularity = SQ_GRAN_CHANNEL;
    ck_assert_int_eq(sq_tui_model_init(&m, t, "small", &c, &err), SQ_OK);
    ck_assert_int_eq(sq_tui_model_update(&m, 10, &err), SQ_OK);
    ck_assert_uint_eq(m.n_ch, 2);
    sq_tui_model_key(&m, SQ_TUI_KEY_RIGHT);
    ck_assert_uint_eq(m.sel, 1);
    sq_tui_model_key(&m, '.');
    ck_assert_uint_eq(m.sel, 1); /* clamped */
    sq_tui_model_key(&m, ',');
    ck_assert_uint_eq(m.sel, 0);
    /* per-channel RMSE: channel 1 (scale 4/127) has larger errors than channel 0 */
    ck_assert(m.ch_rmse[1] >= m.ch_rmse[0]);
    sq_tui_model_key(&m, 'p');
    ck_assert_int_eq(m.n_pins, 1);
    for (int i = 0; i < 12; i++)
        sq_tui_model_key(&m, 'p');
    ck_assert_int_eq(m.n_pins, SQ_TUI_MAX_PINS);
    sq_tui_model_key(&m, 'x');
    ck_assert_int_eq(m.n_pins, SQ_TUI_MAX_PINS - 1);
    /* a configuration change is picked up by update; unchanged config is a no-op */
    sq_tui_model_key(&m, 'b');
    ck_assert(memcmp(&m.done_cfg, &m.cfg, sizeof m.cfg) != 0);
    ck_assert_int_eq(sq_tui_model_update(&m, 10, &err), SQ_OK);
    ck_assert_int_eq(m.done_cfg.bits, 7);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_levels_markers)
{
    sq_qconfig c = sq_qconfig_default();
    double lv[256];
    bool mark[8];
    c.bits = 2; /* symmetric: -1..1 */
    ck_assert_uint_eq(sq_tui_levels(&c, 0.5, 0, lv), 3);
    ck_assert(lv[0] == -0.5 && lv[1] == 0 && lv[2] == 0.5);
    c.mode = SQ_MODE_ASYMMETRIC; /* -2..1, zp 1: (q - 1) * 0.25 */
    ck_assert_uint_eq(sq_tui_levels(&c, 0.25, 1, lv), 4);
    ck_assert(lv[0] == -0.75 && lv[3] == 0);
    c.bits = 8;
    ck_assert_uint_eq(sq_tui_levels(&c, 1, 0, lv), 256);
    /* markers: levels -0.5, 0, 0.5 over [-1, 1] in 8 columns -> columns 2, 4, 6 */
    double l3[3] = {-0.5, 0, 0.5};
    sq_tui_marker_columns(l3, 3, -1, 1, 8, mark);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(mark[i], i == 2 || i == 4 || i == 6);
    double edge[2] = {1.0, 5.0}; /* hi goes to the last column, outside is skipped */
    sq_tui_marker_columns(edge, 2, -1, 1, 8, mark);
    ck_assert(mark[7] && !mark[6]);
}
END_TEST

START_TEST(test_strip)
{
    double v[10] = {1, 2, 3, 9, 1, 1, 1, 1, 1, 7}, out[4];
    ck_assert_int_eq(sq_tui_strip_columns(v, 10, 4, out), 4);
    /* items 0-2 -> col 0, 3-4 -> 1, 5-7 -> 2, 8-9 -> 3 (i*4/10) */
    ck_assert(out[0] == 3 && out[1] == 9 && out[2] == 1 && out[3] == 7);
    ck_assert_int_eq(sq_tui_strip_column_of(9, 10, 4), 3);
    ck_assert_int_eq(sq_tui_strip_columns(v, 3, 4, out), 3);
    ck_assert(out[2] == 3 && out[3] == 0);
    ck_assert_int_eq(sq_tui_strip_column_of(2, 3, 4), 2);
}
END_TEST

START_TEST(test_table_cells)
{
    sq_stats st = {0};
    sq_qconfig c = sq_qconfig_default();
    char buf[256];
    const char *label;
    st.sqnr_db = 41.234;
    st.rmse = 0.000123;
    st.max_abs_err = 0.0025;
    st.bits_per_weight = 8.0;
    st.compression = 4.0;
    st.mse = 1.5129e-8;
    st.cosine = 0.9999;
    st.clipped = 0;
    st.fp32_bytes = 524288;
    st.size_bytes = 131072;
    st.meta_bytes = 16;
    st.numel = 131072;
    /* the file accounting: 131072 code bytes + one f64 scale = 131080 bytes:
     * bits/w = 8 * 131080 / 131072 = 8.000488, ratio = 524288 / 131080 */
    ck_assert_str_eq(sq_tui_pin_row(NULL, NULL, 0, 0, buf, sizeof buf),
                     "config            SQNR dB     RMSE max|err|  bits/w   ratio  codes");
    ck_assert_str_eq(sq_tui_pin_row(&c, &st, 200, 131080, buf, sizeof buf),
                     "i8 sym tensor       41.23   123.0u   2.500m   8.000   4.00x    200");
    ck_assert(sq_tui_stats_cell(&st, &c, 200, 131080, 1, 0, &label, buf, sizeof buf));
    ck_assert_str_eq(label, "SQNR");
    ck_assert_str_eq(buf, "41.23 dB");
    ck_assert(sq_tui_stats_cell(&st, &c, 200, 131080, 1, 8, &label, buf, sizeof buf));
    ck_assert_str_eq(label, "codes");
    ck_assert_str_eq(buf, "200 / 256");
    ck_assert(sq_tui_stats_cell(&st, &c, 200, 131080, 1, 14, &label, buf, sizeof buf));
    ck_assert_str_eq(buf, "512.00 KiB");
    ck_assert(sq_tui_stats_cell(&st, &c, 200, 131080, 1, 6, &label, buf, sizeof buf));
    ck_assert_str_eq(buf, "0.00% (0)");
    ck_assert(sq_tui_stats_cell(&st, &c, 200, 131080, 1, 9, &label, buf, sizeof buf));
    ck_assert_str_eq(label, "stored");
    ck_assert_str_eq(buf, "128.01 KiB");
    ck_assert(sq_tui_stats_cell(&st, &c, 200, 131080, 1, 10, &label, buf, sizeof buf));
    ck_assert_str_eq(label, "ratio");
    ck_assert_str_eq(buf, "4.00x");
    ck_assert(sq_tui_stats_cell(&st, &c, 200, 131080, 1, 11, &label, buf, sizeof buf));
    ck_assert_str_eq(label, "bits/w");
    ck_assert_str_eq(buf, "8.000");
    ck_assert(sq_tui_stats_cell(&st, &c, 200, 131080, 1, 12, &label, buf, sizeof buf));
    ck_assert_str_eq(label, "seed size");
    ck_assert_str_eq(buf, "128.00 KiB (4.00x)");
    ck_assert(!sq_tui_stats_cell(&st, &c, 200, 131080, 1, 15, &label, buf, sizeof buf));
    /* issue 14: int4 per-group(32) with f64 scales: 4 bits of code + 64/32
     * bits of scale = 6 bits per weight, so ratio 32/6 = 5.33x (not the
     * seed's 8.00x beside bits/w 6) */
    st.numel = 4096;
    st.size_bytes = 2048;
    st.compression = 8.0;
    c.bits = 4;
    c.granularity = SQ_GRAN_GROUP;
    ck_assert_str_eq(strstr(sq_tui_pin_row(&c, &st, 16, 2048 + 128 * 8, buf, sizeof buf), "  6.000"),
                     "  6.000   5.33x     16");
    ck_assert(sq_tui_stats_cell(&st, &c, 16, 2048 + 128 * 8, 128, 10, &label, buf, sizeof buf));
    ck_assert_str_eq(buf, "5.33x");
    ck_assert(sq_tui_stats_cell(&st, &c, 16, 2048 + 128 * 8, 128, 12, &label, buf, sizeof buf));
    ck_assert_str_eq(buf, "2.00 KiB (8.00x)");
}
END_TEST

START_TEST(test_layout)
{
    sq_tensor *t = small_tensor();
    sq_tui_model m;
    sq_tui_layout l;
    sq_error err;
    ck_assert_int_eq(sq_tui_model_init(&m, t, "small", NULL, &err), SQ_OK);
    sq_tui_layout_compute(&m, 80, 24, &l);
    ck_assert(!l.too_small);
    ck_assert_int_eq(l.plot_w, 47);
    ck_assert_int_eq(l.strip_h, 0);
    ck_assert_int_eq(l.vbars_h + l.ebars_h, 24 - 2 - 3 - 5);
    ck_assert_int_eq(l.pins_y + l.pins_h, l.footer_y);
    ck_assert_int_eq(l.erange_y, l.strip_y - 1);
    ck_assert_int_eq(l.xbars_h, 0); /* two charts */
    sq_tui_layout_compute(&m, 160, 50, &l);
    ck_assert_int_eq(l.plot_w, 160 - 36 - 1 - 2);
    /* tall: a third chart with its title and range rows, 40 - 2 rows shared */
    ck_assert_int_eq(l.vbars_h + l.ebars_h + l.xbars_h, 50 - 2 - 3 - 5 - 2);
    ck_assert_int_eq(l.xbars_h, 12);
    ck_assert_int_eq(l.vbars_h, 14);
    ck_assert_int_eq(l.xtitle_y, l.erange_y + 1);
    ck_assert_int_eq(l.xrange_y, l.xbars_y + l.xbars_h);
    ck_assert_int_eq(l.xrange_y, l.strip_y - 1);
    sq_tui_layout_compute(&m, 160, 40, &l); /* 30 chart rows: still two */
    ck_assert_int_eq(l.xbars_h, 0);
    m.cfg.granularity = SQ_GRAN_CHANNEL;
    m.n_pins = 8;
    sq_tui_layout_compute(&m, 80, 24, &l); /* not enough room for all pins */
    ck_assert_int_eq(l.strip_h, 4);
    ck_assert_int_lt(l.pins_shown, 8);
    ck_assert_int_ge(l.vbars_h, 3);
    ck_assert_int_eq(l.pins_y + l.pins_h, l.footer_y);
    sq_tui_layout_compute(&m, 50, 10, &l);
    ck_assert(l.too_small);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST

/* Find a row of the grid containing needle; -1 if none. */
static int find_row(const sq_tui_grid *g, const char *needle)
{
    char row[2048];
    for (int y = 0; y < g->h; y++)
        if (strstr(sq_tui_grid_row(g, y, row, sizeof row), needle))
            return y;
    return -1;
}

START_TEST(test_render)
{
    sq_tensor *t = small_tensor();
    sq_tui_model m;
    sq_tui_layout l;
    sq_tui_grid g = {0};
    sq_error err;
    char row[2048];
    ck_assert_int_eq(sq_tui_model_init(&m, t, "small", NULL, &err), SQ_OK);
    sq_tui_layout_compute(&m, 80, 24, &l);
    ck_assert_int_eq(sq_tui_model_update(&m, l.plot_w, &err), SQ_OK);
    sq_tui_render(&m, &l, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(g.w, 80);
    ck_assert_int_eq(g.h, 24);
    ck_assert_str_eq(sq_tui_grid_row(&g, 0, row, sizeof row), " small [2, 6] f32, 12 values - int8 sym per-tensor");
    ck_assert_int_eq(g.cells[0].role, SQ_ROLE_HEADER);
    ck_assert_int_eq(find_row(&g, "Statistics"), 1);
    ck_assert_int_ge(find_row(&g, "SQNR"), 2);
    ck_assert_int_ge(find_row(&g, "Values"), 0);
    ck_assert_int_ge(find_row(&g, "Error x-x"), 0);
    ck_assert_int_ge(find_row(&g, "now i8 sym tensor"), 0);
    /* value range row: min -4 at the left, max 4 at the right */
    sq_tui_grid_row(&g, l.vrange_y, row, sizeof row);
    ck_assert_msg(strncmp(row, " -4.000", 7) == 0, "%s", row);
    /* level markers: int8 over [-4, 4] with scale 4/127 marks every column */
    sq_tui_grid_row(&g, l.vmark_y, row, sizeof row);
    ck_assert_uint_eq(strspn(row + 1, "^"), (size_t)l.plot_w);
    /* at 2 bits only 3 levels: -4, 0, 4 -> first, middle and last column */
    sq_tui_model_key(&m, 'b');
    for (int i = 0; i < 5; i++)
        sq_tui_model_key(&m, 'b');
    ck_assert_int_eq(m.cfg.bits, 2);
    ck_assert_int_eq(sq_tui_model_update(&m, l.plot_w, &err), SQ_OK);
    sq_tui_render(&m, &l, &g, sq_tui_glyphs_get(false));
    sq_tui_grid_row(&g, l.vmark_y, row, sizeof row);
    int marks = 0;
    for (const char *p = row; *p; p++)
        marks += *p == '^';
    ck_assert_int_eq(marks, 3);
    ck_assert_int_eq(row[1], '^');
    ck_assert_int_eq(row[l.plot_w], '^');
    /* footer shows the keys */
    ck_assert(strstr(sq_tui_grid_row(&g, 23, row, sizeof row), "q quit") != NULL);
    /* per-channel: the strip appears */
    sq_tui_model_key(&m, 'g');
    sq_tui_layout_compute(&m, 80, 24, &l);
    ck_assert_int_eq(sq_tui_model_update(&m, l.plot_w, &err), SQ_OK);
    sq_tui_render(&m, &l, &g, sq_tui_glyphs_get(true));
    ck_assert_int_eq(find_row(&g, "Channels channel 1/2 (axis 1)"), l.strip_y);
    ck_assert_int_eq(find_row(&g, "scale  \u2582\u2588"), l.strip_y + 1);
    sq_tui_model_key(&m, '?');
    sq_tui_render(&m, &l, &g, sq_tui_glyphs_get(true));
    ck_assert_int_ge(find_row(&g, "b / B   bits down / up"), 0);
    sq_tui_layout_compute(&m, 40, 10, &l);
    sq_tui_render(&m, &l, &g, sq_tui_glyphs_get(true));
    ck_assert_str_eq(sq_tui_grid_row(&g, 0, row, sizeof row), "terminal 40x10 is too small");
    sq_tui_grid_free(&g);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST

/* Keys with nothing to do say so and change no state (hidden or shown). */
START_TEST(test_idle_keys)
{
    sq_tensor *t = small_tensor();
    sq_tui_model m;
    sq_error err;
    ck_assert_int_eq(sq_tui_model_init(&m, t, "small", NULL, &err), SQ_OK);
    sq_qconfig before = m.cfg;
    ck_assert_int_eq(sq_tui_model_key(&m, 'B'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(m.msg, "B: already at 8 bits, the most");
    ck_assert_int_eq(sq_tui_model_key(&m, 'z'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(m.msg, SQ_TUI_MSG_Z_SYM);
    ck_assert_int_eq(sq_tui_model_key(&m, 'a'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(m.msg, SQ_TUI_MSG_NOT_CHANNEL);
    ck_assert_int_eq(sq_tui_model_key(&m, ']'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(m.msg, SQ_TUI_MSG_NOT_GROUP);
    ck_assert_int_eq(sq_tui_model_key(&m, '['), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_int_eq(sq_tui_model_key(&m, '.'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(m.msg, SQ_TUI_MSG_NO_SEL);
    ck_assert_int_eq(sq_tui_model_key(&m, '<'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(m.msg, SQ_TUI_MSG_NO_SEL);
    ck_assert_mem_eq(&before, &m.cfg, sizeof before); /* nothing hidden changed */
    /* a message goes with the next key */
    sq_tui_model_key(&m, 'l');
    ck_assert_str_eq(m.msg, "");
    for (int i = 0; i < 6; i++)
        sq_tui_model_key(&m, 'b');
    ck_assert_int_eq(m.cfg.bits, 2);
    ck_assert_str_eq(m.msg, "");
    ck_assert_int_eq(sq_tui_model_key(&m, 'b'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(m.msg, "b: already at 2 bits, the fewest");
    ck_assert_int_eq(m.cfg.bits, 2);
    /* per-group over 6 columns: divisors 1 2 3 6 */
    sq_tui_model_key(&m, 'g');
    sq_tui_model_key(&m, 'g');
    ck_assert_uint_eq(m.cfg.group_size, 6);
    ck_assert_int_eq(sq_tui_model_key(&m, ']'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(m.msg, "]: group size 6 is already the largest divisor of 6");
    ck_assert_int_eq(sq_tui_model_key(&m, 'a'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(m.msg, SQ_TUI_MSG_NOT_CHANNEL);
    sq_tui_model_key(&m, '[');
    sq_tui_model_key(&m, '[');
    ck_assert_uint_eq(m.cfg.group_size, 1);
    ck_assert_int_eq(sq_tui_model_key(&m, '['), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(m.msg, "[: group size 1 is already the smallest divisor of 6");
    /* asymmetric: z toggles */
    sq_tui_model_key(&m, 'm');
    ck_assert_int_eq(sq_tui_model_key(&m, 'z') & SQ_TUI_RECOMPUTE, SQ_TUI_RECOMPUTE);
    ck_assert(m.cfg.zero_in_range);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
    /* a 1-D tensor per-channel has one axis */
    static const float v[4] = {1, 2, 3, 4};
    size_t shape[1] = {4};
    t = tu_tensor(shape, 1, v);
    ck_assert_int_eq(sq_tui_model_init(&m, t, "v", NULL, &err), SQ_OK);
    sq_tui_model_key(&m, 'g');
    ck_assert_int_eq(sq_tui_model_key(&m, 'a'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(m.msg, SQ_TUI_MSG_ONE_AXIS);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_config_short)
{
    sq_qconfig c = sq_qconfig_default();
    char a[64], b[64], row[256];
    ck_assert_str_eq(sq_tui_config_short(&c, a, sizeof a), "i8 sym tensor");
    c.bits = 4;
    c.granularity = SQ_GRAN_GROUP;
    ck_assert_str_eq(sq_tui_config_short(&c, a, sizeof a), "i4 sym g32");
    c.granularity = SQ_GRAN_CHANNEL;
    c.axis = 1;
    ck_assert_str_eq(sq_tui_config_short(&c, a, sizeof a), "i4 sym ch2");
    c.mode = SQ_MODE_ASYMMETRIC;
    c.zero_in_range = true;
    c.rounding = SQ_ROUND_EVEN;
    c.scale_store = SQ_SCALE_F16;
    ck_assert_str_eq(sq_tui_config_short(&c, a, sizeof a), "i4 asym ch2 even zr sf16");
    /* the longest labels differ where they differ: never cut */
    c.granularity = SQ_GRAN_GROUP;
    c.group_size = 65536;
    sq_tui_config_short(&c, a, sizeof a);
    c.group_size = 65535;
    sq_tui_config_short(&c, b, sizeof b);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq((int)strlen(a), 27); /* "i4 asym g65536 even zr sf16" */
    /* a comparison row with a short label fits 80 columns after "now " */
    sq_stats st = {0};
    c = sq_qconfig_default();
    c.granularity = SQ_GRAN_GROUP;
    c.group_size = 128;
    sq_tui_pin_row(&c, &st, 255, 0, row, sizeof row);
    ck_assert_int_le((int)strlen(row) + 4, 80);
    ck_assert_str_eq(strtok(row, " "), "i8");
    ck_assert_int_le((int)strlen(sq_tui_pin_row(NULL, NULL, 0, 0, row, sizeof row)) + 4, 80);
}
END_TEST

START_TEST(test_term_ok)
{
    /* x-hat (x + U+0302) is one cell, as the terminal shows it */
    sq_tui_grid g = {0};
    char row[64];
    ck_assert(sq_tui_grid_resize(&g, 8, 1));
    ck_assert_int_eq(sq_tui_grid_put(&g, 0, 0, sq_tui_glyphs_get(true)->xhat, SQ_ROLE_NORMAL, -1), 1);
    ck_assert_int_eq(sq_tui_grid_put(&g, 1, 0, "-x\u0302y", SQ_ROLE_NORMAL, -1), 3);
    ck_assert_str_eq(g.cells[0].g, "x\u0302");
    ck_assert_str_eq(g.cells[2].g, "x\u0302");
    ck_assert_str_eq(g.cells[3].g, "y");
    ck_assert_str_eq(sq_tui_grid_row(&g, 0, row, sizeof row), "x\u0302-x\u0302y");
    sq_tui_grid_free(&g);
    ck_assert(!sq_tui_term_ok(NULL));
    ck_assert(!sq_tui_term_ok(""));
    ck_assert(!sq_tui_term_ok("dumb"));
    ck_assert(sq_tui_term_ok("xterm-256color"));
    ck_assert(sq_tui_term_ok("linux"));
}
END_TEST

/* line is shown whole in the help box (ASCII grid): the cells before it and
 * after it are blank cells of the box. */
static void help_whole(const sq_tui_grid *g, const char *line)
{
    char row[2048];
    int y = find_row(g, line);
    ck_assert_msg(y >= 1, "help line missing: %s", line);
    int x = (int)(strstr(sq_tui_grid_row(g, y, row, sizeof row), line) - row), n = (int)strlen(line);
    ck_assert_int_ge(x, 2);
    ck_assert_int_le(x + n + 2, g->w);
    for (int k = 1; k <= 2; k++) {
        ck_assert_int_eq(g->cells[y * g->w + x - k].role, SQ_ROLE_HEADER);
        ck_assert_int_eq(g->cells[y * g->w + x + n - 1 + k].role, SQ_ROLE_HEADER);
        ck_assert_str_eq(g->cells[y * g->w + x + n - 1 + k].g, " ");
    }
}

/* A 16 x 64 random model, per-channel / per-group, two pins, at w x h. */
static void small_screen(sq_tui_model *m, sq_tensor **t, sq_tui_grid *g, int w, int h, bool utf8, char gkeys)
{
    size_t shape[2] = {16, 64};
    sq_tui_layout l;
    sq_error err;
    ck_assert_int_eq(sq_tensor_randn(shape, 2, 5, t, &err), SQ_OK);
    ck_assert_int_eq(sq_tui_model_init(m, *t, "blk.0.ffn_down.weight", NULL, &err), SQ_OK);
    for (char k = 0; k < gkeys; k++)
        sq_tui_model_key(m, 'g');
    sq_tui_model_key(m, 'm');
    sq_tui_model_key(m, 'z');
    sq_tui_model_key(m, 'r');
    sq_tui_layout_compute(m, w, h, &l);
    ck_assert_int_eq(sq_tui_model_update(m, l.plot_w, &err), SQ_OK);
    sq_tui_model_key(m, 'p');
    sq_tui_model_key(m, gkeys == 2 ? ']' : 'a');
    sq_tui_layout_compute(m, w, h, &l);
    ck_assert_int_eq(sq_tui_model_update(m, l.plot_w, &err), SQ_OK);
    sq_tui_model_key(m, 'p');
    sq_tui_model_key(m, '.');
    sq_tui_layout_compute(m, w, h, &l);
    sq_tui_render(m, &l, g, sq_tui_glyphs_get(utf8));
}

START_TEST(test_small_screen)
{
    sq_tui_model m;
    sq_tensor *t;
    sq_tui_grid g = {0};
    char row[2048], want[64], z[32], sc[32];
    /* per-group at 80 x 24: the selected group is 1-based, with scale and zp */
    small_screen(&m, &t, &g, 80, 24, false, 2);
    ck_assert_uint_eq(m.cfg.group_size, 64);
    int y = find_row(&g, "Groups   group 2/16 (row 2, cols 1..64): scale ");
    ck_assert_int_ge(y, 0);
    snprintf(want, sizeof want, "scale %s zp %s rmse", sq_tui_fmt_si(m.q->scales[1], 1, sc, sizeof sc),
             sq_tui_fmt_si(m.q->zero_points[1], 1, z, sizeof z));
    ck_assert_msg(strstr(sq_tui_grid_row(&g, y, row, sizeof row), want), "%s / %s", row, want);
    /* the comparison keeps every column; two pins differ in their labels */
    ck_assert_int_ge(find_row(&g, "    config            SQNR dB     RMSE max|err|  bits/w   ratio  codes"), 0);
    y = find_row(&g, "#1  i8 asym g32 even zr ");
    ck_assert_int_ge(y, 0);
    sq_tui_grid_row(&g, y, row, sizeof row);
    ck_assert_msg(strlen(row) <= 80 && row[strlen(row) - 1] != ' ' && strchr("0123456789", row[strlen(row) - 1]),
                  "%s", row);
    ck_assert_int_ge(find_row(&g, "#2  i8 asym g64 even zr "), 0);
    /* ASCII only without UTF-8, with an ASCII x-hat */
    char *text = sq_tui_grid_text(&g);
    for (const char *p = text; *p; p++)
        ck_assert_msg((unsigned char)*p < 0x80, "non-ASCII byte at %d", (int)(p - text));
    ck_assert_ptr_nonnull(strstr(text, "Error x-x^"));
    free(text);
    /* footer at exactly 100 columns keeps its last key */
    sq_tui_layout l;
    m.msg[0] = '\0';
    sq_tui_layout_compute(&m, 100, 30, &l);
    sq_tui_render(&m, &l, &g, sq_tui_glyphs_get(true));
    sq_tui_grid_row(&g, 29, row, sizeof row);
    ck_assert_msg(strlen(row) >= 6 && strcmp(row + strlen(row) - 6, "q quit") == 0, "%s", row);
    ck_assert_int_ge(find_row(&g, "Error x-x\u0302"), 0);
    /* the help box holds every line whole at 80 x 24 and 100 x 30 */
    sq_tui_model_key(&m, '?');
    for (int s = 0; s < 2; s++) {
        sq_tui_layout_compute(&m, s ? 100 : 80, s ? 30 : 24, &l);
        sq_tui_render(&m, &l, &g, sq_tui_glyphs_get(false));
        help_whole(&g, ", / .   channel or group (arrows)       s       save stats, charts, screen");
        help_whole(&g, "< / >   selection by pages              ?       this help, the glossary");
        help_whole(&g, "In the walk-through (e): <- / -> element, w worst, e or Esc closes.");
        help_whole(&g, "q / Esc back");
    }
    sq_tui_grid_free(&g);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
    /* per-channel at 80 x 24: channel and axis 1-based, scale and zp shown */
    small_screen(&m, &t, &g, 80, 24, false, 1);
    ck_assert_int_eq(m.cfg.axis, 1);
    ck_assert_int_ge(find_row(&g, "Channels channel 2/64 (axis 2): scale "), 0);
    ck_assert_int_ge(find_row(&g, "#1  i8 asym ch1 even zr "), 0);
    ck_assert_int_ge(find_row(&g, "#2  i8 asym ch2 even zr "), 0);
    ck_assert_int_ge(find_row(&g, " zp "), 0);
    sq_tui_grid_free(&g);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_nonfinite_shown)
{
    float v[4] = {1, NAN, 2, 3};
    size_t shape[1] = {4};
    sq_tensor *t = tu_tensor(shape, 1, v);
    sq_tui_model m;
    sq_tui_layout l;
    sq_tui_grid g = {0};
    sq_error err;
    ck_assert_int_eq(sq_tui_model_init(&m, t, "nan", NULL, &err), SQ_OK);
    sq_tui_layout_compute(&m, 80, 24, &l);
    ck_assert_int_eq(sq_tui_model_update(&m, l.plot_w, &err), SQ_ERR_NONFINITE);
    ck_assert(!m.have);
    sq_tui_render(&m, &l, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "error:"), 2);
    ck_assert_int_eq(sq_tui_model_key(&m, 'p'), SQ_TUI_HANDLED); /* nothing to pin */
    sq_tui_grid_free(&g);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST

/* Read a whole file into a new string. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = calloc(1, 1 << 20);
    size_t n = fread(s, 1, (1 << 20) - 1, f);
    s[n] = '\0';
    fclose(f);
    return s;
}

START_TEST(test_save)
{
    sq_tensor *t = small_tensor();
    sq_tui_model m;
    sq_error err;
    char dir[] = "/tmp/sq_tui_saveXXXXXX", path[512], msg[512];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(sq_tui_model_init(&m, t, "blk.0/attn q", NULL, &err), SQ_OK);
    ck_assert_int_ne(sq_tui_save(&m, "x", dir, msg, sizeof msg, &err), SQ_OK); /* nothing computed */
    ck_assert_int_eq(sq_tui_model_update(&m, 4, &err), SQ_OK);
    sq_tui_model_key(&m, 'p');
    ck_assert_int_eq(sq_tui_save(&m, "screen\n", dir, msg, sizeof msg, &err), SQ_OK);
    ck_assert_msg(strstr(msg, "squint-blk.0_attn_q-stats.csv") != NULL, "%s", msg);
    snprintf(path, sizeof path, "%s/squint-blk.0_attn_q-stats.csv", dir);
    char *s = slurp(path);
    ck_assert_ptr_nonnull(s);
    ck_assert(strncmp(s, "statistic,value\nconfig,\"int8 sym per-tensor\"\nmse,", 49) == 0);
    /* one accounting: 12 code bytes + an f64 scale = 20 bytes for 12 values:
     * ratio 48 / 20, bits/w 160 / 12; the seed's figures labelled */
    ck_assert_msg(strstr(s, "\nstorage_bytes,20\nratio,2.400000\nbits_per_weight,13.333333\nseed_size_bytes,12\n"
                            "seed_compression,4.000000\n"), "%s", s);
    free(s);
    snprintf(path, sizeof path, "%s/squint-blk.0_attn_q-hist.csv", dir);
    s = slurp(path);
    ck_assert_ptr_nonnull(s);
    ck_assert(strncmp(s, "histogram,bin,lo,hi,count\nvalue,0,-4,-2,1\nvalue,1,-2,0,3\n", 56) == 0);
    free(s);
    snprintf(path, sizeof path, "%s/squint-blk.0_attn_q-pins.csv", dir);
    s = slurp(path);
    ck_assert(strstr(s, "\nnow,\"int8 sym per-tensor\",") && strstr(s, "\n1,\"int8 sym per-tensor\","));
    ck_assert_msg(strstr(s, ",20,13.3333,2.4000,"), "%s", s);
    free(s);
    snprintf(path, sizeof path, "%s/squint-blk.0_attn_q.json", dir);
    s = slurp(path);
    ck_assert(strstr(s, "\"tensor\": \"blk.0/attn q\"") && strstr(s, "\"value_histogram\"") &&
              strstr(s, "\"pinned\": ["));
    ck_assert_msg(strstr(s, "\"storage_bytes\": 20") && strstr(s, "\"ratio\": 2.4") &&
                  strstr(s, "\"seed_compression\": 4.0") && strstr(s, "\"format\": \"int\""), "%s", s);
    free(s);
    snprintf(path, sizeof path, "%s/squint-blk.0_attn_q-screen.txt", dir);
    s = slurp(path);
    ck_assert_str_eq(s, "screen\n");
    free(s);
    /* the charts of the screen, as SVG (text searchable) and PNG */
    snprintf(path, sizeof path, "%s/squint-blk.0_attn_q-values.svg", dir);
    s = slurp(path);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(strstr(s, ">Values of blk.0/attn q</text>"));
    ck_assert_ptr_nonnull(strstr(s, ">int8 sym per-tensor: levels of the tensor 1 marked</text>"));
    ck_assert_ptr_nonnull(strstr(s, " levels marked"));
    free(s);
    snprintf(path, sizeof path, "%s/squint-blk.0_attn_q-error.svg", dir);
    s = slurp(path);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(strstr(s, ">Round-trip error of blk.0/attn q</text>"));
    free(s);
    snprintf(path, sizeof path, "%s/squint-blk.0_attn_q-pins.svg", dir);
    s = slurp(path);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(strstr(s, "(now)</text>"));
    free(s);
    snprintf(path, sizeof path, "%s/squint-blk.0_attn_q-values.png", dir);
    s = slurp(path);
    ck_assert_ptr_nonnull(s);
    ck_assert(memcmp(s, "\x89PNG", 4) == 0);
    free(s);
    ck_assert_msg(strstr(msg, "-values.svg -values.png -error.svg -error.png -pins.svg -pins.png") != NULL, "%s", msg);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_ne(sq_tui_write_atomic("/nonexistent-dir/x", "a", 1, &err), SQ_OK);
    ck_assert_int_eq(err.code, SQ_ERR_IO);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST

/* ---- a fake source for the list ---- */
static const char *fake_name(void *ctx, size_t i)
{
    static const char *n[] = {"big", "fails", "small"};
    (void)ctx;
    return n[i];
}
static sq_status fake_load(void *ctx, size_t i, sq_tensor **out, sq_error *err)
{
    size_t big[2] = {16, 64}, small[1] = {8};
    (*(int *)ctx)++;
    if (i == 1)
        return sq_fail(err, SQ_ERR_FORMAT, "bad tensor");
    return sq_tensor_randn(i == 0 ? big : small, i == 0 ? 2 : 1, 5, out, err);
}

START_TEST(test_list)
{
    int loads = 0;
    sq_tui_source src = {3, fake_name, fake_load, &loads, NULL, NULL, NULL};
    sq_tui_list l;
    sq_tui_grid g = {0};
    sq_error err;
    ck_assert_int_eq(sq_tui_list_init(&l, &src, "fake.bin", NULL, &err), SQ_OK);
    ck_assert(sq_tui_list_step(&l));
    ck_assert_int_eq(loads, 1);
    ck_assert_int_eq(l.e[0].state, SQ_ENTRY_DONE);
    sq_tui_list_render(&l, 100, 10, &g);
    ck_assert_int_eq(find_row(&g, "quantizing 1/3"), 8);
    ck_assert(sq_tui_list_step(&l) && sq_tui_list_step(&l));
    ck_assert(!sq_tui_list_step(&l));
    ck_assert_int_eq(l.e[1].state, SQ_ENTRY_ERROR);
    ck_assert_str_eq(l.e[1].err, "bad tensor");
    /* sort by SQNR: int8 on 8 values vs 1024 values; failed last */
    sq_tui_list_key(&l, 'o');
    ck_assert_int_eq(l.sort, SQ_SORT_SQNR);
    ck_assert_uint_eq(l.order[2], 1);
    ck_assert(l.e[l.order[0]].sqnr_db <= l.e[l.order[1]].sqnr_db);
    sq_tui_list_key(&l, 'o');
    ck_assert_int_eq(l.sort, SQ_SORT_SIZE);
    ck_assert_uint_eq(l.order[0], 0);
    ck_assert_uint_eq(l.order[1], 2);
    /* config change invalidates; Enter opens the selected entry */
    ck_assert_int_eq(sq_tui_list_key(&l, 'b') & SQ_TUI_RECOMPUTE, SQ_TUI_RECOMPUTE);
    ck_assert_uint_eq(l.done, 0);
    ck_assert_int_eq(l.cfg.bits, 7);
    sq_tui_list_key(&l, 'j');
    ck_assert_uint_eq(sq_tui_list_selected(&l), 2);
    ck_assert_int_eq(sq_tui_list_key(&l, SQ_TUI_KEY_ENTER) & SQ_TUI_OPEN, SQ_TUI_OPEN);
    sq_tui_list_render(&l, 100, 10, &g);
    ck_assert_int_ge(find_row(&g, "> small"), 2);
    ck_assert_int_eq(sq_tui_list_key(&l, 'q') & SQ_TUI_QUIT, SQ_TUI_QUIT);
    sq_tui_grid_free(&g);
    sq_tui_list_free(&l);
}
END_TEST

/* ---- a loaded quantized tensor ---- */

/* randn [16, 64] and its int3 symmetric per-tensor quantization. */
static void int3_pair(sq_tensor **t, sq_qtensor **q)
{
    size_t shape[2] = {16, 64};
    sq_qconfig c = sq_qconfig_default();
    sq_error err;
    c.bits = 3;
    ck_assert_int_eq(sq_tensor_randn(shape, 2, 3, t, &err), SQ_OK);
    ck_assert_int_eq(sq_quantize(*t, &c, q, &err), SQ_OK);
}

/* The whole grid as text contains needle. */
static bool grid_has(const sq_tui_grid *g, const char *needle)
{
    char *text = sq_tui_grid_text(g);
    bool r = text && strstr(text, needle);
    free(text);
    return r;
}

START_TEST(test_qtensor_with_source)
{
    sq_tensor *t, *deq;
    sq_qtensor *q, *q2;
    sq_stats want, requant;
    sq_tui_model m;
    sq_tui_layout lay;
    sq_tui_grid g = {0};
    sq_error err;
    uint64_t codes[8];
    int3_pair(&t, &q);
    ck_assert_int_eq(sq_roundtrip_stats(t, q, NULL, &want, NULL, &err), SQ_OK);
    /* what the old view showed: the dequantized values quantized again */
    ck_assert_int_eq(sq_dequantize(q, &deq, &err), SQ_OK);
    ck_assert_int_eq(sq_quantize(deq, &q->config, &q2, &err), SQ_OK);
    ck_assert_int_eq(sq_roundtrip_stats(deq, q2, NULL, &requant, NULL, &err), SQ_OK);
    ck_assert_double_gt(requant.sqnr_db, want.sqnr_db + 30);

    ck_assert_int_eq(sq_tui_model_init_qtensor(&m, q, t, NULL, "q3", &err), SQ_OK);
    ck_assert_int_eq(m.cfg.bits, 3);
    ck_assert_int_eq(sq_tui_model_update(&m, 20, &err), SQ_OK);
    ck_assert(m.showing_fixed && m.err_known);
    ck_assert_ptr_eq(m.q, q);
    ck_assert_double_eq(m.st.sqnr_db, want.sqnr_db);
    ck_assert_double_eq(m.st.mse, want.mse);
    ck_assert_double_eq_tol(m.ch_rmse[0], sqrt(want.mse), 1e-12);
    ck_assert_uint_eq(m.codes_used, sq_code_histogram(q, codes));
    sq_tui_layout_compute(&m, 100, 30, &lay);
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "int3 sym per-tensor (loaded, vs source)"), 0);
    /* b re-quantizes the source; B returns to the loaded tensor itself */
    ck_assert_int_eq(sq_tui_model_key(&m, 'b') & SQ_TUI_RECOMPUTE, SQ_TUI_RECOMPUTE);
    ck_assert_int_eq(sq_tui_model_update(&m, 20, &err), SQ_OK);
    ck_assert(!m.showing_fixed && m.err_known);
    ck_assert_ptr_ne(m.q, q);
    ck_assert_int_eq(m.q->config.bits, 2);
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "int2 sym per-tensor (source re-quantized)"), 0);
    sq_tui_model_key(&m, 'B');
    ck_assert_int_eq(sq_tui_model_update(&m, 20, &err), SQ_OK);
    ck_assert(m.showing_fixed);
    ck_assert_ptr_eq(m.q, q);
    ck_assert_double_eq(m.st.sqnr_db, want.sqnr_db);
    sq_tui_model_free(&m);
    sq_tui_grid_free(&g);
    sq_qtensor_free(q2);
    sq_tensor_free(deq);
    sq_qtensor_free(q);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_qtensor_no_source)
{
    sq_tensor *t, *deq, *other;
    sq_qtensor *q;
    sq_tui_model m;
    sq_tui_layout lay;
    sq_tui_grid g = {0};
    sq_error err;
    size_t s3[1] = {3};
    int3_pair(&t, &q);
    ck_assert_int_eq(sq_dequantize(q, &deq, &err), SQ_OK);
    ck_assert_int_eq(sq_tui_model_init_qtensor(&m, q, NULL, NULL, "q3", &err), SQ_ERR_ARG);
    static const float z3[3] = {0, 0, 0};
    other = tu_tensor(s3, 1, z3);
    ck_assert_int_eq(sq_tui_model_init_qtensor(&m, q, other, NULL, "q3", &err), SQ_ERR_ARG);
    ck_assert_str_eq(err.msg, "source tensor shape [3] does not match the quantized tensor's [16, 64]");
    ck_assert_int_eq(sq_tui_qtensor_check(q, other, &err), SQ_ERR_ARG);
    ck_assert_int_eq(sq_tui_qtensor_check(q, t, &err), SQ_OK);

    ck_assert_int_eq(sq_tui_model_init_qtensor(&m, q, NULL, deq, "q3", &err), SQ_OK);
    ck_assert_int_eq(sq_tui_model_update(&m, 20, &err), SQ_OK);
    ck_assert(m.showing_fixed && !m.err_known && !m.has_source);
    ck_assert(isnan(m.st.sqnr_db) && isnan(m.st.rmse) && isnan(m.ch_rmse[0]));
    ck_assert_double_eq(m.st.bits_per_weight, sq_qtensor_bits_per_weight(q, SQ_SCALE_F32));
    ck_assert_uint_eq(m.st.size_bytes, sq_qtensor_size_bytes(q));
    /* configuration keys change nothing and say why */
    const char *keys = "bBmga[]rz";
    for (const char *k = keys; *k; k++) {
        ck_assert_int_eq(sq_tui_model_key(&m, *k), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
        ck_assert_str_eq(m.msg, SQ_TUI_MSG_FIXED);
    }
    ck_assert_int_eq(memcmp(&m.cfg, &q->config, sizeof m.cfg), 0);
    ck_assert_int_eq(sq_tui_model_key(&m, 's') & SQ_TUI_SAVE, 0);
    ck_assert_str_eq(m.msg, "nothing saved: the error is unknown without a source");
    sq_tui_model_key(&m, 'p');
    ck_assert_int_eq(m.n_pins, 1);
    sq_tui_layout_compute(&m, 100, 30, &lay);
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "int3 sym per-tensor (loaded, fixed; no source)"), 0);
    ck_assert_int_eq(find_row(&g, "Dequantized values"), 1);
    ck_assert_int_gt(find_row(&g, "no source: error unknown"), 1);
    ck_assert_int_gt(find_row(&g, "SQNR       unknown: no source"), 1);
    /* stored: 384 code bytes + one f64 scale = 392: 8 * 392 / 1024 = 3.0625
     * bits/w (printed half-even as 3.062), ratio 4096 / 392 = 10.45 */
    ck_assert_int_gt(find_row(&g, "now i3 sym tensor     unknown        -        -   3.062  10.45x      7"), 1);
    ck_assert(!grid_has(&g, "nan") && !grid_has(&g, "inf"));
    /* the walk-through without a source: x unknown, no error line; w says why not */
    sq_tui_model_key(&m, 'w');
    ck_assert_str_eq(m.msg, "w: the error is unknown without a source");
    ck_assert(!m.walk);
    sq_tui_model_key(&m, 'e');
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_gt(find_row(&g, "x                       unknown (no source: the values shown are x^)"), 0);
    ck_assert_int_gt(find_row(&g, "clamp to [-3, 3]        = q = "), 0);
    ck_assert_int_gt(find_row(&g, "scale (minmax)          = "), 0); /* not derived from x^ */
    ck_assert_int_lt(find_row(&g, "error x - x^"), 0);
    ck_assert(!grid_has(&g, "nan"));
    sq_tui_model_free(&m);
    sq_tui_grid_free(&g);
    sq_tensor_free(other);
    sq_tensor_free(deq);
    sq_qtensor_free(q);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_list_columns)
{
    static const int want[][5] = {/* w, quantized, name, shape */
                                  {100, 0, 47, 15}, {80, 0, 32, 10}, {60, 0, 13, 9}, {40, 0, 6, 9},
                                  {200, 0, 60, 18}, {100, 1, 33, 11}, {140, 1, 60, 18},
                                  {80, 1, 15, 9}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int nw, sw;
        sq_tui_list_columns(want[i][0], want[i][1], &nw, &sw);
        ck_assert_int_eq(nw, want[i][2]);
        ck_assert_int_eq(sw, want[i][3]);
    }
}
END_TEST

/* A list source whose entry 1 is a quantized tensor and entry 2 a broken one. */
static const char *mixed_name(void *ctx, size_t i)
{
    static const char *n[] = {"plain", "w", "broken"};
    (void)ctx;
    return n[i];
}
static sq_status mixed_load(void *ctx, size_t i, sq_tensor **out, sq_error *err)
{
    size_t shape[2] = {16, 64};
    (void)ctx;
    ck_assert_uint_eq(i, 0); /* never called for quantized entries */
    return sq_tensor_randn(shape, 2, 9, out, err);
}
static bool mixed_is_q(void *ctx, size_t i)
{
    (void)ctx;
    return i > 0;
}
static sq_status mixed_load_q(void *ctx, size_t i, sq_qtensor **out, sq_error *err)
{
    sq_tensor *t;
    (void)ctx;
    if (i == 2)
        return sq_fail(err, SQ_ERR_FORMAT, "broken parts");
    int3_pair(&t, out);
    sq_tensor_free(t);
    return SQ_OK;
}

/* A list source with a name holding terminal control characters. */
static const char *ctl_name(void *ctx, size_t i)
{
    (void)ctx;
    (void)i;
    return "a\x1b[2Jb";
}

START_TEST(test_list_escapes_names)
{
    sq_tui_source src = {1, ctl_name, mixed_load, NULL, NULL, NULL, NULL};
    sq_tui_list l;
    sq_tui_grid g = {0};
    sq_error err;
    char row[256];
    ck_assert_int_eq(sq_tui_list_init(&l, &src, "ctl", NULL, &err), SQ_OK);
    while (sq_tui_list_step(&l))
        ;
    sq_tui_list_render(&l, 100, 10, &g);
    bool found = false;
    for (int y = 0; y < 10; y++) {
        sq_tui_grid_row(&g, y, row, sizeof row);
        ck_assert_ptr_null(strchr(row, '\x1b'));
        found = found || strstr(row, "a\\x1b[2Jb") != NULL;
    }
    ck_assert(found);
    sq_tui_list_free(&l);
    sq_tui_grid_free(&g);
}
END_TEST

START_TEST(test_list_quantized)
{
    sq_tui_source src = {3, mixed_name, mixed_load, NULL, mixed_is_q, mixed_load_q, NULL};
    sq_tui_list l;
    sq_tui_grid g = {0};
    sq_error err;
    sq_tensor *t;
    sq_qtensor *q;
    char row[256], want[64];
    int3_pair(&t, &q);
    ck_assert_int_eq(sq_tui_list_init(&l, &src, "mixed", NULL, &err), SQ_OK);
    while (sq_tui_list_step(&l))
        ;
    ck_assert(l.e[1].quant && l.e[1].state == SQ_ENTRY_DONE && isnan(l.e[1].sqnr_db));
    ck_assert_int_eq(l.e[1].qcfg.bits, 3);
    ck_assert_double_eq(l.e[1].bits_per_weight, 8.0 * (double)sq_qtensor_storage_bytes(q) / (double)q->numel);
    ck_assert_double_eq(l.e[1].bits_per_weight, 3.0625); /* 384 code bytes + an f64 scale, 1024 values */
    ck_assert_int_eq(l.e[2].state, SQ_ENTRY_ERROR);
    ck_assert_str_eq(l.e[2].err, "broken parts");
    sq_tui_list_render(&l, 100, 10, &g);
    int y = find_row(&g, "  w ");
    ck_assert_int_eq(y, 3);
    sq_tui_grid_row(&g, y, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "[16, 64]"));
    ck_assert_ptr_nonnull(strstr(row, " int3 "));
    ck_assert_ptr_nonnull(strstr(row, "no source   3.062  i3 sym tensor"));
    /* the plain entry's numbers stay on its row at every width */
    snprintf(want, sizeof want, "%9.2f", l.e[0].sqnr_db);
    for (int w = 60; w <= 140; w += 20) {
        sq_tui_list_render(&l, w, 8, &g);
        ck_assert_int_eq(find_row(&g, "> plain"), 2);
        ck_assert_ptr_nonnull(strstr(sq_tui_grid_row(&g, 2, row, sizeof row), want));
        ck_assert_int_eq(find_row(&g, want), 2);
    }
    /* a window that grows after scrolling fills with rows again */
    sq_tui_list_key(&l, SQ_TUI_KEY_END);
    sq_tui_list_render(&l, 80, 5, &g);
    ck_assert_uint_eq(l.top, 2);
    ck_assert_int_eq(find_row(&g, "> broken"), 2);
    sq_tui_list_render(&l, 80, 10, &g);
    ck_assert_uint_eq(l.top, 0);
    ck_assert_int_eq(find_row(&g, "  plain"), 2);
    ck_assert_int_eq(find_row(&g, "> broken"), 4);
    sq_tui_list_key(&l, SQ_TUI_KEY_HOME);
    /* SQNR sort: known first, then unknown (quantized), then failed */
    sq_tui_list_key(&l, 'o');
    ck_assert_uint_eq(l.order[0], 0);
    ck_assert_uint_eq(l.order[1], 1);
    ck_assert_uint_eq(l.order[2], 2);
    sq_tui_grid_free(&g);
    sq_tui_list_free(&l);
    sq_qtensor_free(q);
    sq_tensor_free(t);
}
END_TEST

/* The list at 80 x 24: SQNR and bits/w whole, the name column shrinks; keys
 * with nothing to do say so; a and ? work. */
START_TEST(test_list_small)
{
    sq_tui_source src = {3, mixed_name, mixed_load, NULL, mixed_is_q, mixed_load_q, NULL};
    sq_tui_list l;
    sq_tui_grid g = {0};
    sq_error err;
    char row[256], want[64];
    ck_assert_int_eq(sq_tui_list_init(&l, &src, "mixed", NULL, &err), SQ_OK);
    while (sq_tui_list_step(&l))
        ;
    sq_tui_list_render(&l, 80, 24, &g);
    sq_tui_grid_row(&g, 1, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "SQNR dB  bits/w  config"));
    snprintf(want, sizeof want, "%9.2f %7.3f", l.e[0].sqnr_db, l.e[0].bits_per_weight);
    ck_assert_int_eq(find_row(&g, want), 2);
    ck_assert_int_eq(find_row(&g, "no source   3.062  i3 sym tensor"), 3);
    for (int y = 0; y < 24; y++)
        ck_assert_int_le((int)strlen(sq_tui_grid_row(&g, y, row, sizeof row)), 80);
    /* idle keys: the configuration is unchanged and nothing recomputes */
    sq_qconfig before = l.cfg;
    ck_assert_int_eq(sq_tui_list_key(&l, 'B'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(l.msg, SQ_TUI_MSG_BITS_MAX);
    ck_assert_int_eq(sq_tui_list_key(&l, 'a'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(l.msg, SQ_TUI_MSG_NOT_CHANNEL);
    ck_assert_int_eq(sq_tui_list_key(&l, ']'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(l.msg, SQ_TUI_MSG_NOT_GROUP);
    ck_assert_mem_eq(&before, &l.cfg, sizeof before);
    ck_assert_uint_eq(l.done, 3);
    sq_tui_list_render(&l, 80, 24, &g);
    ck_assert_int_eq(find_row(&g, SQ_TUI_MSG_NOT_GROUP), 22);
    /* per-channel: a cycles the axis over the entries' dimensions */
    sq_tui_list_key(&l, 'g');
    ck_assert_int_eq(sq_tui_list_key(&l, 'a') & SQ_TUI_RECOMPUTE, SQ_TUI_RECOMPUTE);
    ck_assert_int_eq(l.cfg.axis, 1);
    sq_tui_list_key(&l, 'a');
    ck_assert_int_eq(l.cfg.axis, 0);
    /* ? shows the help; q closes it before quitting */
    ck_assert_int_eq(sq_tui_list_key(&l, '?'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    sq_tui_list_render(&l, 80, 24, &g);
    help_whole(&g, "j / k      select (also arrows, PgUp/PgDn, Home/End)");
    ck_assert_int_eq(sq_tui_list_key(&l, 'q') & SQ_TUI_QUIT, 0);
    ck_assert(!l.help);
    /* footer at exactly 100 columns */
    sq_tui_list_render(&l, 100, 24, &g);
    sq_tui_grid_row(&g, 23, row, sizeof row);
    ck_assert_int_eq((int)strlen(row), 100);
    ck_assert_ptr_nonnull(strstr(row, "? help  q quit"));
    ck_assert_int_eq(sq_tui_list_key(&l, 'q') & SQ_TUI_QUIT, SQ_TUI_QUIT);
    sq_tui_grid_free(&g);
    sq_tui_list_free(&l);
}
END_TEST

START_TEST(test_ckpt_source)
{
    char dir[] = "/tmp/sq_tui_ckptXXXXXX", path[512], opath[512];
    sq_tui_list l;
    sq_stats want;
    sq_st_writer *w;
    sq_checkpoint *ck;
    sq_tui_ckpt_source cs;
    sq_tensor *t, *a, *lt;
    sq_qtensor *q, *lq;
    sq_error err;
    size_t sa[2] = {4, 8};
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/mix.safetensors", dir);
    int3_pair(&t, &q);
    ck_assert_int_eq(sq_tensor_randn(sa, 2, 4, &a, &err), SQ_OK);
    /* the source file the export names: layer.w as it was before quantizing */
    snprintf(opath, sizeof opath, "%s/orig.safetensors", dir);
    ck_assert_int_eq(sq_save_tensor_file(opath, "layer.w", t, &err), SQ_OK);
    ck_assert_int_eq(sq_st_writer_new(&w, &err), SQ_OK);
    /* as squint quantize records it: the base name, found beside the export */
    ck_assert_int_eq(sq_st_writer_add_metadata(w, "squint.source", "orig.safetensors", &err), SQ_OK);
    ck_assert_int_eq(sq_st_writer_add_tensor(w, "a", a, SQ_DTYPE_F32, &err), SQ_OK);
    ck_assert_int_eq(sq_st_writer_add_qtensor(w, "layer.w", q, &err), SQ_OK);
    ck_assert_int_eq(sq_st_writer_add_tensor(w, "x.scales", a, SQ_DTYPE_F32, &err), SQ_OK); /* not a part */
    ck_assert_int_eq(sq_st_writer_write(w, path, &err), SQ_OK);
    sq_st_writer_free(w);
    sq_tensor_free(a);
    ck_assert_int_eq(sq_ckpt_open(path, &ck, &err), SQ_OK);
    ck_assert_uint_eq(sq_ckpt_count(ck), 4); /* a, layer.w.codes and .scales (symmetric: no zero points), x.scales */
    ck_assert_int_eq(sq_tui_ckpt_source_init(&cs, ck, &err), SQ_OK);
    ck_assert_uint_eq(cs.src.n, 3);
    int seen = 0;
    for (size_t i = 0; i < cs.src.n; i++) {
        const char *n = cs.src.name(cs.src.ctx, i);
        bool isq = cs.src.is_quantized(cs.src.ctx, i);
        if (strcmp(n, "layer.w") == 0) {
            ck_assert(isq);
            ck_assert_int_eq(cs.src.load_q(cs.src.ctx, i, &lq, &err), SQ_OK);
            ck_assert_uint_eq(lq->code_bytes, q->code_bytes);
            ck_assert_int_eq(memcmp(lq->codes, q->codes, q->code_bytes), 0);
            ck_assert_double_eq(lq->scales[0], q->scales[0]);
            sq_qtensor_free(lq);
            ck_assert_int_eq(cs.src.load_orig(cs.src.ctx, i, &lt, &err), SQ_OK);
            ck_assert_uint_eq(lt->numel, t->numel);
            ck_assert_int_eq(memcmp(lt->data, t->data, t->numel * sizeof(float)), 0);
            sq_tensor_free(lt);
            seen |= 1;
        } else {
            ck_assert(!isq);
            ck_assert(strcmp(n, "a") == 0 || strcmp(n, "x.scales") == 0);
            ck_assert_int_eq(cs.src.load_q(cs.src.ctx, i, &lq, &err), SQ_ERR_ARG);
            ck_assert_int_eq(cs.src.load(cs.src.ctx, i, &lt, &err), SQ_OK);
            ck_assert_uint_eq(lt->numel, 32);
            sq_tensor_free(lt);
            seen |= strcmp(n, "a") == 0 ? 2 : 4;
        }
    }
    ck_assert_int_eq(seen, 7);
    /* the list's quantized row: SQNR of the stored codes against the original */
    ck_assert_int_eq(sq_roundtrip_stats(t, q, NULL, &want, NULL, &err), SQ_OK);
    ck_assert_int_eq(sq_tui_list_init(&l, &cs.src, "mix", NULL, &err), SQ_OK);
    while (sq_tui_list_step(&l))
        ;
    for (size_t i = 0; i < cs.src.n; i++)
        if (l.e[i].quant)
            ck_assert_double_eq(l.e[i].sqnr_db, want.sqnr_db);
    sq_tui_list_free(&l);
    sq_tui_ckpt_source_free(&cs);
    /* without the source file: unknown */
    unlink(opath);
    ck_assert_int_eq(sq_tui_ckpt_source_init(&cs, ck, &err), SQ_OK);
    ck_assert_ptr_null(cs.orig);
    ck_assert_int_eq(sq_tui_list_init(&l, &cs.src, "mix", NULL, &err), SQ_OK);
    while (sq_tui_list_step(&l))
        ;
    for (size_t i = 0; i < cs.src.n; i++)
        ck_assert(l.e[i].quant == isnan(l.e[i].sqnr_db));
    sq_tui_list_free(&l);
    sq_tui_ckpt_source_free(&cs);
    sq_ckpt_close(ck);
    unlink(path);
    rmdir(dir);
    sq_qtensor_free(q);
    sq_tensor_free(t);
}
END_TEST


/* ---- explanations ------------------------------------------------------------ */

/* Check the walk-through of every element of t quantized with c against the
 * engine: the code is sq_qtensor_code, rounding then clamping gives it, x-hat
 * is sq_dequantize's float exactly, the error is x - x-hat, and the clipped
 * flags add up to n_clipped. */
static void check_walk_all(const sq_tensor *t, const sq_qconfig *c)
{
    sq_qtensor *q;
    sq_tensor *deq;
    sq_error err;
    sq_tui_walk w;
    size_t clipped = 0;
    ck_assert_int_eq(sq_quantize(t, c, &q, &err), SQ_OK);
    ck_assert_int_eq(sq_dequantize(q, &deq, &err), SQ_OK);
    for (size_t i = 0; i < t->numel; i++) {
        sq_tui_walk_compute(t, q, NULL, i, &w);
        ck_assert_uint_eq(w.i, i);
        ck_assert_uint_eq(w.k, sq_qtensor_scale_index(q, i));
        ck_assert_int_eq(w.code, sq_qtensor_code(q, i));
        double cl = w.rounded < w.qmin ? w.qmin : w.rounded > w.qmax ? w.qmax : w.rounded;
        ck_assert_double_eq(cl, (double)w.code);
        ck_assert_float_eq((float)w.xhat, deq->data[i]);
        ck_assert_double_eq(w.err, (double)t->data[i] - (double)deq->data[i]);
        clipped += w.clipped;
        char lines[SQ_TUI_WALK_LINES][SQ_TUI_WALK_W];
        int n = sq_tui_walk_lines(&w, q, true, lines, SQ_TUI_WALK_LINES);
        for (int k = 0; k < n; k++) /* whole in the box at 80 columns */
            ck_assert_msg(strlen(lines[k]) <= SQ_TUI_WALK_FIT, "%s", lines[k]);
    }
    ck_assert_uint_eq(clipped, q->n_clipped);
    sq_tensor_free(deq);
    sq_qtensor_free(q);
}

START_TEST(test_walk_numbers)
{
    sq_tensor *t = small_tensor();
    sq_qconfig c = sq_qconfig_default();
    sq_qtensor *q;
    sq_error err;
    sq_tui_walk w;
    char lines[SQ_TUI_WALK_LINES][SQ_TUI_WALK_W];
    /* int8 symmetric per-tensor: scale = 4 / 127; element 5 (x = 0.5):
     * 0.5 * 31.75 = 15.875 -> 16, x-hat = 16 * 4 / 127 */
    ck_assert_int_eq(sq_quantize(t, &c, &q, &err), SQ_OK);
    sq_tui_walk_compute(t, q, NULL, 4, &w);
    ck_assert_double_eq_tol(w.t, 15.875, 1e-12);
    ck_assert_double_eq(w.rounded, 16);
    ck_assert_int_eq(w.code, 16);
    ck_assert_float_eq((float)w.xhat, (float)(16 * 4.0 / 127));
    ck_assert(!w.clipped);
    ck_assert_double_eq(w.range_hi, 4);
    int n = sq_tui_walk_lines(&w, q, true, lines, SQ_TUI_WALK_LINES);
    ck_assert_int_eq(n, 11);
    ck_assert_str_eq(lines[0], "Element 5 of 12         [1, 5]");
    ck_assert_str_eq(lines[1], "scale index 1 of 1      int8 sym per-tensor");
    ck_assert_str_eq(lines[2], "x                       = 0.5");
    ck_assert_str_eq(lines[3], "scale = max|x| / qmax   = 4 / 127 = 0.03149606");
    ck_assert_str_eq(lines[5], "x / scale + zp          = 0.5 / 0.03149606 + 0 = 15.875");
    ck_assert_str_eq(lines[6], "round (half away)       = 16");
    ck_assert_str_eq(lines[7], "clamp to [-127, 127]    = q = 16  (inside: not clipped)");
    ck_assert_str_eq(lines[8], "x^ = (q - zp) * scale   = (16 - 0) * 0.03149606 = 0.503937");
    ck_assert_str_eq(lines[9], "error x - x^            = -0.003937006");
    for (int i = 0; i < n; i++)
        ck_assert_int_le((int)strlen(lines[i]), 76); /* fits the box at 80 columns */
    /* UTF-8: x-hat as x + U+0302 (one display column, 3 bytes), the labels
     * still padded to 24 columns, so the "=" column stays at 24 */
    char ulines[SQ_TUI_WALK_LINES][SQ_TUI_WALK_W];
    ck_assert_int_eq(sq_tui_walk_lines_glyph(&w, q, true, "x\u0302", ulines, SQ_TUI_WALK_LINES), n);
    ck_assert_str_eq(ulines[8], "x\u0302 = (q - zp) * scale    = (16 - 0) * 0.03149606 = 0.503937");
    ck_assert_str_eq(ulines[9], "error x - x\u0302             = -0.003937006");
    ck_assert_str_eq(ulines[3], lines[3]);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(sq_tui_text_cols(ulines[i]), sq_tui_text_cols(lines[i]));
        ck_assert_int_eq(sq_tui_text_cols(lines[i]), (int)strlen(lines[i])); /* ASCII: a byte a column */
        ck_assert(strchr(lines[i], '=') == NULL || sq_tui_text_cols(lines[i]) < 24 ||
                  lines[i][24] == '=' || i == 0 || i == 1);
    }
    ck_assert_int_eq(sq_tui_text_cols("x\u0302"), 1);
    ck_assert_int_eq(sq_tui_text_cols("\u2588\u2592ab"), 4);
    ck_assert_int_eq(sq_tui_text_cols(""), 0);
    /* the box is as wide in UTF-8 as in ASCII: same left edge, same right edge */
    sq_tui_grid ga = {0}, gu = {0};
    const char *pa[SQ_TUI_WALK_LINES], *pu[SQ_TUI_WALK_LINES];
    for (int i = 0; i < n; i++)
        pa[i] = lines[i], pu[i] = ulines[i];
    ck_assert(sq_tui_grid_resize(&ga, 80, 24) && sq_tui_grid_resize(&gu, 80, 24));
    sq_tui_draw_box(&ga, pa, n, SQ_ROLE_HEADER);
    sq_tui_draw_box(&gu, pu, n, SQ_ROLE_HEADER);
    for (int y = 0; y < 24; y++)
        for (int x = 0; x < 80; x++)
            ck_assert_int_eq(ga.cells[y * 80 + x].role, gu.cells[y * 80 + x].role);
    char ra[256], ru[256];
    int y8 = -1;
    for (int y = 0; y < 24 && y8 < 0; y++)
        if (strstr(sq_tui_grid_row(&gu, y, ru, sizeof ru), "(q - zp)"))
            y8 = y;
    ck_assert_int_ge(y8, 0);
    sq_tui_grid_row(&ga, y8, ra, sizeof ra);
    ck_assert_ptr_nonnull(strstr(ru, "x\u0302 = (q - zp) * scale    = (16 - 0)"));
    ck_assert_int_eq(sq_tui_text_cols(ru), sq_tui_text_cols(ra)); /* the same columns */
    sq_tui_grid_free(&ga);
    sq_tui_grid_free(&gu);
    sq_qtensor_free(q);
    /* clipped: range clipped to half of max|x| = 2, scale 2 / 127; x = 4
     * (element 12) gives 254, clamped to 127, x-hat 2 */
    c.calibration = SQ_CALIB_CLIP;
    c.clip = 0.5;
    ck_assert_int_eq(sq_quantize(t, &c, &q, &err), SQ_OK);
    sq_tui_walk_compute(t, q, NULL, 11, &w);
    ck_assert_double_eq_tol(w.t, 254, 1e-9);
    ck_assert_double_eq(w.rounded, 254);
    ck_assert_int_eq(w.code, 127);
    ck_assert(w.clipped);
    ck_assert_float_eq((float)w.xhat, 2.0f);
    ck_assert(isnan(w.range_hi)); /* not min/max: the scale is shown, not derived */
    n = sq_tui_walk_lines(&w, q, true, lines, SQ_TUI_WALK_LINES);
    ck_assert_str_eq(lines[3], "scale (clip)            = 0.01574803");
    ck_assert_str_eq(lines[7], "clamp to [-127, 127]    = q = 127  CLIPPED: outside the code range");
    ck_assert_str_eq(lines[9], "error x - x^            = 2");
    sq_qtensor_free(q);
    /* every element of several configurations agrees with the engine */
    c = sq_qconfig_default();
    c.bits = 4;
    check_walk_all(t, &c);
    c.mode = SQ_MODE_ASYMMETRIC;
    c.granularity = SQ_GRAN_CHANNEL;
    c.bits = 3;
    check_walk_all(t, &c);
    c.axis = 1;
    c.rounding = SQ_ROUND_EVEN;
    check_walk_all(t, &c);
    c = sq_qconfig_default();
    c.granularity = SQ_GRAN_GROUP;
    c.group_size = 3;
    c.bits = 2;
    c.calibration = SQ_CALIB_CLIP;
    c.clip = 0.6;
    check_walk_all(t, &c);
    c.mode = SQ_MODE_ASYMMETRIC;
    check_walk_all(t, &c);
    /* long numbers (7 digits, negative zero points) keep every line whole */
    sq_tensor *r;
    size_t rs[2] = {8, 64};
    ck_assert_int_eq(sq_tensor_randn(rs, 2, 11, &r, &err), SQ_OK);
    for (size_t i = 0; i < r->numel; i++)
        r->data[i] = r->data[i] * 0.001f + 0.0003f;
    c = sq_qconfig_default();
    c.mode = SQ_MODE_ASYMMETRIC;
    c.granularity = SQ_GRAN_GROUP;
    c.group_size = 16;
    check_walk_all(r, &c);
    sq_qtensor *qr;
    ck_assert_int_eq(sq_quantize(r, &c, &qr, &err), SQ_OK);
    sq_tui_walk_compute(r, qr, NULL, 5, &w);
    w.x = -0.0001234567; /* operands too long for 76 columns: only the result stays */
    w.scale = 0.0001234567;
    w.zp = -123.4567;
    w.t = -124.4567;
    n = sq_tui_walk_lines(&w, qr, true, lines, SQ_TUI_WALK_LINES);
    ck_assert_str_eq(lines[5], "x / scale + zp          = -124.4567");
    sq_qtensor_free(qr);
    sq_tensor_free(r);
    /* the asymmetric derivation */
    c = sq_qconfig_default();
    c.mode = SQ_MODE_ASYMMETRIC;
    c.granularity = SQ_GRAN_CHANNEL;
    ck_assert_int_eq(sq_quantize(t, &c, &q, &err), SQ_OK);
    sq_tui_walk_compute(t, q, NULL, 7, &w); /* x = -2, channel 2 spans -4..4 */
    ck_assert_double_eq(w.range_lo, -4);
    ck_assert_double_eq(w.range_hi, 4);
    n = sq_tui_walk_lines(&w, q, true, lines, SQ_TUI_WALK_LINES);
    ck_assert_str_eq(lines[3], "scale = (max - min) / n = (4 - -4) / 255 = 0.03137255");
    sq_qtensor_free(q);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_walk_keys)
{
    sq_tensor *t = small_tensor();
    sq_tui_model m;
    sq_error err;
    sq_tui_layout lay;
    sq_tui_grid g = {0};
    sq_qconfig c = sq_qconfig_default();
    c.granularity = SQ_GRAN_CHANNEL;
    ck_assert_int_eq(sq_tui_model_init(&m, t, "small", &c, &err), SQ_OK);
    ck_assert_int_eq(sq_tui_model_update(&m, 40, &err), SQ_OK);
    sq_tui_model_key(&m, '.'); /* channel 2 */
    ck_assert_int_eq(sq_tui_model_key(&m, 'e'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert(m.walk);
    ck_assert_uint_eq(m.walk_i, 6); /* the selected channel's first element */
    sq_tui_model_key(&m, SQ_TUI_KEY_LEFT);
    ck_assert_uint_eq(m.walk_i, 5);
    ck_assert_uint_eq(m.sel, 0); /* the selection follows the element */
    sq_tui_model_key(&m, SQ_TUI_KEY_RIGHT);
    sq_tui_model_key(&m, SQ_TUI_KEY_RIGHT);
    ck_assert_uint_eq(m.walk_i, 7);
    ck_assert_uint_eq(m.sel, 1);
    for (int i = 0; i < 10; i++)
        sq_tui_model_key(&m, SQ_TUI_KEY_RIGHT);
    ck_assert_uint_eq(m.walk_i, 11); /* stops at the last element */
    sq_tui_layout_compute(&m, 80, 24, &lay);
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_ge(find_row(&g, "Element 12 of 12        [2, 6]"), 1);
    ck_assert_int_ge(find_row(&g, "clamp to [-127, 127]    = q = 127"), 1);
    /* w: the worst |error| of the whole tensor */
    ck_assert_int_eq(sq_tui_model_key(&m, 'w') & SQ_TUI_REDRAW, SQ_TUI_REDRAW);
    const float *xh = sq_tui_model_xhat(&m);
    ck_assert_ptr_nonnull(xh);
    size_t worst = sq_tui_worst_element(t, xh);
    ck_assert_uint_eq(m.walk_i, worst);
    for (size_t i = 0; i < t->numel; i++)
        ck_assert(fabs(t->data[i] - xh[i]) <= fabs(t->data[worst] - xh[worst]));
    ck_assert_ptr_nonnull(strstr(m.msg, "worst |error|"));
    /* Esc closes the walk-through, not the panel; e opens and closes it */
    ck_assert_int_eq(sq_tui_model_key(&m, SQ_TUI_KEY_ESC) & SQ_TUI_QUIT, 0);
    ck_assert(!m.walk);
    sq_tui_model_key(&m, 'e');
    ck_assert(m.walk);
    ck_assert_uint_eq(m.walk_i, worst); /* still in the selected channel: kept */
    sq_tui_model_key(&m, 'e');
    ck_assert(!m.walk);
    /* without the walk-through the arrows move the selection again */
    sq_tui_model_key(&m, SQ_TUI_KEY_LEFT);
    ck_assert_uint_eq(m.sel, 0);
    sq_tui_grid_free(&g);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_selection_hist)
{
    sq_tensor *t = small_tensor();
    sq_qconfig c = sq_qconfig_default();
    sq_qtensor *q;
    sq_error err;
    sq_hist h;
    c.bits = 2;
    c.granularity = SQ_GRAN_CHANNEL;
    c.axis = 1; /* channel k: elements k and k + 6 */
    ck_assert_int_eq(sq_quantize(t, &c, &q, &err), SQ_OK);
    ck_assert_uint_eq(sq_tui_member_count(q, 2), 2);
    ck_assert_uint_eq(sq_tui_member(q, 2, 0), 2);
    ck_assert_uint_eq(sq_tui_member(q, 2, 1), 8);
    ck_assert_uint_eq(sq_tui_member_count(q, 6), 0);
    sq_qtensor_free(q);
    /* channel 1 of axis 1 (-1 and -4 with 2 bits: scale 4, levels -4, 0, 4):
     * the range reaches the unused level 4 */
    c.axis = 1;
    ck_assert_int_eq(sq_quantize(t, &c, &q, &err), SQ_OK);
    double lo, hi;
    sq_tui_selection_range(t, q, 0, &lo, &hi);
    ck_assert_double_eq(lo, -4);
    ck_assert_double_eq(hi, 4);
    ck_assert_int_eq(sq_tui_selection_hist(t, q, 0, 4, &h, &err), SQ_OK);
    ck_assert_uint_eq(h.counts[0], 1); /* -4 */
    ck_assert_uint_eq(h.counts[1], 1); /* -1 */
    ck_assert_uint_eq(h.counts[2] + h.counts[3] + h.below + h.above, 0);
    sq_hist_free(&h);
    sq_qtensor_free(q);
    /* channel 1 of axis 0: -1 -0.5 0 0.25 0.5 1, levels -1 0 1 */
    c.axis = 0;
    ck_assert_int_eq(sq_quantize(t, &c, &q, &err), SQ_OK);
    ck_assert_uint_eq(sq_tui_member_count(q, 1), 6);
    ck_assert_uint_eq(sq_tui_member(q, 1, 5), 11);
    ck_assert_int_eq(sq_tui_selection_hist(t, q, 0, 4, &h, &err), SQ_OK);
    ck_assert(h.lo == -1 && h.hi == 1);
    ck_assert_uint_eq(h.counts[0], 1);
    ck_assert_uint_eq(h.counts[1], 1);
    ck_assert_uint_eq(h.counts[2], 2);
    ck_assert_uint_eq(h.counts[3], 2);
    sq_hist_free(&h);
    ck_assert_int_eq(sq_tui_selection_hist(t, q, 0, 0, &h, &err), SQ_ERR_ARG);
    sq_qtensor_free(q);
    sq_tensor_free(t);
    /* ReLU data on a symmetric grid: the levels' unused negative half is
     * inside the range and marked, to the left of every value */
    static const float relu[8] = {0, 0.5f, 1, 2, 0, 0.25f, 3, 1.5f};
    size_t shape[1] = {8};
    t = tu_tensor(shape, 1, relu);
    c = sq_qconfig_default();
    c.bits = 3; /* levels -3..3 */
    ck_assert_int_eq(sq_quantize(t, &c, &q, &err), SQ_OK);
    ck_assert_int_eq(sq_tui_selection_hist(t, q, 0, 12, &h, &err), SQ_OK);
    ck_assert_double_eq(h.lo, -3);
    ck_assert_double_eq(h.hi, 3);
    for (int b = 0; b < 6; b++)
        ck_assert_uint_eq(h.counts[b], 0);
    size_t nl;
    float *lv = sq_tui_element_levels(q, 0, &nl);
    ck_assert_uint_eq(nl, 7);
    double lvd[7];
    bool mark[12];
    for (size_t i = 0; i < nl; i++)
        lvd[i] = lv[i];
    sq_tui_marker_columns(lvd, nl, h.lo, h.hi, 12, mark);
    ck_assert(mark[0] && mark[2] && mark[4]); /* -3, -2, -1: no data there */
    free(lv);
    sq_hist_free(&h);
    /* the panel's v: the title names the selection */
    sq_tui_model m;
    sq_tui_layout lay;
    sq_tui_grid g = {0};
    ck_assert_int_eq(sq_tui_model_init(&m, t, "relu", &c, &err), SQ_OK);
    ck_assert_int_eq(sq_tui_model_update(&m, 40, &err), SQ_OK);
    sq_tui_model_key(&m, 'v');
    ck_assert(m.sel_hist);
    sq_tui_layout_compute(&m, 80, 24, &lay);
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "Values of the tensor, ^ its levels"), lay.vtitle_y);
    char row[256];
    sq_tui_grid_row(&g, lay.vrange_y, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "-3"));
    sq_tui_grid_row(&g, lay.vmark_y, row, sizeof row);
    ck_assert_int_eq(row[1], '^'); /* level -3 at the first column */
    sq_tui_grid_free(&g);
    sq_tui_model_free(&m);
    sq_qtensor_free(q);
    sq_tensor_free(t);
}
END_TEST

/* The runs of a scale index list the same elements as sq_tui_member, in order,
 * and the scale indices cover every element once. */
START_TEST(test_member_runs)
{
    size_t shape[3] = {3, 4, 6};
    float v[72];
    for (int i = 0; i < 72; i++)
        v[i] = (float)i - 30;
    sq_tensor *t = tu_tensor(shape, 3, v);
    sq_error err;
    for (int cfgi = 0; cfgi < 5; cfgi++) {
        sq_qconfig c = sq_qconfig_default();
        c.granularity = cfgi == 0 ? SQ_GRAN_TENSOR : cfgi == 4 ? SQ_GRAN_GROUP : SQ_GRAN_CHANNEL;
        c.axis = cfgi >= 1 && cfgi <= 3 ? cfgi - 1 : 0;
        c.group_size = 3;
        sq_qtensor *q;
        ck_assert_int_eq(sq_quantize(t, &c, &q, &err), SQ_OK);
        int seen[72] = {0};
        for (size_t k = 0; k < q->n_scales; k++) {
            size_t start, runs, len, stride, j = 0;
            sq_tui_member_runs(q, k, &start, &runs, &len, &stride);
            ck_assert_uint_eq(runs * len, sq_tui_member_count(q, k));
            for (size_t r = 0; r < runs; r++)
                for (size_t i = 0; i < len; i++, j++) {
                    size_t e = start + r * stride + i;
                    ck_assert_uint_eq(e, sq_tui_member(q, k, j));
                    ck_assert_uint_eq(sq_qtensor_scale_index(q, e), k);
                    seen[e]++;
                }
        }
        for (int i = 0; i < 72; i++)
            ck_assert_int_eq(seen[i], 1);
        sq_qtensor_free(q);
    }
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_code_usage_transfer)
{
    uint64_t counts[4] = {5, 0, 3, 1}, out[12], small[2];
    sq_tui_code_columns(counts, 4, 12, out);
    const uint64_t want[12] = {5, 5, 0, 0, 0, 0, 3, 3, 0, 1, 1, 0};
    for (int i = 0; i < 12; i++)
        ck_assert_uint_eq(out[i], want[i]);
    sq_tui_code_columns(counts, 4, 2, small); /* more codes than columns: summed */
    ck_assert_uint_eq(small[0], 5);
    ck_assert_uint_eq(small[1], 4);
    /* the staircase of int2 symmetric with scale 1 (levels -1, 0, 1) over
     * [-1.5, 1.5] in 6 columns: centres -1.25 -0.75 -0.25 0.25 0.75 1.25 */
    static const float v[4] = {-1, 0.2f, 0.7f, 1};
    size_t shape[1] = {4};
    sq_tensor *t = tu_tensor(shape, 1, v);
    sq_qconfig c = sq_qconfig_default();
    sq_qtensor *q;
    sq_error err;
    double st[6];
    c.bits = 2;
    ck_assert_int_eq(sq_quantize(t, &c, &q, &err), SQ_OK);
    sq_tui_transfer(q, 0, -1.5, 1.5, 6, st);
    const double ws[6] = {-1, -1, 0, 0, 1, 1};
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq(st[i], ws[i]);
    ck_assert_int_eq(sq_tui_transfer_row(-1.5, -1.5, 1.5, 3), 2);
    ck_assert_int_eq(sq_tui_transfer_row(0, -1.5, 1.5, 3), 1);
    ck_assert_int_eq(sq_tui_transfer_row(1.5, -1.5, 1.5, 3), 0);
    ck_assert_int_eq(sq_tui_transfer_row(2, -1.5, 1.5, 3), -1);
    /* the model's code counts: codes -2..1 as levels 0..3; -1 -> -1, 0.2 -> 0,
     * 0.7 -> 1, 1 -> 1 */
    sq_tui_model m;
    sq_tui_layout lay;
    sq_tui_grid g = {0};
    ck_assert_int_eq(sq_tui_model_init(&m, t, "t", &c, &err), SQ_OK);
    ck_assert_int_eq(sq_tui_model_update(&m, 40, &err), SQ_OK);
    ck_assert_uint_eq(m.codes[0], 0);
    ck_assert_uint_eq(m.codes[1], 1);
    ck_assert_uint_eq(m.codes[2], 1);
    ck_assert_uint_eq(m.codes[3], 2);
    sq_tui_model_key(&m, 't');
    ck_assert_int_eq(m.pane, SQ_PANE_CODES);
    sq_tui_layout_compute(&m, 80, 24, &lay);
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "Code usage 3 of 4 codes used"), lay.etitle_y);
    ck_assert_int_eq(find_row(&g, "code -2"), lay.erange_y);
    sq_tui_model_key(&m, 't');
    ck_assert_int_eq(m.pane, SQ_PANE_TRANSFER);
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "Transfer x -> x^ of the tensor"), lay.etitle_y);
    /* the staircase's top step (x-hat = 1, the top of the range) in the first plot row */
    char row[256];
    sq_tui_grid_row(&g, lay.ebars_y, row, sizeof row);
    ck_assert_ptr_nonnull(strstr(row, "*"));
    /* tall (60 rows): the error histogram stays, the transfer below it; t
     * back to the error pane shows the code usage there */
    sq_tui_layout_compute(&m, 100, 60, &lay);
    ck_assert_int_gt(lay.xbars_h, 0);
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "Error x-x^"), lay.etitle_y);
    ck_assert_int_eq(find_row(&g, "Transfer x -> x^ of the tensor"), lay.xtitle_y);
    sq_tui_model_key(&m, 't');
    ck_assert_int_eq(m.pane, SQ_PANE_ERROR);
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "Error x-x^"), lay.etitle_y);
    ck_assert_int_eq(find_row(&g, "Code usage 3 of 4 codes used"), lay.xtitle_y);
    ck_assert_int_eq(find_row(&g, "code -2"), lay.xrange_y);
    sq_tui_grid_free(&g);
    sq_tui_model_free(&m);
    sq_qtensor_free(q);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_glossary)
{
    /* fits the help box at 80 x 24: lines of at most 76 columns, box rows below the header */
    ck_assert_int_le(sq_tui_glossary_n + 2, 22);
    for (int i = 0; i < sq_tui_glossary_n; i++)
        ck_assert_int_le((int)strlen(sq_tui_glossary[i]), 76);
    /* every statistic the panel names is explained under the same name */
    static const char *names[] = {"SQNR", "RMSE", "cosine", "clipped", "bits/w", "seed", "scale", "zero",
                                  "group", "format"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        bool found = false;
        for (int i = 0; i < sq_tui_glossary_n; i++)
            found = found || strncmp(sq_tui_glossary[i], names[k], strlen(names[k])) == 0;
        ck_assert_msg(found, "%s not in the glossary", names[k]);
    }
    sq_stats st = {0};
    sq_qconfig c = sq_qconfig_default();
    const char *label;
    char v[64];
    static const int shown[] = {0, 2, 5, 6, 11}; /* SQNR RMSE cosine clipped bits/w */
    for (size_t k = 0; k < sizeof shown / sizeof shown[0]; k++) {
        ck_assert(sq_tui_stats_cell(&st, &c, 0, 0, 1, shown[k], &label, v, sizeof v));
        ck_assert_str_eq(label, names[k]);
    }
    /* ? shows the keys, ? again the glossary (whole at 80 x 24), ? closes */
    sq_tensor *t = small_tensor();
    sq_tui_model m;
    sq_error err;
    sq_tui_layout lay;
    sq_tui_grid g = {0};
    ck_assert_int_eq(sq_tui_model_init(&m, t, "small", NULL, &err), SQ_OK);
    ck_assert_int_eq(sq_tui_model_update(&m, 40, &err), SQ_OK);
    sq_tui_model_key(&m, '?');
    sq_tui_layout_compute(&m, 80, 24, &lay);
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_ge(find_row(&g, "b / B   bits down / up"), 1);
    ck_assert_int_ge(find_row(&g, "q / Esc back"), 1);
    ck_assert_int_ge(find_row(&g, "f / F   format next / previous"), 1);
    sq_tui_model_key(&m, '?');
    ck_assert(m.help && m.glossary);
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_ge(find_row(&g, "Glossary"), 1);
    ck_assert_int_ge(find_row(&g, sq_tui_glossary[sq_tui_glossary_n - 1]), 1);
    ck_assert_int_lt(find_row(&g, sq_tui_glossary[sq_tui_glossary_n - 1]), 23);
    sq_tui_model_key(&m, '?');
    ck_assert(!m.help && !m.glossary);
    sq_tui_grid_free(&g);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_format_keys)
{
    sq_tensor *t = small_tensor(); /* last dimension 6: no block format fits */
    sq_tui_model m;
    sq_error err;
    char a[64];
    ck_assert_int_eq(sq_tui_model_init(&m, t, "small", NULL, &err), SQ_OK);
    sq_tui_model_key(&m, 'b');
    ck_assert_int_eq(sq_tui_model_key(&m, 'f') & SQ_TUI_RECOMPUTE, SQ_TUI_RECOMPUTE);
    ck_assert_int_eq(m.cfg.format, SQ_FORMAT_FP8_E4M3);
    ck_assert_ptr_nonnull(strstr(m.msg, "f: skipped q4_0 q4_1"));
    ck_assert_ptr_nonnull(strstr(m.msg, "iq4_xs"));
    ck_assert_int_eq(sq_qconfig_check(&m.cfg, t->shape, t->ndim, &err), SQ_OK);
    /* keys that change what the format fixes say so and change nothing */
    sq_qconfig before = m.cfg;
    ck_assert_int_eq(sq_tui_model_key(&m, 'b') & SQ_TUI_RECOMPUTE, 0);
    ck_assert(memcmp(&before, &m.cfg, sizeof before) == 0);
    ck_assert_str_eq(m.msg, "b: fp8_e4m3 " SQ_TUI_MSG_FORMAT_FIXED);
    ck_assert_int_eq(sq_tui_model_key(&m, 'm') & SQ_TUI_RECOMPUTE, 0);
    ck_assert_str_eq(m.msg, "m: fp8_e4m3 " SQ_TUI_MSG_FORMAT_FIXED);
    /* fp8 takes any granularity */
    ck_assert_int_eq(sq_tui_model_key(&m, 'g') & SQ_TUI_RECOMPUTE, SQ_TUI_RECOMPUTE);
    ck_assert_int_eq(m.cfg.granularity, SQ_GRAN_CHANNEL);
    ck_assert_str_eq(sq_tui_config_short(&m.cfg, a, sizeof a), "fp8_e4m3 ch1");
    sq_tui_model_key(&m, 'f');
    ck_assert_int_eq(m.cfg.format, SQ_FORMAT_FP8_E5M2);
    sq_tui_model_key(&m, 'f');
    ck_assert_int_eq(m.cfg.format, SQ_FORMAT_FP4_E2M1);
    sq_tui_model_key(&m, 'f'); /* nf4: the even group size 6 */
    ck_assert_int_eq(m.cfg.format, SQ_FORMAT_NF4);
    ck_assert_uint_eq(m.cfg.group_size, 6);
    ck_assert_str_eq(sq_tui_config_short(&m.cfg, a, sizeof a), "nf4 g6");
    sq_tui_model_key(&m, 'f'); /* mxfp4, mxfp8 (32) and nvfp4 (16) skipped: back to int */
    ck_assert_int_eq(m.cfg.format, SQ_FORMAT_INT);
    ck_assert_int_eq(m.cfg.bits, 7); /* the INT configuration kept */
    ck_assert_ptr_nonnull(strstr(m.msg, "skipped mxfp4 mxfp8 nvfp4"));
    sq_tui_model_key(&m, 'F');
    ck_assert_int_eq(m.cfg.format, SQ_FORMAT_NF4);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
    /* a row of 256: q4_k fits, its label is the format's name */
    float *v = calloc(512, sizeof *v);
    for (int i = 0; i < 512; i++)
        v[i] = (float)sin(i * 0.37);
    size_t shape[2] = {2, 256};
    t = tu_tensor(shape, 2, v);
    free(v);
    ck_assert_int_eq(sq_tui_model_init(&m, t, "w", NULL, &err), SQ_OK);
    int presses = 0;
    while (m.cfg.format != SQ_FORMAT_Q4_K && presses < SQ_FORMAT_COUNT) {
        sq_tui_model_key(&m, 'f');
        presses++;
    }
    ck_assert_int_eq(presses, SQ_FORMAT_Q4_K); /* every format before it fits */
    ck_assert_str_eq(sq_tui_config_short(&m.cfg, a, sizeof a), "q4_k");
    ck_assert_str_eq(sq_qconfig_describe(&m.cfg, a, sizeof a), "q4_k");
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST


START_TEST(test_calibration_keys)
{
    sq_tensor *t = small_tensor();
    sq_tui_model m;
    sq_error err;
    char a[96];
    ck_assert_int_eq(sq_tui_model_init(&m, t, "small", NULL, &err), SQ_OK);
    ck_assert_int_eq(sq_tui_model_key(&m, 'c') & SQ_TUI_RECOMPUTE, SQ_TUI_RECOMPUTE);
    ck_assert_int_eq(m.cfg.calibration, SQ_CALIB_MSE);
    sq_tui_model_key(&m, 'c');
    ck_assert_int_eq(m.cfg.calibration, SQ_CALIB_PERCENTILE);
    ck_assert_int_eq(sq_tui_model_update(&m, 10, &err), SQ_OK);
    sq_tui_model_key(&m, 'c');
    ck_assert_int_eq(m.cfg.calibration, SQ_CALIB_MINMAX);
    /* ) at the whole range says so; ( clips 1% and switches to clip */
    ck_assert_int_eq(sq_tui_model_key(&m, ')') & SQ_TUI_RECOMPUTE, 0);
    ck_assert_str_eq(m.msg, "): the clip ratio is already 100% (the whole range)");
    ck_assert_int_eq(sq_tui_model_key(&m, '(') & SQ_TUI_RECOMPUTE, SQ_TUI_RECOMPUTE);
    ck_assert_int_eq(m.cfg.calibration, SQ_CALIB_CLIP);
    ck_assert_double_eq(m.cfg.clip, 0.99);
    ck_assert_str_eq(sq_qconfig_describe(&m.cfg, a, sizeof a), "int8 sym per-tensor clip0.99");
    /* stats follow: max|x| 4 clipped to 3.96 clips the two values of magnitude 4 */
    ck_assert_int_eq(sq_tui_model_update(&m, 10, &err), SQ_OK);
    ck_assert_uint_eq(m.st.clipped, 2);
    for (int i = 0; i < 200; i++)
        sq_tui_model_key(&m, '(');
    ck_assert_double_eq(m.cfg.clip, 0.01);
    ck_assert_str_eq(m.msg, "(: the clip ratio is already 1%, the least");
    sq_tui_model_key(&m, ')');
    ck_assert_double_eq(m.cfg.clip, 0.02);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST


/* ---- formats other than INT (the format engine) ------------------------------- */

/* A [rows, cols] tensor of smooth values with a few outliers. */
static sq_tensor *wavy_tensor(size_t rows, size_t cols)
{
    size_t shape[2] = {rows, cols};
    float *v = malloc(rows * cols * sizeof *v);
    for (size_t i = 0; i < rows * cols; i++)
        v[i] = (float)(sin((double)i * 0.37) * 0.05 + cos((double)i * 0.011) * 0.02) * (i % 97 == 5 ? 8.0f : 1.0f);
    sq_tensor *t = tu_tensor(shape, 2, v);
    free(v);
    return t;
}

/* Every element's walk-through of t in format f (granularity g for the
 * formats that take any) against the engine: the stored code, the decoder's
 * x-hat (one of the element's levels), a nearest level at least as close to
 * x as x-hat, the clipped flags adding up to n_clipped, lines within 76
 * columns. */
static void check_walk_format(const sq_tensor *t, sq_format f, sq_granularity g)
{
    sq_qconfig c = sq_qconfig_for_format(f);
    sq_qtensor *q;
    sq_tensor *deq;
    sq_error err;
    sq_tui_walk w;
    size_t clipped = 0;
    char lines[SQ_TUI_WALK_LINES][SQ_TUI_WALK_W];
    if (sq_format_info_of((int)f)->any_granularity)
        c.granularity = g;
    ck_assert_msg(sq_quantize(t, &c, &q, &err) == SQ_OK, "%s: %s", sq_format_name(f), err.msg);
    ck_assert_int_eq(sq_dequantize(q, &deq, &err), SQ_OK);
    for (size_t i = 0; i < t->numel; i++) {
        sq_tui_walk_compute(t, q, deq->data, i, &w);
        ck_assert(!w.is_int);
        ck_assert_int_eq(w.code, sq_qtensor_code(q, i));
        ck_assert_float_eq((float)w.xhat, deq->data[i]);
        ck_assert_double_eq(w.err, (double)t->data[i] - (double)deq->data[i]);
        size_t nl;
        float *lv = sq_tui_element_levels(q, i, &nl);
        bool found = false;
        for (size_t k = 0; k < nl; k++)
            found = found || lv[k] == deq->data[i];
        ck_assert_msg(found, "%s element %zu: x-hat %g is not one of its %zu levels", sq_format_name(f), i,
                      (double)deq->data[i], nl);
        ck_assert_uint_eq(w.n_levels, nl);
        free(lv);
        ck_assert(fabs(w.x - w.nearest) <= fabs(w.x - w.xhat));
        clipped += w.clipped;
        int n = sq_tui_walk_lines(&w, q, true, lines, SQ_TUI_WALK_LINES);
        for (int k = 0; k < n; k++)
            ck_assert_msg(strlen(lines[k]) <= SQ_TUI_WALK_FIT, "%s", lines[k]);
    }
    ck_assert_msg(clipped == q->n_clipped, "%s: %zu clipped, engine %zu", sq_format_name(f), clipped, q->n_clipped);
    sq_tensor_free(deq);
    sq_qtensor_free(q);
}

/* Issue 13: the clip range, the shaded tails, the threshold marks and the
 * MSE split on screen. */
START_TEST(test_clip_on_screen)
{
    int below, above;
    /* 8 columns over [-4, 4], centres -3.5 .. 3.5: two beyond each of -2, 2 */
    sq_tui_clip_columns(-4, 4, -2, 2, 8, &below, &above);
    ck_assert_int_eq(below, 2);
    ck_assert_int_eq(above, 2);
    sq_tui_clip_columns(-4, 4, -4, 4, 8, &below, &above);
    ck_assert_int_eq(below + above, 0);
    sq_tui_clip_columns(-4, 4, NAN, NAN, 8, &below, &above);
    ck_assert_int_eq(below + above, 0);
    sq_tui_clip_columns(-4, 4, -1.1, 4, 8, &below, &above); /* centre -1.5 < -1.1 */
    ck_assert_int_eq(below, 3);
    ck_assert_int_eq(above, 0);
    ck_assert_int_eq(sq_tui_value_column(-2, -4, 4, 8), 2);
    ck_assert_int_eq(sq_tui_value_column(4, -4, 4, 8), 7);
    ck_assert_int_eq(sq_tui_value_column(-4, -4, 4, 8), 0);
    ck_assert_int_eq(sq_tui_value_column(4.5, -4, 4, 8), -1);
    ck_assert_int_eq(sq_tui_value_column(NAN, -4, 4, 8), -1);
    /* the stats row: rounding + clipping MSE */
    sq_stats st = {0};
    sq_qconfig c = sq_qconfig_default();
    const char *label;
    char v[64];
    st.sqnr_db = 20;
    st.mse_round = 0.00125;
    st.mse_clip = 0.0005;
    ck_assert(sq_tui_stats_cell(&st, &c, 0, 0, 1, 7, &label, v, sizeof v));
    ck_assert_str_eq(label, "rnd+clip");
    ck_assert_str_eq(v, "1.250m + 500.0u");
    st.sqnr_db = NAN; /* unknown without a source */
    ck_assert(sq_tui_stats_cell(&st, &c, 0, 0, 1, 7, &label, v, sizeof v));
    ck_assert_str_eq(v, "unknown");
    /* int8 sym clip 0.5 of max|x| 4: scale 2/127, range -2..2 = (-127 - 0) *
     * scale .. (127 - 0) * scale; -4 and 4 are clipped */
    sq_tensor *t = small_tensor();
    sq_tui_model m;
    sq_error err;
    ck_assert_int_eq(sq_tui_model_init(&m, t, "small", NULL, &err), SQ_OK);
    m.cfg.calibration = SQ_CALIB_CLIP;
    m.cfg.clip = 0.5;
    sq_tui_layout lay;
    sq_tui_layout_compute(&m, 80, 24, &lay);
    ck_assert_int_eq(sq_tui_model_update(&m, lay.plot_w, &err), SQ_OK);
    double lo, hi;
    sq_tui_clip_range(m.q, 0, &lo, &hi);
    ck_assert_double_eq_tol(lo, -127.0 * m.q->scales[0], 1e-12);
    ck_assert_double_eq_tol(hi, 2.0, 1e-6); /* scale is rounded to float: 1e-6 covers it */
    double nlo, nhi;
    sq_tui_clip_range(m.q, 5, &nlo, &nhi);
    ck_assert(isnan(nlo) && isnan(nhi));
    ck_assert_uint_eq(m.st.clipped, 2);
    ck_assert(m.st.mse_clip > 0);
    /* 4 - 2 = 2 of error on each of 2 of 12 values: mse_clip = 8 / 12 */
    ck_assert_double_eq_tol(m.st.mse_clip, 8.0 / 12.0, 1e-5);
    sq_tui_grid g = {0};
    char row[1024];
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    /* the marker row: [ at -2 and ] at 2 over [-4, 4] */
    sq_tui_grid_row(&g, lay.vmark_y, row, sizeof row);
    int cl = sq_tui_value_column(lo, -4, 4, lay.plot_w), ch = sq_tui_value_column(hi, -4, 4, lay.plot_w);
    ck_assert_int_eq(row[lay.plot_x + cl], '[');
    ck_assert_int_eq(row[lay.plot_x + ch], ']');
    /* the bars of -4 (column 0) and 4 (the last) are shaded, 0's is not */
    sq_tui_grid_row(&g, lay.vmark_y - 1, row, sizeof row);
    ck_assert_int_eq(row[lay.plot_x], '/');
    ck_assert_int_eq(row[lay.plot_x + lay.plot_w - 1], '/');
    ck_assert_int_eq(row[lay.plot_x + sq_tui_value_column(0, -4, 4, lay.plot_w)], '#');
    ck_assert_uint_eq(g.cells[(size_t)(lay.vmark_y - 1) * g.w + lay.plot_x].role, SQ_ROLE_BAR_CLIP);
    char *text = sq_tui_grid_text(&g);
    ck_assert_ptr_nonnull(strstr(text, "rnd+clip"));
    free(text);
    sq_tui_grid_free(&g);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST

/* sq.view(a, b): the pair panel's figures are sq_diff_stats', quantization
 * keys say they do nothing, shapes must agree. */
START_TEST(test_pair_panel)
{
    sq_tensor *a = small_tensor();
    static const float bv[12] = {-1, -0.5f, 0, 0.25f, 0.5f, 1, -4, -2, 0, 1, 2, 3}; /* one error of 1 */
    size_t shape[2] = {2, 6}, shape2[2] = {3, 4};
    sq_tensor *b = tu_tensor(shape, 2, bv), *c = tu_tensor(shape2, 2, bv);
    sq_error err;
    sq_tui_pair p;
    ck_assert_int_ne(sq_tui_pair_init(&p, a, c, "x", &err), SQ_OK);
    ck_assert_int_eq(sq_tui_pair_init(&p, a, b, "pair", &err), SQ_OK);
    sq_diff d;
    ck_assert_int_eq(sq_diff_stats(a, b, NULL, &d, NULL, &err), SQ_OK);
    /* sum a^2 = 1 + .25 + .0625 + .25 + 1 + 16 + 4 + 1 + 4 + 16 = 43.5625, sum e^2 = 1 */
    ck_assert_double_eq_tol(d.sqnr_db, 10 * log10(43.5625), 1e-9);
    const char *label;
    char v[64], want[64];
    ck_assert(sq_tui_pair_stats_cell(&p.d, 0, &label, v, sizeof v));
    ck_assert_str_eq(label, "SQNR");
    snprintf(want, sizeof want, "%.2f dB", d.sqnr_db);
    ck_assert_str_eq(v, want);
    ck_assert_str_eq(v, "16.39 dB");
    ck_assert(sq_tui_pair_stats_cell(&p.d, 3, &label, v, sizeof v));
    ck_assert_str_eq(label, "max |err|");
    ck_assert(sq_tui_pair_stats_cell(&p.d, 4, &label, v, sizeof v));
    ck_assert_str_eq(v, "element 12");
    ck_assert(!sq_tui_pair_stats_cell(&p.d, 12, &label, v, sizeof v));
    /* 80 x 24: three charts and the table, all inside the screen */
    sq_tui_pair_layout_t lay;
    sq_tui_pair_layout(80, 24, &lay);
    ck_assert(!lay.too_small);
    ck_assert_int_eq(lay.range_y[2], 22);
    ck_assert_int_eq(lay.bars_h[0] + lay.bars_h[1] + lay.bars_h[2], 16);
    ck_assert_int_eq(sq_tui_pair_update(&p, lay.plot_w, &err), SQ_OK);
    uint64_t na = 0, nb = 0;
    for (int i = 0; i < p.ha.bins; i++)
        na += p.ha.counts[i], nb += p.hb.counts[i];
    ck_assert_uint_eq(na, 12);
    ck_assert_uint_eq(nb, 12);
    ck_assert_double_eq(p.ha.lo, -4);
    ck_assert_double_eq(p.hb.hi, 4); /* the common range */
    sq_tui_grid g = {0};
    sq_tui_pair_render(&p, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "Values of a (reference)"), 1);
    ck_assert_int_eq(find_row(&g, "Values of b"), lay.title_y[1]);
    ck_assert_int_eq(find_row(&g, "Error a-b"), lay.title_y[2]);
    ck_assert_int_gt(find_row(&g, "SQNR       16.39 dB"), 0);
    char *text = sq_tui_grid_text(&g);
    for (const char *q = text; *q; q++)
        ck_assert_msg((unsigned char)*q < 0x80, "non-ASCII in the ASCII pair panel");
    free(text);
    /* keys */
    ck_assert_int_eq(sq_tui_pair_key(&p, 'b'), SQ_TUI_HANDLED | SQ_TUI_REDRAW);
    ck_assert_str_eq(p.msg, "b: " SQ_TUI_MSG_PAIR);
    sq_tui_pair_render(&p, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "b: sq.view(a, b) compares two tensors"), 23);
    sq_tui_pair_key(&p, 'f');
    ck_assert_str_eq(p.msg, "f: " SQ_TUI_MSG_PAIR);
    ck_assert_int_eq(sq_tui_pair_key(&p, 'l') & SQ_TUI_REDRAW, SQ_TUI_REDRAW);
    ck_assert(p.log_counts);
    ck_assert_str_eq(p.msg, "");
    ck_assert_int_eq(sq_tui_pair_key(&p, 'Z'), SQ_TUI_IGNORED);
    sq_tui_pair_key(&p, '?');
    ck_assert(p.help);
    ck_assert_int_eq(sq_tui_pair_key(&p, 'q') & SQ_TUI_QUIT, 0); /* closes the help first */
    ck_assert_int_eq(sq_tui_pair_key(&p, 'q') & SQ_TUI_QUIT, SQ_TUI_QUIT);
    sq_tui_grid_free(&g);
    sq_tui_pair_free(&p);
    sq_tensor_free(a);
    sq_tensor_free(b);
    sq_tensor_free(c);
}
END_TEST

/* v: the update makes the selection's histogram once; a redraw reuses it,
 * a new selection or width remakes it, a configuration change drops it. */
START_TEST(test_sel_hist_cached)
{
    sq_tensor *t = small_tensor();
    sq_tui_model m;
    sq_error err;
    sq_qconfig c = sq_qconfig_default();
    c.granularity = SQ_GRAN_CHANNEL;
    ck_assert_int_eq(sq_tui_model_init(&m, t, "small", &c, &err), SQ_OK);
    ck_assert_int_eq(sq_tui_model_update(&m, 10, &err), SQ_OK);
    ck_assert_ptr_null(m.sel_h.counts); /* v off: none made */
    sq_tui_model_key(&m, 'v');
    ck_assert_int_eq(sq_tui_model_update(&m, 10, &err), SQ_OK);
    ck_assert_ptr_nonnull(m.sel_h.counts);
    sq_hist h;
    ck_assert_int_eq(sq_tui_selection_hist(t, m.q, 0, 10, &h, &err), SQ_OK);
    ck_assert_int_eq(m.sel_h.bins, 10);
    ck_assert_double_eq(m.sel_h.lo, h.lo);
    ck_assert_double_eq(m.sel_h.hi, h.hi);
    ck_assert_mem_eq(m.sel_h.counts, h.counts, 10 * sizeof *h.counts);
    sq_hist_free(&h);
    uint64_t *held = m.sel_h.counts;
    ck_assert_int_eq(sq_tui_model_update(&m, 10, &err), SQ_OK);
    ck_assert_ptr_eq(m.sel_h.counts, held); /* nothing changed: kept */
    sq_tui_model_key(&m, '.');
    ck_assert_int_eq(sq_tui_model_update(&m, 10, &err), SQ_OK);
    ck_assert_uint_eq(m.sel_h_k, 1);
    ck_assert_int_eq(sq_tui_selection_hist(t, m.q, 1, 10, &h, &err), SQ_OK);
    ck_assert_mem_eq(m.sel_h.counts, h.counts, 10 * sizeof *h.counts);
    sq_hist_free(&h);
    sq_tui_model_key(&m, 'b'); /* a new configuration drops it with the results */
    ck_assert_int_eq(sq_tui_model_update(&m, 12, &err), SQ_OK);
    ck_assert_int_eq(m.sel_h_bins, 12);
    sq_tui_model_free(&m);
    ck_assert_ptr_null(m.sel_h.counts);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_walk_formats)
{
    sq_tensor *t = wavy_tensor(2, 256);
    static const sq_format fs[] = {SQ_FORMAT_Q4_0, SQ_FORMAT_Q4_1, SQ_FORMAT_Q8_0, SQ_FORMAT_Q4_K, SQ_FORMAT_Q6_K,
                                   SQ_FORMAT_IQ4_NL, SQ_FORMAT_FP8_E4M3, SQ_FORMAT_FP4_E2M1, SQ_FORMAT_NF4,
                                   SQ_FORMAT_MXFP4, SQ_FORMAT_NVFP4};
    for (size_t k = 0; k < sizeof fs / sizeof fs[0]; k++)
        check_walk_format(t, fs[k], SQ_GRAN_TENSOR);
    check_walk_format(t, SQ_FORMAT_FP8_E4M3, SQ_GRAN_CHANNEL);
    /* q4_k, element 1: the lines name the block scale, the levels, the code */
    sq_qconfig c = sq_qconfig_for_format(SQ_FORMAT_Q4_K);
    sq_qtensor *q;
    sq_tensor *deq;
    sq_error err;
    sq_tui_walk w;
    char lines[SQ_TUI_WALK_LINES][SQ_TUI_WALK_W], want[96];
    ck_assert_int_eq(sq_quantize(t, &c, &q, &err), SQ_OK);
    ck_assert_int_eq(sq_dequantize(q, &deq, &err), SQ_OK);
    sq_tui_walk_compute(t, q, deq->data, 0, &w);
    int n = sq_tui_walk_lines(&w, q, true, lines, SQ_TUI_WALK_LINES);
    ck_assert_str_eq(lines[0], "Element 1 of 512        [1, 1]");
    ck_assert_str_eq(lines[1], "scale index 1 of 2      q4_k");
    snprintf(want, sizeof want, "block scale             = %.7g, min %.7g", q->scales[0], q->zero_points[0]);
    ck_assert_str_eq(lines[3], want);
    ck_assert_str_eq(lines[5], "levels of the block     = 16 representable values");
    snprintf(want, sizeof want, "code (stored, 0..15)    = %d", sq_qtensor_code(q, 0));
    ck_assert_str_eq(lines[7], want);
    snprintf(want, sizeof want, "x^ (the decoder's)      = %.7g", (double)deq->data[0]);
    ck_assert_str_eq(lines[8], want);
    ck_assert_int_eq(n, 11);
    sq_tensor_free(deq);
    sq_qtensor_free(q);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_format_panel)
{
    sq_tensor *t = wavy_tensor(2, 256);
    sq_tui_model m;
    sq_error err;
    sq_tui_layout lay;
    sq_tui_grid g = {0};
    char row[256];
    sq_qconfig c = sq_qconfig_default();
    c.bits = 4;
    c.granularity = SQ_GRAN_GROUP;
    ck_assert_int_eq(sq_tui_model_init(&m, t, "w", &c, &err), SQ_OK);
    ck_assert_int_eq(sq_tui_model_update(&m, 40, &err), SQ_OK);
    sq_tui_model_key(&m, 'p');
    while (m.cfg.format != SQ_FORMAT_Q4_K)
        sq_tui_model_key(&m, 'f');
    ck_assert_int_eq(sq_tui_model_update(&m, 40, &err), SQ_OK);
    /* q4_k: 144 bytes per block of 256: 4.5 bits per weight, ratio 32 / 4.5 */
    ck_assert_uint_eq(m.storage, 2 * 144);
    ck_assert_uint_eq(m.storage, sq_qtensor_storage_bytes(m.q));
    sq_tui_model_key(&m, 'p');
    sq_tui_layout_compute(&m, 80, 24, &lay);
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "- q4_k"), 0);
    ck_assert_int_gt(find_row(&g, "bits/w     4.500"), 0);
    ck_assert_int_gt(find_row(&g, "ratio      7.11x"), 0);
    /* pins compare formats: int4 g32 (4 + 64 / 32 bits) and q4_k */
    ck_assert_int_gt(find_row(&g, "#1  i4 sym g32 "), 0);
    sq_tui_grid_row(&g, find_row(&g, "#1  i4 sym g32 "), row, sizeof row);
    ck_assert_msg(strstr(row, "   6.000   5.33x "), "%s", row);
    sq_tui_grid_row(&g, find_row(&g, "#2  q4_k "), row, sizeof row);
    ck_assert_msg(strstr(row, "   4.500   7.11x "), "%s", row);
    /* the value histogram marks the selected block's levels */
    sq_tui_grid_row(&g, lay.vmark_y, row, sizeof row);
    ck_assert_ptr_nonnull(strchr(row, '^'));
    ck_assert_int_eq(find_row(&g, "Values ^ q4_k levels of group 1/2"), lay.vtitle_y);
    /* the walk-through of a q4_k element, and the code usage of 16 codes */
    sq_tui_model_key(&m, 'e');
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_gt(find_row(&g, "nearest level to x      = "), 0);
    sq_tui_model_key(&m, 'e');
    sq_tui_model_key(&m, 't');
    sq_tui_render(&m, &lay, &g, sq_tui_glyphs_get(false));
    ck_assert_int_eq(find_row(&g, "Code usage 16 of 16 codes used"), lay.etitle_y);
    ck_assert_int_eq(find_row(&g, "code 0"), lay.erange_y);
    sq_tui_grid_free(&g);
    sq_tui_model_free(&m);
    sq_tensor_free(t);
}
END_TEST

START_TEST(test_config_fit)
{
    sq_qconfig c = sq_qconfig_default();
    size_t shape[2] = {3, 100};
    c.granularity = SQ_GRAN_GROUP;
    c.group_size = 32;
    c.axis = 5;
    sq_tui_config_fit(&c, shape, 2);
    ck_assert_uint_eq(c.group_size, 25);
    ck_assert_int_eq(c.axis, 0);
    sq_tui_config_fit(&c, shape, 0);
    ck_assert_int_eq(c.granularity, SQ_GRAN_TENSOR);
}
END_TEST

static Suite *tui_suite(void)
{
    Suite *s = suite_create("tui");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fmt_si);
    tcase_add_test(tc, test_fmt_bytes_count);
    tcase_add_test(tc, test_bar_heights);
    tcase_add_test(tc, test_draw_bars_glyphs);
    tcase_add_test(tc, test_grid_put_clip);
    tcase_add_test(tc, test_rebin);
    tcase_add_test(tc, test_group_step);
    tcase_add_test(tc, test_keys);
    tcase_add_test(tc, test_idle_keys);
    tcase_add_test(tc, test_config_short);
    tcase_add_test(tc, test_term_ok);
    tcase_add_test(tc, test_small_screen);
    tcase_add_test(tc, test_selection_and_pins);
    tcase_add_test(tc, test_levels_markers);
    tcase_add_test(tc, test_strip);
    tcase_add_test(tc, test_table_cells);
    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_render);
    tcase_add_test(tc, test_nonfinite_shown);
    tcase_add_test(tc, test_save);
    tcase_add_test(tc, test_list);
    tcase_add_test(tc, test_config_fit);
    tcase_add_test(tc, test_walk_numbers);
    tcase_add_test(tc, test_walk_keys);
    tcase_add_test(tc, test_selection_hist);
    tcase_add_test(tc, test_member_runs);
    tcase_add_test(tc, test_code_usage_transfer);
    tcase_add_test(tc, test_glossary);
    tcase_add_test(tc, test_format_keys);
    tcase_add_test(tc, test_calibration_keys);
    tcase_add_test(tc, test_walk_formats);
    tcase_add_test(tc, test_clip_on_screen);
    tcase_add_test(tc, test_pair_panel);
    tcase_add_test(tc, test_sel_hist_cached);
    tcase_add_test(tc, test_format_panel);
    tcase_add_test(tc, test_qtensor_with_source);
    tcase_add_test(tc, test_qtensor_no_source);
    tcase_add_test(tc, test_list_columns);
    tcase_add_test(tc, test_list_escapes_names);
    tcase_add_test(tc, test_list_quantized);
    tcase_add_test(tc, test_list_small);
    tcase_add_test(tc, test_ckpt_source);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(tui_suite)
