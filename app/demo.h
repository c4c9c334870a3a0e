/* demo.h - the printed comparison table of `squint --demo`. */
#ifndef SQ_APP_DEMO_H
#define SQ_APP_DEMO_H

#include <stdio.h>

#include "error.h"
#include "quant.h"
#include "tensor.h"

/* The configurations the demo compares: the seed's four presets, their
 * asymmetric variants, and int4 per-group(32). Returns how many; *out points
 * at a static array. */
size_t sq_demo_configs(const sq_qconfig **out);

/* Print a table comparing every demo configuration on tensor t (its title
 * given by name) to out. Returns SQ_OK or the first engine error. */
sq_status sq_demo_print_table(FILE *out, const sq_tensor *t, const char *name, sq_error *err);

#endif
