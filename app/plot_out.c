/* plot_out.c - write a scene as SVG (text) or PNG (cairo), atomically. */
#include "plot.h"

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fileio.h"

#define PLOT_FONT "DejaVu Sans"

/* ---- SVG ---------------------------------------------------------------- */

/* A growing string; on allocation failure `failed` is set and appends stop. */
typedef struct strbuf {
    char *s;
    size_t n, cap;
    bool failed;
} strbuf;

/* Append printf-style text to b. */
static void sb_printf(strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(strbuf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->failed = true;
            return;
        }
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->n + (size_t)k)
            cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->failed = true;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
}

/* Append text with XML's special characters escaped and control characters
 * (which XML 1.0 forbids) dropped. */
static void sb_xml_text(strbuf *b, const char *t)
{
    for (; *t; t++) {
        unsigned char c = (unsigned char)*t;
        if (c == '&')
            sb_printf(b, "&amp;");
        else if (c == '<')
            sb_printf(b, "&lt;");
        else if (c == '>')
            sb_printf(b, "&gt;");
        else if (c == '"')
            sb_printf(b, "&quot;");
        else if (c >= 0x20 || c == '\t')
            sb_printf(b, "%c", c);
    }
}

/* One primitive as an SVG element. */
static void svg_prim(strbuf *b, const sq_prim *p)
{
    static const char *const anchors[] = {"start", "middle", "end"};
    switch (p->kind) {
    case SQ_PRIM_RECT:
        sb_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#%06x\"/>\n", p->x, p->y,
                  p->w, p->h, (unsigned)p->rgb);
        break;
    case SQ_PRIM_LINE:
        sb_printf(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#%06x\" stroke-width=\"%.1f\"/>\n",
                  p->x, p->y, p->x2, p->y2, (unsigned)p->rgb, p->width);
        break;
    case SQ_PRIM_CIRCLE:
        sb_printf(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"%.2f\" fill=\"#%06x\"/>\n", p->x, p->y, p->w,
                  (unsigned)p->rgb);
        break;
    case SQ_PRIM_TEXT:
        sb_printf(b, "<text x=\"%.2f\" y=\"%.2f\" font-size=\"%.1f\" text-anchor=\"%s\" fill=\"#%06x\"%s", p->x, p->y,
                  p->size, anchors[p->anchor], (unsigned)p->rgb, p->bold ? " font-weight=\"bold\"" : "");
        if (p->vertical)
            sb_printf(b, " transform=\"rotate(-90 %.2f %.2f)\"", p->x, p->y);
        sb_printf(b, ">");
        sb_xml_text(b, p->text);
        sb_printf(b, "</text>\n");
        break;
    }
}

sq_status sq_scene_svg(const sq_scene *s, char **out, sq_error *err)
{
    strbuf b = {0};
    sb_printf(&b,
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
              "font-family=\"%s, Verdana, sans-serif\">\n"
              "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n",
              s->w, s->h, s->w, s->h, PLOT_FONT, s->w, s->h);
    for (size_t i = 0; i < s->n; i++)
        svg_prim(&b, &s->prims[i]);
    sb_printf(&b, "</svg>\n");
    if (b.failed) {
        free(b.s);
        *out = NULL;
        return sq_fail(err, SQ_ERR_NOMEM, "SVG: out of memory");
    }
    *out = b.s;
    return SQ_OK;
}

/* ---- PNG through cairo ------------------------------------------------------ */

/* Set the source colour of cr to rgb. */
static void cairo_rgb(cairo_t *cr, uint32_t rgb)
{
    cairo_set_source_rgb(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0, (rgb & 0xff) / 255.0);
}

/* Draw a text primitive: anchored horizontally, rotated when vertical. */
static void cairo_text(cairo_t *cr, const sq_prim *p)
{
    cairo_select_font_face(cr, PLOT_FONT, CAIRO_FONT_SLANT_NORMAL,
                           p->bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, p->size);
    cairo_text_extents_t e;
    cairo_text_extents(cr, p->text, &e);
    double shift = p->anchor == SQ_ANCHOR_MIDDLE ? e.x_advance / 2 : p->anchor == SQ_ANCHOR_END ? e.x_advance : 0;
    cairo_save(cr);
    cairo_translate(cr, p->x, p->y);
    if (p->vertical)
        cairo_rotate(cr, -M_PI / 2);
    cairo_move_to(cr, -shift, 0);
    cairo_show_text(cr, p->text);
    cairo_restore(cr);
}

/* Draw one primitive onto cr. */
static void cairo_prim(cairo_t *cr, const sq_prim *p)
{
    cairo_rgb(cr, p->rgb);
    switch (p->kind) {
    case SQ_PRIM_RECT:
        cairo_rectangle(cr, p->x, p->y, p->w, p->h);
        cairo_fill(cr);
        break;
    case SQ_PRIM_LINE:
        cairo_set_line_width(cr, p->width);
        cairo_move_to(cr, p->x, p->y);
        cairo_line_to(cr, p->x2, p->y2);
        cairo_stroke(cr);
        break;
    case SQ_PRIM_CIRCLE:
        cairo_new_sub_path(cr);
        cairo_arc(cr, p->x, p->y, p->w, 0, 2 * M_PI);
        cairo_fill(cr);
        break;
    case SQ_PRIM_TEXT:
        cairo_text(cr, p);
        break;
    }
}

/* Where cairo's PNG writer sends its bytes: the atomic output file. */
typedef struct png_sink {
    sq_afile *f;
    sq_error *err;
    sq_status st;    /* of the first failed write */
} png_sink;

static cairo_status_t png_write(void *closure, const unsigned char *data, unsigned int len)
{
    png_sink *k = closure;
    if (k->st == SQ_OK)
        k->st = sq_afile_write(k->f, data, len, k->err);
    if (k->st != SQ_OK)
        return CAIRO_STATUS_WRITE_ERROR;
    return CAIRO_STATUS_SUCCESS;
}

/* Render s with cairo and write it as PNG to path, atomically. */
static sq_status write_png(const sq_scene *s, const char *path, sq_error *err)
{
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(s->w), (int)ceil(s->h));
    cairo_t *cr = cairo_create(surf);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) {
        cairo_destroy(cr);
        cairo_surface_destroy(surf);
        return sq_fail(err, SQ_ERR_NOMEM, "%s: cairo could not make a %gx%g image", path, s->w, s->h);
    }
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    for (size_t i = 0; i < s->n; i++)
        cairo_prim(cr, &s->prims[i]);
    cairo_destroy(cr);
    png_sink k = {NULL, err, SQ_OK};
    sq_status st = sq_afile_open(path, &k.f, err);
    if (st == SQ_OK) {
        cairo_status_t cs = cairo_surface_write_to_png_stream(surf, png_write, &k);
        if (cs != CAIRO_STATUS_SUCCESS) {
            sq_afile_abort(k.f);
            st = k.st != SQ_OK ? k.st : sq_fail(err, SQ_ERR_IO, "%s: %s", path, cairo_status_to_string(cs));
        } else {
            st = sq_afile_commit(k.f, err);
        }
    }
    cairo_surface_destroy(surf);
    /* cairo and fontconfig keep font caches forever; drop them, so that a program
     * that draws a chart now and then holds no memory for it (leak checkers agree) */
    sq_plot_release_caches();
    return st;
}

/* Whether path ends in ext, ignoring case. */
static bool has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

sq_status sq_scene_write(const sq_scene *s, const char *path, sq_error *err)
{
    if (has_ext(path, ".png"))
        return write_png(s, path, err);
    if (!has_ext(path, ".svg"))
        return sq_fail(err, SQ_ERR_ARG, "%s: a chart is written as .png or .svg; name the file so", path);
    char *svg;
    sq_status st = sq_scene_svg(s, &svg, err);
    if (st != SQ_OK)
        return st;
    st = sq_write_file_atomic(path, svg, strlen(svg), err);
    free(svg);
    return st;
}

void sq_plot_release_caches(void)
{
    cairo_debug_reset_static_data();
    FcFini();
}
