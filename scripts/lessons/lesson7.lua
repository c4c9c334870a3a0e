-- Lesson 7: float and codebook formats (FP8, FP4, NF4, MXFP4): non-uniform levels.
return {
  title = "Float and codebook formats: uneven levels",
  minutes = 8,
  needs = function()
    return type(sq.formats) == "function", "needs the float and codebook formats (FP8, FP4, NF4, MXFP4)"
  end,
  run = function(lesson)
    local t = sq.randn({128, 256}, 7)
    local rows = {{"format", "SQNR dB"}}
    for _, f in ipairs({"int", "nf4", "fp8_e4m3", "mxfp4"}) do
      local ok, q = pcall(sq.quantize, t, {format = f, bits = 4})
      rows[#rows + 1] = {f, ok and string.format("%.2f", q:stats().sqnr_db) or "-"}
    end
    lesson.page([[
# Levels where the values are
Normally distributed weights crowd around 0. Evenly spaced int4 levels spend as many levels on the rare large values as on the crowd. NF4 places its 16 levels at the quantiles of a normal distribution; FP formats space them geometrically.]])
    lesson.page("# A normal tensor\n" .. lesson.table(rows))
    lesson.view(t, {format = "nf4"}, {keys = {"f / F  cycle the format: watch the level marks"}})
    lesson.ask("Why do FP8 levels get sparser away from zero?",
               "A float stores an exponent: each power of two holds the same number of mantissa steps, so the step doubles with every binade.")
  end,
}
