-- A qtensor from sq.quantize keeps its statistics, code histogram and default
-- error histogram (one fused pass, computed once): the figures must equal
-- those of the separate computations exactly.
local T = require "testlib"

local configs = {
  {bits = 8}, {bits = 4, mode = "asymmetric"}, {bits = 3, granularity = "channel", axis = 1},
  {bits = 4, granularity = "group", group_size = 16}, {bits = 2, mode = "asymmetric", granularity = "channel"},
}

-- The same quantization with nothing kept: quantize_named's qtensors start empty.
local function fresh(t, cfg) return sq.quantize_named({w = t}, cfg).w end

-- The error histogram recomputed in Lua from x and x_hat, as the engine bins:
-- k = floor((e - lo) * bins / (hi - lo)) clamped to the bins, e = hi in the last.
local function lua_hist(q, x, bins)
  local xs, xh = x:totable(), q:dequantize():totable()
  local e, m = {}, 0
  for i = 1, #xs do
    for j = 1, #xs[i] do
      local v = xs[i][j] - xh[i][j]
      e[#e + 1] = v
      if math.abs(v) > m then m = math.abs(v) end
    end
  end
  if not (m > 0) then m = 1 end
  local counts, iw = {}, bins / (2 * m)
  for k = 1, bins do counts[k] = 0 end
  for _, v in ipairs(e) do
    local k = math.floor(math.min(math.max((v + m) * iw, 0), bins - 1))
    counts[k + 1] = counts[k + 1] + 1
  end
  return counts, m
end

local function same_table(got, want, what)
  for k, v in pairs(want) do T.eq(got[k], v, what .. "." .. tostring(k)) end
  for k in pairs(got) do T.truthy(want[k] ~= nil, what .. ": no extra key " .. tostring(k)) end
end

local function same_hist(got, want, what)
  T.eq(#got.edges, #want.edges, what .. " edges"); T.eq(#got.counts, #want.counts, what .. " bins")
  for i = 1, #want.edges do T.eq(got.edges[i], want.edges[i], what .. " edge " .. i) end
  for i = 1, #want.counts do T.eq(got.counts[i], want.counts[i], what .. " count " .. i) end
  T.eq(got.below, want.below, what .. " below"); T.eq(got.above, want.above, what .. " above")
end

for ci, cfg in ipairs(configs) do
  T.test("config " .. ci .. ": kept figures equal the separate computations", function()
    local x = sq.randn({48, 64}, 100 + ci)
    local q = sq.quantize(x, cfg)
    local s, s_ref = q:stats(), fresh(x, cfg):stats()
    same_table(s, s_ref, "stats")
    same_table(q:code_histogram(), fresh(x, cfg):code_histogram(), "code histogram")
    for _, bins in ipairs{64, 7, 64, 1000} do
      local h = q:histogram(bins)
      same_hist(h, fresh(x, cfg):histogram(bins), "data histogram " .. bins)
      local counts, m = lua_hist(q, x, bins)
      T.eq(h.edges[1], -m, "lo = -max|err|"); T.eq(h.edges[bins + 1], m, "hi = max|err|")
      T.eq(m, s.max_abs_err, "max|err| from the statistics")
      for k = 1, bins do T.eq(h.counts[k], counts[k], "bin " .. k .. " of " .. bins .. " as Lua bins it") end
      T.eq(h.below + h.above, 0, "data range holds every error")
    end
    same_hist(q:histogram(64, "step"), fresh(x, cfg):histogram(64, "step"), "step histogram")
    same_hist(q:histogram(9, "step"), fresh(x, cfg):histogram(9, "step"), "step histogram 9")
  end)
end

T.test("kept results come back as fresh tables", function()
  local q = sq.quantize(sq.randn({16, 16}, 7), {bits = 4})
  local h, s, c = q:histogram(), q:stats(), q:code_histogram()
  local c0, s0, e0 = h.counts[1], s.mse, h.edges[1]
  h.counts[1] = -1; h.edges[1] = 99; s.mse = -1; c[0] = -5
  T.eq(q:histogram().counts[1], c0, "counts not shared"); T.eq(q:histogram().edges[1], e0, "edges not shared")
  T.eq(q:stats().mse, s0, "stats not shared"); T.truthy(q:code_histogram()[0] >= 0, "code counts not shared")
end)

T.test("all-zero and empty tensors: the data range falls back to [-1, 1]", function()
  for _, x in ipairs{sq.zeros({4, 8}), sq.zeros({0, 8})} do
    local q = sq.quantize(x, {bits = 8})
    local h = q:histogram(4)
    T.eq(h.edges[1], -1.0, "lo"); T.eq(h.edges[5], 1.0, "hi")
    T.eq(h.counts[3], x:numel(), "every zero error in bin 3")
    same_hist(q:histogram(), fresh(x, {bits = 8}):histogram(), "default")
  end
end)

T.test("sq.compare rows equal q:stats()", function()
  local x = sq.randn({32, 32}, 9)
  local rows = sq.compare(x, configs)
  for i, cfg in ipairs(configs) do
    local s = fresh(x, cfg):stats()
    for _, k in ipairs{"sqnr_db", "rmse", "max_abs_err", "mean_abs_err", "cosine", "clipped", "bytes", "ratio", "bits_per_weight"} do
      T.eq(rows[i][k], s[k], "row " .. i .. " " .. k)
    end
  end
end)

T.done()
