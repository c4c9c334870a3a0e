/* main.c - the squint program: subcommands, then Lua (like lua(1)).
 *
 * The subcommands in the table below (demo, view, info, report, quantize,
 * help, --version, --help) are handled here, `COMMAND --help` for each; everything else (scripts, -e, -l, -i, -v, the REPL) goes
 * to the Lua interpreter in repl.c. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "cmd_diff.h"
#include "cmd_help.h"
#include "cmd_info.h"
#include "cmd_merge.h"
#include "cmd_quantize.h"
#include "cmd_report.h"
#include "cmd_view.h"
#include "lessons.h"
#include "memtune.h"
#include "repl.h"
#include "threads.h"

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
    {"merge", sq_cmd_merge, false},
    {"quantize", sq_cmd_quantize, false},
    {"diff", sq_cmd_diff, false},
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

/* `squint lesson [N | FILE.lua]`: list or run a lesson (the Lua runner
 * scripts/lessons/run.lua does the work, with the same arguments). */
static int cmd_lesson(int argc, char **argv)
{
    char dir[PATH_MAX], run[PATH_MAX + 16];
    if (argc > 2) {
        fprintf(stderr, "squint lesson: one lesson at a time (a number, or a .lua file)\n");
        return 2;
    }
    if (!sq_lessons_dir(dir, sizeof dir) || (size_t)snprintf(run, sizeof run, "%s/run.lua", dir) >= sizeof run) {
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

/* Flush and close standard output; rc, or 1 (with a message) when anything
 * written to it was lost (/dev/full, a reader that went away). */
static int close_stdout(int rc)
{
    int e = fflush(stdout) != 0 ? errno : 0;
    bool bad = e != 0 || ferror(stdout);
    if (fclose(stdout) != 0 && !e) {
        e = errno;
        bad = true;
    }
    if (!bad)
        return rc;
    if (e)
        fprintf(stderr, "squint: error writing standard output: %s\n", strerror(e));
    else
        fprintf(stderr, "squint: error writing standard output\n");
    return rc ? rc : 1;
}

/* `-j N` before anything else: the engine's thread count. Returns how many
 * arguments it took (0 or 2), or -1 after printing a usage error. */
static int thread_option(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-j") != 0)
        return 0;
    int n = argc > 2 ? sq_threads_parse(argv[2]) : 0;
    if (n == 0) {
        fprintf(stderr, "squint: -j wants a thread count from 1 to %d, not '%s'\n", SQ_THREADS_MAX,
                argc > 2 ? argv[2] : "");
        return -1;
    }
    sq_threads_set(n);
    return 2;
}

/* Edit distance of a and b when both are short (more than 2 counts as "far"). */
static int near_words(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > 31 || m > 31)
        return 3;
    int d[32][32];
    for (size_t i = 0; i <= n; i++)
        for (size_t j = 0; j <= m; j++) {
            if (i == 0 || j == 0) {
                d[i][j] = (int)(i + j);
                continue;
            }
            int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            d[i][j] = best;
        }
    return d[n][m];
}

/* `squint lessons` (no such file): a script that does not exist but whose
 * name is one or two letters from a command gets a hint; otherwise (and
 * for every existing file) squint behaves as lua(1). Returns true when it
 * printed the hint. */
static bool command_typo(const char *arg)
{
    if (arg[0] == '-' || strchr(arg, '/') || strchr(arg, '.') || access(arg, F_OK) == 0)
        return false;
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (subcommands[i].name[0] != '-' && near_words(arg, subcommands[i].name) <= 2) {
            fprintf(stderr, "squint: no command or script '%s'; did you mean 'squint %s'? (squint --help lists the"
                            " commands)\n", arg, subcommands[i].name);
            return true;
        }
    return false;
}

int main(int argc, char **argv)
{
    sq_memtune(); /* freed code and scale arrays are reused by the next quantization */
    int j = thread_option(argc, argv);
    if (j < 0)
        return 2;
    if (j > 0) { /* squint -j N COMMAND ...: as if -j N were not there */
        argv[j] = argv[0];
        argv += j;
        argc -= j;
    }
    if (argc >= 2)
        for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
            if (strcmp(argv[1], subcommands[i].name) == 0) {
                if (!subcommands[i].help_ok && sq_help_wanted(argc - 1, argv + 1)) {
                    sq_help_command(stdout, argv[1]);
                    return close_stdout(EXIT_SUCCESS);
                }
                /* a reader that goes away (`| head`) must not kill the run before its files are written:
                 * writes to the pipe fail with EPIPE instead, and the exit status says so */
                signal(SIGPIPE, SIG_IGN);
                return close_stdout(subcommands[i].fn(argc - 1, argv + 1));
            }
    const char *kind = argc >= 2 && argv[1][0] != '-' ? data_file_kind(argv[1]) : NULL;
    if (kind)
        return data_file_given(argv[1], kind);
    if (argc >= 2 && command_typo(argv[1]))
        return 1;
    return close_stdout(sq_repl_main(argc, argv));
}
