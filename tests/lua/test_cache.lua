-- A qtensor from sq.quantize keeps its statistics, code histogram and default
-- error histogram (one fused pass, computed once): the figures must equal
-- those of the separate computations exactly. The default histogram range
-- ("auto") is the "step" range [-B, B] when it holds every error, else the
-- "data" range [-m, m], m = max|err|; both are checked here as Lua computes them.
local T = require "testlib"

-- Configurations 1..5 use min/max calibration (every error within the step
-- range); 6 clips (the data range); 7 is not the INT format (no step bound).
local configs = {
  {bits = 8}, {bits = 4, mode = "asymmetric"}, {bits = 3, granularity = "channel", axis = 1},
  {bits = 4, granularity = "group", group_size = 16}, {bits = 2, mode = "asymmetric", granularity = "channel"},
  {bits = 4, clip = 0.5}, {format = "nf4"},
}
local step_holds = {true, true, true, true, true, false, false}

-- The same quantization with nothing kept: quantize_named's qtensors start empty.
local function fresh(t, cfg) return sq.quantize_named({w = t}, cfg).w end

-- The errors e = x - x_hat and m = max|e|.
local function errors(q, x)
  local xs, xh = x:totable(), q:dequantize():totable()
  local e, m = {}, 0
  for i = 1, #xs do
    for j = 1, #xs[i] do
      local v = xs[i][j] - xh[i][j]
      e[#e + 1] = v
      if math.abs(v) > m then m = math.abs(v) end
    end
  end
  return e, m
end

-- The step range's bound B of an INT qtensor (stats.h SQ_HIST_RANGE_STEP):
-- max over the scales of |s| * (1/2 + span * 2^-23), span = max(|qmin - z|, |qmax - z|).
local function step_bound(q, cfg)
  local bits = cfg.bits or 8
  local qmax = 2 ^ (bits - 1) - 1
  local qmin = cfg.mode == "asymmetric" and -2 ^ (bits - 1) or -qmax
  local zs, b = q:zero_points(), 0
  for k, s in ipairs(q:scales()) do
    local z = zs[k]
    local span = math.max(math.abs(qmin - z), math.abs(qmax - z))
    b = math.max(b, math.abs(s) * (0.5 + span * 2 ^ -23))
  end
  return b
end

-- The histogram of e over [lo, hi] as the engine bins: below lo / above hi
-- apart, else k = floor((v - lo) * bins / (hi - lo)) capped at the last bin.
local function lua_hist(e, bins, lo, hi)
  local counts, iw, below, above = {}, bins / (hi - lo), 0, 0
  for k = 1, bins do counts[k] = 0 end
  for _, v in ipairs(e) do
    if v < lo then below = below + 1
    elseif v > hi then above = above + 1
    else
      local k = math.floor(math.min((v - lo) * iw, bins - 1))
      counts[k + 1] = counts[k + 1] + 1
    end
  end
  return counts, below, above
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

-- h is the histogram of e with bins bins over [lo, hi], edge for edge.
local function is_hist(h, e, bins, lo, hi, what)
  T.eq(#h.edges, bins + 1, what .. " edges"); T.eq(#h.counts, bins, what .. " bins")
  for i = 0, bins do
    T.eq(h.edges[i + 1], i == bins and hi or lo + (hi - lo) * i / bins, what .. " edge " .. i + 1)
  end
  local counts, below, above = lua_hist(e, bins, lo, hi)
  for k = 1, bins do T.eq(h.counts[k], counts[k], what .. " bin " .. k .. " of " .. bins .. " as Lua bins it") end
  T.eq(h.below, below, what .. " below"); T.eq(h.above, above, what .. " above")
end

for ci, cfg in ipairs(configs) do
  T.test("config " .. ci .. ": kept figures equal the separate computations", function()
    local x = sq.randn({48, 64}, 100 + ci)
    local q = sq.quantize(x, cfg)
    local s, s_ref = q:stats(), fresh(x, cfg):stats()
    same_table(s, s_ref, "stats")
    if ci <= 5 then T.eq(s.clipped, 0, "min/max calibration clips nothing") else T.truthy(ci == 7 or s.clipped > 0, "clipped") end
    same_table(q:code_histogram(), fresh(x, cfg):code_histogram(), "code histogram")
    local e, m = errors(q, x)
    T.eq(m, s.max_abs_err, "max|err| from the statistics")
    local int = cfg.format == nil
    local b = int and step_bound(q, cfg) or m
    T.eq(int and m <= b, step_holds[ci], "the step range holds every error")
    for _, bins in ipairs{64, 7, 64, 1000} do
      local h = q:histogram(bins)
      same_hist(h, fresh(x, cfg):histogram(bins), "default histogram " .. bins)
      same_hist(q:histogram(bins, "auto"), h, "\"auto\" is the default " .. bins)
      if step_holds[ci] then
        is_hist(h, e, bins, -b, b, "default = step histogram " .. bins)
      else
        is_hist(h, e, bins, -m, m, "default = data histogram " .. bins)
      end
      T.eq(h.below + h.above, 0, "the default range holds every error")
      local hd = q:histogram(bins, "data")
      same_hist(hd, fresh(x, cfg):histogram(bins, "data"), "data histogram " .. bins)
      is_hist(hd, e, bins, -m, m, "data histogram " .. bins)
    end
    for _, bins in ipairs{64, 9} do
      local hs = q:histogram(bins, "step")
      same_hist(hs, fresh(x, cfg):histogram(bins, "step"), "step histogram " .. bins)
      is_hist(hs, e, bins, -b, b, "step histogram " .. bins) -- clipped errors in below/above
      if ci == 6 then T.truthy(hs.below + hs.above > 0, "clipped errors lie outside the step range") end
    end
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

T.test("all-zero and empty tensors: errors all 0, the default is the step range", function()
  for _, x in ipairs{sq.zeros({4, 8}), sq.zeros({0, 8})} do
    local q = sq.quantize(x, {bits = 8})
    local b = step_bound(q, {bits = 8})
    if not (b > 0) then b = 1 end
    local h = q:histogram(4)
    T.eq(h.edges[1], -b, "lo"); T.eq(h.edges[5], b, "hi")
    T.eq(h.counts[3], x:numel(), "every zero error in bin 3")
    same_hist(q:histogram(), fresh(x, {bits = 8}):histogram(), "default")
    local hd = q:histogram(4, "data")
    T.eq(hd.edges[1], -1.0, "data lo falls back to -1"); T.eq(hd.edges[5], 1.0, "data hi falls back to 1")
  end
end)

T.test("INT min/max with a scale below 1e-30: errors beyond the step range, the default is the data range", function()
  local x = sq.tensor{{1e-29, -1e-29, 3e-30, 0}}
  local q = sq.quantize(x, {bits = 8})
  T.truthy(q:scales()[1] < 1e-30, "scale below 1e-30")
  local e, m = errors(q, x)
  local b = step_bound(q, {bits = 8})
  T.truthy(m > b, "errors beyond the step range")
  local hs = q:histogram(4, "step")
  T.truthy(hs.below + hs.above > 0, "step histogram: errors in below/above")
  for _, bins in ipairs{64, 4} do
    local h = q:histogram(bins)
    is_hist(h, e, bins, -m, m, "default = data histogram " .. bins)
    same_hist(h, fresh(x, {bits = 8}):histogram(bins), "default as computed separately " .. bins)
  end
end)

T.test("sq.compare rows equal q:stats()", function()
  local x = sq.randn({32, 64}, 9)
  local rows = sq.compare(x, configs)
  for i, cfg in ipairs(configs) do
    local s = fresh(x, cfg):stats()
    for _, k in ipairs{"sqnr_db", "rmse", "max_abs_err", "mean_abs_err", "cosine", "clipped", "bytes", "ratio", "bits_per_weight"} do
      T.eq(rows[i][k], s[k], "row " .. i .. " " .. k)
    end
  end
end)

T.done()
