-- Calibration: percentile, mse, clip, range and kl through sq.quantize's table; the MSE split in q:stats().
local T = require "testlib"

local function seq(n) local t = {} for i = 1, n do t[i] = i end return sq.tensor(t) end

T.test("percentile 99 of 1..100: numpy's 99.01, one value clipped", function()
  local q = sq.quantize(seq(100), {calibration = "percentile", percentile = 99})
  T.eq(q:scales()[1], 99.01 / 127, "scale"); T.eq(q:stats().clipped, 1, "clipped")
  T.eq(q.config.calibration, "percentile", "config"); T.eq(q.config.percentile, 99, "config percentile")
end)

T.test("clip 0.5 on -4..4: scale 2/127, four clipped; clip alone implies the method", function()
  local x = sq.tensor{-4, -3, -2, -1, 0, 1, 2, 3, 4}
  for _, cfg in ipairs{{calibration = "clip", clip = 0.5}, {clip = 0.5}} do
    local q = sq.quantize(x, cfg)
    T.eq(q:scales()[1], 2 / 127, "scale"); T.eq(q:stats().clipped, 4, "clipped")
    T.eq(q.config.clip, 0.5, "config clip")
  end
end)

T.test("range {-1, 3} asymmetric: scale 4/255, zero point -64", function()
  local q = sq.quantize(sq.tensor{-2, 0, 1, 5}, {mode = "asymmetric", range = {-1, 3}})
  T.eq(q:scales()[1], 4 / 255, "scale"); T.eq(q:zero_points()[1], -64.0, "zp")
  T.eq(q:stats().clipped, 2, "clipped")
  local r = q.config.range
  T.eq(r[1], -1.0, "lo"); T.eq(r[2], 3.0, "hi")
  local again = sq.quantize(sq.tensor{-2, 0, 1, 5}, q.config)
  T.eq(again:scales()[1], 4 / 255, "config round trip")
end)

T.test("mse: no worse than min/max", function()
  local x = sq.randn({32, 32}, 5)
  local mm = sq.quantize(x, {bits = 3}):stats().mse
  local q = sq.quantize(x, {bits = 3, calibration = "mse"})
  T.truthy(q:stats().mse <= mm, "mse <= min/max")
  T.eq(q.config.calibration, "mse", "config")
end)

T.test("errors name the key", function()
  local x = sq.tensor{1, 2}
  T.raises(function() sq.quantize(x, {percentile = 0}) end, {pattern = "percentile must be a number in %(0, 100%]"})
  T.raises(function() sq.quantize(x, {clip = 1.5}) end, {pattern = "clip must be a number in %(0, 1%]"})
  T.raises(function() sq.quantize(x, {range = {2, 1}}) end, {pattern = "range must be {lo, hi}"})
  T.raises(function() sq.quantize(x, {calibration = "entropy"}) end, {pattern = "calibration must be .*'kl'"})
  T.raises(function() sq.quantize(x, {calibration = "kl", granularity = "group", group_size = 2}) end,
           {pattern = "kl works per tensor or per channel"})
  T.raises(function() sq.quantize(x, {calibration = "mse", clip = 0.5}) end,
           {pattern = "calibration 'mse' takes no clip"})
  T.raises(function() sq.quantize(x, {clip = 0.5, percentile = 99}) end, {pattern = "exclude each other"})
end)

T.test("kl: the worked example of test_calib.c (int2: threshold 4.5 bins of width 1)", function()
  local q = sq.quantize(sq.tensor{0.5, -0.5, 0.5, 0.5, 1.5, -1.5, 1.5, 2.5, -2.5, 3.5, 2048},
                        {bits = 2, calibration = "kl"})
  T.eq(q:scales()[1], 4.5, "scale"); T.eq(q:stats().clipped, 1, "clipped")
  T.eq(q.config.calibration, "kl", "config")
  T.eq(sq.quantize(sq.tensor{1, 2}, q.config).config.calibration, "kl", "config round trip")
end)

T.test("stats: mse = mse_round + mse_clip, exact with scale 1/64", function()
  -- 3 and -2 clipped at 127/64 (errors 1.015625, 0.015625); 0.50390625 rounds off by 2^-8
  local x = sq.tensor{3, -2, 0.50390625, -0.25, 0, 1}
  local st = sq.quantize(x, {range = {-127 / 64, 127 / 64}}):stats()
  T.eq(st.mse_clip, (1.015625 ^ 2 + 0.015625 ^ 2) / 6, "mse_clip")
  T.eq(st.mse_round, 2 ^ -16 / 6, "mse_round")
  local mm = sq.quantize(x):stats()
  T.eq(mm.mse_clip, 0.0, "min/max clips nothing"); T.eq(mm.mse_round, mm.mse, "all rounding")
end)

T.done()
