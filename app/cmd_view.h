/* cmd_view.h - command-line entry points that open the panel. */
#ifndef SQ_APP_CMD_VIEW_H
#define SQ_APP_CMD_VIEW_H

/* `squint --demo`: the panel on the demo tensor when stdin and stdout are
 * terminals, otherwise the printed comparison table (app/demo.c). Returns the
 * process exit status. */
int sq_cmd_demo_view(void);

/* `squint --view FILE [TENSOR]` (argv[0] is "--view"): the panel on TENSOR
 * of FILE, on a .npy file, or the tensor list of a safetensors/GGUF
 * checkpoint (Enter opens one). The special names `demo` and `demo-set` are
 * built in. Needs a terminal. Returns the process exit status (2: usage). */
int sq_cmd_view(int argc, char **argv);

#endif
