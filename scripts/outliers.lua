-- outliers.lua - per-tensor vs per-channel vs per-group on outlier channels.
--
-- usage: squint scripts/outliers.lua [BITS]
--
-- The demo tensor (256 x 512) has three outlier output channels (rows 8,
-- 101 and 202 in Lua's 1-based numbering) scaled by 25, 12 and 40. A single
-- per-tensor scale is set by the largest outlier, so every ordinary row is
-- quantized with a step far too coarse for it; per-channel and per-group
-- scales isolate the outliers. For each granularity this prints the SQNR over
-- the whole tensor, over the outlier rows and over the ordinary rows.
local bits = tonumber(arg and arg[1]) or 4
local t = sq.demo()
local outlier = {[8] = true, [101] = true, [202] = true}

-- SQNR (dB) of x vs y restricted to the rows for which keep(row) is true.
local function sqnr(x, y, keep)
  local sig, err = 0, 0
  for r = 1, #x do
    if keep(r) then
      local xr, yr = x[r], y[r]
      for c = 1, #xr do
        local e = xr[c] - yr[c]
        sig, err = sig + xr[c] * xr[c], err + e * e
      end
    end
  end
  return err == 0 and math.huge or 10 * math.log(sig / err, 10)
end

local x = t:totable()
print(string.format("demo tensor %s, int%d symmetric", tostring(t), bits))
print(string.format("%-34s %9s %9s %9s %10s", "granularity", "all dB", "outlier", "ordinary", "bits/w"))
for _, cfg in ipairs{
  {bits = bits, granularity = "tensor"},
  {bits = bits, granularity = "channel", axis = 1},
  {bits = bits, granularity = "group", group_size = 32},
} do
  local q = sq.quantize(t, cfg)
  local y = q:dequantize():totable()
  local st = q:stats()
  print(string.format("%-34s %9.2f %9.2f %9.2f %10.3f", tostring(q):match("%] (.-),"), st.sqnr_db,
    sqnr(x, y, function(r) return outlier[r] end), sqnr(x, y, function(r) return not outlier[r] end),
    st.bits_per_weight))
end
