/* cmd_info.h - `squint info FILE [NAME]`: list the tensors of a file. */
#ifndef SQ_CMD_INFO_H
#define SQ_CMD_INFO_H

/* Run the info command; argv[0] is "info". Prints to stdout, errors to
 * stderr. Returns the exit status (0 ok, 1 bad file or tensor, 2 usage). */
int sq_cmd_info(int argc, char **argv);

#endif
