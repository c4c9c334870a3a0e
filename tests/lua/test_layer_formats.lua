-- A quantized linear layer with a non-INT format (nf4, fp8, the ggml block
-- and MX formats): sq.quantize_linear must either refuse the configuration
-- with an error naming the format, or compute exactly what the float layer
-- does with the format's dequantized weight. The integer kernels reading the
-- format's bytes as INT codes would give neither.
local sq = require "squint"
local T = require "testlib"

-- A [4, 256] weight (rows of whole 256-element super-blocks, so every block
-- format applies), distinct values, a bias, and two input rows.
local function layer()
  local w, b = {}, {}
  for o = 1, 4 do
    local row = {}
    for i = 1, 256 do row[i] = math.sin(o * 0.37 + i * 0.11) * (1 + (i % 7) * 0.25) end
    w[o] = row
    b[o] = o * 0.5 - 1
  end
  local x = {{}, {}}
  for i = 1, 256 do x[1][i] = math.cos(i * 0.13); x[2][i] = (i % 5) - 2 end
  return sq.linear(sq.tensor(w), sq.tensor(b)), sq.tensor(x)
end

local configs = {
  {format = "nf4"},
  {format = "nf4", double_quant = true},
  {format = "fp8_e4m3"},
  {format = "fp8_e5m2"},
  {format = "fp4_e2m1"},
  {format = "q4_0"},
  {format = "q8_0"},
  {format = "q4_k"},
  {format = "mxfp4"},
  {format = "nvfp4"},
}

for _, cfg in ipairs(configs) do
  local label = cfg.format .. (cfg.double_quant and " (double_quant)" or "")
  T.test("quantize_linear with format " .. label .. ": refused by name, or the dequantized weight's output", function()
    local lin, x = layer()
    local ok, ql = pcall(sq.quantize_linear, lin, cfg)
    if not ok then -- refused: the message names the format
      T.truthy(tostring(ql):find(cfg.format, 1, true), "the error names the format: " .. tostring(ql))
      return
    end
    local wq = sq.quantize(lin.weight, cfg):dequantize()
    local want = sq.linear(wq, lin.bias):forward(x)
    local got = ql:forward(x)
    -- 256-term float32 dot products summed in another order: |y| <= 256 * 1.75 * 2.5,
    -- float32 rounding per term at most 2^-24 of that; 1e-3 is far above it and far
    -- below the error of reading the format's bytes as integer codes
    for r = 1, 2 do
      for o = 1, 4 do
        T.near(got:get(r, o), want:get(r, o), 1e-3, string.format("y[%d, %d]", r, o))
      end
    end
  end)
end

T.done()
