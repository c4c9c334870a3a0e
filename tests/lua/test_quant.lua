-- Quantization: exact hand-computed codes, configuration handling and errors.
local T = require "testlib"

local function codes(q) return q:codes():totable() end

T.test("int8 symmetric: scale 1, codes 127, 3, -3 (half away from zero)", function()
  local q = sq.quantize(sq.tensor{127, 2.5, -2.5}, {bits = 8})
  T.eq(q:scales()[1], 1.0, "scale"); T.eq(#q:scales(), 1, "one scale")
  T.eq(q:zero_points()[1], 0.0, "zero point")
  local c = codes(q)
  T.eq(c[1], 127.0, "code 1"); T.eq(c[2], 3.0, "code 2"); T.eq(c[3], -3.0, "code 3")
  T.eq(q:codes().dtype, "i8", "codes dtype")
  local d = q:dequantize():totable()
  T.eq(d[1], 127.0, "deq 1"); T.eq(d[2], 3.0, "deq 2"); T.eq(d[3], -3.0, "deq 3")
end)

T.test("rounding = 'even': codes 2, -2", function()
  local q = sq.quantize(sq.tensor{127, 2.5, -2.5}, {rounding = "even"})
  local c = codes(q)
  T.eq(c[1], 127.0, "code 1"); T.eq(c[2], 2.0, "code 2"); T.eq(c[3], -2.0, "code 3")
end)

T.test("asymmetric 2-bit: zero point -2, exact round trip", function()
  local q = sq.quantize(sq.tensor{0, 1, 2, 3}, {bits = 2, mode = "asymmetric"})
  T.eq(q:scales()[1], 1.0, "scale"); T.eq(q:zero_points()[1], -2.0, "zero point")
  local c = codes(q)
  for i, want in ipairs{-2, -1, 0, 1} do T.eq(c[i], want, "code " .. i) end
  local d = q:dequantize()
  for i = 1, 4 do T.eq(d:get(i), i - 1.0, "deq " .. i) end
  T.eq(q:stats().sqnr_db, math.huge, "lossless SQNR is +inf")
end)

T.test("per-channel with 1-based axis", function()
  local t = sq.tensor{{1, 4}, {10, 40}}
  local q = sq.quantize(t, {granularity = "channel", axis = 1})
  local s = q:scales()
  T.eq(#s, 2, "one scale per row"); T.eq(s[1], 4 / 127, "row 1 scale"); T.eq(s[2], 40 / 127, "row 2 scale")
  local c = codes(q)
  T.eq(c[1][1], 32.0, "c11"); T.eq(c[1][2], 127.0, "c12"); T.eq(c[2][1], 32.0, "c21"); T.eq(c[2][2], 127.0, "c22")
  local q2 = sq.quantize(t, {granularity = "channel", axis = 2})
  T.eq(q2:scales()[1], 10 / 127, "column 1 scale"); T.eq(q2:scales()[2], 40 / 127, "column 2 scale")
  T.eq(q.config.axis, 1, "config axis"); T.eq(q2.config.axis, 2, "config axis 2")
  T.truthy(tostring(q):find("per%-channel%(axis 1%)"), "tostring shows the 1-based axis")
end)

T.test("per-group scales", function()
  local q = sq.quantize(sq.tensor{{1, 2, 3, 4}}, {granularity = "group", group_size = 2})
  local s = q:scales()
  T.eq(#s, 2, "two groups"); T.eq(s[1], 2 / 127, "group 1"); T.eq(s[2], 4 / 127, "group 2")
end)

T.test("config, sizes, fields", function()
  local q = sq.quantize(sq.tensor{127, 2.5, -2.5}, {bits = 4, mode = "asymmetric", zero_in_range = true})
  local c = q.config
  T.eq(c.bits, 4, "bits"); T.eq(c.mode, "asymmetric", "mode"); T.eq(c.granularity, "tensor", "granularity")
  T.eq(c.axis, nil, "no axis: per-tensor"); T.eq(c.rounding, "away", "rounding"); T.eq(c.zero_in_range, true, "zir")
  T.eq(q:size_bytes(), 2, "3 int4 codes pack into 2 bytes"); T.eq(q:compression_ratio(), 6.0, "12 / 2")
  T.eq(q:numel(), 3, "numel"); T.eq(#q, 3, "#q"); T.eq(q.shape[1], 3, "shape"); T.eq(q.bits, 4, "q.bits")
  local q2 = sq.quantize(sq.tensor{127, 2.5, -2.5}, c)
  T.eq(q2:scales()[1], q:scales()[1], "config table feeds back into quantize")
  T.eq(sq.quantize(sq.tensor{1}).config.bits, 8, "default bits")
  T.truthy(tostring(q):find("^qtensor%[3%] int4 asym"), "tostring")
end)

T.test("configuration errors name the key", function()
  local t = sq.tensor{{1, 2, 3, 4}}
  local function q(cfg) return function() return sq.quantize(t, cfg) end end
  T.raises(q{bitz = 3}, "bad argument #2 to 'quantize' (unknown key 'bitz')")
  T.raises(q{bits = 9}, "bad argument #2 to 'quantize' (bits must be an integer in 2..8, got 9)")
  T.raises(q{bits = 4.5}, "bad argument #2 to 'quantize' (bits must be an integer in 2..8, got 4.5)")
  T.raises(q{bits = "8"}, "bad argument #2 to 'quantize' (bits must be an integer in 2..8, got '8')")
  T.raises(q{mode = "sym"}, "bad argument #2 to 'quantize' (mode must be 'symmetric' or 'asymmetric', got 'sym')")
  T.raises(q{granularity = "row"},
    "bad argument #2 to 'quantize' (granularity must be 'tensor', 'channel' or 'group', got 'row')")
  T.raises(q{rounding = "up"}, "bad argument #2 to 'quantize' (rounding must be 'away' or 'even', got 'up')")
  T.raises(q{zero_in_range = 1}, "bad argument #2 to 'quantize' (zero_in_range must be a boolean, got 1)")
  T.raises(q{axis = 0}, "bad argument #2 to 'quantize' (axis must be an integer in 1..8 (1 = first dimension), got 0)")
  T.raises(q{granularity = "channel", axis = 3},
    "bad argument #2 to 'quantize' (axis = 3 is out of range for a tensor of 2 dimensions)")
  T.raises(q{group_size = 0}, "bad argument #2 to 'quantize' (group_size must be a positive integer, got 0)")
  T.raises(q{granularity = "group", group_size = 3}, {pattern = "^bad argument #2 to 'quantize' %(.*group_size.*3"})
  T.raises(q{[1] = 8}, "bad argument #2 to 'quantize' (unknown key 1)")
  T.raises(function() return sq.quantize(t, 5) end, "bad argument #2 to 'quantize' (configuration table expected, got number)")
  T.raises(function() return sq.quantize("x") end, "bad argument #1 to 'quantize' (squint.tensor expected, got string)")
  T.raises(function() return sq.quantize() end, "bad argument #1 to 'quantize' (squint.tensor expected, got no value)")
  T.raises(function() return sq.quantize(sq.tensor{1, 0 / 0}) end, {pattern = "^bad argument #1 to 'quantize' %(.*NaN"})
end)

T.test("q:save and reload through sq.open: identical codes, scales and dequantized values", function()
  local path = os.tmpname() .. ".safetensors"
  local t = sq.randn({4, 64}, 3)
  local q = sq.quantize(t, {bits = 4, mode = "asymmetric", granularity = "group", group_size = 16})
  T.eq(q:save(path, "w"), true, "save")
  local ck = sq.open(path)
  local names = ck:names()
  table.sort(names)
  T.eq(table.concat(names, ","), "w.codes,w.scales,w.zero_points", "parts")
  T.eq(table.concat(ck:quantized(), ","), "w", "quantized names")
  local r = ck:qtensor("w")
  T.eq(r.config.bits, 4, "bits"); T.eq(r.config.group_size, 16, "group size")
  local a, b = q:dequantize():totable(), r:dequantize():totable()
  for i = 1, 4 do for j = 1, 64 do T.eq(b[i][j], a[i][j], "x_hat " .. i .. "," .. j) end end
  local sa, sb = q:scales(), r:scales()
  for k = 1, #sa do T.eq(sb[k], sa[k], "scale " .. k) end
  local ok, msg = ck:qtensor("nope")
  T.eq(ok, nil, "unknown name"); T.truthy(msg:find("nope"), "names it")
  ck:close()
  os.remove(path)
  T.raises(function() return q:save("q.gguf") end,
    "bad argument #1 to 'save' (q.gguf: a quantized tensor is saved as .safetensors)")
end)

T.done()
