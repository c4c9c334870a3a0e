-- model_report.lua - per-tensor SQNR and size for a whole model, to CSV and JSON.
--
-- usage: squint scripts/model_report.lua [OUT_PREFIX] [BITS] [GROUP_SIZE] [CHECKPOINT]
--
-- Quantizes every rank >= 2 tensor of a model (per-group, default int4 with
-- groups of 32) and reports each tensor's SQNR, sizes and bits per weight,
-- then the whole-model statistics. Writes OUT_PREFIX.csv and OUT_PREFIX.json
-- (default model_report.*). With CHECKPOINT (a safetensors or GGUF file) the
-- model is that file, scanned tensor by tensor with sq.report (median and
-- 95th-percentile |err| too); without it, a synthetic two-block
-- transformer-like set of named tensors (seeded, so the report is
-- reproducible).
local prefix = arg and arg[1] or "model_report"
local cfg = {bits = tonumber(arg and arg[2]) or 4, granularity = "group",
             group_size = tonumber(arg and arg[3]) or 32}

if arg and arg[4] then
  local rows = assert(sq.report(arg[4], cfg, {csv = prefix .. ".csv", json = prefix .. ".json"}))
  print(string.format("%-40s %-14s %-10s %9s %10s %10s %6s", "tensor", "shape", "status", "SQNR dB",
                      "median|e|", "p95|e|", "bits/w"))
  for _, r in ipairs(rows) do
    print(string.format("%-40s %-14s %-10s %9.2f %10.3g %10.3g %6.2f", r.name, table.concat(r.shape, "x"),
                        r.status, r.sqnr_db or 0 / 0, r.median_abs_err or 0 / 0, r.p95_abs_err or 0 / 0,
                        r.bits_per_weight))
  end
  local t = rows.totals[1]
  print(string.format("%d quantized, %d kept fp32: %d -> %d bytes (%.2fx), SQNR %.2f dB; wrote %s.csv and %s.json",
                      t.num_quantized, t.num_fp32, t.fp32_bytes, t.quantized_bytes, t.compression_ratio,
                      t.sqnr_db or 0 / 0, prefix, prefix))
  return
end

local dim, hidden, seed = 128, 256, 1
local model = {}
local function add(name, shape, scale)
  local t = sq.randn(shape, seed)
  seed = seed + 1
  model[name] = scale and sq.tensor((function()  -- scale a copy of the values
    local v = t:totable()
    for i, row in ipairs(v) do
      if type(row) == "table" then for j = 1, #row do row[j] = row[j] * scale end else v[i] = row * scale end
    end
    return v
  end)()) or t
end
for b = 0, 1 do
  local p = "blocks." .. b .. "."
  add(p .. "attn.qkv.weight", {3 * dim, dim}, 0.02)
  add(p .. "attn.out.weight", {dim, dim}, 0.02)
  add(p .. "mlp.up.weight", {hidden, dim}, 0.02)
  add(p .. "mlp.down.weight", {dim, hidden}, 0.02)
  add(p .. "norm.weight", {dim})
end
add("embed.weight", {512, dim}, 0.05)

local names = {}
for name in pairs(model) do names[#names + 1] = name end
table.sort(names)

local q = sq.quantize_named(model, cfg)
local rows = {}
for _, name in ipairs(names) do
  local t, qt = model[name], q[name]
  local row = {name = name, shape = table.concat(t.shape, "x"), numel = t:numel(), quantized = qt ~= nil,
               fp32_bytes = 4 * t:numel()}
  if qt then
    local st = qt:stats()
    row.sqnr_db, row.cosine, row.bytes = st.sqnr_db, st.cosine, st.bytes
    row.bits_per_weight = st.bits_per_weight
  else
    row.bytes, row.bits_per_weight = 4 * t:numel(), 32
  end
  rows[#rows + 1] = row
end
local columns = {"name", "shape", "numel", "quantized", "sqnr_db", "cosine", "fp32_bytes", "bytes",
                 "bits_per_weight"}
setmetatable(rows, {columns = columns, __tostring = getmetatable(sq.compare(sq.tensor{1}, {})).__tostring})
print(rows)

local totals = sq.model_stats(model, cfg)
print(string.format("%d quantized, %d kept fp32: %d -> %d bytes (%.2fx)", totals.num_quantized, totals.num_fp32,
  totals.fp32_bytes, totals.quantized_bytes, totals.compression_ratio))

local function check(ok, err) if not ok then io.stderr:write("model_report: ", err, "\n"); os.exit(1) end end
check(sq.write_csv(rows, prefix .. ".csv"))
check(sq.write_json({config = cfg, tensors = rows, totals = totals}, prefix .. ".json"))
print("wrote " .. prefix .. ".csv and " .. prefix .. ".json")
