-- Lesson 8: llama.cpp's super-blocks (Q4_K's scales of scales).

-- Whether sq.quantize can store llama.cpp's q4_0 and q4_k (a probe on one row).
local function can_quantize()
  if type(sq.formats) ~= "function" then return false end
  local row = {}
  for i = 1, 256 do row[i] = (i - 128) / 64 end
  local t = sq.tensor{row}
  return pcall(sq.quantize, t, {format = "q4_0"}) and pcall(sq.quantize, t, {format = "q4_k"})
end

return {
  title = "llama.cpp's super-blocks: scales of scales",
  minutes = 8,
  needs = function()
    return can_quantize(), "needs llama.cpp's block formats (q4_0, q4_k) in sq.quantize"
  end,
  run = function(lesson)
    local t = sq.randn({128, 256}, 8)
    local q4_0 = sq.quantize(t, {format = "q4_0"}):stats()
    local q4_k = sq.quantize(t, {format = "q4_k"}):stats()
    local int4 = sq.quantize(t, {bits = 4, mode = "asymmetric", granularity = "group", group_size = 32}):stats()
    lesson.page([[
# Scales are quantized too
Q4_0 stores an fp16 scale per 32 weights: 4.5 bits a weight. Q4_K groups 8 blocks of 32 into a super-block of 256 with one fp16 scale and one fp16 minimum, and stores each block's scale and minimum as 6-bit codes of those: 4.5 bits a weight, with a minimum per block as well.]])
    lesson.page("# A normal tensor, 128 x 256\n" .. lesson.table({{"format", "bits/weight", "SQNR dB"},
      {"int4 asym per-group(32)", string.format("%.3f", int4.bits_per_weight), string.format("%.2f", int4.sqnr_db)},
      {"q4_0", string.format("%.3f", q4_0.bits_per_weight), string.format("%.2f", q4_0.sqnr_db)},
      {"q4_k", string.format("%.3f", q4_k.bits_per_weight), string.format("%.2f", q4_k.sqnr_db)}}) .. "\n\n" .. [[
The asymmetric int4 groups store an fp32 scale and zero point per 32 weights: 2 bits a weight of metadata. q4_k keeps a scale and a minimum per 32 for 12 bits, and searches each block for the pair with the least error: better SQNR for 1.5 bits a weight less.]])
    lesson.view(t, {format = "q4_k"}, {keys = {", / .  block by block: each block of 32 has its own levels"}})
    lesson.ask("Why quantize the scales instead of storing them in fp16?",
               "Eight fp16 scales and minimums per 256 weights would cost 1 bit a weight; 6-bit codes cost 0.375, which leaves room for the minimums.")
  end,
}
