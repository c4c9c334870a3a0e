-- Lesson 7: float and codebook formats (FP8, FP4, NF4, MXFP4): non-uniform levels.

-- Whether sq.quantize can store these formats (a probe on one small row).
local function can_quantize(formats)
  if type(sq.formats) ~= "function" then return false end
  local row = {}
  for i = 1, 64 do row[i] = (i - 32) / 8 end
  local t = sq.tensor{row}
  for _, f in ipairs(formats) do
    if not pcall(sq.quantize, t, {format = f}) then return false end
  end
  return true
end

return {
  title = "Float and codebook formats: uneven levels",
  minutes = 8,
  needs = function()
    return can_quantize{"nf4", "fp8_e4m3", "fp4_e2m1", "mxfp4"}, "needs the float and codebook formats (FP8, FP4, NF4, MXFP4)"
  end,
  run = function(lesson)
    local t = sq.randn({128, 256}, 7)
    local rows = {{"format", "bits/weight", "SQNR dB"}}
    local cfgs = {{"int4 per-group(32)", {bits = 4, granularity = "group", group_size = 32}},
                  {"nf4 (blocks of 64)", {format = "nf4"}},
                  {"fp4_e2m1 per-group(32)", {format = "fp4_e2m1", granularity = "group", group_size = 32}},
                  {"mxfp4 (blocks of 32)", {format = "mxfp4"}},
                  {"fp8_e4m3 per-tensor", {format = "fp8_e4m3"}}}
    local st = {}
    for i, c in ipairs(cfgs) do
      st[i] = sq.quantize(t, c[2]):stats()
      rows[#rows + 1] = {c[1], string.format("%.3f", st[i].bits_per_weight), string.format("%.2f", st[i].sqnr_db)}
    end
    -- the levels each format puts on [0, 1]: one row of 64 values from -1 to 1
    -- (absmax 1) through the round trip, the distinct results kept
    local ramp = {}
    for i = 1, 64 do ramp[i] = -1 + 2 * (i - 1) / 63 end
    local function levels(cfg)
      local seen, out = {}, {}
      for _, v in ipairs(sq.quantize(sq.tensor{ramp}, cfg):dequantize():totable()[1]) do
        v = v + 0.0 == 0 and 0.0 or v
        if v >= 0 and not seen[v] then seen[v], out[#out + 1] = true, v end
      end
      table.sort(out)
      local txt = {}
      for i, v in ipairs(out) do txt[i] = string.format("%.3f", v) end
      return table.concat(txt, " "), #out
    end
    local li, ni = levels({bits = 4})
    local ln, nn = levels({format = "nf4"})
    local lf, nf = levels({format = "fp4_e2m1"})
    local info = {}
    for _, f in ipairs(sq.formats()) do info[f.name] = f end
    lesson.page(string.format([[
# Levels where the values are
Normally distributed weights crowd around 0. Evenly spaced int4 levels spend as many levels on the rare large values as on the crowd. NF4 places its 16 levels at the quantiles of a normal distribution; the FP formats space them by powers of two: fine near zero, coarse far out. The levels at 0 and above for values in [-1, 1], as squint rounds them:
  int4 (%d):  %s
  nf4  (%d):  %s
  fp4  (%d):  %s]], ni, li, nn, ln, nf, lf))
    lesson.page("# A normal tensor, 128 x 256\n" .. lesson.table(rows) .. "\n\n" .. string.format([[
NF4 (an fp32 absmax per %d) gets %+.2f dB against int4 groups of 32 at %.2f bits fewer a weight (squint's int4 scales are %s). FP4 spends its levels for floats, not for a bell curve: %+.2f dB against NF4. MXFP4 stores %s; FP8 spends twice the bits for %+.1f dB.]],
      math.tointeger(info.nf4.block), st[2].sqnr_db - st[1].sqnr_db, st[1].bits_per_weight - st[2].bits_per_weight,
      st[1].scale_dtype, st[3].sqnr_db - st[2].sqnr_db, info.mxfp4.scales, st[5].sqnr_db - st[2].sqnr_db))
    lesson.view(t, {format = "nf4"}, {
      note = "The normal tensor in NF4: the level marks on the value histogram crowd around 0.",
      keys = {", / .  block by block: the 16 levels scale with each block's absmax",
              "s  save the value histogram with the levels marked"}})
    lesson.ask("Why do FP8 levels get sparser away from zero?",
               string.format("A float stores an exponent: each power of two holds the same number of mantissa steps, so the step doubles with every binade. fp8_e4m3 has 3 mantissa bits: 2^3 = %d steps in every binade.", 1 << 3))
  end,
}
