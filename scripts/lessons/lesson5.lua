-- Lesson 5: the cost of scales, in bits per weight.
return {
  title = "The cost of scales: bits per weight",
  minutes = 6,
  run = function(lesson)
    local t = sq.randn({256, 1024}, 6)
    local rows, at = {{"int4 symmetric", "scales", "bits/weight", "SQNR dB"}}, {}
    local function add(label, cfg)
      local q = sq.quantize(t, cfg)
      local s = q:stats()
      at[label] = s
      rows[#rows + 1] = {label, #q:scales(), string.format("%.3f", s.bits_per_weight_f16),
                         string.format("%.2f", s.sqnr_db)}
    end
    add("per-tensor", {bits = 4})
    add("per-channel", {bits = 4, granularity = "channel"})
    for _, g in ipairs({256, 128, 64, 32, 16, 8}) do
      add("per-group(" .. g .. ")", {bits = 4, granularity = "group", group_size = g})
    end
    lesson.page([[
# Scales are weights too
A file stores the codes and every scale (and zero point). With a 16-bit scale per group of G weights, each weight carries
  bits per weight = bits + 16 / G
int4 with groups of 32: 4 + 16/32 = 4.5 bits. llama.cpp's Q4_0 is exactly this: 32 codes of 4 bits and one fp16 scale in 18 bytes.]])
    local function step(a, b)
      local sa, sb = at["per-group(" .. a .. ")"], at["per-group(" .. b .. ")"]
      return sb.bits_per_weight_f16 - sa.bits_per_weight_f16, sb.sqnr_db - sa.sqnr_db
    end
    local b1, d1 = step(64, 32)
    local b2, d2 = step(16, 8)
    lesson.page("# A 256 x 1024 normal tensor, f16 scales\n" .. lesson.table(rows) .. string.format([[


Each halving of G doubles what the scales cost and buys less per bit spent: from 64 to 32 costs %.2f bits for %.1f dB, from 16 to 8 costs %.2f bits for %.1f dB, against the 6 dB a real extra bit gives. On data without outliers per-channel is already close; on real layers groups of 32 to 128 are the usual compromise.]], b1, d1, b2, d2))
    lesson.view(t, {bits = 4, granularity = "group", group_size = 32}, {
      note = "The statistics table shows bits/w next to the SQNR; pin a few group sizes and compare both columns.",
      keys = {"[ / ]  smaller / larger groups", "p      pin", "b / B  bits"},
    })
    lesson.ask("int4 with groups of 8 or int5 per-channel: which costs fewer bits per weight, and which would you expect to be more accurate?",
               "int4 g8 costs 4 + 16/8 = 6 bits; int5 per-channel about 5.02. One more bit gains about 6 dB everywhere, groups of 8 instead of per-channel gain less on data without outliers: int5 per-channel is cheaper and usually better. Check it in the panel with pins.")
  end,
}
