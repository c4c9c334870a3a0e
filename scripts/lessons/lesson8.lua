-- Lesson 8: llama.cpp's super-blocks (Q4_K's scales of scales).
return {
  title = "llama.cpp's super-blocks: scales of scales",
  minutes = 8,
  needs = function()
    if type(sq.formats) ~= "function" then return false, "needs llama.cpp's block formats in sq.quantize" end
    for _, f in ipairs(sq.formats()) do
      if (type(f) == "table" and f.name or f) == "q4_k" then return true end
    end
    return false, "needs the q4_k format"
  end,
  run = function(lesson)
    local t = sq.randn({128, 256}, 8)
    local q4_0 = sq.quantize(t, {format = "q4_0"}):stats()
    local q4_k = sq.quantize(t, {format = "q4_k"}):stats()
    lesson.page([[
# Scales are quantized too
Q4_0 stores an fp16 scale per 32 weights: 4.5 bits a weight. Q4_K groups 8 blocks of 32 into a super-block of 256 with one fp16 scale and one fp16 minimum, and stores each block's scale and minimum as 6-bit codes of those: 4.5 bits a weight, with a minimum per block as well.]])
    lesson.page("# A normal tensor\n" .. lesson.table({{"format", "bits/weight", "SQNR dB"},
      {"q4_0", string.format("%.3f", q4_0.bits_per_weight), string.format("%.2f", q4_0.sqnr_db)},
      {"q4_k", string.format("%.3f", q4_k.bits_per_weight), string.format("%.2f", q4_k.sqnr_db)}}))
    lesson.view(t, {format = "q4_k"}, {keys = {", / .  block by block"}})
    lesson.ask("Why quantize the scales instead of storing them in fp16?",
               "Eight fp16 scales and minimums per 256 weights would cost 1 bit a weight; 6-bit codes cost 0.375, which leaves room for the minimums.")
  end,
}
