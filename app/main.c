/* main.c - the squint program: subcommands, then Lua (like lua(1)).
 *
 * The subcommands in the table below (demo, view, info, report, quantize,
 * help, --version, --help) are handled here, `COMMAND --help` for each; everything else (scripts, -e, -l, -i, -v, the REPL) goes
 * to the Lua interpreter in repl.c. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "cmd_help.h"
#include "cmd_info.h"
#include "cmd_quantize.h"
#include "cmd_report.h"
#include "cmd_view.h"
#include "memtune.h"
#include "repl.h"

/* A subcommand: argv[1] equal to name runs fn(argc - 1, argv + 1) and its
 * result is the exit status. */
typedef struct sq_subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    bool help_ok; /* true: --help among the arguments is the command's own business */
} sq_subcommand;

static int cmd_demo(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static int cmd_usage(int argc, char **argv);
static int cmd_lesson(int argc, char **argv);

/* ---- subcommand table ----------------------------------------------------
 * Other parts plug in here: declare the function, add a row (and its usage
 * text in cmd_help.c). A row with help_ok handles its own --help. */
static const sq_subcommand subcommands[] = {
    {"demo", cmd_demo, false},
    {"--demo", cmd_demo, false},
    {"view", sq_cmd_view, false},
    {"--view", sq_cmd_view, false},
    {"info", sq_cmd_info, false},
    {"report", sq_cmd_report, false},
    {"quantize", sq_cmd_quantize, false},
    {"lesson", cmd_lesson, false},
    {"help", sq_cmd_help, true},
    {"--version", cmd_version, true},
    {"--help", cmd_usage, true},
    {"-h", cmd_usage, true},
};

/* The demo: the panel on a terminal, else the comparison table. */
static int cmd_demo(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "squint: demo takes no arguments\n");
        return 2;
    }
    return sq_cmd_demo_view();
}

/* Print "squint VERSION". */
static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("squint %s\n", PACKAGE_VERSION);
    return EXIT_SUCCESS;
}

/* Print the program's usage. */
static int cmd_usage(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    sq_help_program(stdout);
    return EXIT_SUCCESS;
}

/* Whether path names a readable file. */
static bool readable(const char *path)
{
    return access(path, R_OK) == 0;
}

/* The lessons' runner (run.lua): $SQUINT_LESSONS, then the installed
 * $(pkgdatadir)/lessons for the installed program, else the source tree's
 * scripts/lessons (a build that is run where it was built). */
static bool lessons_runner(char *buf, size_t n)
{
    const char *env = getenv("SQUINT_LESSONS");
    char self[PATH_MAX], installed[PATH_MAX];
    bool is_installed = realpath("/proc/self/exe", self) && realpath(SQ_BINDIR "/squint", installed) &&
                        strcmp(self, installed) == 0;
    const char *dirs[] = {env, is_installed ? SQ_PKGDATADIR "/lessons" : SQ_SRCDIR "/scripts/lessons",
                          is_installed ? SQ_SRCDIR "/scripts/lessons" : SQ_PKGDATADIR "/lessons"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (dirs[i] && (size_t)snprintf(buf, n, "%s/run.lua", dirs[i]) < n && readable(buf))
            return true;
    return false;
}

/* `squint lesson [N | FILE.lua]`: list or run a lesson (the Lua runner
 * scripts/lessons/run.lua does the work, with the same arguments). */
static int cmd_lesson(int argc, char **argv)
{
    char run[PATH_MAX + 16];
    if (argc > 2) {
        fprintf(stderr, "squint lesson: one lesson at a time (a number, or a .lua file)\n");
        return 2;
    }
    if (!lessons_runner(run, sizeof run)) {
        fprintf(stderr, "squint lesson: the lessons are not installed (no run.lua in %s/lessons or %s/scripts/lessons;"
                        " SQUINT_LESSONS names another folder)\n", SQ_PKGDATADIR, SQ_SRCDIR);
        return 1;
    }
    char *args[4] = {argv[0], run, argc == 2 ? argv[1] : NULL, NULL};
    return sq_repl_main(argc + 1, args);
}

/* What kind of data file path is, by its first bytes ("a .npy array", ...);
 * NULL when it is not one squint reads (so it may be a Lua script). */
static const char *data_file_kind(const char *path)
{
    unsigned char b[16] = {0};
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    if (n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0)
        return "a .npy array";
    if (n >= 4 && (memcmp(b, "GGUF", 4) == 0 || memcmp(b, "FUGG", 4) == 0))
        return "a GGUF checkpoint";
    if (n >= 4 && memcmp(b, "PK\x03\x04", 4) == 0)
        return "a zip archive (.npz?)";
    if (n >= 9 && b[8] == '{' && b[6] == 0 && b[7] == 0)
        return "a safetensors checkpoint";
    return NULL;
}

/* `squint FILE` where FILE is a data file, not a script: say what to do. */
static int data_file_given(const char *path, const char *kind)
{
    fprintf(stderr,
            "squint: %s is %s, not a Lua script: 'squint info %s' lists it, 'squint view %s' opens the panel\n",
            path, kind, path, path);
    return 1;
}

int main(int argc, char **argv)
{
    sq_memtune(); /* freed code and scale arrays are reused by the next quantization */
    if (argc >= 2)
        for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
            if (strcmp(argv[1], subcommands[i].name) == 0) {
                if (!subcommands[i].help_ok && sq_help_wanted(argc - 1, argv + 1)) {
                    sq_help_command(stdout, argv[1]);
                    return EXIT_SUCCESS;
                }
                return subcommands[i].fn(argc - 1, argv + 1);
            }
    const char *kind = argc >= 2 && argv[1][0] != '-' ? data_file_kind(argv[1]) : NULL;
    if (kind)
        return data_file_given(argv[1], kind);
    return sq_repl_main(argc, argv);
}
