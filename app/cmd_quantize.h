/* cmd_quantize.h - `squint quantize FILE OUT.safetensors [config options]`. */
#ifndef SQ_CMD_QUANTIZE_H
#define SQ_CMD_QUANTIZE_H

/* Run the quantize command; argv[0] is "quantize". Writes every rank >= 2
 * tensor of FILE quantized (codes, scales, zero points, configuration in
 * `__metadata__`) and the others as they were to OUT, atomically (see
 * sq_report_export). Returns the exit status: 0 ok, 1 unreadable input or
 * failed write, 2 usage, 130 interrupted (nothing written). */
int sq_cmd_quantize(int argc, char **argv);

#endif
