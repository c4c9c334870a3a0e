/* main.c - the squint program: command-line entry point. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_info.h"
#include "cmd_quantize.h"
#include "cmd_report.h"
#include "cmd_view.h"
#include "tensor.h"

static const char usage_text[] =
    "usage: squint [options]\n"
    "       squint info FILE [NAME]\n"
    "       squint report FILE [CONFIG]... [--include RE] [--exclude RE] [--csv OUT] [--json OUT]\n"
    "       squint quantize FILE OUT.safetensors [CONFIG] [--include RE] [--exclude RE]\n"
    "\n"
    "A quantization workbench: see what int8, int4 and friends do to a tensor.\n"
    "\n"
    "options:\n"
    "  --demo       compare quantization configurations on the built-in demo tensor\n"
    "  --version    print the version and exit\n"
    "  --help, -h   print this help and exit\n"
    "\n"
    "CONFIG: --bits N [--mode symmetric|asymmetric] [--granularity tensor|channel|group]\n"
    "  [--group-size N] [--axis N (1-based)] [--rounding away|even] [--zero-in-range];\n"
    "  each further --bits starts a new configuration (report: one column group each).\n"
    "  Rank >= 2 tensors are quantized, the others kept as fp32. RE: POSIX extended regex.\n";

/* Run the demo: the panel on a terminal, else the comparison table
 * (app/cmd_view.c); returns the process exit status. */
static int run_demo(void)
{
    return sq_cmd_demo_view();
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "info") == 0)
        return sq_cmd_info(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "report") == 0)
        return sq_cmd_report(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "quantize") == 0)
        return sq_cmd_quantize(argc - 1, argv + 1);
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("squint %s\n", PACKAGE_VERSION);
        return EXIT_SUCCESS;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(usage_text, stdout);
        return EXIT_SUCCESS;
    }
    if (argc == 2 && strcmp(argv[1], "--demo") == 0)
        return run_demo();
    fprintf(stderr, "squint: unknown or missing arguments%s%s\n%s", argc > 1 ? ": " : "",
            argc > 1 ? argv[1] : "", usage_text);
    return 2;
}
