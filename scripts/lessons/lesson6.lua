-- Lesson 6: clipping against resolution (needs calibration: manual clip and MSE).
local function has_calibration()
  local ok = pcall(sq.quantize, sq.tensor{{1, 2}}, {bits = 4, calibration = "mse"})
  return ok, "needs calibration (manual clip, MSE-optimal ranges)"
end

return {
  title = "Clipping against resolution",
  minutes = 8,
  needs = has_calibration,
  run = function(lesson)
    local t = sq.randn({256, 256}, 61)
    local rows = {{"int4 sym per-tensor", "SQNR dB", "clipped"}}
    local function add(label, cfg)
      cfg.bits = 4
      local s = sq.quantize(t, cfg):stats()
      rows[#rows + 1] = {label, string.format("%.2f", s.sqnr_db), s.clipped}
      return s
    end
    local base = add("min/max (clip 1.0)", {})
    for _, c in ipairs({0.8, 0.7, 0.6, 0.5, 0.4}) do add("clip " .. c, {clip = c}) end
    local best = add("mse-optimal", {calibration = "mse"})
    add("percentile 99.9", {percentile = 99.9})
    local kl = add("kl (entropy)", {calibration = "kl"})
    lesson.page([[
# A smaller range on purpose
The scale comes from the largest value, and a normal tensor's largest values are rare. Clip the range to a fraction c of it: every other value gets a step c times finer, while the few values beyond the range are cut to its edge.

Two errors now compete: rounding error (smaller as c shrinks) and clipping error (larger as c shrinks). Somewhere between them is the best clip.]])
    lesson.page("# A 256 x 256 normal tensor\n" .. lesson.table(rows) .. string.format([[


MSE-optimal gains %.1f dB over min/max, clipping %d of %d values; kl (a histogram rule) %+.1f dB. Clip too hard and clipping errors take over.]],
      best.sqnr_db - base.sqnr_db, best.clipped, t:numel(), kl.sqnr_db - base.sqnr_db))
    lesson.view(t, {bits = 4, calibration = "mse"}, {
      note = "The tensor with its MSE-optimal int4 range: the outermost values lie beyond the last level and count as clipped in the statistics.",
      keys = {"p      pin this configuration", "b / B  fewer / more bits: the calibration follows",
              "l      log counts: see the clipped tails"},
    })
    local g8 = sq.quantize(t, {bits = 8, calibration = "mse"}):stats().sqnr_db - sq.quantize(t, {bits = 8}):stats().sqnr_db
    lesson.ask("Is clipping worth as much at int8 as at int4?",
               string.format("Much less: %.1f dB here against %.1f dB at int4. At int8 the step is already 16 times finer, so rounding error is small and there is little to win by trading it for clipping error; the optimal clip moves close to 1.0. Clipping matters most at low bit widths.", g8, best.sqnr_db - base.sqnr_db))
  end,
}
