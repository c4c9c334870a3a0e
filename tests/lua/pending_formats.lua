-- Formats through the engine (needs branch fmtengine's quantization paths):
-- every format through sq.quantize, its storage, statistics and the
-- safetensors round trip. Moves into test_formats.lua once main has them.
local T = require "testlib"

local t = sq.randn({4, 256}, 7)

-- bytes each format stores for a 4 x 256 tensor (quant.h "Formats": the blocks of
-- every row; fp8/fp4 one fp32 scale per tensor; nf4 4-bit codes + fp32 absmax per 64;
-- nvfp4 + its fp32 tensor scale)
local bytes = {q4_0 = 4 * 8 * 18, q4_1 = 4 * 8 * 20, q5_0 = 4 * 8 * 22, q5_1 = 4 * 8 * 24, q8_0 = 4 * 8 * 34,
               q2_k = 4 * 84, q3_k = 4 * 110, q4_k = 4 * 144, q5_k = 4 * 176, q6_k = 4 * 210,
               iq4_nl = 4 * 8 * 18, iq4_xs = 4 * 136, fp8_e4m3 = 1024 + 4, fp8_e5m2 = 1024 + 4,
               fp4_e2m1 = 512 + 4, nf4 = 512 + 16 * 4, mxfp4 = 4 * 8 * 17, mxfp8 = 4 * 8 * 33,
               nvfp4 = 4 * 16 * 9 + 4}

local function formats()
  local r = {}
  for _, f in ipairs(sq.formats()) do if f.name ~= "int" then r[#r + 1] = f.name end end
  return r
end

local function same_values(a, b, what)
  local x, y = a:dequantize():totable(), b:dequantize():totable()
  for i = 1, #x do for j = 1, #x[i] do
    if x[i][j] ~= y[i][j] then error(string.format("%s: value [%d][%d] %s vs %s", what, i, j, x[i][j], y[i][j])) end
  end end
end

T.test("every format through sq.quantize: config, storage, bits per weight, statistics", function()
  for _, n in ipairs(formats()) do
    local q = sq.quantize(t, {format = n})
    T.eq(q.config.format, n, n .. ": config.format")
    T.truthy(tostring(q):find(n, 1, true), n .. ": tostring names the format")
    local st = q:stats()
    T.eq(st.numel, 1024, n .. ": numel")
    T.eq(st.bits_per_weight, bytes[n] * 8 / 1024, n .. ": bits per weight")
    T.truthy(st.sqnr_db > 5 and st.sqnr_db < 60, n .. ": sqnr " .. tostring(st.sqnr_db))
    T.truthy(st.rmse > 0, n .. ": rmse")
    local again = sq.quantize(t, q.config)
    same_values(q, again, n .. ": q.config round trip")
  end
end)

T.test("nf4 block and double quantization; fp8 per channel", function()
  local q = sq.quantize(t, {format = "nf4", group_size = 128, double_quant = true})
  T.eq(q.config.group_size, 128, "block"); T.eq(q.config.double_quant, true, "dq")
  -- 512 code bytes + 8 absmax codes + one fp32 absmax2 + the fp32 offset
  T.eq(q:stats().bits_per_weight, (512 + 8 + 4 + 4) * 8 / 1024, "nf4 dq bits per weight")
  local c = sq.quantize(t, {format = "fp8_e4m3", granularity = "channel", axis = 1})
  T.eq(#c:scales(), 4, "one scale per row")
  T.eq(c:stats().bits_per_weight, (1024 + 16) * 8 / 1024, "fp8 per-channel bits per weight")
end)

T.test("q:save and sq.open(path):qtensor: same config, codes and dequantized values for every format", function()
  local path = os.tmpname() .. ".safetensors"
  local cfgs = {}
  for _, n in ipairs(formats()) do cfgs[#cfgs + 1] = {format = n} end
  cfgs[#cfgs + 1] = {format = "nf4", group_size = 32, double_quant = true}
  cfgs[#cfgs + 1] = {format = "fp4_e2m1", granularity = "group", group_size = 32}
  for _, cfg in ipairs(cfgs) do
    local q = sq.quantize(t, cfg)
    T.eq(q:save(path, "w"), true, cfg.format .. ": save")
    local r = assert(sq.open(path):qtensor("w"))
    T.eq(r.config.format, cfg.format, cfg.format .. ": format")
    T.eq(r.config.double_quant, q.config.double_quant, cfg.format .. ": double_quant")
    local a, b = q:codes(), r:codes()
    T.eq(#a, #b, cfg.format .. ": code count")
    for i = 1, #a do if a[i] ~= b[i] then error(cfg.format .. ": code " .. i) end end
    same_values(q, r, cfg.format .. ": reload")
  end
  os.remove(path)
end)

T.done()
