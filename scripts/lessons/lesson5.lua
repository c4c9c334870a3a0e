-- Lesson 5: the cost of scales, in bits per weight.
return {
  title = "The cost of scales: bits per weight",
  minutes = 6,
  run = function(lesson)
    local t = sq.randn({256, 1024}, 6)
    local rows, at = {{"int4 symmetric", "scales", "bits/w f16", "SQNR dB", "bits/w squint"}}, {}
    local function add(label, cfg)
      local q = sq.quantize(t, cfg)
      local s = q:stats()
      at[label] = s
      rows[#rows + 1] = {label, #q:scales(), string.format("%.3f", s.bits_per_weight_f16),
                         string.format("%.2f", s.sqnr_db), string.format("%.3f", s.bits_per_weight)}
    end
    add("per-tensor", {bits = 4})
    add("per-channel", {bits = 4, granularity = "channel"})
    for _, g in ipairs({256, 128, 64, 32, 16, 8}) do
      add("per-group(" .. g .. ")", {bits = 4, granularity = "group", group_size = g})
    end
    local q40
    for _, f in ipairs(sq.formats()) do
      if f.name == "q4_0" then q40 = f end
    end
    lesson.page(string.format([[
# Scales are weights too
A file stores the codes and every scale (and zero point). With a 16-bit scale per group of G weights, each weight carries
  bits per weight = bits + 16 / G
int4 with groups of 32: 4 + 16/32 = %.1f bits. llama.cpp's Q4_0 is exactly this: %d codes of 4 bits and one fp16 scale in %d bytes (sq.formats() says %.2f bits a weight).]],
      4 + 16 / 32, q40.block, (q40.block * 4 + 16) // 8, q40.bits_per_weight))
    local function step(a, b)
      local sa, sb = at["per-group(" .. a .. ")"], at["per-group(" .. b .. ")"]
      return sb.bits_per_weight_f16 - sa.bits_per_weight_f16, sb.sqnr_db - sa.sqnr_db
    end
    local b1, d1 = step(64, 32)
    local b2, d2 = step(16, 8)
    lesson.page("# A 256 x 1024 normal tensor, f16 scales\n" .. lesson.table(rows) .. string.format([[


Each halving of G doubles what scales cost and buys less: 64 to 32 costs %.2f bits for %.1f dB, 16 to 8 costs %.2f bits for %.1f dB; a real extra bit gives 6 dB. Last column: squint's own file (q:stats().bits_per_weight), %s scales of %d bits.]],
      b1, d1, b2, d2, at["per-tensor"].scale_dtype, math.tointeger((at["per-group(8)"].bits_per_weight - 4) * 8)))
    lesson.view(t, {bits = 4, granularity = "group", group_size = 32}, {
      note = "int4 in groups of 32. The statistics table shows bits/w (what squint's file holds) next to the SQNR; pin a few group sizes and compare both columns.",
      keys = {"[ / ]  smaller / larger groups", "p      pin", "b / B  bits"},
    })
    local i5 = sq.quantize(t, {bits = 5, granularity = "channel"}):stats()
    local g8 = at["per-group(8)"]
    lesson.ask("int4 with groups of 8 or int5 per-channel: which costs fewer bits per weight (f16 scales), and which would you expect to be more accurate?",
               string.format("int4 g8 costs 4 + 16/8 = %.3f bits; int5 per-channel %.3f. One more bit gains about 6 dB everywhere, groups of 8 instead of per-channel gain less on data without outliers: here int5 per-channel gives %.2f dB against %.2f dB, cheaper and %s. Check it in the panel with pins.",
                             g8.bits_per_weight_f16, i5.bits_per_weight_f16, i5.sqnr_db, g8.sqnr_db,
                             i5.sqnr_db > g8.sqnr_db and "better" or "yet not better on this tensor"))
  end,
}
