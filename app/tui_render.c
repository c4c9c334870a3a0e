/* tui_render.c - cell grid, glyph tables, number formatting and bar binning
 * for the panel (pure functions; see tui_render.h). */
#include "tui_render.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sq_tui_glyphs glyphs_utf8 = {
    {" ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588"},
    "\u25b2", "\u2500", "\u25b2", "x\u0302", "\u2592", "[", "]"};
static const sq_tui_glyphs glyphs_ascii = {{" ", ".", ".", ":", ":", "|", "|", "#", "#"}, "^", "-", "^", "x^", "/", "[", "]"};

const sq_tui_glyphs *sq_tui_glyphs_get(bool utf8)
{
    return utf8 ? &glyphs_utf8 : &glyphs_ascii;
}

bool sq_tui_term_ok(const char *term)
{
    return term && *term && strcmp(term, "dumb") != 0;
}

/* ---- grid ---------------------------------------------------------------- */

void sq_tui_grid_clear(sq_tui_grid *g)
{
    for (int i = 0; i < g->w * g->h; i++) {
        g->cells[i].g[0] = ' ';
        g->cells[i].g[1] = '\0';
        g->cells[i].role = SQ_ROLE_NORMAL;
    }
}

bool sq_tui_grid_resize(sq_tui_grid *g, int w, int h)
{
    if (w < 1 || h < 1) {
        sq_tui_grid_free(g);
        return false;
    }
    if (w != g->w || h != g->h) {
        sq_tui_cell *c = realloc(g->cells, (size_t)w * (size_t)h * sizeof *c);
        if (!c) {
            sq_tui_grid_free(g);
            return false;
        }
        g->cells = c;
        g->w = w;
        g->h = h;
    }
    sq_tui_grid_clear(g);
    return true;
}

void sq_tui_grid_free(sq_tui_grid *g)
{
    free(g->cells);
    g->cells = NULL;
    g->w = g->h = 0;
}

/* Length in bytes of the UTF-8 sequence starting with byte c (1 for invalid). */
static int utf8_len(unsigned char c)
{
    if (c >= 0xf0 && c < 0xf8)
        return 4;
    if (c >= 0xe0)
        return c < 0xf0 ? 3 : 1;
    if (c >= 0xc0)
        return 2;
    return 1;
}

/* A combining diacritical mark U+0300..U+036F (two bytes). */
static bool is_combining(const unsigned char *s)
{
    return s[0] == 0xcc || (s[0] == 0xcd && s[1] < 0xb0);
}

int sq_tui_grid_put(sq_tui_grid *g, int x, int y, const char *text, sq_tui_role role, int max_cells)
{
    int n = 0;
    if (y < 0 || y >= g->h)
        return 0;
    while (*text && x < g->w && (max_cells < 0 || n < max_cells)) {
        int len = utf8_len((unsigned char)*text);
        int ok = 1;
        for (int k = 1; k < len; k++)
            if (!text[k])
                ok = 0;
        if (!ok)
            break;
        if (len == 2 && is_combining((const unsigned char *)text) && n > 0 && x > 0 &&
            strlen(g->cells[y * g->w + x - 1].g) + 2 <= 4) {
            strncat(g->cells[y * g->w + x - 1].g, text, 2); /* joins the glyph before it */
            text += len;
            continue;
        }
        if (x >= 0) {
            sq_tui_cell *c = &g->cells[y * g->w + x];
            memcpy(c->g, text, (size_t)len);
            c->g[len] = '\0';
            c->role = (uint8_t)role;
            n++;
        }
        text += len;
        x++;
    }
    return n;
}

int sq_tui_grid_printf(sq_tui_grid *g, int x, int y, sq_tui_role role, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return sq_tui_grid_put(g, x, y, buf, role, -1);
}

char *sq_tui_grid_row(const sq_tui_grid *g, int y, char *buf, size_t bufsize)
{
    size_t len = 0, keep = 0;
    if (bufsize == 0)
        return buf;
    buf[0] = '\0';
    if (y < 0 || y >= g->h)
        return buf;
    for (int x = 0; x < g->w; x++) {
        const char *s = g->cells[y * g->w + x].g;
        size_t l = strlen(s);
        if (len + l + 1 > bufsize)
            break;
        memcpy(buf + len, s, l);
        len += l;
        if (!(l == 1 && s[0] == ' '))
            keep = len;
    }
    buf[keep] = '\0';
    return buf;
}

char *sq_tui_grid_text(const sq_tui_grid *g)
{
    size_t row_max = (size_t)g->w * 4 + 2, total = 0;
    char *out = malloc(row_max * (size_t)(g->h > 0 ? g->h : 1) + 1);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (int y = 0; y < g->h; y++) {
        sq_tui_grid_row(g, y, out + total, row_max);
        total += strlen(out + total);
        out[total++] = '\n';
        out[total] = '\0';
    }
    return out;
}

int sq_tui_text_cols(const char *s)
{
    int n = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (; *p; p++) {
        if ((*p & 0xC0) == 0x80)
            continue; /* a continuation byte */
        bool combining = (p[0] == 0xCC && (p[1] & 0xC0) == 0x80) || (p[0] == 0xCD && p[1] >= 0x80 && p[1] <= 0xAF);
        n += !combining; /* U+0300..U+036F join the glyph before */
    }
    return n;
}

void sq_tui_draw_box(sq_tui_grid *g, const char *const *lines, int n, sq_tui_role role)
{
    int bw = 0, bh = n + 2;
    for (int i = 0; i < n; i++)
        if (sq_tui_text_cols(lines[i]) > bw)
            bw = sq_tui_text_cols(lines[i]);
    bw += 4;
    if (bw > g->w)
        bw = g->w;
    int x0 = (g->w - bw) / 2, y0 = (g->h - bh) / 2;
    if (y0 < 1)
        y0 = bh < g->h ? 1 : 0;
    for (int i = 0; i < bh; i++) {
        for (int x = 0; x < bw; x++)
            sq_tui_grid_put(g, x0 + x, y0 + i, " ", role, 1);
        if (i >= 1 && i <= n)
            sq_tui_grid_put(g, x0 + 2, y0 + i, lines[i - 1], role, bw - 4 > 0 ? bw - 4 : 0);
    }
}

/* ---- numbers ------------------------------------------------------------- */

/* Right-align s into buf of exactly width characters (or s itself if longer). */
static char *right_align(const char *s, int width, char *buf, size_t bufsize)
{
    int len = (int)strlen(s);
    snprintf(buf, bufsize, "%*s", len < width ? width : len, s);
    return buf;
}

char *sq_tui_fmt_si(double v, int width, char *buf, size_t bufsize)
{
    static const char suffix[] = "pnum kMGT"; /* index 4 = no suffix */
    char tmp[64];
    if (isnan(v))
        return right_align("nan", width, buf, bufsize);
    if (isinf(v))
        return right_align(v > 0 ? "inf" : "-inf", width, buf, bufsize);
    if (v == 0)
        return right_align("0", width, buf, bufsize);
    double a = fabs(v);
    int e3 = (int)floor(log10(a) / 3.0);
    if (e3 < -4 || e3 > 4) {
        snprintf(tmp, sizeof tmp, "%.*e", width >= 10 ? 2 : 1, v);
        return right_align(tmp, width, buf, bufsize);
    }
    for (;;) {
        double m = v / pow(10.0, 3.0 * e3);
        double am = fabs(m);
        int dec = am < 10 ? 3 : am < 100 ? 2 : 1;
        char sfx[2] = {suffix[e3 + 4], '\0'};
        if (sfx[0] == ' ')
            sfx[0] = '\0';
        snprintf(tmp, sizeof tmp, "%.*f%s", dec, m, sfx);
        /* rounding may carry to the next power of 1000 (999.96 -> 1000.0) */
        if (fabs(strtod(tmp, NULL)) >= 1000.0 && e3 < 4) {
            e3++;
            continue;
        }
        if (fabs(strtod(tmp, NULL)) < 1.0 && e3 > -4) { /* guard against floor error */
            e3--;
            continue;
        }
        while (width >= 6 && (int)strlen(tmp) > width && dec > 0) { /* too wide: drop decimals */
            dec--;
            snprintf(tmp, sizeof tmp, "%.*f%s", dec, m, sfx);
        }
        return right_align(tmp, width, buf, bufsize);
    }
}

char *sq_tui_fmt_bytes(double bytes, char *buf, size_t bufsize)
{
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    if (bytes < 1024) {
        snprintf(buf, bufsize, "%.0f B", bytes);
        return buf;
    }
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, bufsize, "%.2f %s", bytes, unit[u]);
    return buf;
}

char *sq_tui_fmt_count(uint64_t n, char *buf, size_t bufsize)
{
    if (n < 10000) {
        snprintf(buf, bufsize, "%llu", (unsigned long long)n);
        return buf;
    }
    double v = (double)n;
    const char *s = "kMGTP";
    int u = -1;
    while (v >= 1000 && u < 4) {
        v /= 1000;
        u++;
    }
    snprintf(buf, bufsize, v < 10 ? "%.2f%c" : v < 100 ? "%.1f%c" : "%.0f%c", v, s[u]);
    return buf;
}

/* ---- bars ---------------------------------------------------------------- */

void sq_tui_bar_heights(const uint64_t *counts, size_t n, int rows, bool log_scale, int *heights)
{
    double max = 0;
    for (size_t i = 0; i < n; i++) {
        double v = log_scale ? log1p((double)counts[i]) : (double)counts[i];
        if (v > max)
            max = v;
    }
    for (size_t i = 0; i < n; i++) {
        double v = log_scale ? log1p((double)counts[i]) : (double)counts[i];
        int h = max > 0 ? (int)lround(v / max * rows * 8) : 0;
        if (counts[i] > 0 && h == 0)
            h = 1;
        heights[i] = h;
    }
}

void sq_tui_bar_heights_d(const double *v, size_t n, int rows, int *heights)
{
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] > max && isfinite(v[i]))
            max = v[i];
    for (size_t i = 0; i < n; i++) {
        double x = isfinite(v[i]) && v[i] > 0 ? v[i] : 0;
        int h = max > 0 ? (int)lround(x / max * rows * 8) : 0;
        if (x > 0 && h == 0)
            h = 1;
        heights[i] = h;
    }
}

void sq_tui_rebin(const uint64_t *in, size_t n_in, uint64_t *out, size_t n_out)
{
    memset(out, 0, n_out * sizeof *out);
    if (n_out == 0)
        return;
    for (size_t k = 0; k < n_in; k++) {
        size_t c = (size_t)(((double)k + 0.5) / (double)n_in * (double)n_out);
        out[c < n_out ? c : n_out - 1] += in[k];
    }
}

void sq_tui_draw_bars(sq_tui_grid *g, int x, int y, int rows, const int *heights, size_t n,
                      const sq_tui_glyphs *gl, sq_tui_role role)
{
    for (size_t i = 0; i < n; i++)
        for (int r = 0; r < rows; r++) {
            int e = heights[i] - r * 8;
            e = e < 0 ? 0 : e > 8 ? 8 : e;
            sq_tui_grid_put(g, x + (int)i, y + rows - 1 - r, gl->bar[e], role, 1);
        }
}

void sq_tui_draw_spark(sq_tui_grid *g, int x, int y, const int *eighths, size_t n,
                       const sq_tui_glyphs *gl, sq_tui_role role)
{
    sq_tui_draw_bars(g, x, y, 1, eighths, n, gl, role);
}

void sq_tui_draw_counts(sq_tui_grid *g, const uint64_t *counts, size_t bins, int x, int y, int w, int rows,
                        bool log_scale, const sq_tui_glyphs *gl, sq_tui_role role)
{
    if (!counts || w <= 0 || rows <= 0)
        return;
    uint64_t *cols = malloc((size_t)w * sizeof *cols);
    int *hts = malloc((size_t)w * sizeof *hts);
    if (cols && hts) {
        sq_tui_rebin(counts, bins, cols, (size_t)w);
        sq_tui_bar_heights(cols, (size_t)w, rows, log_scale, hts);
        sq_tui_draw_bars(g, x, y, rows, hts, (size_t)w, gl, role);
    }
    free(cols);
    free(hts);
}
