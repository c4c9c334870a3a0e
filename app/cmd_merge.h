/* cmd_merge.h - `squint merge OUT.csv SHARD.csv...`: join the CSV files of
 * the shards of one report (`squint report --shard K/N --csv ...`), or
 * their JSON files. */
#ifndef SQ_CMD_MERGE_H
#define SQ_CMD_MERGE_H

/* Run `squint merge OUT.csv SHARD.csv...` (or OUT.json SHARD.json...: by
 * OUT's name, or the first shard's when OUT is "-"); argv[0] is "merge".
 * Writes OUT atomically (sq_report_merge_csv / sq_report_merge_json: the
 * unsharded report's file, totals recomputed exactly). Returns the exit status: 0 ok, 1 a file that cannot
 * be read or written or is not a shard's CSV, 2 usage (also shards that do
 * not make one report: one missing or given twice, different reports). */
int sq_cmd_merge(int argc, char **argv);

#endif
