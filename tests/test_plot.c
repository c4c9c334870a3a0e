/* test_plot.c - chart layout (ticks, bars, marks, legends, notes), the SVG
 * text and the PNG and SVG files. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plot.h"
#include "testutil.h"

/* Count of the scene's primitives of one kind. */
static size_t count_kind(const sq_scene *s, sq_prim_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += s->prims[i].kind == k;
    return n;
}

START_TEST(test_ticks)
{
    double t[24];
    ck_assert_uint_eq(sq_plot_ticks(0, 10, 5, t, 24), 6);
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq(t[i], 2.0 * i);
    size_t n = sq_plot_ticks(-0.013, 0.013, 8, t, 24);
    ck_assert_uint_eq(n, 5);
    ck_assert_double_eq_tol(t[0], -0.01, 1e-15);
    ck_assert_double_eq(t[2], 0.0);
    ck_assert_double_eq_tol(t[4], 0.01, 1e-15);
    ck_assert_uint_eq(sq_plot_ticks(3.0, 8.5, 6, t, 24), 6); /* step 1: 3 .. 8 */
    ck_assert_double_eq(t[0], 3.0);
    ck_assert_double_eq(t[5], 8.0);
    ck_assert_uint_eq(sq_plot_ticks(0, 1000, 4, t, 3), 3); /* capped by max */
}
END_TEST

START_TEST(test_histogram_bars)
{
    uint64_t counts[4] = {0, 5, 10, 5};
    double marks[3] = {-0.5, 0.5, 7.0};
    sq_plot_hist h = sq_plot_hist_default();
    h.title = "Round-trip error";
    h.xlabel = "error (value units)";
    h.counts = counts;
    h.bins = 4;
    h.lo = -1;
    h.hi = 1;
    h.marks = marks;
    h.n_marks = 3;
    sq_scene *s;
    sq_error err;
    ck_assert_int_eq(sq_plot_histogram(&h, &s, &err), SQ_OK);
    ck_assert_double_eq(s->w, 1280);
    ck_assert_double_eq(s->h, 720);
    ck_assert_uint_eq(count_kind(s, SQ_PRIM_RECT), 3); /* empty bins draw nothing */
    double area_h = 720 - 105 - 110, bw = (1280 - 120 - 50) / 4.0;
    size_t seen = 0;
    for (size_t i = 0; i < s->n; i++) {
        const sq_prim *p = &s->prims[i];
        if (p->kind != SQ_PRIM_RECT)
            continue;
        int bin = (int)lround((p->x - 120) / bw);
        ck_assert_double_eq_tol(p->x, 120 + bin * bw, 1e-9);
        ck_assert_double_eq_tol(p->h, counts[bin] / 10.5 * area_h, 1e-9);
        ck_assert_double_eq_tol(p->y + p->h, 720 - 105, 1e-9);
        seen |= 1u << bin;
    }
    ck_assert_uint_eq(seen, 0xe);
    ck_assert_uint_eq(sq_scene_count_text(s, "Round-trip error"), 1);
    ck_assert_uint_eq(sq_scene_count_text(s, "error (value units)"), 1);
    ck_assert_uint_eq(sq_scene_count_text(s, "count"), 1);
    ck_assert_uint_eq(sq_scene_count_text(s, "-0.5"), 1);
    ck_assert_uint_eq(sq_scene_count_text(s, "0"), 2); /* x tick and y tick */
    ck_assert_uint_eq(sq_scene_count_text(s, "10"), 1);
    ck_assert_uint_eq(sq_scene_count_text(s, "| 2 levels marked (1 outside the range)"), 1);
    size_t mark_lines = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->prims[i].kind == SQ_PRIM_LINE && s->prims[i].width == 3) {
            ck_assert(fabs(s->prims[i].x - (120 + 0.25 * 4 * bw)) < 1e-9 ||
                      fabs(s->prims[i].x - (120 + 0.75 * 4 * bw)) < 1e-9);
            mark_lines++;
        }
    ck_assert_uint_eq(mark_lines, 2);
    sq_scene_free(s);
}
END_TEST

START_TEST(test_histogram_log)
{
    uint64_t counts[2] = {1, 999};
    sq_plot_hist h = sq_plot_hist_default();
    h.counts = counts;
    h.bins = 2;
    h.lo = 0;
    h.hi = 1;
    h.log_counts = true;
    sq_scene *s;
    ck_assert_int_eq(sq_plot_histogram(&h, &s, NULL), SQ_OK);
    ck_assert_uint_eq(sq_scene_count_text(s, "1"), 2); /* x tick 1 and the 10^0 count tick */
    ck_assert_uint_eq(sq_scene_count_text(s, "10"), 1);
    ck_assert_uint_eq(sq_scene_count_text(s, "100"), 1);
    ck_assert_uint_eq(sq_scene_count_text(s, "1k"), 1); /* log10(1 + 1000) <= 3 * 1.05 */
    ck_assert_uint_eq(sq_scene_count_text(s, "10k"), 0);
    for (size_t i = 0; i < s->n; i++)
        if (s->prims[i].kind == SQ_PRIM_RECT && s->prims[i].x > 500) /* the 999 bin: log10(1000) = 3 of 3.15 */
            ck_assert_double_eq_tol(s->prims[i].h, 3.0 / 3.15 * (720 - 215), 1e-9);
    sq_scene_free(s);
}
END_TEST

START_TEST(test_histogram_errors)
{
    uint64_t counts[2] = {1, 2};
    double bad_mark = NAN;
    sq_plot_hist h = sq_plot_hist_default();
    sq_scene *s = (sq_scene *)1;
    sq_error err;
    h.counts = counts;
    h.bins = 0;
    h.hi = 1;
    ck_assert_int_eq(sq_plot_histogram(&h, &s, &err), SQ_ERR_ARG);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(err.msg, "0 bins"));
    h.bins = 2;
    h.lo = 1;
    ck_assert_int_eq(sq_plot_histogram(&h, &s, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "not a finite interval"));
    h.lo = NAN;
    ck_assert_int_eq(sq_plot_histogram(&h, &s, &err), SQ_ERR_ARG);
    h.lo = 0;
    h.marks = &bad_mark;
    h.n_marks = 1;
    ck_assert_int_eq(sq_plot_histogram(&h, &s, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "mark 1"));
    h.n_marks = 0;
    h.width = 100;
    ck_assert_int_eq(sq_plot_histogram(&h, &s, &err), SQ_ERR_ARG);
}
END_TEST

START_TEST(test_scatter)
{
    sq_plot_point pts[] = {
        {8.06, 42.8, 0, "int8 ch"}, {4.06, 18.9, 0, "int4 ch"}, {4.5, 21.0, 1, "int4 g32"},
        {4.0, INFINITY, 1, NULL},
    };
    const char *names[] = {"per-channel", "per-group"};
    sq_plot_scatter c = sq_plot_scatter_default();
    c.title = "SQNR against bits per weight";
    c.xlabel = "bits per weight";
    c.ylabel = "SQNR (dB)";
    c.points = pts;
    c.n_points = 4;
    c.series_names = names;
    c.n_series = 2;
    c.lines = true;
    sq_scene *s;
    sq_error err;
    ck_assert_int_eq(sq_plot_scatter_chart(&c, &s, &err), SQ_OK);
    ck_assert_uint_eq(count_kind(s, SQ_PRIM_CIRCLE), 3 + 2); /* 3 finite points + 2 legend dots */
    ck_assert_uint_eq(sq_scene_count_text(s, "per-group"), 1);
    ck_assert_uint_eq(sq_scene_count_text(s, "int4 g32"), 1);
    ck_assert_uint_eq(sq_scene_count_text(s, "SQNR (dB)"), 1);
    ck_assert_uint_eq(sq_scene_count_text(s, "1 point not shown (infinite: lossless)"), 1);
    size_t joins = 0;
    for (size_t i = 0; i < s->n; i++)
        joins += s->prims[i].kind == SQ_PRIM_LINE && s->prims[i].width == 2 && s->prims[i].rgb == 0x0072b2;
    ck_assert_uint_ge(joins, 1); /* the per-channel pair is joined (axes are grey) */
    /* the points lie inside the frame, larger x to the right */
    double x8 = 0, x4 = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->prims[i].kind == SQ_PRIM_TEXT && strcmp(s->prims[i].text, "int8 ch") == 0)
            x8 = s->prims[i].x;
        else if (s->prims[i].kind == SQ_PRIM_TEXT && strcmp(s->prims[i].text, "int4 ch") == 0)
            x4 = s->prims[i].x;
    ck_assert(x8 > x4 && x4 > 120 && x8 < 1280 - 50 + 11);
    sq_scene_free(s);

    /* a long label on the rightmost point is drawn to its left, inside the chart */
    pts[0].label = "int8 per-channel symmetric, f16 scales";
    ck_assert_int_eq(sq_plot_scatter_chart(&c, &s, &err), SQ_OK);
    for (size_t i = 0; i < s->n; i++)
        if (s->prims[i].kind == SQ_PRIM_TEXT && strcmp(s->prims[i].text, pts[0].label) == 0) {
            ck_assert_int_eq(s->prims[i].anchor, SQ_ANCHOR_END);
            ck_assert(s->prims[i].x < 1280 - 50);
        }
    sq_scene_free(s);

    pts[0].series = 2;
    ck_assert_int_eq(sq_plot_scatter_chart(&c, &s, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "point 1 has series 3"));
    sq_plot_point inf = {1, INFINITY, 0, NULL};
    c.points = &inf;
    c.n_points = 1;
    ck_assert_int_eq(sq_plot_scatter_chart(&c, &s, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "no point with finite"));
}
END_TEST

/* The whole of a file as a string (caller frees); NULL if unreadable. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = 0;
    fclose(f);
    return buf;
}

START_TEST(test_files)
{
    uint64_t counts[3] = {3, 1, 2};
    sq_plot_hist h = sq_plot_hist_default();
    h.title = "x < y & \"z\"\x01";
    h.counts = counts;
    h.bins = 3;
    h.lo = 0;
    h.hi = 3;
    sq_scene *s;
    sq_error err;
    ck_assert_int_eq(sq_plot_histogram(&h, &s, &err), SQ_OK);
    char dir[] = "/tmp/sq_plot_XXXXXX", path[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));

    snprintf(path, sizeof path, "%s/chart.svg", dir);
    ck_assert_int_eq(sq_scene_write(s, path, &err), SQ_OK);
    size_t len;
    char *svg = slurp(path, &len);
    ck_assert_ptr_nonnull(svg);
    ck_assert(strncmp(svg, "<?xml", 5) == 0);
    ck_assert_ptr_nonnull(strstr(svg, "width=\"1280\" height=\"720\""));
    ck_assert_ptr_nonnull(strstr(svg, ">x &lt; y &amp; &quot;z&quot;</text>"));
    ck_assert_ptr_nonnull(strstr(svg, ">count</text>"));
    ck_assert_ptr_nonnull(strstr(svg, "</svg>\n"));
    free(svg);

    snprintf(path, sizeof path, "%s/chart.PNG", dir);
    ck_assert_int_eq(sq_scene_write(s, path, &err), SQ_OK);
    unsigned char *png = (unsigned char *)slurp(path, &len);
    ck_assert_ptr_nonnull(png);
    ck_assert_uint_gt(len, 2000);
    ck_assert(memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    ck_assert(memcmp(png + 12, "IHDR", 4) == 0);
    ck_assert_uint_eq((unsigned)(png[16] << 24 | png[17] << 16 | png[18] << 8 | png[19]), 1280);
    ck_assert_uint_eq((unsigned)(png[20] << 24 | png[21] << 16 | png[22] << 8 | png[23]), 720);
    free(png);

    snprintf(path, sizeof path, "%s/chart.jpg", dir);
    ck_assert_int_eq(sq_scene_write(s, path, &err), SQ_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "chart.jpg: a chart is written as .png or .svg"));
    ck_assert_int_eq(access(path, F_OK), -1);
    snprintf(path, sizeof path, "%s/missing/chart.png", dir);
    ck_assert_int_eq(sq_scene_write(s, path, &err), SQ_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing"));

    snprintf(path, sizeof path, "rm -r %s", dir);
    ck_assert_int_eq(system(path), 0);
    sq_scene_free(s);
    sq_plot_release_caches();
}
END_TEST

static Suite *plot_suite(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("plot");
    tcase_add_test(tc, test_ticks);
    tcase_add_test(tc, test_histogram_bars);
    tcase_add_test(tc, test_histogram_log);
    tcase_add_test(tc, test_histogram_errors);
    tcase_add_test(tc, test_scatter);
    tcase_add_test(tc, test_files);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(plot_suite)
