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
    for _, c in ipairs(cfgs) do
      local st = sq.quantize(t, c[2]):stats()
      rows[#rows + 1] = {c[1], string.format("%.3f", st.bits_per_weight), string.format("%.2f", st.sqnr_db)}
    end
    lesson.page([[
# Levels where the values are
Normally distributed weights crowd around 0. Evenly spaced int4 levels spend as many levels on the rare large values as on the crowd. NF4 places its 16 levels at the quantiles of a normal distribution; the FP formats space them geometrically: fine near zero, coarse far out.]])
    lesson.page("# A normal tensor, 128 x 256\n" .. lesson.table(rows) .. "\n\n" .. [[
On normal data NF4 at 4.5 bits a weight beats evenly spaced int4 groups at 5 (their fp32 scales cost a bit a weight). FP4 has 15 levels, spaced for floats, not for a bell curve. MXFP4 spends one byte per 32 on a power-of-two scale; FP8 spends twice the bits.]])
    lesson.view(t, {format = "nf4"}, {keys = {", / .  block by block: the 16 levels scale with each block's absmax",
                                              "s  save the value histogram with the levels marked"}})
    lesson.ask("Why do FP8 levels get sparser away from zero?",
               "A float stores an exponent: each power of two holds the same number of mantissa steps, so the step doubles with every binade.")
  end,
}
