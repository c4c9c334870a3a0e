-- Formats in configuration tables: format = NAME, the keys a format fixes,
-- options that do not apply (issue 14), q.config and sq.formats(); every
-- format through sq.quantize, its storage and statistics, and q:save /
-- sq.open(path):qtensor round trips.
local T = require "testlib"

local t = sq.randn({4, 256}, 7)
local function q(cfg) return function() return sq.quantize(t, cfg) end end
local function bad(msg) return "bad argument #2 to 'quantize' (" .. msg .. ")" end

local names = {"int", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "iq4_nl",
               "iq4_xs", "fp8_e4m3", "fp8_e5m2", "fp4_e2m1", "nf4", "mxfp4", "mxfp8", "nvfp4"}

T.test("sq.formats(): every format with its kind, block, bits, bits per weight and scales", function()
  local f = sq.formats()
  T.eq(#f, 20, "count")
  for i, n in ipairs(names) do T.eq(f[i].name, n, "name " .. i) end
  T.eq(f[1].kind, "int", "int kind"); T.eq(f[1].bits, nil, "int bits: set by the config")
  T.eq(f[1].block, nil, "int block"); T.eq(f[1].bits_per_weight, nil, "int bits/weight")
  local by = {}
  for _, r in ipairs(f) do by[r.name] = r end
  T.eq(by.q4_k.kind, "block", "q4_k kind"); T.eq(by.q4_k.block, 256, "q4_k block"); T.eq(by.q4_k.bits, 4, "q4_k bits")
  T.eq(by.q4_k.bits_per_weight, 4.5, "q4_k: 144 bytes per 256"); T.eq(by.q2_k.bits_per_weight, 2.625, "q2_k: 84 / 256")
  T.eq(by.q6_k.bits_per_weight, 6.5625, "q6_k: 210 / 256"); T.eq(by.q8_0.bits_per_weight, 8.5, "q8_0: 34 / 32")
  T.eq(by.q8_0.scales, "f16 per 32", "q8_0 scales")
  T.eq(by.fp8_e4m3.kind, "element", "fp8 kind"); T.eq(by.fp8_e4m3.block, 1, "fp8 block")
  T.eq(by.fp8_e4m3.bits, 8, "fp8 bits"); T.eq(by.fp8_e4m3.bits_per_weight, 8, "fp8 bits/weight")
  T.eq(by.nf4.block, 64, "nf4's default block"); T.eq(by.nf4.bits_per_weight, 4.5, "nf4: 4 + 32 / 64")
  T.eq(by.mxfp4.bits_per_weight, 4.25, "mxfp4: 17 / 32"); T.eq(by.nvfp4.block, 16, "nvfp4 block")
  local text = tostring(f)
  T.truthy(text:find("^name%s+kind%s+block%s+bits%s+bits_per_weight%s+scales"), "header line")
  T.truthy(text:find("\nq4_k%s+block%s+256%s+4%s+4.5%s+6%-bit scale"), "q4_k line")
end)

T.test("format = NAME starts from the format's configuration: keys it fixes may repeat its values", function()
  for _, n in ipairs(names) do
    local f
    for _, r in ipairs(sq.formats()) do if r.name == n then f = r end end
    if n ~= "int" then
      local ok, e = pcall(sq.quantize, t, {format = n, bits = f.bits + (f.bits < 8 and 1 or -1)})
      T.eq(ok, false, n .. ": another bits")
      T.truthy(tostring(e):find("bits = %d+ does not apply to format " .. n .. " %(it fixes bits = " .. f.bits .. "%)"),
               n .. ": message " .. tostring(e))
    end
  end
  T.raises(q{format = "q4_k", mode = "symmetric"},
    bad("mode = 'symmetric' does not apply to format q4_k (it fixes mode = 'asymmetric')"))
  T.raises(q{format = "q4_0", mode = "asymmetric"},
    bad("mode = 'asymmetric' does not apply to format q4_0 (it fixes mode = 'symmetric')"))
  T.raises(q{format = "q4_k", group_size = 32},
    bad("group_size = 32 does not apply to format q4_k (it fixes group_size = 256)"))
  T.raises(q{format = "mxfp4", granularity = "tensor"},
    bad("granularity = 'tensor' does not apply to format mxfp4 (it fixes granularity = 'group')"))
  T.raises(q{format = "nf4", granularity = "channel"},
    bad("granularity = 'channel' does not apply to format nf4 (it fixes granularity = 'group')"))
  T.raises(q{format = "fp8_e4m3", rounding = "even"},
    bad("rounding = 'even' does not apply to format fp8_e4m3 (it fixes rounding = 'away')"))
  T.raises(q{format = "q8_0", zero_in_range = true},
    bad("zero_in_range = true does not apply to format q8_0 (it fixes zero_in_range = false)"))
  T.raises(q{format = "nvfp4", calibration = "mse"},
    bad("calibration = 'mse' does not apply to format nvfp4 (it fixes calibration = 'minmax')"))
  T.raises(q{format = "q8_0", percentile = 99.9},
    bad("calibration = 'percentile' does not apply to format q8_0 (it fixes calibration = 'minmax')"))
  T.raises(q{format = "q8_0", double_quant = true}, bad("double_quant applies to format nf4 only, not q8_0"))
  T.raises(q{double_quant = true}, bad("double_quant applies to format nf4 only, not int"))
  T.raises(q{format = "nf4", double_quant = 1}, bad("double_quant must be a boolean, got 1"))
  T.raises(q{format = "nf4", group_size = 3}, {pattern = "group_size = 3: format nf4 needs an even block size"})
end)

T.test("an unknown format lists the known names", function()
  local list = table.concat(names, ", ")
  T.raises(q{format = "q4_z"}, bad("format must be one of " .. list .. ", got 'q4_z'"))
  T.raises(q{format = 4}, bad("format must be one of " .. list .. ", got 4"))
  T.raises(function() return sq.compare(t, {{format = "nope"}}) end,
    "bad argument #2 to 'compare' (config 1: format must be one of " .. list .. ", got 'nope')")
end)

T.test("options that do not apply are errors, for INT too (issue 14)", function()
  T.raises(q{group_size = 16}, bad("group_size applies to granularity 'group' only (granularity is 'tensor')"))
  T.raises(q{granularity = "channel", group_size = 16},
    bad("group_size applies to granularity 'group' only (granularity is 'channel')"))
  T.raises(q{axis = 1}, bad("axis applies to granularity 'channel' only (granularity is 'tensor')"))
  T.raises(q{granularity = "group", group_size = 16, axis = 2},
    bad("axis applies to granularity 'channel' only (granularity is 'group')"))
  T.raises(q{format = "q4_0", axis = 1}, bad("axis applies to granularity 'channel' only (granularity is 'group')"))
  T.raises(q{format = "fp8_e4m3", granularity = "channel", axis = 3},
    bad("axis = 3 is out of range for a tensor of 2 dimensions"))
  -- where they apply they are accepted
  local a = sq.quantize(t, {bits = 4, granularity = "channel", axis = 2})
  T.eq(#a:scales(), 256, "axis 2: one scale per column")
  local g = sq.quantize(t, {bits = 4, granularity = "group", group_size = 64})
  T.eq(#g:scales(), 16, "4 rows x 4 groups")
end)

T.test("q.config: format, and axis / group_size only where they apply; it feeds back into sq.quantize", function()
  local c = sq.quantize(t, {bits = 4}).config
  T.eq(c.format, "int", "format"); T.eq(c.axis, nil, "no axis per-tensor"); T.eq(c.group_size, nil, "no group size")
  T.eq(c.double_quant, nil, "no double_quant for int")
  local ch = sq.quantize(t, {bits = 4, granularity = "channel", axis = 2}).config
  T.eq(ch.axis, 2, "axis"); T.eq(ch.group_size, nil, "no group size per-channel")
  local gr = sq.quantize(t, {bits = 4, granularity = "group", group_size = 64}).config
  T.eq(gr.group_size, 64, "group size"); T.eq(gr.axis, nil, "no axis per-group")
  for _, cfg in ipairs{c, ch, gr} do
    local again = sq.quantize(t, cfg)
    T.eq(again.config.granularity, cfg.granularity, "round trip " .. cfg.granularity)
  end
end)

T.test("a configuration error in sq.report names the configuration and the key", function()
  T.raises(function() return sq.report("nonexistent.safetensors", {{bits = 4}, {format = "q4_k", bits = 8}}) end,
    "bad argument #2 to 'report' (config 2: bits = 8 does not apply to format q4_k (it fixes bits = 4))")
end)

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
    T.truthy(st.sqnr_db > 5 and st.sqnr_db < 60, n .. ": sqnr " .. tostring(st.sqnr_db)) -- 2 to 8 bits: 11 to 46 dB here
    T.truthy(st.rmse > 0, n .. ": rmse")
    local again = sq.quantize(t, q.config)
    same_values(q, again, n .. ": q.config round trip")
  end
  -- more bits, less error: about 6 dB a bit within each family
  local function sqnr(n) return sq.quantize(t, {format = n}):stats().sqnr_db end
  for _, chain in ipairs{{"q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "q8_0"}, {"q4_0", "q5_0", "q8_0"},
                         {"q4_1", "q5_1"}, {"fp4_e2m1", "fp8_e5m2", "fp8_e4m3"}, {"mxfp4", "mxfp8"}} do
    for i = 2, #chain do
      T.truthy(sqnr(chain[i]) > sqnr(chain[i - 1]) + 3, chain[i] .. " beats " .. chain[i - 1] .. " by more than 3 dB")
    end
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
