/* lsquint_help.c - sq.help: one entry per module function and per method of
 * the userdata types, each with a signature, a one-line description, details
 * (the configuration keys for the functions that take one, generated from
 * the engine's defaults and format table so they stay true) and an example
 * that runs on small data (tests/lua/test_help.lua runs every one). The
 * module table's __tostring is the grouped list, so typing `sq` in the REPL
 * prints it. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "lsquint.h"
#include "lsquint_int.h"
#include "quant.h"

/* The example opens the terminal (the panel): tests only compile it. */
#define HELP_INTERACTIVE 1
/* Details end with the configuration keys. */
#define HELP_CONFIG 2

typedef struct help_entry {
    const char *name;    /* "quantize" for sq.quantize, "q:stats" for a method (see help_types) */
    const char *group;   /* heading it is listed under */
    const char *sig;     /* the call and what it returns */
    const char *line;    /* one line */
    const char *more;    /* details, or NULL */
    const char *example; /* Lua code; runs on small data */
    int flags;
} help_entry;

/* The method prefixes of entry names and the types they stand for. */
static const struct {
    const char *prefix, *alias, *tname, *what;
} help_types[] = {
    {"t", "tensor", SQ_LUA_TENSOR, "tensor t"},
    {"q", "qtensor", SQ_LUA_QTENSOR, "quantized tensor q"},
    {"lin", "linear", SQ_LUA_LINEAR, "layer lin"},
    {"ql", "qlinear", SQ_LUA_QLINEAR, "quantized layer ql"},
    {"ck", "checkpoint", SQ_LUA_CHECKPOINT, "checkpoint ck"},
};
#define HELP_NTYPES (sizeof help_types / sizeof help_types[0])

#define G_TENSOR "Making tensors"
#define G_QUANT "Quantizing"
#define G_MEASURE "Measuring error"
#define G_LAYER "Layers"
#define G_FILE "Files and checkpoints"
#define G_OUT "Tables, output and the rest"

static const help_entry help_entries[] = {
    /* ---- module functions ---- */
    {"tensor", G_TENSOR, "sq.tensor(values) -> t", "a float32 tensor from nested tables (or one number: a scalar)",
     "values: a number, {1, 2, 3} (shape [3]) or {{1, 2}, {3, 4}} (shape [2, 2]); every row of one length.",
     "local t = sq.tensor{{1, 2, 3}, {4, 5, 6}}\nprint(t, t.shape[1], t:get(2, 3))", 0},
    {"randn", G_TENSOR, "sq.randn(shape [, seed]) -> t", "a tensor of N(0, 1) values (seeded, reproducible)",
     "shape: {rows, cols, ...}; seed: an integer (default 0); the same seed gives the same values.",
     "local t = sq.randn({4, 8}, 42)\nprint(t:mean(), t:std())", 0},
    {"zeros", G_TENSOR, "sq.zeros(shape) -> t", "a tensor of zeros", NULL,
     "print(sq.zeros{2, 3})", 0},
    {"demo", G_TENSOR, "sq.demo() -> t", "the built-in 256 x 512 demo weight (outlier channels included)", NULL,
     "local t = sq.demo()\nprint(t.shape[1], t.shape[2], t:max())", 0},
    {"quantize", G_QUANT, "sq.quantize(t [, cfg]) -> q", "quantize a tensor with a configuration table",
     "q keeps t as its source, so q:stats() and q:histogram() measure the round trip.\n"
     "Fields: q.config (the configuration, axis 1-based), q.shape, q.ndim, q.dtype, q.bits.",
     "local t = sq.randn({8, 64}, 1)\n"
     "local q = sq.quantize(t, {bits = 4, granularity = \"group\", group_size = 32})\n"
     "print(q, q:stats().sqnr_db)",
     HELP_CONFIG},
    {"quantize_named", G_QUANT, "sq.quantize_named(tensors [, cfg]) -> {name = q}",
     "quantize every tensor of rank >= 2 of a {name = tensor} table or a checkpoint",
     "Tensors of rank 0 or 1 (biases, norms) are skipped, as the seed does.",
     "local qs = sq.quantize_named({w = sq.randn({4, 8}, 1), b = sq.zeros{4}}, {bits = 4})\n"
     "print(qs.w, qs.b)",
     HELP_CONFIG},
    {"quantize_linear", G_LAYER, "sq.quantize_linear(lin [, cfg]) -> ql",
     "quantize a layer's weight; ql:forward multiplies with the packed codes", NULL,
     "local ql = sq.quantize_linear(sq.linear(8, 4, 1), {bits = 4, granularity = \"channel\"})\n"
     "print(ql, ql:memory_savings_bytes())",
     HELP_CONFIG},
    {"linear", G_LAYER, "sq.linear(W [, b]) | sq.linear(in, out [, seed [, with_bias]]) -> lin",
     "a linear layer y = x W^T + b, from a weight [out, in] or initialised as PyTorch does",
     "with_bias defaults to true. Fields: lin.in_features, lin.out_features, lin.weight, lin.bias.",
     "local lin = sq.linear(8, 4, 1)\nprint(lin, lin:forward(sq.randn({2, 8}, 2)))", 0},
    {"compare", G_MEASURE, "sq.compare(t, {cfg, ...} | cfg) -> rows",
     "quantize t with each configuration and tabulate the error and size figures",
     "Each row: config, bits, mode, granularity, sqnr_db, rmse, max_abs_err, mean_abs_err, cosine,\n"
     "clipped, bytes, ratio, bits_per_weight (the q:stats() figures). The rows print as an aligned table\n"
     "and sq.write_csv writes them.",
     "local t = sq.randn({16, 64}, 3)\n"
     "print(sq.compare(t, {{bits = 8}, {bits = 4}, {bits = 4, granularity = \"group\", group_size = 16}}))",
     HELP_CONFIG},
    {"model_stats", G_MEASURE, "sq.model_stats(tensors [, cfg]) -> {num_quantized, num_fp32, fp32_bytes, quantized_bytes, compression_ratio}",
     "the seed's model statistics over a {name = tensor} table or a checkpoint",
     "The seed's accounting: packed codes plus 16 bytes per scale (q:stats().seed_meta_bytes);\n"
     "tensors of rank < 2 count as fp32.",
     "local ms = sq.model_stats({w = sq.randn({4, 8}, 1), b = sq.zeros{4}}, {bits = 4})\n"
     "print(ms.num_quantized, ms.compression_ratio)",
     HELP_CONFIG},
    {"diff", G_MEASURE, "sq.diff(ref, other) -> {sqnr_db, rmse, max_abs_err, ...}",
     "compare two tensors of one shape, ref the reference",
     "Fields: sqnr_db, rmse, max_abs_err, mean_abs_err, median_abs_err, p95_abs_err, cosine, mse,\n"
     "err_min, err_max, numel, max_index (1-based flat index of the largest |error|), and\n"
     "d:histogram([bins [, lo, hi]]) of the error.",
     "local a = sq.randn({4, 16}, 1)\n"
     "local d = sq.diff(a, sq.quantize(a, {bits = 4}):dequantize())\n"
     "print(d.sqnr_db, d.max_abs_err, d.max_index)",
     0},
    {"layer_error", G_MEASURE, "sq.layer_error(W, X, cfg [, b [, act]]) -> {sqnr_db, ..., weight = {...}, input = {...}}",
     "a linear layer's output error when its weight (and optionally its input) is quantized",
     "Compares Y = X W^T + b with Xq Wq^T + b; W is [out, in], X is [tokens, in] or [in].\n"
     "act: a configuration for the input, with granularity \"token\" (one range per row of X)\n"
     "or \"tensor\" (default). weight and input hold the same figures for W and X;\n"
     "also tokens, in_features, out_features, input_quantized.",
     "local W, X = sq.randn({8, 16}, 1), sq.randn({4, 16}, 2)\n"
     "local r = sq.layer_error(W, X, {bits = 4})\n"
     "print(r.sqnr_db, r.weight.sqnr_db)\n"
     "print(sq.layer_error(W, X, {bits = 4}, nil, {bits = 8, granularity = \"token\"}).sqnr_db)",
     HELP_CONFIG},
    {"take_rows", G_TENSOR, "sq.take_rows(t, idx) -> t2", "a new tensor whose row r is t's row idx[r] (1-based)",
     "Rows are along the first axis; #idx rows. Undoes a converter's row permutation (squint diff --map).",
     "print(sq.take_rows(sq.tensor{{1, 2}, {3, 4}, {5, 6}}, {3, 1}))", 0},
    {"formats", G_QUANT, "sq.formats() -> rows", "the element formats a configuration's format key accepts",
     "One row per format: name, kind (int, block, element), block, bits, bits_per_weight, scales.",
     "print(sq.formats())", 0},
    {"load", G_FILE, "sq.load(path [, name]) -> t | nil, message",
     "read a .npy file, or one tensor of a safetensors or GGUF file",
     "name picks the tensor of a checkpoint (default: its only tensor). A missing or malformed file\n"
     "returns nil and a message.",
     "local path = \"sq_example.npy\"\n"
     "assert(sq.randn({2, 3}, 1):save(path))\n"
     "print(sq.load(path))\nos.remove(path)",
     0},
    {"open", G_FILE, "sq.open(path) -> ck | nil, message",
     "open a safetensors or GGUF checkpoint; tensors load one at a time",
     "#ck is the tensor count; fields ck.format, ck.path; sq.help(\"ck:names\") and the other ck: methods.",
     "local path = \"sq_example.safetensors\"\n"
     "assert(sq.randn({4, 8}, 1):save(path, \"w\"))\n"
     "local ck = sq.open(path)\nprint(ck, #ck, ck:names()[1])\nck:close()\nos.remove(path)",
     0},
    {"report", G_FILE, "sq.report(ck | path, cfg | {cfg, ...} [, opts]) -> rows | nil, message",
     "squint report from Lua: one row per (tensor, configuration) with rows.totals per configuration",
     "opts: include, exclude (POSIX extended regexes on names), csv, json (paths written atomically).\n"
     "Each row: name, shape, dtype, quantized, config, config_index, status, numel, fp32_bytes,\n"
     "file_bytes, bytes (= size_bytes: codes + f64 scales + zero points, as q:stats().bytes),\n"
     "code_bytes, meta_bytes, bits_per_weight, sqnr_db, rmse, max_abs_err, median_abs_err,\n"
     "p95_abs_err, note. Ctrl-C stops between tensors and returns the rows done, with\n"
     "rows.interrupted = true.",
     "local path = \"sq_example.safetensors\"\n"
     "assert(sq.randn({8, 32}, 1):save(path, \"w\"))\n"
     "local rows = sq.report(path, {{bits = 8}, {bits = 4}})\n"
     "print(rows[2].config, rows[2].sqnr_db, rows.totals[2].quantized_bytes)\nos.remove(path)",
     HELP_CONFIG},
    {"view", G_FILE, "sq.view(x [, cfg | source | b] [, {note = text}])",
     "open the full-screen panel on a tensor, quantized tensor, checkpoint or a pair of tensors",
     "Returns when you leave with q. For a quantized tensor the second argument is the source to\n"
     "measure against (default: the tensor it was made from). sq.view(a, b) with two tensors of one\n"
     "shape compares b against the reference a (the figures of sq.diff(a, b), both value histograms\n"
     "and the error histogram). Needs a terminal.",
     "sq.view(sq.randn({64, 64}, 1), {bits = 4})", HELP_INTERACTIVE | HELP_CONFIG},
    {"write_csv", G_OUT, "sq.write_csv(rows, path [, columns]) -> true | nil, message",
     "write an array of row tables as CSV (atomically)",
     "Columns: the argument, else the rows' metatable columns (sq.compare's), else the sorted keys.\n"
     "Numbers are written with 17 significant digits.",
     "local path = \"sq_example.csv\"\n"
     "assert(sq.write_csv(sq.compare(sq.randn({4, 8}, 1), {{bits = 8}}), path))\n"
     "print(io.open(path):read(\"l\"))\nos.remove(path)",
     0},
    {"write_json", G_OUT, "sq.write_json(value, path) -> true | nil, message",
     "write a Lua value as indented JSON with sorted keys (atomically)", NULL,
     "local path = \"sq_example.json\"\nassert(sq.write_json({bits = 4, sqnr = 20.5}, path))\nos.remove(path)", 0},
    {"plot", G_OUT, "sq.plot(t | q, path [, opts]) | sq.plot(t, {cfg, ...} | cfg, path [, opts]) -> true | nil, message",
     "draw a chart as .png or .svg",
     "A tensor: the histogram of its values; a quantized tensor: the histogram of its error;\n"
     "a tensor and configurations: SQNR against bits per weight.\n"
     "opts: title, subtitle, xlabel, bins, log (boolean) for histograms; source for a quantized\n"
     "tensor's; title and subtitle for configurations (any other key is an error).",
     "local path = \"sq_example.svg\"\n"
     "assert(sq.plot(sq.randn({32, 32}, 1), {{bits = 8}, {bits = 4}}, path))\nos.remove(path)",
     HELP_CONFIG},
    {"threads", G_OUT, "sq.threads([n]) -> count", "set the engine's thread count (n <= 0: the default) and return it",
     "The default comes from SQUINT_THREADS, else the number of cores; at most 64.",
     "print(sq.threads())", 0},
    {"lesson", G_OUT, "sq.lesson([n | path]) -> status", "list the lessons, or run lesson n (or your own file)",
     NULL, "sq.lesson()", 0},
    {"now", G_OUT, "sq.now() -> seconds", "a monotonic clock in seconds, for timing", NULL,
     "local t0 = sq.now()\nsq.quantize(sq.randn({64, 64}, 1), {bits = 4})\nprint(sq.now() - t0)", 0},
    {"help", G_OUT, "sq.help([what [, how]])", "this help: the list, or one function or method in full",
     "what: a function (sq.help(sq.quantize)), a name (\"quantize\", \"q:stats\", \"tensor:save\",\n"
     "a bare method name such as \"stats\"), or a tensor / quantized tensor / layer / checkpoint\n"
     "(its methods). how: \"text\" returns the text instead of printing it, \"example\" the example's\n"
     "code; sq.help(nil, \"names\") returns every entry's name. Typing sq in the REPL prints the list.",
     "sq.help(\"quantize\")\nprint(#sq.help(sq.randn, \"text\") > 0)", 0},

    /* ---- tensor methods ---- */
    {"t:numel", NULL, "t:numel() -> n", "the element count (#t is the first dimension)", NULL,
     "print(sq.zeros{2, 3}:numel())", 0},
    {"t:get", NULL, "t:get(i, j, ...) -> value", "the element at 1-based indices, one per dimension", NULL,
     "print(sq.tensor{{1, 2}, {3, 4}}:get(2, 1))", 0},
    {"t:min", NULL, "t:min() -> value", "the smallest value", NULL, "print(sq.tensor{3, -1, 2}:min())", 0},
    {"t:max", NULL, "t:max() -> value", "the largest value", NULL, "print(sq.tensor{3, -1, 2}:max())", 0},
    {"t:mean", NULL, "t:mean() -> value", "the mean of the values", NULL, "print(sq.tensor{1, 2, 6}:mean())", 0},
    {"t:std", NULL, "t:std() -> value", "the population standard deviation", NULL,
     "print(sq.tensor{1, 2, 6}:std())", 0},
    {"t:totable", NULL, "t:totable() -> nested tables", "the values as nested Lua tables (a number for a scalar)",
     NULL, "print(#sq.randn({2, 3}, 1):totable()[1])", 0},
    {"t:save", NULL, "t:save(path [, name]) -> true | nil, message",
     "write the tensor as .npy or .safetensors (from the extension; name: the safetensors entry)", NULL,
     "local path = \"sq_example.npy\"\nassert(sq.randn({2, 2}, 1):save(path))\nos.remove(path)", 0},

    /* ---- quantized tensor methods ---- */
    {"q:dequantize", NULL, "q:dequantize() -> t", "the dequantized tensor, (code - zp) * scale as float32", NULL,
     "local q = sq.quantize(sq.tensor{1, -0.5, 0.25}, {bits = 4})\nprint(q:dequantize())", 0},
    {"q:codes", NULL, "q:codes() -> t", "the signed integer codes as a tensor (dtype i8)", NULL,
     "print(sq.quantize(sq.tensor{1, -0.5, 0.25}, {bits = 4}):codes())", 0},
    {"q:scales", NULL, "q:scales() -> {scale, ...}", "the scales (one per tensor, channel or group), exact doubles",
     NULL, "print(#sq.quantize(sq.randn({4, 8}, 1), {granularity = \"channel\"}):scales())", 0},
    {"q:zero_points", NULL, "q:zero_points() -> {zp, ...}", "the zero points (0 when symmetric)", NULL,
     "print(sq.quantize(sq.tensor{0, 1, 3}, {mode = \"asymmetric\"}):zero_points()[1])", 0},
    {"q:stats", NULL, "q:stats() -> {sqnr_db, rmse, ..., bytes, bits_per_weight, ratio, ...}",
     "round-trip error and size figures against the source tensor",
     "Error: mse, rmse, max_abs_err, mean_abs_err, sqnr_db, cosine, err_min, err_max, clipped,\n"
     "clipped_frac, numel, fp32_bytes.\n"
     "Size, one accounting (the same as squint quantize's file, squint report and sq.compare):\n"
     "  bytes            codes + scales in scale_dtype + zero points (asymmetric) as stored\n"
     "  bits_per_weight  8 * bytes / numel\n"
     "  ratio            4 * numel / bytes\n"
     "  scale_dtype      the precision the scales are counted (and kept) in: the config's\n"
     "                   scale_dtype (default f64); squint quantize stores f16 unless --scale-dtype\n"
     "The seed's figures: seed_size_bytes (packed codes), seed_ratio (4 * numel / seed_size_bytes),\n"
     "seed_meta_bytes (16 per scale); bits_per_weight_f16: GGUF-style, 16-bit scales and zero points.",
     "local q = sq.quantize(sq.randn({8, 64}, 1), {bits = 4, granularity = \"group\", group_size = 32})\n"
     "local s = q:stats()\nprint(s.sqnr_db, s.bytes, s.bits_per_weight, s.ratio)",
     0},
    {"q:histogram", NULL, "q:histogram([bins [, range]]) -> {edges, counts, below, above}",
     "histogram of the round-trip error",
     "bins: 1..65536 (default 64). range:\n"
     "  \"step\"  [-B, B], B = the largest |s| * (1/2 + span * 2^-23) over the scales s (zero points z),\n"
     "          span = max(|qmin - z|, |qmax - z|): half a step plus float32 rounding of the dequantized\n"
     "          value; errors beyond it (clipped values) land in below/above (formats other than INT: as \"data\")\n"
     "  \"data\"  [-m, m], m = max|err| (1 when every error is 0)\n"
     "  \"auto\"  (default) \"step\" when every error lies within it (so for INT with minmax\n"
     "          calibration unless a scale is below 1e-30), else \"data\"; below and above are then 0.\n"
     "          sq.quantize bins the default 64-bin histogram in its fused pass when it is \"step\",\n"
     "          so q:histogram() then costs nothing.",
     "local h = sq.quantize(sq.randn({8, 64}, 1), {bits = 4}):histogram(8)\nprint(#h.counts, h.edges[1])", 0},
    {"q:code_histogram", NULL, "q:code_histogram() -> {[code] = count}",
     "how often each code level -2^(bits-1) .. 2^(bits-1)-1 is used", NULL,
     "local h = sq.quantize(sq.randn({8, 64}, 1), {bits = 3}):code_histogram()\nprint(h[0], h[-4])", 0},
    {"q:size_bytes", NULL, "q:size_bytes() -> n", "the seed's size: packed code bytes only (q:stats().bytes adds scales)",
     NULL, "print(sq.quantize(sq.randn({4, 8}, 1), {bits = 4}):size_bytes())", 0},
    {"q:compression_ratio", NULL, "q:compression_ratio() -> x",
     "the seed's ratio 4 * numel / size_bytes (q:stats().ratio counts scales too)", NULL,
     "print(sq.quantize(sq.randn({4, 8}, 1), {bits = 4}):compression_ratio())", 0},
    {"q:numel", NULL, "q:numel() -> n", "the element count", NULL,
     "print(sq.quantize(sq.zeros{2, 3}):numel())", 0},
    {"q:save", NULL, "q:save(path [, name]) -> true | nil, message",
     "write codes, scales, zero points and configuration to .safetensors",
     "sq.open(path):qtensor(name) reloads it exactly; name defaults to \"tensor\".",
     "local path = \"sq_example.safetensors\"\n"
     "assert(sq.quantize(sq.randn({4, 8}, 1), {bits = 4}):save(path, \"w\"))\nos.remove(path)",
     0},

    /* ---- layers ---- */
    {"lin:forward", NULL, "lin:forward(x) -> y", "y = x W^T + b for x of shape [in] or [n, in]", NULL,
     "print(sq.linear(4, 2, 1):forward(sq.randn({3, 4}, 2)))", 0},
    {"lin:parameters", NULL, "lin:parameters() -> {weight = t, bias = t}", "copies of the weight and bias", NULL,
     "print(sq.linear(4, 2, 1):parameters().weight)", 0},
    {"ql:forward", NULL, "ql:forward(x) -> y", "the layer's output with the quantized weight", NULL,
     "local ql = sq.quantize_linear(sq.linear(4, 2, 1), {bits = 4})\nprint(ql:forward(sq.randn({3, 4}, 2)))", 0},
    {"ql:memory_savings_bytes", NULL, "ql:memory_savings_bytes() -> n",
     "the seed's saving: 4 * weight elements - packed code bytes", NULL,
     "print(sq.quantize_linear(sq.linear(64, 32, 1), {bits = 4}):memory_savings_bytes())", 0},
    {"ql:parameters", NULL, "ql:parameters() -> {}", "none: a quantized layer has no trainable parameters", NULL,
     "print(next(sq.quantize_linear(sq.linear(4, 2, 1)):parameters()))", 0},

    /* ---- checkpoints ---- */
    {"ck:names", NULL, "ck:names() -> {name, ...}", "the tensor names in file order", NULL,
     "local path = \"sq_example.safetensors\"\nassert(sq.randn({2, 2}, 1):save(path, \"w\"))\n"
     "print(sq.open(path):names()[1])\nos.remove(path)", 0},
    {"ck:info", NULL, "ck:info(name) -> {name, dtype, shape, numel, nbytes, loadable}",
     "what the file says about a tensor, without loading it", NULL,
     "local path = \"sq_example.safetensors\"\nassert(sq.randn({2, 2}, 1):save(path, \"w\"))\n"
     "print(sq.open(path):info(\"w\").nbytes)\nos.remove(path)", 0},
    {"ck:tensor", NULL, "ck:tensor(name) -> t | nil, message", "load one tensor as float32", NULL,
     "local path = \"sq_example.safetensors\"\nassert(sq.randn({2, 2}, 1):save(path, \"w\"))\n"
     "print(sq.open(path):tensor(\"w\"))\nos.remove(path)", 0},
    {"ck:tensors", NULL, "ck:tensors() -> iterator of name, t", "every tensor in file order, loaded one at a time",
     NULL,
     "local path = \"sq_example.safetensors\"\nassert(sq.randn({2, 2}, 1):save(path, \"w\"))\n"
     "for name, t in sq.open(path):tensors() do print(name, t) end\nos.remove(path)", 0},
    {"ck:metadata", NULL, "ck:metadata() -> {key = text}", "the file's metadata (safetensors __metadata__, GGUF keys)",
     NULL,
     "local path = \"sq_example.safetensors\"\nassert(sq.randn({2, 2}, 1):save(path, \"w\"))\n"
     "print(next(sq.open(path):metadata()))\nos.remove(path)", 0},
    {"ck:qtensor", NULL, "ck:qtensor(name) -> q | nil, message",
     "reload a tensor squint quantize (or q:save) stored under name", NULL,
     "local path = \"sq_example.safetensors\"\n"
     "assert(sq.quantize(sq.randn({4, 8}, 1), {bits = 4}):save(path, \"w\"))\n"
     "print(sq.open(path):qtensor(\"w\"))\nos.remove(path)", 0},
    {"ck:quantized", NULL, "ck:quantized() -> {name, ...}", "the names of the squint-quantized tensors in the file",
     NULL,
     "local path = \"sq_example.safetensors\"\n"
     "assert(sq.quantize(sq.randn({4, 8}, 1), {bits = 4}):save(path, \"w\"))\n"
     "print(sq.open(path):quantized()[1])\nos.remove(path)", 0},
    {"ck:close", NULL, "ck:close()", "close the file now (also on collection and at the end of a <close> scope)", NULL,
     "local path = \"sq_example.safetensors\"\nassert(sq.randn({2, 2}, 1):save(path, \"w\"))\n"
     "local ck = sq.open(path)\nck:close()\nprint(ck)\nos.remove(path)", 0},
};
#define HELP_COUNT (sizeof help_entries / sizeof help_entries[0])

/* Add the configuration keys, their allowed values and defaults (from the
 * engine), and the formats (from sq_format_info_of) to B. */
static void help_add_config(luaL_Buffer *B)
{
    char line[320];
    sq_qconfig d = sq_qconfig_default();
    luaL_addstring(B, "Configuration table (every key optional; an unknown key or a bad value raises):\n");
    snprintf(line, sizeof line, "  bits           integer %d..%d (default %d)\n", SQ_BITS_MIN, SQ_BITS_MAX, d.bits);
    luaL_addstring(B, line);
    luaL_addstring(B, "  mode           \"symmetric\" (default) or \"asymmetric\" (a zero point per scale)\n"
                      "  granularity    \"tensor\" (default: one scale), \"channel\" (one per index of axis)\n"
                      "                 or \"group\" (one per group_size elements along the last axis)\n");
    snprintf(line, sizeof line,
             "  axis           channel only: integer 1..ndim, 1 = the first dimension (default %d)\n"
             "  group_size     group only: positive integer dividing the last dimension (default %zu)\n",
             d.axis + 1, d.group_size);
    luaL_addstring(B, line);
    luaL_addstring(B, "  rounding       \"away\" (half away from zero, default) or \"even\" (half to even)\n"
                      "  zero_in_range  boolean (default false): asymmetric, widen the range to include 0\n"
                      "  calibration    \"minmax\" (default), \"percentile\", \"mse\" (clip minimizing the error),\n"
                      "                 \"kl\" (TensorRT's entropy threshold, per tensor or channel), \"clip\"\n"
                      "                 or \"range\": how each scale group's range is chosen\n");
    snprintf(line, sizeof line,
             "  percentile     number in (0, 100] (default %g); alone it implies calibration \"percentile\"\n"
             "  clip           number in (0, 1] (default %g): that fraction of the min/max range; implies \"clip\"\n",
             d.percentile, d.clip);
    luaL_addstring(B, line);
    luaL_addstring(B, "  range          {lo, hi}, finite lo < hi: the same range for every group; implies \"range\"\n"
                      "  scale_dtype    \"f64\" (default: the double the arithmetic gives), \"f32\" or \"f16\":\n"
                      "                 round each scale to that precision and count it so (int only;\n"
                      "                 squint quantize stores \"f16\": give it to get the file's figures)\n"
                      "  double_quant   boolean (default false): nf4 only, bitsandbytes' double quantization\n");
    snprintf(line, sizeof line, "  format         \"%s\" (default: the integer grid above) or a storage format, which\n",
             sq_format_name(d.format));
    luaL_addstring(B, line);
    luaL_addstring(B, "                 sets bits, mode, granularity and group_size itself (a key it fixes must\n"
                      "                 not differ; rounding, zero_in_range and calibration are the format's):\n");
    for (int f = 0; f < SQ_FORMAT_COUNT; f++) {
        const sq_format_info *fi = sq_format_info_of(f);
        if (!fi || fi->format == d.format)
            continue;
        char shape[64];
        if (fi->fixed_block)
            snprintf(shape, sizeof shape, "block %zu", fi->block);
        else if (fi->any_granularity)
            snprintf(shape, sizeof shape, "any granularity");
        else
            snprintf(shape, sizeof shape, "group_size %zu by default", sq_qconfig_for_format(fi->format).group_size);
        snprintf(line, sizeof line, "                   %-9s %d bits, %s, %.4g bits/weight; %s\n", fi->name, fi->bits,
                 shape, fi->bits_per_weight, fi->scale_desc ? fi->scale_desc : "");
        luaL_addstring(B, line);
    }
    luaL_addstring(B, "                 (sq.formats() lists them as a table)\n");
}

/* The method prefix of entry e ("q" of "q:stats") as a help_types index, or
 * -1 for a module function. */
static int help_type_of(const help_entry *e)
{
    const char *c = strchr(e->name, ':');
    if (!c)
        return -1;
    for (size_t i = 0; i < HELP_NTYPES; i++)
        if (strlen(help_types[i].prefix) == (size_t)(c - e->name) && strncmp(e->name, help_types[i].prefix, c - e->name) == 0)
            return (int)i;
    return -1;
}

/* Push the full text of e (stack: +1). */
static void help_push_text(lua_State *L, const help_entry *e)
{
    luaL_Buffer B;
    luaL_buffinit(L, &B);
    luaL_addstring(&B, e->sig);
    luaL_addstring(&B, "\n  ");
    luaL_addstring(&B, e->line);
    luaL_addstring(&B, "\n");
    if (e->more) {
        luaL_addstring(&B, "\n");
        luaL_addstring(&B, e->more);
        luaL_addstring(&B, "\n");
    }
    if (e->flags & HELP_CONFIG) {
        luaL_addstring(&B, "\n");
        help_add_config(&B);
    }
    luaL_addstring(&B, "\nExample:\n");
    const char *p = e->example;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        luaL_addstring(&B, "  ");
        luaL_addlstring(&B, p, n);
        luaL_addstring(&B, "\n");
        p += n + (nl != NULL);
    }
    luaL_pushresult(&B);
}

/* Whether the function or method of e exists in this build (the module
 * table at index mod) (stack: 0). */
static bool help_exists(lua_State *L, int mod, const help_entry *e)
{
    int t = help_type_of(e);
    bool ok;
    if (t < 0) {
        ok = lua_getfield(L, mod, e->name) == LUA_TFUNCTION;
        lua_pop(L, 1);
        return ok;
    }
    if (luaL_getmetatable(L, help_types[t].tname) != LUA_TTABLE) {
        lua_pop(L, 1);
        return false;
    }
    int top = lua_gettop(L) - 1;
    ok = lua_getfield(L, -1, "__methods") == LUA_TTABLE && lua_getfield(L, -1, strchr(e->name, ':') + 1) == LUA_TFUNCTION;
    lua_settop(L, top);
    return ok;
}

/* Add "  sig-or-name   line" for e to B. */
static void help_add_listing_line(luaL_Buffer *B, const help_entry *e)
{
    char line[256];
    int t = help_type_of(e);
    char call[64];
    if (t < 0)
        snprintf(call, sizeof call, "sq.%s", e->name);
    else
        snprintf(call, sizeof call, "%s", e->name);
    snprintf(line, sizeof line, "  %-26s %s\n", call, e->line);
    luaL_addstring(B, line);
}

/* Push the grouped list of every entry whose function exists (the module
 * table at index mod) (stack: +1). */
static void help_push_listing(lua_State *L, int mod)
{
    static const char *const groups[] = {G_TENSOR, G_QUANT, G_MEASURE, G_LAYER, G_FILE, G_OUT};
    luaL_Buffer B;
    luaL_buffinit(L, &B);
    luaL_addstring(&B, "squint " PACKAGE_VERSION ": the sq module. sq.help(\"name\") or sq.help(sq.name) for one in full,\n"
                       "sq.help(\"q:stats\") for a method, sq.help(\"config\") for the configuration keys.\n");
    for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
        luaL_addstring(&B, "\n");
        luaL_addstring(&B, groups[g]);
        luaL_addstring(&B, ":\n");
        for (size_t i = 0; i < HELP_COUNT; i++)
            if (help_entries[i].group && strcmp(help_entries[i].group, groups[g]) == 0 &&
                help_exists(L, mod, &help_entries[i]))
                help_add_listing_line(&B, &help_entries[i]);
    }
    for (size_t t = 0; t < HELP_NTYPES; t++) {
        luaL_addstring(&B, "\nMethods of a ");
        luaL_addstring(&B, help_types[t].what);
        luaL_addstring(&B, ":\n");
        for (size_t i = 0; i < HELP_COUNT; i++)
            if (help_type_of(&help_entries[i]) == (int)t && help_exists(L, mod, &help_entries[i]))
                help_add_listing_line(&B, &help_entries[i]);
    }
    luaL_pushresult(&B);
}

/* Push the list of the methods of type t (stack: +1). */
static void help_push_type(lua_State *L, int mod, int t)
{
    luaL_Buffer B;
    luaL_buffinit(L, &B);
    luaL_addstring(&B, "Methods of a ");
    luaL_addstring(&B, help_types[t].what);
    luaL_addstring(&B, ":\n");
    for (size_t i = 0; i < HELP_COUNT; i++)
        if (help_type_of(&help_entries[i]) == t && help_exists(L, mod, &help_entries[i]))
            help_add_listing_line(&B, &help_entries[i]);
    luaL_pushresult(&B);
}

/* The entry named exactly name ("quantize", "q:stats"), or NULL. */
static const help_entry *help_find(const char *name)
{
    for (size_t i = 0; i < HELP_COUNT; i++)
        if (strcmp(help_entries[i].name, name) == 0)
            return &help_entries[i];
    return NULL;
}

/* The entry of method m of type t, or NULL. */
static const help_entry *help_find_method(int t, const char *m)
{
    char name[128];
    snprintf(name, sizeof name, "%s:%s", help_types[t].prefix, m);
    return help_find(name);
}

/* Resolve a name: "quantize", "sq.quantize", "q:stats", "qtensor:stats",
 * "squint.qtensor:stats", or a bare method name when only one type has it
 * (several: *many is set to the count). NULL when unknown. */
static const help_entry *help_lookup(const char *s, int *many)
{
    *many = 0;
    if (strncmp(s, "sq.", 3) == 0)
        s += 3;
    const char *c = strchr(s, ':');
    if (c) {
        size_t n = (size_t)(c - s);
        for (size_t t = 0; t < HELP_NTYPES; t++)
            if ((strlen(help_types[t].prefix) == n && strncmp(s, help_types[t].prefix, n) == 0) ||
                (strlen(help_types[t].alias) == n && strncmp(s, help_types[t].alias, n) == 0) ||
                (strlen(help_types[t].tname) == n && strncmp(s, help_types[t].tname, n) == 0))
                return help_find_method((int)t, c + 1);
        return NULL;
    }
    const help_entry *e = help_find(s);
    if (e)
        return e;
    for (size_t t = 0; t < HELP_NTYPES; t++) {
        const help_entry *m = help_find_method((int)t, s);
        if (m) {
            e = e ? e : m;
            (*many)++;
        }
    }
    return e;
}

/* The entry of function value at idx: a function of the module table
 * (upvalue 1) or a method of one of the types, or NULL (stack: 0). */
static const help_entry *help_of_function(lua_State *L, int idx)
{
    const help_entry *e = NULL;
    lua_pushnil(L);
    while (!e && lua_next(L, lua_upvalueindex(1)) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, idx))
            e = help_find(lua_tostring(L, -2));
        lua_pop(L, 1);
    }
    if (e) {
        lua_pop(L, 1); /* the key */
        return e;
    }
    for (size_t t = 0; t < HELP_NTYPES && !e; t++) {
        if (luaL_getmetatable(L, help_types[t].tname) != LUA_TTABLE) {
            lua_pop(L, 1);
            continue;
        }
        if (lua_getfield(L, -1, "__methods") == LUA_TTABLE) {
            lua_pushnil(L);
            while (!e && lua_next(L, -2) != 0) {
                if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, idx))
                    e = help_find_method((int)t, lua_tostring(L, -2));
                lua_pop(L, 1);
            }
            if (e)
                lua_pop(L, 1);
        }
        lua_pop(L, 2);
    }
    return e;
}

/* Push every entry's name as an array (stack: +1). */
static void help_push_names(lua_State *L)
{
    lua_createtable(L, (int)HELP_COUNT, 0);
    for (size_t i = 0; i < HELP_COUNT; i++) {
        lua_pushstring(L, help_entries[i].name);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* sq.help([what [, how]]): print the list, one entry in full, or a type's
 * methods; how = "text" returns the text instead, "example" the example's
 * code (or nil), "interactive" whether the example needs a terminal;
 * sq.help(nil, "names") every entry's name. Upvalue 1: the module table.
 * Raises for an unknown name or value (stack: +0 or +1). */
static int lsq_help(lua_State *L)
{
    static const char *const hows[] = {"print", "text", "example", "interactive", "names", NULL};
    int how = luaL_checkoption(L, 2, "print", hows);
    const help_entry *e = NULL;
    int type = lua_type(L, 1), many = 0;
    if (how == 4) {
        help_push_names(L);
        return 1;
    }
    if (type == LUA_TNONE || type == LUA_TNIL) {
        help_push_listing(L, lua_upvalueindex(1));
    } else if (type == LUA_TSTRING) {
        const char *s = lua_tostring(L, 1);
        if (strcmp(s, "config") == 0 || strcmp(s, "cfg") == 0) {
            luaL_Buffer B;
            luaL_buffinit(L, &B);
            help_add_config(&B);
            luaL_pushresult(&B);
        } else if (!(e = help_lookup(s, &many))) {
            return luaL_argerror(L, 1, lua_pushfstring(L, "no help for '%s' (sq.help() lists what there is)", s));
        } else if (many > 1) {
            luaL_Buffer B;
            luaL_buffinit(L, &B);
            for (size_t t = 0; t < HELP_NTYPES; t++) {
                const help_entry *m = help_find_method((int)t, s);
                if (m)
                    help_add_listing_line(&B, m);
            }
            luaL_pushresult(&B);
            e = NULL;
        } else {
            help_push_text(L, e);
        }
    } else if (type == LUA_TFUNCTION) {
        if (!(e = help_of_function(L, 1)))
            return luaL_argerror(L, 1, "not a function of the sq module or a method of its types");
        help_push_text(L, e);
    } else {
        int t = -1;
        for (size_t i = 0; i < HELP_NTYPES && t < 0; i++)
            if (luaL_testudata(L, 1, help_types[i].tname))
                t = (int)i;
        if (t < 0 && !lua_rawequal(L, 1, lua_upvalueindex(1)))
            return luaL_typeerror(L, 1, "function, name or squint object");
        if (t < 0)
            help_push_listing(L, lua_upvalueindex(1));
        else
            help_push_type(L, lua_upvalueindex(1), t);
    }
    if (how == 2 || how == 3) {
        if (!e)
            lua_pushnil(L);
        else if (how == 2)
            lua_pushstring(L, e->example);
        else
            lua_pushboolean(L, (e->flags & HELP_INTERACTIVE) != 0);
        return 1;
    }
    if (how == 1)
        return 1;
    lua_getglobal(L, "print");
    lua_insert(L, -2);
    lua_call(L, 1, 0);
    return 0;
}

/* __tostring of the module table: the list (stack: +1). */
static int lsq_help_tostring(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    help_push_listing(L, 1);
    return 1;
}

/* Add sq.help and the module table's metatable (__tostring: the list,
 * __name "squint") to the module table on top (stack: 0). */
void lsq_help_register(lua_State *L)
{
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, lsq_help, 1);
    lua_setfield(L, -2, "help");
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, lsq_help_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "squint");
    lua_setfield(L, -2, "__name");
    lua_setmetatable(L, -2);
}
