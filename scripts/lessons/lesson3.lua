-- Lesson 3: bits against error, about 6 dB a bit.
return {
  title = "Bits against error: 6 dB a bit",
  minutes = 6,
  run = function(lesson)
    local t = sq.randn({128, 256}, 5)
    local rows = {{"bits", "levels", "SQNR dB", "gain dB"}}
    local prev
    for b = 2, 8 do
      local s = sq.quantize(t, {bits = b, granularity = "channel"}):stats().sqnr_db
      rows[#rows + 1] = {b, math.tointeger(2 ^ b - 1), string.format("%.2f", s), prev and string.format("%+.2f", s - prev) or ""}
      prev = s
    end
    lesson.page([[
# Each bit halves the step
With b bits a symmetric range has 2^b - 1 levels. One more bit doubles them, so the step (the scale) halves, and so does the rounding error. Halving an error's amplitude divides its power by 4:
  10 * log10(4) = 6.02 dB

So SQNR should climb by about 6 dB for every bit.]])
    lesson.page("# Measured on a 128 x 256 normal tensor (per-channel)\n" .. lesson.table(rows) .. [[


At 2 and 3 bits the rule is off: with 3 or 7 levels the error is no longer small and evenly spread over each step, and the first few bits gain more. From 5 bits on each bit adds close to 6 dB.]])
    lesson.view(t, {bits = 8, granularity = "channel"}, {
      note = "Pin each bit width and read the comparison table: the SQNR column steps by about 6 dB.",
      keys = {"p      pin the current configuration", "b      one bit fewer, then p again",
              "x      drop the last pin"},
    })
    lesson.ask("A model needs 36 dB of SQNR on its weights. int4 per-channel gives about 18 dB. How many bits does it need?",
               "36 - 18 = 18 dB more, and 18 / 6 = 3 more bits: int7 (the table says 37 dB). In practice int8, the next size hardware handles well.")
  end,
}
