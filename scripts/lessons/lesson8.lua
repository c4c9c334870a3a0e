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
    local f16 = int4.bits_per_weight_f16
    lesson.page(string.format([[
# Scales are quantized too
Q4_0 stores an fp16 scale per 32 weights: 4 + 16/32 = %.2f bits a weight. A scale and a minimum per 32 in fp16 would cost 4 + 32/32 = %.2f.

Q4_K groups 8 blocks of 32 into a super-block of 256 with one fp16 scale d and one fp16 minimum dmin, and stores each block's scale and minimum as 6-bit codes: block scale = d * code. Per 256 weights: 1024 code bits + 8 * 12 + 32 = %d bits, %.3f bits a weight, with a minimum per block as well.]],
      4 + 16 / 32, 4 + 32 / 32, 1024 + 8 * 12 + 32, (1024 + 8 * 12 + 32) / 256))
    lesson.page("# A normal tensor, 128 x 256\n" .. lesson.table({{"format", "bits/weight", "SQNR dB"},
      {"int4 asym per-group(32), f16", string.format("%.3f", f16), string.format("%.2f", int4.sqnr_db)},
      {"q4_0", string.format("%.3f", q4_0.bits_per_weight), string.format("%.2f", q4_0.sqnr_db)},
      {"q4_k", string.format("%.3f", q4_k.bits_per_weight), string.format("%.2f", q4_k.sqnr_db)}}) .. "\n\n" .. string.format([[
The asymmetric int4 groups with fp16 scales and zero points cost %.3f bits a weight (as squint stores them, f64 scales: %.3f). q4_k keeps a scale and a minimum per 32 for 12 bits and searches each block for the pair with the least error: %+.2f dB for %.3f bits a weight less. q4_k against q4_0, same size: %+.2f dB for the minimums.]],
      f16, int4.bits_per_weight, q4_k.sqnr_db - int4.sqnr_db, f16 - q4_k.bits_per_weight, q4_k.sqnr_db - q4_0.sqnr_db))
    lesson.view(t, {format = "q4_k"}, {
      note = "The normal tensor in q4_k: every block of 32 has its own levels, from 6-bit codes of the super-block's d and dmin.",
      keys = {", / .  block by block: each block of 32 has its own levels"}})
    lesson.ask("Why quantize the scales instead of storing them in fp16?",
               string.format("A fp16 scale and minimum per 32 weights cost %.3f bits a weight; 6-bit codes cost %.3f, plus %.3f for the super-block's fp16 d and dmin. The saving, %.3f bits a weight, is what makes room for the minimums at the size of q4_0.",
                             32 / 32, 12 / 32, 32 / 256, 32 / 32 - 12 / 32 - 32 / 256))
  end,
}
