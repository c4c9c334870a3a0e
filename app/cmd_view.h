/* cmd_view.h - command-line entry points that open the panel. */
#ifndef SQ_APP_CMD_VIEW_H
#define SQ_APP_CMD_VIEW_H

/* `squint --demo`: the panel on the demo tensor when stdin and stdout are
 * terminals, otherwise the printed comparison table (app/demo.c). Returns the
 * process exit status. */
int sq_cmd_demo_view(void);

/* `squint --view FILE [TENSOR]` (argv[0] is FILE). For now only the special
 * names `demo` (the demo tensor) and `demo-set` (a small built-in set of
 * tensors, opening the tensor list) are handled; files need the file-format
 * module. INTEGRATOR: load FILE through the format layer, wrap it in an
 * sq_tui_source and call sq_tui_view_source (or sq_tui_view_tensor when
 * TENSOR is given). Returns the process exit status. */
int sq_cmd_view(int argc, char **argv);

#endif
