/* main.c - the squint program: subcommands, then Lua (like lua(1)).
 *
 * `squint --demo | --version | --help` and the subcommands in the table below
 * are handled here; everything else (scripts, -e, -l, -i, -v, the REPL) goes
 * to the Lua interpreter in repl.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    const char *help;
} sq_subcommand;

static int cmd_demo(int argc, char **argv);
static int cmd_version(int argc, char **argv);
static int cmd_help(int argc, char **argv);

/* ---- subcommand table ----------------------------------------------------
 * Other parts plug in here: declare the function, add a row. */
static const sq_subcommand subcommands[] = {
    {"--demo", cmd_demo, "the panel on the built-in demo tensor (a comparison table without a terminal)"},
    {"--view", sq_cmd_view, "FILE [TENSOR]: the panel on a tensor or a whole checkpoint"},
    {"info", sq_cmd_info, "FILE [NAME]: list a file's tensors (NAME: with statistics)"},
    {"report", sq_cmd_report, "FILE [CONFIG]... [--include RE] [--exclude RE] [--csv OUT] [--json OUT]"},
    {"quantize", sq_cmd_quantize,
     "FILE OUT.safetensors [CONFIG] [--scale-dtype f16|f32|f64] [--include RE] [--exclude RE]: export the selected "
     "rank >= 2 tensors quantized, every other tensor copied as is"},
    {"--version", cmd_version, "print the version and exit"},
    {"--help", cmd_help, "print this help and exit"},
    {"-h", cmd_help, NULL},
};

/* The demo: the panel on a terminal, else the comparison table. */
static int cmd_demo(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fprintf(stderr, "squint: --demo takes no arguments\n");
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

/* Print the usage: subcommands, then the interpreter's options. */
static int cmd_help(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("usage: squint [--demo | --view FILE [TENSOR] | info | report | quantize ... | --version | --help]\n"
          "       squint [options] [script [args]]\n"
          "\n"
          "A quantization workbench: see what int8, int4 and friends do to a tensor.\n"
          "\n",
          stdout);
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (subcommands[i].help)
            printf("  %-34s %s\n", subcommands[i].name, subcommands[i].help);
    fputs("\nCONFIG: --bits N [--mode symmetric|asymmetric] [--granularity tensor|channel|group]\n"
          "  [--group-size N] [--axis N (1-based)] [--rounding away|even] [--zero-in-range];\n"
          "  each further --bits starts a new configuration (report: one column group each).\n"
          "  Rank >= 2 tensors are quantized, the others kept as fp32. RE: POSIX extended regex.\n\n",
          stdout);
    sq_repl_usage(stdout);
    return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
    sq_memtune(); /* freed code and scale arrays are reused by the next quantization */
    if (argc >= 2)
        for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
            if (strcmp(argv[1], subcommands[i].name) == 0)
                return subcommands[i].fn(argc - 1, argv + 1);
    return sq_repl_main(argc, argv);
}
