-- Lesson 3: bits against error, about 6 dB a bit.
return {
  title = "Bits against error: 6 dB a bit",
  minutes = 6,
  run = function(lesson)
    local t = sq.randn({128, 256}, 5)
    local rows = {{"bits", "levels", "SQNR dB", "gain dB"}}
    local prev
    local at, lo5, hi5, lo23 = {}, math.huge, -math.huge, math.huge
    for b = 2, 8 do
      local s = sq.quantize(t, {bits = b, granularity = "channel"}):stats().sqnr_db
      rows[#rows + 1] = {b, math.tointeger(2 ^ b - 1), string.format("%.2f", s), prev and string.format("%+.2f", s - prev) or ""}
      if prev and b >= 5 then lo5, hi5 = math.min(lo5, s - prev), math.max(hi5, s - prev) end
      if prev and b <= 4 then lo23 = math.min(lo23, s - prev) end
      at[b], prev = s, s
    end
    -- the question: a target 18 dB above int4, and the bits the 6 dB rule gives for it
    local target = math.floor(at[4] + 0.5) + 18
    local more = math.ceil((target - at[4]) / 6.02)
    local nb = 4 + more
    lesson.page([[
# Each bit halves the step
With b bits a symmetric range has 2^b - 1 levels. One more bit doubles them, so the step (the scale) halves, and so does the rounding error. Halving an error's amplitude divides its power by 4:
  10 * log10(4) = 6.02 dB

So SQNR should climb by about 6 dB for every bit.]])
    lesson.page("# Measured on a 128 x 256 normal tensor (per-channel)\n" .. lesson.table(rows) .. string.format([[


Up to 4 bits the rule is off: with 3, 7 or 15 levels the error is no longer small and evenly spread over each step, and each of the first bits gains %.1f dB or more. From 5 bits on each bit adds %.2f to %.2f dB.]], lo23, lo5, hi5))
    lesson.view(t, {bits = 8, granularity = "channel"}, {
      note = "int8 per-channel. Pin it, press b, pin again, down to 2 bits: the pinned rows' SQNR column steps by about 6 dB a bit, as the table of the last page.",
      keys = {"p      pin the current configuration", "b      one bit fewer, then p again",
              "x      drop the last pin"},
    })
    lesson.ask(string.format("A model needs %d dB of SQNR on its weights. int4 per-channel gives %.1f dB. How many bits does it need?", target, at[4]),
               string.format("%d - %.1f = %.1f dB more, and %.1f / 6.02 rounds up to %d more bits: int%d (the table says %.2f dB%s). In practice int8, the next size hardware handles well.",
                             target, at[4], target - at[4], target - at[4], more, nb, at[nb],
                             at[nb] >= target and ", enough" or ", just short: one bit more"))
  end,
}
