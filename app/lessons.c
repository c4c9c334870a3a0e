/* lessons.c - find the lessons' folder (installed, or in the source tree). */
#include "lessons.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

char *realpath(const char *restrict path, char *restrict resolved); /* POSIX.1-2008 XSI */
#include <string.h>
#include <unistd.h>

#ifndef SQ_PKGDATADIR
#define SQ_PKGDATADIR "/usr/local/share/squint"
#endif
#ifndef SQ_BINDIR
#define SQ_BINDIR "/usr/local/bin"
#endif
#ifndef SQ_SRCDIR
#define SQ_SRCDIR "."
#endif

/* Whether the running program is the installed squint. */
static bool running_installed(void)
{
    char self[PATH_MAX], installed[PATH_MAX];
    return realpath("/proc/self/exe", self) && realpath(SQ_BINDIR "/squint", installed) &&
           strcmp(self, installed) == 0;
}

bool sq_lessons_dir(char *buf, size_t n)
{
    bool inst = running_installed();
    const char *dirs[] = {getenv("SQUINT_LESSONS"), inst ? SQ_PKGDATADIR "/lessons" : SQ_SRCDIR "/scripts/lessons",
                          inst ? SQ_SRCDIR "/scripts/lessons" : SQ_PKGDATADIR "/lessons"};
    char run[PATH_MAX + 16];
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (dirs[i] && *dirs[i] && (size_t)snprintf(run, sizeof run, "%s/run.lua", dirs[i]) < sizeof run &&
            access(run, R_OK) == 0 && (size_t)snprintf(buf, n, "%s", dirs[i]) < n)
            return true;
    return false;
}
