-- sq.layer_error against a double-precision reference written here, and
-- W8A8: per-token against per-tensor activation ranges.
local T = require "testlib"

-- Y[t][o] = b[o] + sum_k X[t][k] W[o][k], in the order the engine sums (Lua numbers are doubles).
local function forward(W, X, b)
  local Y = {}
  for t = 1, #X do
    Y[t] = {}
    for o = 1, #W do
      local acc = b and b[o] or 0.0
      for k = 1, #X[t] do acc = acc + X[t][k] * W[o][k] end
      Y[t][o] = acc
    end
  end
  return Y
end

-- SQNR, RMSE, max |e|, cosine of B against the reference A (tables of rows).
local function figures(A, B)
  local sx, sy, sxy, se, mx, n = 0, 0, 0, 0, 0, 0
  for t = 1, #A do
    for o = 1, #A[t] do
      local x, y = A[t][o], B[t][o]
      local d = x - y
      sx, sy, sxy, se = sx + x * x, sy + y * y, sxy + x * y, se + d * d
      mx = math.max(mx, math.abs(d))
      n = n + 1
    end
  end
  return {sqnr_db = 10 * math.log(sx / se, 10), rmse = math.sqrt(se / n), max_abs_err = mx,
          cosine = sxy / math.sqrt(sx * sy)}
end

local function check(r, want, what)
  T.near(r.sqnr_db, want.sqnr_db, 1e-9, what .. " sqnr_db")
  T.near(r.rmse, want.rmse, 1e-15, what .. " rmse")
  T.near(r.max_abs_err, want.max_abs_err, 1e-15, what .. " max_abs_err")
  T.near(r.cosine, want.cosine, 1e-14, what .. " cosine")
end

local W = sq.randn({6, 16}, 7)
local X = sq.randn({5, 16}, 8)
local b = sq.randn({6}, 9)

T.test("weight-only int4 per-channel against the double reference", function()
  local cfg = {bits = 4, granularity = "channel"}
  local r = sq.layer_error(W, X, cfg, b)
  local Wq = sq.quantize(W, cfg):dequantize():totable()
  local want = figures(forward(W:totable(), X:totable(), b:totable()), forward(Wq, X:totable(), b:totable()))
  check(r, want, "output")
  T.eq(r.tokens, 5, "tokens"); T.eq(r.in_features, 16, "in"); T.eq(r.out_features, 6, "out")
  T.eq(r.numel, 30, "output elements")
  -- the weight's own figures are sq.diff's of W and its round trip
  local d = sq.diff(W, sq.quantize(W, cfg):dequantize())
  T.eq(r.weight.sqnr_db, d.sqnr_db, "weight sqnr"); T.eq(r.weight.max_abs_err, d.max_abs_err, "weight max")
  T.eq(r.input.sqnr_db, math.huge, "input untouched"); T.eq(r.input_quantized, false, "no act")
  T.truthy(r.median_abs_err <= r.p95_abs_err and r.p95_abs_err <= r.max_abs_err, "percentiles ordered")
end)

T.test("no bias, a single token as a vector", function()
  local x1 = sq.tensor(X:totable()[2])
  local r = sq.layer_error(W, x1, {bits = 8})
  local Wq = sq.quantize(W, {bits = 8}):dequantize():totable()
  check(r, figures(forward(W:totable(), {x1:totable()}), forward(Wq, {x1:totable()})), "vector")
  T.eq(r.tokens, 1, "one token")
end)

-- rows of X a hundred times apart: one range for the whole tensor wastes the
-- small rows' levels, one range per token does not
local rows = X:totable()
for k = 1, #rows[1] do rows[1][k] = rows[1][k] * 100 end
local Xs = sq.tensor(rows)
rows = Xs:totable() -- the float32 values the engine sees

-- fn raises "bad argument #arg to '...' (msg)" (the function's name depends on how it was reached)
local function argerr(fn, arg, msg)
  local ok, e = pcall(fn)
  T.truthy(not ok, "an error")
  e = tostring(e)
  if not (e:find("bad argument #" .. arg .. " to '", 1, true) and e:find("(" .. msg .. ")", 1, true)) then
    error(("error %q is not argument %d's %q"):format(e, arg, msg), 2)
  end
end

T.test("W8A8 per-token against the double reference", function()
  local r = sq.layer_error(W, Xs, {bits = 8}, b, {bits = 8, granularity = "token"})
  local Wq = sq.quantize(W, {bits = 8}):dequantize():totable()
  local Xq = sq.quantize(Xs, {bits = 8, granularity = "channel", axis = 1}):dequantize():totable()
  check(r, figures(forward(W:totable(), rows, b:totable()), forward(Wq, Xq, b:totable())), "per-token")
  T.eq(r.input_quantized, true, "act")
  T.eq(r.input.sqnr_db, sq.diff(Xs, sq.tensor(Xq)).sqnr_db, "input figures")
end)

T.test("W8A8: per-token beats per-tensor when token scales differ", function()
  local tok = sq.layer_error(W, Xs, {bits = 8}, b, {bits = 8, granularity = "token"})
  local ten = sq.layer_error(W, Xs, {bits = 8}, b, {bits = 8, granularity = "tensor"})
  local Xq = sq.quantize(Xs, {bits = 8}):dequantize():totable()
  local Wq = sq.quantize(W, {bits = 8}):dequantize():totable()
  check(ten, figures(forward(W:totable(), rows, b:totable()), forward(Wq, Xq, b:totable())), "per-tensor")
  T.truthy(tok.input.sqnr_db > ten.input.sqnr_db + 3, "input: per-token at least 3 dB better")
  T.truthy(tok.sqnr_db > ten.sqnr_db + 3, "output: per-token at least 3 dB better")
  -- the weight figures do not depend on the activations
  T.eq(tok.weight.sqnr_db, ten.weight.sqnr_db, "weight figures")
  -- asymmetric 4-bit activations lose more than 8-bit ones
  local a4 = sq.layer_error(W, Xs, {bits = 8}, b, {bits = 4, granularity = "token", mode = "asymmetric"})
  T.truthy(a4.input.sqnr_db < tok.input.sqnr_db, "4-bit activations lose more")
end)

T.test("errors name the argument", function()
  argerr(function() return sq.layer_error(W, sq.randn({5, 15}), {bits = 8}) end, 2,
         "the input has 15 features (its dimension 2) but the weight takes 16 (its dimension 2)")
  argerr(function() return sq.layer_error(W, X, {bits = 8}, sq.randn({5})) end, 2,
         "the bias must be [6] (the weight's dimension 1), not [5]")
  argerr(function() return sq.layer_error(W, X, {bits = 8}, nil, {granularity = "group"}) end, 5,
         "act.granularity must be 'token' or 'tensor'")
  T.raises(function() return sq.layer_error(W, X, {bits = 8}, nil, {bits = 1}) end,
           {pattern = "bad argument #5 .*act: "})
  T.raises(function() return sq.layer_error(W, X, {bits = 9}) end, {pattern = "bad argument #3"})
  T.raises(function() return sq.layer_error(sq.randn({16}), X, {bits = 8}) end,
           {pattern = "the weight must be a matrix %[out, in%], not %[16%]"})
end)

T.test("sq.diff: figures, percentiles, histogram, shapes", function()
  local a, c = sq.tensor{1, 2, 3, 4, 0}, sq.tensor{1, 2.5, 2, 4, 0.25}
  local d = sq.diff(a, c)
  T.eq(d.numel, 5, "numel"); T.eq(d.max_abs_err, 1.0, "max"); T.eq(d.max_index, 3, "max at element 3 (1-based)")
  T.eq(d.median_abs_err, 0.25, "p50"); T.near(d.p95_abs_err, 0.9, 1e-15, "p95")
  T.eq(d.sqnr_db, 10 * math.log(30 / 1.3125, 10), "sqnr"); T.eq(d.err_min, -0.5, "err_min")
  local h = d:histogram(4)
  T.eq(table.concat(h.counts, " "), "0 2 2 1", "counts"); T.eq(h.edges[1], -1.0, "lo"); T.eq(h.edges[5], 1.0, "hi")
  h = d:histogram(2, -0.3, 0.3)
  T.eq(h.below, 1, "below"); T.eq(h.above, 1, "above")
  T.eq(sq.diff(a, a).sqnr_db, math.huge, "identical")
  argerr(function() return sq.diff(sq.tensor{{1, 2}}, sq.tensor{{1}, {2}}) end, 2,
         "shapes differ: the reference is [1, 2], the other [2, 1] (dimension 1: 1 vs 2)")
  T.raises(function() return d:histogram(0) end, {pattern = "bins must be in 1..65536"})
end)

T.test("sq.take_rows", function()
  local t = sq.take_rows(sq.tensor{{1, 2}, {3, 4}, {5, 6}}, {3, 1, 1})
  T.eq(tostring(t), "tensor[3, 2] f32 {5, 6, 1, 2, 1, 2}", "rows")
  argerr(function() return sq.take_rows(sq.tensor{1, 2}, {3}) end, 2, "entry 1 is not a row number in 1..2")
end)

T.done()
