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
    local t = sq.demo()
    local rows = {{"int4 per-tensor", "SQNR dB", "clipped"}}
    for _, c in ipairs({{}, {calibration = "mse"}}) do
      c.bits = 4
      local s = sq.quantize(t, c):stats()
      rows[#rows + 1] = {c.calibration or "min/max", string.format("%.2f", s.sqnr_db), s.clipped}
    end
    lesson.page([[
# A smaller range on purpose
The scale comes from the largest value. Clip the range to a fraction of it and every other value gets a finer step, while the few values beyond the range are cut to its edge. The best clip balances rounding error against clipping error.]])
    lesson.page("# Min/max against the MSE-optimal range\n" .. lesson.table(rows))
    lesson.view(t, {bits = 4}, {keys = {"c  calibration method", "( / )  shrink / grow the clip by 1%"}})
    lesson.ask("Why is clipping worse for the outlier channels of the demo tensor than for the others?",
               "Their values are the ones beyond the range: the clip cuts exactly the weights that matter most to those channels. Per-channel scales avoid the dilemma.")
  end,
}
