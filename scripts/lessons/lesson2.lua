-- Lesson 2: zero points; symmetric against asymmetric ranges on one-signed data.
local function one_signed(rows, cols, seed)
  local t = sq.randn({rows, cols}, seed):totable()
  for _, r in ipairs(t) do
    for j, v in ipairs(r) do r[j] = math.abs(v) end
  end
  return sq.tensor(t)
end

-- How many of the mode's levels q uses.
local function used_codes(q)
  local n = 0
  for _, c in pairs(q:code_histogram()) do
    if c > 0 then n = n + 1 end
  end
  return n
end

return {
  title = "Zero points: symmetric against asymmetric",
  minutes = 7,
  run = function(lesson)
    local x = one_signed(64, 256, 2)
    local sym = sq.quantize(x, {bits = 4})
    local asym = sq.quantize(x, {bits = 4, mode = "asymmetric"})
    local us, ts = used_codes(sym), 15
    local ua, ta = used_codes(asym), 16
    lesson.page([[
# Data that is never negative
The outputs of a ReLU, attention probabilities, the magnitudes of anything: a great deal of what a network computes is one-signed. Here is a 64 x 256 tensor of |x| for normally distributed x: every value is 0 or more.

A symmetric range puts 0 in the middle, at code 0, and spends the codes -7 .. -1 on negative values. On this tensor they are never used.]])
    lesson.page(string.format([[
# Asymmetric: a scale and a zero point
An asymmetric range maps [min, max] onto all 16 codes -8 .. 7:
  scale      = (max - min) / (qmax - qmin) = (max - min) / 15
  zero point = round(qmin - min / scale)
  code       = clamp(round(x / scale + zero point), -8, 7)
  x^         = (code - zero point) * scale

Here: scale %.5f, zero point %d (symmetric: scale %.5f, zero point 0).
The asymmetric step is %.3f times the symmetric one: 15 steps now cover [min, max] instead of 7 covering [0, max].]],
      asym:scales()[1], math.tointeger(asym:zero_points()[1]) or asym:zero_points()[1], sym:scales()[1],
      asym:scales()[1] / sym:scales()[1]))
    lesson.page("# What it buys\n" .. lesson.table({
      {"int4", "codes used", "scale", "SQNR dB"},
      {"symmetric", us .. " of " .. ts, string.format("%.5f", sym:scales()[1]),
       string.format("%.2f", sym:stats().sqnr_db)},
      {"asymmetric", ua .. " of " .. ta, string.format("%.5f", asym:scales()[1]),
       string.format("%.2f", asym:stats().sqnr_db)},
    }) .. string.format([[


%d levels used instead of %d over the same data, %.2f times as many: close to one more bit of resolution, which is about 6 dB (here %.1f dB). The price is the zero point: one more number per scale, and a subtraction when the values are used.]],
      ua, us, ua / us, asym:stats().sqnr_db - sym:stats().sqnr_db))
    lesson.view(x, {bits = 4}, {
      note = "The one-signed tensor, int4 symmetric. The level marks on the value histogram show the wasted negative half.",
      keys = {"m  symmetric / asymmetric: watch the levels move onto the data",
              "z  zero in range (PyTorch's rule), in asymmetric mode",
              "p  pin a configuration to compare it with the next"},
    })
    local w = sq.randn({64, 256}, 4)
    local ws = sq.quantize(w, {bits = 4}):stats().sqnr_db
    local wa = sq.quantize(w, {bits = 4, mode = "asymmetric"}):stats().sqnr_db
    lesson.ask("Weights are usually centred on zero. Would asymmetric int4 help a weight tensor as much?",
               string.format("Much less. On zero-centred data min is close to -max, so the asymmetric range is nearly the symmetric one; what is left is the 16th level and a range that fits the actual extremes. On a normal 64 x 256 tensor: symmetric %.2f dB, asymmetric %.2f dB (%+.1f dB, against %+.1f dB on the one-signed data). For that, every scale group needs a zero point and every dot product a correction term: that is why weights are usually quantized symmetrically and activations asymmetrically.", ws, wa, wa - ws, asym:stats().sqnr_db - sym:stats().sqnr_db))
  end,
}
