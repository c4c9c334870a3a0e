/*
 * textesc.h - text from files made safe to print on a terminal.
 *
 *     char buf[256];
 *     sq_escape_text(buf, sizeof buf, ti->name);   // "a\x1b[31mb" -> "a\\x1b[31mb"
 *
 * Names and metadata in model files are arbitrary bytes; printed raw, an
 * escape sequence could move the cursor, recolour or retitle the terminal.
 * Escaped: backslash as "\\", newline, tab and carriage return as "\n",
 * "\t", "\r", other C0 controls and DEL as "\xNN", the C1 controls
 * U+0080..U+009F as "\u0080".."\u009f", and bytes that are not valid UTF-8
 * as "\xNN". Other valid UTF-8 passes through unchanged.
 */
#ifndef SQ_TEXTESC_H
#define SQ_TEXTESC_H

#include <stddef.h>
#include <stdio.h>

/* Write src escaped into dst (dstsize bytes; nothing is written when
 * dstsize is 0, else always NUL-terminated, the output cut before an escape
 * or character that does not fit whole). Returns the length of the whole
 * escaped text (excluding the NUL), like snprintf: a result >= dstsize
 * means it was cut. src must be NUL-terminated. Never fails. */
size_t sq_escape_text(char *dst, size_t dstsize, const char *src);

/* The escaped text of src in a new string the caller frees; NULL when out
 * of memory. */
char *sq_escape_dup(const char *src);

/* Write s as one CSV field (RFC 4180): as it is, or in double quotes with
 * quotes doubled when it holds a comma, quote, CR or LF. NULL writes an
 * empty field. No separator is written. */
void sq_csv_field(FILE *f, const char *s);

/* Write v as a CSV number: "nan", "inf", "-inf" or %.9g. No separator. */
void sq_csv_number(FILE *f, double v);

#endif
