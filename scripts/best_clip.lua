-- best_clip.lua - for every tensor of a checkpoint, the clip ratio that gives
-- the best round-trip SQNR, found two ways: calibration = "mse" (squint
-- searches the clip per scale, minimizing the squared error) against a sweep
-- of one clip ratio for the whole tensor (calibration = "clip"). Writes a CSV.
--
-- usage: squint scripts/best_clip.lua [CHECKPOINT] [BITS] [OUT.csv] [GRANULARITY]
--
-- Defaults: the built-in demo tensor, 4 bits, best_clip.csv, per-channel.
-- Columns: name, shape, minmax_sqnr_db (clip 1), mse_sqnr_db, best_clip
-- (of the sweep), best_clip_sqnr_db, gain_db (best of both against minmax).
local path = arg and arg[1]
local bits = tonumber(arg and arg[2]) or 4
local out = arg and arg[3] or "best_clip.csv"
local gran = arg and arg[4] or "channel"

local clips = {}
for c = 100, 50, -2 do clips[#clips + 1] = c / 100 end

-- name, tensor pairs: the checkpoint's tensors of rank >= 2, or the demo tensor
local function each_tensor()
  if not path then
    local done = false
    return function() if not done then done = true return "demo", sq.demo() end end
  end
  local ck = assert(sq.open(path))
  local names, i = ck:names(), 0
  return function()
    while true do
      i = i + 1
      local n = names[i]
      if not n then return nil end
      local info = ck:info(n)
      if info.loadable and #info.shape >= 2 then return n, assert(ck:tensor(n)) end
    end
  end
end

local function sqnr(t, cfg)
  cfg.bits, cfg.granularity = bits, gran
  return sq.quantize(t, cfg):stats().sqnr_db
end

local rows = {}
for name, t in each_tensor() do
  local row = {name = name, shape = table.concat(t.shape, "x")}
  row.minmax_sqnr_db = sqnr(t, {})
  row.mse_sqnr_db = sqnr(t, {calibration = "mse"})
  row.best_clip, row.best_clip_sqnr_db = 1.0, row.minmax_sqnr_db
  for _, c in ipairs(clips) do
    local s = sqnr(t, {calibration = "clip", clip = c})
    if s > row.best_clip_sqnr_db then row.best_clip, row.best_clip_sqnr_db = c, s end
  end
  row.gain_db = math.max(row.mse_sqnr_db, row.best_clip_sqnr_db) - row.minmax_sqnr_db
  rows[#rows + 1] = row
  print(string.format("%-40s %-10s minmax %7.2f  mse %7.2f  sweep %7.2f at clip %.2f", name, row.shape,
                      row.minmax_sqnr_db, row.mse_sqnr_db, row.best_clip_sqnr_db, row.best_clip))
end
assert(sq.write_csv(rows, out, {"name", "shape", "minmax_sqnr_db", "mse_sqnr_db", "best_clip", "best_clip_sqnr_db",
                                "gain_db"}))
print(string.format("%d tensors, int%d per-%s; wrote %s", #rows, bits, gran, out))
