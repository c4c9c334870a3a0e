-- Every number a user reads in an error message counts from 1 (issue 14):
-- element numbers and multi-indices of non-finite values, axes, and the
-- same engine messages through the command line.
local T = require "testlib"

local squint = os.getenv("SQUINT") or arg[-1]
local tmp = io.popen("mktemp -d"):read("l")

T.test("a NaN is reported at its 1-based element and [row, column]", function()
  local t = sq.tensor{{1, 2, 3}, {4, 0 / 0, 1 / 0}}
  -- NaN at row 2, column 2: element 5 of 6 (the Inf after it is counted, not located)
  T.raises(function() return sq.quantize(t, {bits = 4}) end,
    {pattern = "%(tensor has 2 non%-finite values %(1 NaN, 1 Inf%) of 6; first at element 5 %[2, 2%] = %-?nan%)$"})
  local first = sq.tensor{0 / 0, 1}
  T.raises(function() return sq.quantize(first) end, {pattern = "first at element 1 %[1%] = %-?nan%)$"})
end)

T.test("the engine's axis message counts axes from 1 (command line)", function()
  local src = tmp .. "/in.safetensors"
  assert(sq.randn({2, 4}, 1):save(src, "w"))
  local cmd = string.format("%q quantize %q %q --granularity channel --axis 3 2>&1", squint, src, tmp .. "/o.safetensors")
  local out = io.popen(cmd):read("a")
  T.truthy(out:find("w: axis 3 is out of range for a tensor of 2 dimensions (axes 1..2): copied as is", 1, true), out)
end)

T.test("a stored scale that is not positive is named 1-based", function()
  -- q:save writes f64 scales; scale 2 of a per-channel tensor is patched to 0 in the file
  local q = sq.quantize(sq.tensor{{1, 2}, {3, 4}}, {bits = 8, granularity = "channel"})
  local path = tmp .. "/q.safetensors"
  assert(q:save(path, "w"))
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close()
  local n = string.unpack("<I8", s)
  local a = s:sub(9, 8 + n):match('"w%.scales":%s*{[^}]-"data_offsets":%s*%[%s*(%d+)')
  T.truthy(a and s:sub(9, 8 + n):match('"w%.scales":%s*{[^}]-"dtype":%s*"F64"'), "f64 scales in the file")
  local at = 8 + n + tonumber(a) + 8 -- the second scale
  s = s:sub(1, at) .. string.pack("<d", 0) .. s:sub(at + 9)
  f = assert(io.open(path, "wb")); f:write(s); f:close()
  local ck = sq.open(path)
  local got, msg = ck:qtensor("w")
  T.eq(got, nil, "refused")
  T.truthy(msg:find("quantized tensor 'w': scale 2 is 0 (scales must be finite and positive)", 1, true), msg)
  ck:close()
end)

os.execute("rm -rf " .. tmp)
T.done()
