/* cmd_help.h - `squint --help`, `squint help [COMMAND]` and `squint COMMAND
 * --help`: the usage texts of the program and of each command. */
#ifndef SQ_CMD_HELP_H
#define SQ_CMD_HELP_H

#include <stdbool.h>
#include <stdio.h>

/* Print the program's usage (commands, Lua options, environment) to out. */
void sq_help_program(FILE *out);

/* Print the usage of command (e.g. "report"; "--view" and "view" are the
 * same) to out. Returns false, printing nothing, for an unknown command. */
bool sq_help_command(FILE *out, const char *command);

/* Whether argv[1..argc) asks for help: "--help" or "-h" before any "--". */
bool sq_help_wanted(int argc, char **argv);

/* `squint help [COMMAND]`: argv[0] is "help". Returns the exit status: 0, or
 * 2 for an unknown command (with a message on stderr). */
int sq_cmd_help(int argc, char **argv);

#endif
