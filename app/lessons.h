/* lessons.h - where the lessons of `squint lesson` and sq.lesson live. */
#ifndef SQ_APP_LESSONS_H
#define SQ_APP_LESSONS_H

#include <stdbool.h>
#include <stddef.h>

/* Write the path of the lessons' folder into buf (n bytes) and return true
 * when it holds the runner run.lua: $SQUINT_LESSONS, then the installed
 * $(pkgdatadir)/lessons for the installed program, else the source tree's
 * scripts/lessons (a build run where it was built). False when none does
 * (buf then holds nothing useful). */
bool sq_lessons_dir(char *buf, size_t n);

#endif
