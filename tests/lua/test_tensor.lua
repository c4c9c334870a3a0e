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

T.test("file functions are not available yet", function()
  T.raises(function() return sq.load("x.npy") end, {pattern = "sq.load: file formats are not available in this build yet"})
  T.raises(function() return sq.open("x.safetensors") end, {pattern = "not available in this build yet"})
  T.raises(function() return sq.tensor{1}:save("x.npy") end, {pattern = "not available in this build yet"})
end)

T.done()
