/* cmd_help.c - the usage texts of squint and of each of its commands,
 * laid out as GNU tools lay theirs out. */
#include "cmd_help.h"

#include <string.h>

#include "repl.h"

/* One command's usage: its names, synopsis and description. */
typedef struct sq_help_entry {
    const char *name;
    const char *alias;
    const char *text;
} sq_help_entry;

#define SQ_HELP_CONFIG                                                                              \
    "Configuration (each further --bits or --format starts a new configuration):\n"                 \
    "  --format NAME         element format: int (default: the options below), llama.cpp's\n"      \
    "                        q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k iq4_nl iq4_xs,\n"   \
    "                        fp8_e4m3 fp8_e5m2 fp4_e2m1 (any --granularity), nf4 (--group-size),\n" \
    "                        mxfp4 mxfp8 nvfp4; a format fixes the other options: giving one\n"   \
    "                        with another value is an error\n"                                     \
    "  --double-quant        nf4: quantize the block absmax values too (bitsandbytes)\n"          \
    "  --bits N              code width, 2 to 8 bits\n"                                             \
    "  --mode MODE           symmetric (default) or asymmetric\n"                                   \
    "  --granularity G       tensor (default), channel or group\n"                                  \
    "  --group-size N        elements per group along the last axis (group only; default 32)\n"     \
    "  --axis N              the per-channel axis, counted from 1 (channel only; default 1)\n"      \
    "  --rounding R          away (half away from zero, default) or even (half to even)\n"          \
    "  --zero-in-range       asymmetric: widen the range to include 0 (PyTorch's rule)\n"          \
    "  --calibration C       range of each scale: minmax (default), mse (clip ratio minimizing\n"  \
    "                        the round-trip error), percentile:P (P-th percentile of |x|),\n"     \
    "                        clip:C (C times the min/max range), kl (TensorRT's entropy\n"          \
    "                        calibration; per tensor or channel); values outside are clipped\n"

#define SQ_HELP_SELECT                                                                              \
    "  --include RE          only tensors whose name matches RE (POSIX extended regex)\n"           \
    "  --exclude RE          leave out tensors whose name matches RE\n"

static const sq_help_entry commands[] = {
    {"demo", "--demo",
     "Usage: squint demo\n"
     "Open the panel on the built-in 256 x 512 demo tensor, a weight-like matrix with three\n"
     "outlier output channels. When standard output is not a terminal, print a table that\n"
     "compares the seed's configurations instead.\n"},
    {"view", "--view",
     "Usage: squint view FILE [TENSOR]\n"
     "Open the panel on a .npy file, on one TENSOR of a safetensors or GGUF checkpoint, or on\n"
     "the list of a checkpoint's tensors (SQNR per tensor; Enter opens one). Keys: ? in the\n"
     "panel; man squint lists them all.\n"},
    {"info", NULL,
     "Usage: squint info FILE [NAME]\n"
     "List the tensors of FILE (.npy, safetensors, GGUF): name, dtype, shape and bytes, and\n"
     "for GGUF its metadata. With NAME, also that tensor's minimum, maximum, mean, standard\n"
     "deviation and count of non-finite values.\n"},
    {"report", NULL,
     "Usage: squint report FILE [CONFIG]... [OPTION]...\n"
     "One row per tensor of a safetensors or GGUF checkpoint FILE: tensors of rank 2 or more\n"
     "are quantized with each CONFIG, the others kept as fp32. Columns per configuration:\n"
     "SQNR, RMSE, max |err|, exact median and 95th percentile of |err|, bytes after and bits\n"
     "per weight; then a total row per configuration. Ctrl-C stops between tensors, prints\n"
     "the rows done so far and exits with status 130.\n"
     "\n" SQ_HELP_CONFIG "\n"
     "Options:\n" SQ_HELP_SELECT
     "  --csv OUT             also write the rows as CSV to OUT (-: standard output, the table then\n"
     "                        on standard error; config_index counts the configurations from 1)\n"
     "  --json OUT            also write the rows as JSON to OUT (-: standard output, the table then\n"
     "                        on standard error)\n"
     "  --plot OUT            draw SQNR against bits per weight per tensor (OUT.png or OUT.svg)\n"
     "  --activations ACTS    also the output SQNR of each weight W whose input X is in ACTS\n"
     "                        (as W's name + .input, or without .weight), X W^T in double\n"
     "  --scale-dtype T       size (and round) scales as f16, f32 or f64 (default) as quantize\n"
     "  --shard K/N           only every N-th selected tensor from the K-th (1-based); join the\n"
     "                        shards' --csv or --json files with squint merge\n"
     "\n"
     "Example: squint report model.safetensors --bits 8 --bits 4 --granularity group\n"
     "         squint report model.safetensors --format q4_k --format nf4 --format fp8_e4m3\n"},
    {"merge", NULL,
     "Usage: squint merge OUT.csv SHARD.csv...\n"
     "   or: squint merge OUT.json SHARD.json...\n"
     "Join the CSV (or JSON) files of the N shards of one report (squint report --shard K/N\n"
     "--csv SHARD.csv, K = 1..N, same file, filters and configurations) into OUT: the rows in\n"
     "the unsharded order and the totals recomputed from them exactly (pooled sums of x^2\n"
     "and e^2, sizes, counts), so OUT is byte for byte the unsharded report's file. There\n"
     "is no pooled median or p95 (the report gives those per tensor only). A shard missing\n"
     "or given twice, or shards of different reports, is an error and nothing is written.\n"
     "OUT is written atomically (- for standard output, in the shards' format).\n"
     "\n"
     "Example: squint merge all.csv part1.csv part2.csv part3.csv\n"},
    {"quantize", NULL,
     "Usage: squint quantize FILE OUT.safetensors [CONFIG] [OPTION]...\n"
     "   or: squint quantize FILE OUT.gguf --format TYPE\n"
     "Write the selected tensors of rank 2 or more of the checkpoint FILE quantized with CONFIG\n"
     "(codes, scales, asymmetric zero points, configuration; for a --format its bytes as U8,\n"
     "fp32 scales where they live outside them) to OUT.safetensors, and copy\n"
     "every other tensor byte for byte (excluded ones too), streaming one tensor at a time.\n"
     "The result reloads exactly: sq.open(OUT):qtensor(NAME) in Lua.\n"
     "\n" SQ_HELP_CONFIG "\n"
     "Options:\n" SQ_HELP_SELECT
     "  --scale-dtype T       store INT scales as f16 (default), f32 or f64\n"
     "  --format TYPE         for OUT.gguf: q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k\n"
     "                        iq4_nl iq4_xs mxfp4 (llama.cpp's bytes), f16, bf16 or f32\n"
     "\n"
     "Example: squint quantize model.safetensors model-q4.safetensors --bits 4 --granularity group\n"
     "         squint quantize model.safetensors model-nf4.safetensors --format nf4 --double-quant\n"},
    {"diff", NULL,
     "Usage: squint diff REF OTHER [OPTION]...\n"
     "Compare two checkpoints (safetensors, GGUF, sharded sets, squint's quantized exports)\n"
     "tensor by tensor, matched by name, REF being the reference: SQNR, RMSE, max |err|, exact\n"
     "median and 95th percentile of |err| and cosine per pair, then a total row (SQNR pooled\n"
     "over every compared element) and the names found on one side only. Quantized tensors\n"
     "are dequantized; a pair whose shapes differ is a row saying so. Exit status 1 when a\n"
     "pair could not be compared.\n"
     "\n"
     "Options:\n"
     "  --map FILE.lua        rename (and transform) OTHER's tensors: FILE.lua returns\n"
     "                        function(name, meta) -> new name or nil (dropped), or a table\n"
     "                        {name = that function, tensor = function(name, t, meta) -> t}\n"
     "  --csv OUT             also write the rows as CSV to OUT (- for standard output; the table\n"
     "                        then goes to standard error)\n"
     "  --json OUT            also write the rows as JSON to OUT (- for standard output; likewise)\n"
     "\n"
     "Example: squint diff model.safetensors model-q4_k.gguf --map scripts/maps/llama_gguf.lua\n"},
    {"lesson", NULL,
     "Usage: squint lesson [N | FILE.lua]\n"
     "Without an argument, list the lessons; with a number, run that lesson: pages of text,\n"
     "the panel on a tensor prepared to show the point (with the keys to try), then a\n"
     "question whose answer shows on Enter. FILE.lua runs a lesson of your own, written\n"
     "with the API described in lesson.lua beside the lessons. In the REPL: sq.lesson(N).\n"
     "SQUINT_LESSONS names another folder of lessons.\n"},
    {"help", NULL,
     "Usage: squint help [COMMAND]\n"
     "Print the usage of squint, or of COMMAND (demo, view, info, report, merge, quantize, diff,\n"
     "lesson).\n"},
};

void sq_help_program(FILE *out)
{
    fputs("Usage: squint [-j N] COMMAND [ARG]...\n"
          "  or:  squint [OPTION]... [SCRIPT [ARG]...]\n"
          "See what quantization does to a tensor: load weights, try bit widths, ranges and\n"
          "scale granularities, and look at the round-trip error.\n"
          "\n"
          "Commands:\n"
          "  demo                  the panel on the built-in demo tensor\n"
          "  view FILE [TENSOR]    the panel on a tensor or a whole checkpoint\n"
          "  info FILE [NAME]      list a file's tensors (NAME: with statistics)\n"
          "  report FILE [CONFIG]...  per-tensor error and size of each configuration\n"
          "  merge OUT.csv SHARD.csv...  join the CSV (or JSON) files of report --shard runs\n"
          "  quantize FILE OUT.safetensors [CONFIG]  write the quantized checkpoint\n"
          "  diff REF OTHER        per-tensor error of one checkpoint against another\n"
          "  lesson [N | FILE.lua]  list or run a guided lesson on quantization\n"
          "  help [COMMAND]        this help, or one command's\n"
          "'squint COMMAND --help' describes one command.\n"
          "\n"
          "Without a command squint is a Lua 5.4 interpreter, as lua(1), with the squint\n"
          "module as the global `sq`:\n",
          out);
    sq_repl_usage(out);
    fputs("\n"
          "Other options:\n"
          "  -j N                  (first) use N threads; default: SQUINT_THREADS, else the cores\n"
          "  --demo, --view        the same as the commands demo and view\n"
          "  -h, --help            print this help and exit\n"
          "      --version         print the version and exit\n"
          "\n"
          "Environment: XDG_STATE_HOME or HOME (REPL history), LANG/LC_ALL (UTF-8 glyphs),\n"
          "SQUINT_LESSONS (a folder of lessons), SQUINT_THREADS (threads, as -j).\n"
          "Exit status: 0 on success, 1 on a file or processing error, 2 on a usage error,\n"
          "130 when interrupted.\n"
          "Full documentation: man squint\n",
          out);
}

/* The entry of command name or alias; NULL when unknown. */
static const sq_help_entry *help_find(const char *command)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(command, commands[i].name) == 0 ||
            (commands[i].alias && strcmp(command, commands[i].alias) == 0))
            return &commands[i];
    return NULL;
}

bool sq_help_command(FILE *out, const char *command)
{
    const sq_help_entry *e = help_find(command);
    if (!e)
        return false;
    fputs(e->text, out);
    return true;
}

bool sq_help_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

int sq_cmd_help(int argc, char **argv)
{
    (void)argv;
    if (argc == 1) {
        sq_help_program(stdout);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
        return sq_help_command(stdout, "help") ? 0 : 2; /* `squint help --help`, as every command */
    if (argc == 2 && sq_help_command(stdout, argv[1]))
        return 0;
    if (argc > 2)
        fprintf(stderr, "squint help: one command at most\n");
    else
        fprintf(stderr, "squint help: no command '%s' (commands: demo, view, info, report, merge, quantize, diff, lesson, help)\n",
                argv[1]);
    return 2;
}
