/* cmd_diff.h - `squint diff REF OTHER [--map FILE.lua] [--csv OUT|-]
 * [--json OUT|-]`: per-tensor error of one checkpoint against another. */
#ifndef SQ_CMD_DIFF_H
#define SQ_CMD_DIFF_H

/* Run the command; argv[0] is "diff". Tensors are matched by name (OTHER's
 * names through the map's name function when --map is given); each matched
 * pair is loaded (quantized tensors of squint's exports and GGUF block types
 * dequantized), passed through the map's tensor function if any, and compared
 * with sq_diff_stats, REF being the reference. Prints the table (one row per
 * pair, a total row with the SQNR pooled over every compared element, then
 * the names found on one side only) on stdout, notes on stderr. Returns the
 * exit status: 0 ok, 1 an unreadable checkpoint, a map that fails, a pair
 * that could not be compared (shape mismatch, load error) or a failed write,
 * 2 usage, 130 interrupted. */
int sq_cmd_diff(int argc, char **argv);

#include <stddef.h>
#include <stdio.h>

#include "quant.h"

/* `squint report MODEL --activations ACTS`: 0 when ACTS is a readable
 * regular file, else the exit status after a message. */
int sq_cmd_activations_check(const char *acts);

/* The output SQNR section of `report --activations`: for every rank-2 tensor
 * NAME of model whose input activations are in the checkpoint acts, as
 * NAME.input or (NAME ending in .weight) BASE.input, and each of the n
 * configurations, sq_layer_error's output SQNR (no bias; activations [...,
 * in] taken as [tokens, in]), printed on out (the report table's stream) after
 * the weight's own SQNR.
 * Returns 0, or 1 when a checkpoint could not be read or a pair failed
 * (noted on stderr). */
int sq_cmd_report_activations(const char *model, const char *acts, const sq_qconfig *cfg, size_t n, FILE *out);

#endif
