/* textesc.c - escape terminal control characters and invalid UTF-8. */
#include "textesc.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence of two or more bytes at p, else 0. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    unsigned char lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    if (n == 0 || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < n; k++)
        if (p[k] < 0x80 || p[k] > 0xBF)
            return 0;
    return n;
}

/* The escaped form of the character at p into out (at least 8 bytes) and
 * its length; *adv gets the source bytes it covers. */
static size_t escape_one(const unsigned char *p, char *out, size_t *adv)
{
    unsigned char c = p[0];
    *adv = 1;
    if (c == '\\' || c == '\n' || c == '\t' || c == '\r') {
        out[0] = '\\';
        out[1] = c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
        return 2;
    }
    if (c < 0x20 || c == 0x7F)
        return (size_t)snprintf(out, 8, "\\x%02x", c);
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    size_t n = utf8_len(p);
    if (n == 0)
        return (size_t)snprintf(out, 8, "\\x%02x", c);
    *adv = n;
    if (n == 2 && c == 0xC2 && p[1] < 0xA0)
        return (size_t)snprintf(out, 8, "\\u%04x", p[1]);
    memcpy(out, p, n);
    return n;
}

size_t sq_escape_text(char *dst, size_t dstsize, const char *src)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t total = 0, used = 0;
    int cut = dstsize == 0;
    while (*p) {
        char piece[8];
        size_t adv, k = escape_one(p, piece, &adv);
        if (!cut && used + k < dstsize) {
            memcpy(dst + used, piece, k);
            used += k;
        } else {
            cut = 1;
        }
        total += k;
        p += adv;
    }
    if (dstsize)
        dst[used] = '\0';
    return total;
}

char *sq_escape_dup(const char *src)
{
    size_t n = sq_escape_text(NULL, 0, src);
    char *s = malloc(n + 1);
    if (s)
        sq_escape_text(s, n + 1, src);
    return s;
}

void sq_csv_field(FILE *f, const char *s)
{
    if (!s)
        s = "";
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

void sq_csv_number(FILE *f, double v)
{
    if (isnan(v))
        fputs("nan", f);
    else if (isinf(v))
        fputs(v > 0 ? "inf" : "-inf", f);
    else
        fprintf(f, "%.9g", v);
}
