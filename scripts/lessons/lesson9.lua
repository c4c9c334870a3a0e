-- Lesson 9: what the output of a layer sees; weight error against output
-- error, and W8A8 (weights and activations both int8).

-- Activations: 64 tokens x 512 features, with a few loud features (as the
-- activations of large language models have).
local function activations()
  local x = sq.randn({64, 512}, 91):totable()
  for _, row in ipairs(x) do
    for _, j in ipairs({17, 240, 411}) do row[j] = row[j] * 30 end
  end
  return sq.tensor(x)
end

return {
  title = "What the output of a layer sees",
  minutes = 9,
  run = function(lesson)
    local w = sq.randn({256, 512}, 90)
    local x = activations()
    local rows = {{"weights", "weight SQNR", "output SQNR"}}
    for _, c in ipairs({{bits = 8}, {bits = 4, granularity = "channel"}, {bits = 4, granularity = "group", group_size = 32}}) do
      local r = sq.layer_error(w, x, c)
      rows[#rows + 1] = {tostring(sq.quantize(w, c)):match("int%d [^,]+"),
                         string.format("%.2f", r.weight.sqnr_db), string.format("%.2f", r.sqnr_db)}
    end
    lesson.page([[
# The error that matters
A network never looks at its weights: it multiplies them with activations. A layer computes y = x W^T for x of 64 tokens x 512 features and W of 256 x 512; each output sums 512 products, and the errors of 512 quantized weights add up in it, partly cancelling.

So the question is not only "how close is W^ to W" but "how close are the outputs when W^ stands in for W". sq.layer_error(W, X, cfg) measures both.]])
    lesson.page("# Weight error and output error\n" .. lesson.table(rows) .. [[


The output SQNR follows the weight SQNR closely, even though three input features are 30 times louder than the rest: the rounding errors are independent of the inputs, so each output sums signal and noise alike. Methods such as AWQ gain by breaking that independence: they quantize more finely the weights that loud inputs multiply.]])
    local wcfg = {bits = 8, granularity = "channel"}
    local w8 = sq.layer_error(w, x, wcfg)
    local dyn = sq.layer_error(w, x, wcfg, nil, {bits = 8, granularity = "token"})
    local stat = sq.layer_error(w, x, wcfg, nil, {bits = 8, granularity = "tensor"})
    lesson.page("# W8A8: activations in int8 too\n" .. string.format([[
To run on integer hardware the activations are quantized as well:
  dynamic, per token: one scale per row of x, computed as it arrives
  static, per tensor: one scale for all tokens, fixed beforehand

Weights int8 per-channel (weight SQNR %.2f dB):
                                   input SQNR   output SQNR
  activations float                     exact      %6.2f dB
  activations int8, per token       %6.2f dB      %6.2f dB
  activations int8, per tensor      %6.2f dB      %6.2f dB

Per token, each row's scale follows its own largest value; per tensor, one scale must cover the largest value of all 64 rows: %.1f dB lost at the output here. The loud features set every row's scale either way.]],
      w8.weight.sqnr_db, w8.sqnr_db, dyn.input.sqnr_db, dyn.sqnr_db, stat.input.sqnr_db, stat.sqnr_db,
      dyn.sqnr_db - stat.sqnr_db))
    lesson.view(x, {bits = 8, granularity = "channel", axis = 1}, {
      note = "The activations, int8 per token (one scale per row). The three loud features set every row's scale: look at the error of the quiet values.",
      keys = {"g      per-tensor / per-token (channel along axis 1) / per-group",
              "a      the axis of the per-channel scales", "b / B  bits"},
    })
    local g32 = sq.quantize(x, {bits = 8, granularity = "group", group_size = 32}):stats().sqnr_db
    lesson.ask("The loud features are what hurts the activations. What can be done about them without more bits?",
               string.format("Give them their own scales: per-group scales along the feature axis (int8 in groups of 32 features: the activations' SQNR is %.2f dB, against %.2f dB per token), or move the loudness into the weights before quantizing: divide those features by s and multiply the matching weight columns by s (SmoothQuant's idea), so that both are easy to quantize.", g32, dyn.input.sqnr_db))
  end,
}
