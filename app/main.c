/* main.c - the squint program: subcommands, then Lua (like lua(1)).
 *
 * `squint --demo | --version | --help` and the subcommands in the table below
 * are handled here; everything else (scripts, -e, -l, -i, -v, the REPL) goes
 * to the Lua interpreter in repl.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"
#include "repl.h"
#include "tensor.h"

/* A subcommand: argv[1] equal to name runs fn(argc - 1, argv + 1) and its
 * result is the exit status. */
typedef struct sq_subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
} sq_subcommand;

static int cmd_demo(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

/* ---- subcommand table ----------------------------------------------------
 * Other parts plug in here (declare the function, add a row):
 *   info FILE  -> int sq_cmd_info(int argc, char **argv) from app/cmd_info.c
 *   --view     -> the TUI's entry point
 */
static const sq_subcommand subcommands[] = {
    {"--demo", cmd_demo, "compare quantization configurations on the built-in demo tensor"},
    /* {"info", sq_cmd_info, "describe the tensors in a file"},          (app/cmd_info.c) */
    /* {"--view", sq_cmd_view, "browse a tensor interactively"},          (TUI) */
    {"--version", cmd_version, "print the version and exit"},
    {"--help", cmd_help, "print this help and exit"},
    {"-h", cmd_help, NULL},
};

/* Run the demo comparison; returns the process exit status. */
static int cmd_demo(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "squint: --demo takes no arguments\n");
        return 2;
    }
    sq_tensor *t;
    sq_error err;
    if (sq_tensor_demo(&t, &err) != SQ_OK) {
        fprintf(stderr, "squint: %s\n", err.msg);
        return EXIT_FAILURE;
    }
    sq_status st = sq_demo_print_table(stdout, t, "demo", &err);
    sq_tensor_free(t);
    if (st != SQ_OK) {
        fprintf(stderr, "squint: %s\n", err.msg);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

/* Print "squint VERSION". */
static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("squint %s\n", PACKAGE_VERSION);
    return EXIT_SUCCESS;
}

/* Print the usage: subcommands, then the interpreter's options. */
static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("usage: squint [--demo | --version | --help]\n"
          "       squint [options] [script [args]]\n"
          "\n"
          "A quantization workbench: see what int8, int4 and friends do to a tensor.\n"
          "\n",
          stdout);
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (subcommands[i].help)
            printf("  %-34s %s\n", subcommands[i].name, subcommands[i].help);
    sq_repl_usage(stdout);
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    if (argc >= 2)
        for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
            if (strcmp(argv[1], subcommands[i].name) == 0)
                return subcommands[i].fn(argc - 1, argv + 1);
    return sq_repl_main(argc, argv);
}
