-- Statistics: q:stats(), histograms, sq.compare and its printed table.
local T = require "testlib"

local x = sq.tensor{127, 2.5, -2.5}
local q = sq.quantize(x, {bits = 8})

T.test("q:stats() keys and exact values", function()
  local s = q:stats()
  for _, k in ipairs{"mse", "rmse", "max_abs_err", "mean_abs_err", "sqnr_db", "cosine", "clipped", "numel",
                     "fp32_bytes", "bytes", "ratio", "bits_per_weight", "scale_dtype", "seed_size_bytes",
                     "seed_meta_bytes", "seed_ratio"} do
    T.truthy(s[k] ~= nil, "key " .. k)
  end
  T.near(s.mse, 0.5 / 3, 1e-15, "mse"); T.near(s.rmse, math.sqrt(0.5 / 3), 1e-15, "rmse")
  T.eq(s.max_abs_err, 0.5, "max_abs_err"); T.near(s.mean_abs_err, 1 / 3, 1e-15, "mean_abs_err")
  T.near(s.sqnr_db, 10 * math.log(((127 * 127) + 12.5) / 0.5, 10), 1e-9, "sqnr_db")
  T.eq(s.clipped, 0, "clipped"); T.eq(s.numel, 3, "numel"); T.eq(s.fp32_bytes, 12, "fp32_bytes")
  T.eq(s.bytes, 3 + 8, "3 codes + one f64 scale"); T.eq(s.scale_dtype, "f64", "Lua keeps f64 scales")
  T.eq(s.bits_per_weight, 8 * 11 / 3, "bits_per_weight = 8 * bytes / numel"); T.eq(s.ratio, 12 / 11, "ratio = 4 * numel / bytes")
  T.eq(s.seed_size_bytes, 3, "seed_size_bytes"); T.eq(s.seed_meta_bytes, 16, "seed_meta_bytes")
  T.eq(s.seed_ratio, 4.0, "seed_ratio")
  T.eq(s.size_bytes, nil, "the ambiguous seed name is gone")
end)

T.test("q:histogram(bins)", function()
  local h = q:histogram(4, "data")
  T.eq(#h.edges, 5, "edges"); T.eq(#h.counts, 4, "counts")
  T.eq(h.edges[1], -0.5, "lo"); T.eq(h.edges[5], 0.5, "hi"); T.eq(h.edges[3], 0.0, "middle")
  T.eq(h.counts[1], 1, "-0.5 in the first bin"); T.eq(h.counts[4], 1, "+0.5 in the last bin")
  T.eq(h.counts[1] + h.counts[2] + h.counts[3] + h.counts[4], 3, "all counted")
  T.eq(#q:histogram().counts, 64, "default 64 bins")
  T.raises(function() return q:histogram(0) end, "bad argument #1 to 'histogram' (bins must be in 1..65536)")
  T.raises(function() return q:histogram(8, "wide") end, "bad argument #2 to 'histogram' (invalid option 'wide')")
end)

T.test("q:code_histogram()", function()
  local h = q:code_histogram()
  T.eq(h[127], 1, "127"); T.eq(h[3], 1, "3"); T.eq(h[-3], 1, "-3"); T.eq(h[0], 0, "0"); T.eq(h[-128], 0, "-128")
  local n = 0
  for c = -128, 127 do n = n + h[c] end
  T.eq(n, 3, "total")
  local h4 = sq.quantize(x, {bits = 4}):code_histogram()
  T.eq(h4[7], 1, "int4 max code"); T.eq(h4[-8], 0, "int4 lowest level"); T.eq(h4[8], nil, "no level 8")
end)

T.test("stats need the source tensor, kept alive by the qtensor", function()
  local q2 = sq.quantize(sq.randn({16, 16}, 3), {bits = 4})
  collectgarbage(); collectgarbage()
  T.truthy(q2:stats().sqnr_db > 10, "sqnr after a full GC")
end)

T.test("sq.compare rows and aligned table", function()
  local rows = sq.compare(sq.demo(), {{bits = 8}, {bits = 8, granularity = "channel"},
                                      {bits = 4, granularity = "group", group_size = 32}})
  T.eq(#rows, 3, "one row per config")
  T.eq(rows[1].config, "int8 sym per-tensor", "config text")
  T.eq(rows[2].config, "int8 sym per-channel(axis 1)", "1-based axis in config text")
  T.truthy(rows[2].sqnr_db > rows[1].sqnr_db + 6, "per-channel beats per-tensor on the demo tensor")
  T.eq(rows[3].bits, 4, "bits column"); T.eq(rows[3].granularity, "group", "granularity column")
  local text = tostring(rows)
  local lines = {}
  for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
  T.eq(#lines, 4, "header + 3 rows")
  T.truthy(lines[1]:find("^config%s+bits%s+mode%s+granularity%s+sqnr_db"), "header")
  local col = lines[1]:find("sqnr_db") + #"sqnr_db"
  for i = 2, 4 do T.eq(lines[i]:sub(col, col), " ", "numbers right-aligned under their header, line " .. i) end
  T.raises(function() return sq.compare(sq.demo(), {{bits = 8}, {bitz = 8}}) end,
    "bad argument #2 to 'compare' (config 2: unknown key 'bitz')")
  T.raises(function() return sq.compare(sq.demo(), 8) end, "bad argument #2 to 'compare' (table expected, got number)")
end)

T.done()
