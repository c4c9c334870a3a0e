-- The seed's model pieces: linear layers, quantized layers, named sets.
local T = require "testlib"

T.test("sq.linear from W and b; forward", function()
  local lin = sq.linear(sq.tensor{{1, 2}, {3, 4}, {5, 6}}, sq.tensor{0.5, -1, 0})
  T.eq(lin.in_features, 2, "in"); T.eq(lin.out_features, 3, "out")
  local y = lin:forward(sq.tensor{{1, 1}})
  T.eq(y.shape[1], 1, "y rows"); T.eq(y.shape[2], 3, "y cols")
  T.eq(y:get(1, 1), 3.5, "y1"); T.eq(y:get(1, 2), 6.0, "y2"); T.eq(y:get(1, 3), 11.0, "y3")
  T.eq(lin.weight:get(3, 2), 6.0, "weight field"); T.eq(lin.bias:numel(), 3, "bias field")
  T.eq(tostring(lin), "linear(in=2, out=3, bias=true)", "tostring")
  local p = lin:parameters()
  T.eq(p.weight.shape[1], 3, "parameters weight"); T.eq(p.bias.shape[2], 3, "bias stored as [1, out]")
  T.eq(sq.linear(sq.tensor{{1, 2}}).bias, nil, "no bias")
end)

T.test("sq.linear(in, out, seed) and argument errors", function()
  local lin = sq.linear(8, 4, 1)
  T.eq(lin.weight.shape[1], 4, "out"); T.eq(lin.weight.shape[2], 8, "in")
  T.truthy(lin.weight:max() <= 1 / math.sqrt(8), "PyTorch init bound")
  T.raises(function() return sq.linear(sq.tensor{1, 2}) end,
    "bad argument #1 to 'linear' (weight must be a matrix [out, in])")
  T.raises(function() return sq.linear(sq.tensor{{1, 2}}, sq.tensor{1, 2}) end,
    "bad argument #2 to 'linear' (bias must have 1 elements (out_features), got 2)")
  T.raises(function() return sq.linear(0, 4) end, "bad argument #1 to 'linear' (in_features must be positive)")
  T.raises(function() return lin:forward(sq.tensor{1, 2, 3}) end, {pattern = "^bad argument #1 to 'forward'"})
end)

T.test("sq.quantize_linear", function()
  local lin = sq.linear(sq.tensor{{127, 2.5}, {-2.5, 1}}, sq.tensor{1, 2})
  local ql = sq.quantize_linear(lin, {bits = 8})
  local y = ql:forward(sq.tensor{{1, 0}, {0, 1}})
  T.eq(y:get(1, 1), 128.0, "W'11 + b1"); T.eq(y:get(1, 2), -3 + 2.0, "W'21 + b2"); T.eq(y:get(2, 1), 3 + 1.0, "W'12 + b1")
  T.eq(ql:memory_savings_bytes(), 16 - 4, "fp32 bytes minus packed codes")
  T.eq(next(ql:parameters()), nil, "no parameters")
  T.eq(ql.in_features, 2, "in"); T.eq(ql.config.bits, 8, "config")
  T.truthy(tostring(ql):find("^qlinear%(in=2, out=2, bias=true, int8 sym per%-tensor%)"), "tostring")
  T.raises(function() return sq.quantize_linear(lin, {bits = 1}) end,
    "bad argument #2 to 'quantize_linear' (bits must be an integer in 2..8, got 1)")
end)

T.test("ql:forward(x, 'dynamic_int8')", function()
  local lin = sq.linear(sq.tensor{{127, 2.5}, {-2.5, 1}}, sq.tensor{1, 2})
  local ql = sq.quantize_linear(lin, {bits = 8}) -- per-tensor, scale 1: codes {{127, 3}, {-3, 1}}
  T.eq(ql.dynamic_applies, true, "per-tensor weight")
  -- rows whose max |x| is 127: activation scale 1, codes exact, so both modes give the exact sums
  local x = sq.tensor{{127, 0}, {0, 127}}
  local e, d = ql:forward(x), ql:forward(x, "dynamic_int8")
  T.eq(ql:forward(x, "exact"):get(1, 1), e:get(1, 1), "explicit exact")
  T.eq(d:get(1, 1), 127 * 127 + 1.0, "dynamic row 1"); T.eq(d:get(2, 1), 3 * 127 + 1.0, "dynamic row 2")
  T.eq(d:get(1, 2), e:get(1, 2), "dynamic = exact"); T.eq(d:get(2, 2), e:get(2, 2), "dynamic = exact")
  -- 0.3 is rounded to the code 38 of scale 1/127: y1 = (127 * 127 + 3 * 38) / 127 + 1 in double, then float
  local y = ql:forward(sq.tensor{{1, 0.3}}, "dynamic_int8")
  T.near(y:get(1, 1), 16243 / 127 + 1, 1e-5, "activation rounded to int8")
  T.near(ql:forward(sq.tensor{{1, 0.3}}):get(1, 1), 128.9, 1e-5, "exact mode")
  -- a weight with one scale per input column (per-channel along the input axis) is multiplied exactly in either mode
  local qg = sq.quantize_linear(lin, {bits = 4, granularity = "channel", axis = 2})
  T.eq(qg.dynamic_applies, false, "per-channel along the input axis")
  local xg = sq.tensor{{1, 0.3}}
  T.eq(qg:forward(xg, "dynamic_int8"):get(1, 1), qg:forward(xg):get(1, 1), "input-axis scales: exact arithmetic")
  -- per-group weights have a dynamic int8 path too
  T.eq(sq.quantize_linear(lin, {bits = 4, granularity = "group", group_size = 2}).dynamic_applies, true, "per-group weight")
  T.raises(function() return ql:forward(x, "int4") end, {pattern = "^bad argument #2 to 'forward' %(invalid option 'int4'%)"})
end)

T.test("sq.quantize_named quantizes rank >= 2 only", function()
  local set = {w = sq.randn({4, 8}, 1), b = sq.randn({8}, 2), e = sq.randn({2, 8}, 3)}
  local out = sq.quantize_named(set, {bits = 4})
  T.truthy(out.w and out.e, "matrices quantized"); T.eq(out.b, nil, "vector skipped")
  T.eq(out.w.bits, 4, "config applied")
  T.truthy(out.w:stats().sqnr_db > 10, "stats against the source tensor")
  T.raises(function() return sq.quantize_named({w = 1}) end, "bad argument #1 to 'quantize_named' (value for 'w' is not a tensor)")
  T.raises(function() return sq.quantize_named({sq.randn{2, 2}}) end, "bad argument #1 to 'quantize_named' (tensor names must be strings)")
  T.raises(function() return sq.quantize_named(set, {granularity = "group", group_size = 3}) end,
    {pattern = "^bad argument #2 to 'quantize_named' %(.*group_size"})
end)

T.test("sq.model_stats", function()
  local ms = sq.model_stats({w = sq.randn({4, 8}), b = sq.randn{8}}, {bits = 4})
  T.eq(ms.num_quantized, 1, "num_quantized"); T.eq(ms.num_fp32, 1, "num_fp32")
  T.eq(ms.fp32_bytes, (32 + 8) * 4, "fp32_bytes")
  T.eq(ms.quantized_bytes, 16 + 16 + 32, "codes + 16 B per scale + kept fp32")
  T.eq(ms.compression_ratio, 160 / 64, "ratio")
  local empty = sq.model_stats({})
  T.eq(empty.compression_ratio, 1.0, "empty set")
end)

T.test("a layer of a block, float or codebook format multiplies the format's own values", function()
  local lin = sq.linear(256, 8)
  local x = sq.randn({3, 256}, 5)
  for _, f in ipairs{"q4_k", "q8_0", "nf4", "fp8_e4m3", "mxfp4", "nvfp4"} do
    local ql = sq.quantize_linear(lin, {format = f})
    local y = ql:forward(x)
    -- reference: the format's decoded weight, multiplied in double, then float (+ bias)
    local w = sq.quantize(lin.weight, {format = f}):dequantize()
    for r = 1, 3 do
      for o = 1, 8 do
        local acc = 0
        for k = 1, 256 do acc = acc + x:get(r, k) * w:get(o, k) end
        acc = acc + lin.bias:get(1, o)
        -- float summation of 256 products: well inside 1e-4 relative of sum |w x| here
        T.near(y:get(r, o), acc, 1e-4 * (1 + math.abs(acc)), f .. " output " .. r .. "," .. o)
      end
    end
    T.eq(ql.dynamic_applies, false, f .. ": no int8 path")
    T.raises(function() return ql:forward(x, "dynamic_int8") end, {pattern = "multiplies int codes; this layer's weight is " .. f})
  end
end)

T.done()
