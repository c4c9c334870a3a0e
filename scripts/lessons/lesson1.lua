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
    local vals = w:totable()[1]
    local x = vals[1]
    local imax, amax = 1, 0
    for i, v in ipairs(vals) do
      if math.abs(v) > amax then imax, amax = i, math.abs(v) end
    end
    local shown = {}
    for i, v in ipairs(vals) do shown[i] = string.format("%.2f", v) end
    local qmax = (1 << (q.bits - 1)) - 1
    lesson.page(string.format([[
# Eight weights, sixteen levels
A layer's weights are real numbers. int4 has room for 16 codes; symmetric int4 uses the %d from -%d to %d, so that 0 stays exactly 0.

Our weights:
  %s

Quantizing means choosing a step size, the scale, and storing each weight as a whole number of steps. The largest magnitude, |%.2f| = %.2f, must still fit: it becomes code %d.]],
      2 * qmax + 1, qmax, qmax, table.concat(shown, "  "), vals[imax], amax, codes[imax]))
    lesson.page(string.format([[
# The scale
  qmax  = 2^(bits-1) - 1 = %d
  scale = max|x| / qmax = %.2f / %d = %.6f

Every weight is now a multiple of this step. squint computed the same: q:scales()[1] = %.6f.]], qmax, amax, qmax, amax / qmax, scale))
    local t = x / scale
    local r = t >= 0 and math.floor(t + 0.5) or -math.floor(-t + 0.5)
    lesson.page(string.format([[
# One weight, step by step: x = %.2f
  x / scale          = %.2f / %.6f = %.4f
  round              = %d   (half away from zero)
  clamp to [-%d, %d]   = %d   (this is the code squint stores: %d)
  x^ = code * scale  = %d * %.6f = %.6f   (squint: %.6f)
  error = x^ - x     = %.6f

The error is at most half a step, scale / 2 = %.4f, for every weight that is not clipped.]],
      x, x, scale, t, r, qmax, qmax, math.max(-qmax, math.min(qmax, r)), codes[1], r, scale, r * scale, back[1],
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
    -- the question's answer, measured: one weight of the panel's tensor made ten times the largest
    local m = sq.randn({64, 256}, 1):totable()
    local big, bi, bj = 0, 1, 1
    for i, row in ipairs(m) do
      for j, v in ipairs(row) do
        if math.abs(v) > big then big, bi, bj = math.abs(v), i, j end
      end
    end
    local function others(tbl)
      local q2 = sq.quantize(sq.tensor(tbl), {bits = 4})
      local d, e2 = q2:dequantize():totable(), 0
      for i, row in ipairs(tbl) do
        for j, v in ipairs(row) do
          if i ~= bi or j ~= bj then e2 = e2 + (d[i][j] - v) ^ 2 end
        end
      end
      return q2:scales()[1], math.sqrt(e2 / (#tbl * #tbl[1] - 1))
    end
    local s0, r0 = others(m)
    m[bi][bj] = 10 * m[bi][bj]
    local s1, r1 = others(m)
    lesson.ask("One weight of the panel's tensor is replaced by an outlier ten times the largest. What happens to the scale, and to the error of every other weight?",
               string.format("The scale is max|x| / qmax, so it grows ten times (here %.4f to %.4f); so does the step. The RMS error of the other %d weights grows from %.4f to %.4f, %.1f times: most of them now round to 0, so their error is nearly the weights themselves. One outlier spoils the whole tensor: lesson 4 shows the cure.",
                             s0, s1, 64 * 256 - 1, r0, r1, r1 / r0))
  end,
}
