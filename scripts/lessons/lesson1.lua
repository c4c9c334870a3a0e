-- Lesson 1: what a scale is, one value at a time.
return {
  title = "What a scale is",
  minutes = 6,
  run = function(lesson)
    local w = sq.tensor{{0.42, -1.27, 0.08, 0.91, -0.35, 1.05, -0.66, 0.17}}
    local q = sq.quantize(w, {bits = 4})
    local scale = q:scales()[1]
    local codes = {}
    for i, c in ipairs(q:codes():totable()[1]) do codes[i] = math.tointeger(c) end
    local back = q:dequantize():totable()[1]
    local x = 0.42
    lesson.page([[
# Eight weights, sixteen levels
A layer's weights are real numbers. int4 has room for 16 codes; symmetric int4 uses the 15 from -7 to 7, so that 0 stays exactly 0.

Our weights:
  0.42  -1.27  0.08  0.91  -0.35  1.05  -0.66  0.17

Quantizing means choosing a step size, the scale, and storing each weight as a whole number of steps. The largest magnitude, |-1.27| = 1.27, must still fit: it becomes code -7.]])
    lesson.page(string.format([[
# The scale
  qmax  = 2^(bits-1) - 1 = 7
  scale = max|x| / qmax = 1.27 / 7 = %.6f

Every weight is now a multiple of this step. squint computed the same: q:scales()[1] = %.6f.]], 1.27 / 7, scale))
    local t = x / scale
    local r = t >= 0 and math.floor(t + 0.5) or -math.floor(-t + 0.5)
    lesson.page(string.format([[
# One weight, step by step: x = %.2f
  x / scale          = %.2f / %.6f = %.4f
  round              = %d   (half away from zero)
  clamp to [-7, 7]   = %d   (this is the code squint stores: %d)
  x^ = code * scale  = %d * %.6f = %.6f   (squint: %.6f)
  error = x^ - x     = %.6f

The error is at most half a step, scale / 2 = %.4f, for every weight that is not clipped.]],
      x, x, scale, t, r, math.max(-7, math.min(7, r)), codes[1], r, scale, r * scale, back[1],
      back[1] - x, scale / 2))
    local rows = {{"x", "code", "x^", "error"}}
    for i, v in ipairs(w:totable()[1]) do
      rows[#rows + 1] = {string.format("%.2f", v), codes[i], string.format("%.4f", back[i]),
                         string.format("%+.4f", back[i] - v)}
    end
    lesson.page("# All eight\n" .. lesson.table(rows) .. string.format([[


4 bits a weight instead of 32, plus one scale for the whole tensor. SQNR, the signal-to-noise ratio of the round trip, is %.1f dB here.]], q:stats().sqnr_db))
    lesson.view(sq.randn({64, 256}, 1), {bits = 4}, {
      note = "A 64 x 256 tensor of normally distributed weights, int4 symmetric per-tensor. The marks on the value histogram are the 15 levels; the error histogram is flat between -scale/2 and +scale/2.",
      keys = {"b / B  fewer / more bits: watch the levels and the error width",
              "l      log counts: see the rare large weights"},
    })
    lesson.ask("One weight of the tensor is replaced by an outlier ten times larger than the rest. What happens to the scale, and to the error of every other weight?",
               "The scale is max|x| / qmax, so it grows ten times; so does the step, and the rounding error of every other weight grows ten times too (20 dB worse SQNR). One outlier spoils the whole tensor: lesson 4 shows the cure.")
  end,
}
