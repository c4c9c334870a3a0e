-- Tensors: construction, fields, methods, metamethods and argument errors.
local T = require "testlib"

T.test("sq global is the required module", function()
  T.eq(sq, require "squint", "require 'squint'")
  T.eq(type(sq.version), "string", "sq.version")
end)

T.test("sq.tensor from a nested table", function()
  local t = sq.tensor{{1, 2, 3}, {4, 5, 6}}
  T.eq(#t.shape, 2, "ndim"); T.eq(t.shape[1], 2, "rows"); T.eq(t.shape[2], 3, "cols")
  T.eq(t.ndim, 2, "t.ndim"); T.eq(t.dtype, "f32", "dtype"); T.eq(t:numel(), 6, "numel")
  T.eq(#t, 2, "#t is the first dimension")
  T.eq(t:get(1, 1), 1.0, "get(1,1)"); T.eq(t:get(2, 3), 6.0, "get(2,3)"); T.eq(t:get(2, 1), 4.0, "get(2,1)")
end)

T.test("sq.tensor scalar and empty", function()
  local s = sq.tensor(2.5)
  T.eq(s.ndim, 0, "scalar ndim"); T.eq(s:numel(), 1, "scalar numel"); T.eq(s:get(), 2.5, "scalar get")
  T.eq(s:totable(), 2.5, "scalar totable"); T.eq(#s, 1, "#scalar")
  local e = sq.tensor{}
  T.eq(e.shape[1], 0, "empty shape"); T.eq(e:numel(), 0, "empty numel")
end)

T.test("min, max, mean, std", function()
  local t = sq.tensor{1, 2, 3, 4}
  T.eq(t:min(), 1.0, "min"); T.eq(t:max(), 4.0, "max"); T.eq(t:mean(), 2.5, "mean")
  T.near(t:std(), math.sqrt(1.25), 1e-12, "population std")
end)

T.test("totable round trip", function()
  local t = sq.tensor{{1, 2}, {3, 4}, {5, 6}}
  local v = t:totable()
  T.eq(#v, 3, "rows"); T.eq(#v[1], 2, "cols"); T.eq(v[3][2], 6.0, "v[3][2]")
  local t2 = sq.tensor(v)
  T.eq(t2:get(3, 2), 6.0, "rebuilt")
end)

T.test("__tostring", function()
  T.eq(tostring(sq.tensor{127, 2.5, -2.5}), "tensor[3] f32 {127, 2.5, -2.5}", "small tensor")
  T.truthy(tostring(sq.demo()):find("^tensor%[256, 512%] f32 min "), "demo summary")
end)

T.test("sq.randn is seeded and deterministic", function()
  local a, b, c = sq.randn({4, 5}, 7), sq.randn({4, 5}, 7), sq.randn({4, 5}, 8)
  T.eq(a.shape[1], 4, "shape"); T.eq(a:numel(), 20, "numel")
  T.eq(a:get(3, 4), b:get(3, 4), "same seed same values")
  T.truthy(a:get(1, 1) ~= c:get(1, 1), "different seed differs")
  T.eq(sq.randn(10):numel(), 10, "integer shape")
end)

T.test("sq.zeros and sq.demo", function()
  local z = sq.zeros{2, 3}
  T.eq(z:numel(), 6, "numel"); T.eq(z:max(), 0.0, "zeros"); T.eq(z:min(), 0.0, "zeros")
  local d = sq.demo()
  T.eq(d.shape[1], 256, "demo rows"); T.eq(d.shape[2], 512, "demo cols")
end)

T.test("argument errors", function()
  T.raises(function() return sq.tensor("x") end, "bad argument #1 to 'tensor' (table or number expected, got string)")
  T.raises(function() return sq.tensor{{1, 2}, {3}} end,
    "bad argument #1 to 'tensor' (ragged nested table: expected 2 elements at depth 2)")
  T.raises(function() return sq.tensor{1, "a"} end, "bad argument #1 to 'tensor' (expected a number at depth 1, got string)")
  T.raises(function() return sq.randn{2, -1} end, "bad argument #1 to 'randn' (size 2 must be a non-negative integer)")
  T.raises(function() return sq.zeros("x") end, "bad argument #1 to 'zeros' (shape table expected, got string)")
  T.raises(function() return sq.randn({2}, "s") end, "bad argument #2 to 'randn' (number expected, got string)")
  local t = sq.tensor{1, 2, 3}
  T.raises(function() return t:get(5) end, "bad argument #1 to 'get' (index 5 out of range 1..3)")
  T.raises(function() return t:get(1, 1) end, {pattern = "get: expected 1 index for a tensor of shape %[3%], got 2"})
  T.raises(function() return t.get(5) end, "bad argument #1 to 'get' (squint.tensor expected, got number)")
end)

T.test("t:save / sq.load round trips (.npy and .safetensors) and sq.open", function()
  local base = os.tmpname()
  local t = sq.tensor{{1.5, -2, 3}, {4, 5, 6.25}}
  for _, ext in ipairs{".npy", ".safetensors"} do
    T.eq(t:save(base .. ext), true, "save " .. ext)
    local r = sq.load(base .. ext)
    T.eq(r.shape[1], 2, ext .. " rows"); T.eq(r.shape[2], 3, ext .. " cols")
    T.eq(r:get(1, 1), 1.5, ext .. " (1,1)"); T.eq(r:get(2, 3), 6.25, ext .. " (2,3)")
  end
  T.eq(t:save(base .. "2.safetensors", "layer.w"), true, "named save")
  local ck = sq.open(base .. "2.safetensors")
  T.eq(#ck, 1, "#ck"); T.eq(ck:names()[1], "layer.w", "names"); T.eq(ck.format, "safetensors", "format")
  local info = ck:info("layer.w")
  T.eq(info.dtype, "F32", "info dtype"); T.eq(info.nbytes, 24, "info nbytes"); T.eq(info.shape[2], 3, "info shape")
  T.eq(ck:tensor("layer.w"):get(2, 2), 5.0, "ck:tensor")
  local n = 0
  for name, x in ck:tensors() do n = n + 1; T.eq(name, "layer.w", "iterated name"); T.eq(x:get(1, 2), -2.0, "value") end
  T.eq(n, 1, "one tensor iterated")
  T.truthy(tostring(ck):find("1 tensors, safetensors"), "tostring")
  local ms = sq.model_stats(ck, {bits = 8})
  T.eq(ms.num_quantized, 1, "model_stats from a checkpoint"); T.eq(ms.quantized_bytes, 6 + 16, "bytes")
  local qn = sq.quantize_named(ck, {bits = 4})
  T.eq(qn["layer.w"]:codes():numel(), 6, "quantize_named from a checkpoint")
  T.raises(function() return ck:tensor("nope") end, {pattern = "^bad argument #1 to 'tensor' %(.*nope"})
  ck:close()
  T.raises(function() return ck:names() end, {pattern = "checkpoint has been closed"})
  for _, f in ipairs{base, base .. ".npy", base .. ".safetensors", base .. "2.safetensors"} do os.remove(f) end
  local ok, msg = sq.load("/nonexistent/x.npy")
  T.eq(ok, nil, "missing file: nil"); T.truthy(msg:find("/nonexistent/x.npy", 1, true), "message names the file")
  ok, msg = sq.open("/nonexistent/m.safetensors")
  T.eq(ok, nil, "open missing: nil"); T.truthy(msg:find("m.safetensors", 1, true), "names it")
  T.raises(function() return t:save("x.txt") end,
    "bad argument #1 to 'save' (x.txt: unknown extension (use .npy or .safetensors))")
end)

T.done()
