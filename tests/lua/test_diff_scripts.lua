-- scripts/compare_checkpoints.lua and scripts/best_clip.lua run on the diff
-- fixtures (tests/data/diff) and write what they say.
local T = require "testlib"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local root = os.getenv("SQUINT_SRCDIR") or (here .. "/../..")
local data = root .. "/tests/data/diff/"
local tmp = (os.getenv("TMPDIR") or "/tmp") .. "/sq_diffscripts_" .. math.floor(sq.now() * 1e6) % 1000000000
os.execute("mkdir -p " .. tmp)

-- Run a script of scripts/ with args, capturing print; returns the text.
local function run(script, ...)
  local out, saved_print, saved_arg = {}, print, arg
  print = function(...) local p = table.pack(...) for i = 1, p.n do p[i] = tostring(p[i]) end
    out[#out + 1] = table.concat(p, "\t") end
  arg = table.pack(...); arg[0] = root .. "/scripts/" .. script
  local ok, err = pcall(dofile, arg[0])
  print, arg = saved_print, saved_arg
  if not ok then error(err, 2) end
  return table.concat(out, "\n")
end

local function lines(path)
  local t = {}
  for l in io.lines(path) do t[#t + 1] = l end
  return t
end

T.test("compare_checkpoints.lua: rows, unmatched names, pooled total", function()
  local text = run("compare_checkpoints.lua", data .. "ref.safetensors", data .. "other.safetensors", tmp .. "/c.csv")
  T.truthy(text:find("pooled SQNR 26.19 dB", 1, true), text)
  local l = lines(tmp .. "/c.csv")
  T.eq(#l, 8, "header, a b c s, r_only, o_only, TOTAL")
  T.truthy(l[2]:find("^a,a,4x8,21%.0720996"), l[2])
  T.truthy(l[3]:find("^b,b,8,inf,0,0,"), l[3])
  T.truthy(l[5]:find("shapes differ", 1, true), l[5])
  T.truthy(l[6]:find("^r_only,"), l[6]); T.truthy(l[7]:find("^o_only,o_only,"), l[7])
  -- sum x^2 = 32 + 204 + 24, sum e^2 = 0.25 + 0.375
  local total = tonumber(l[8]:match("^TOTAL,,,([^,]+)"))
  T.near(total, 10 * math.log(260 / 0.625, 10), 1e-12, "total")
end)

T.test("compare_checkpoints.lua with the Llama GGUF map: all exact", function()
  local text = run("compare_checkpoints.lua", data .. "hf.safetensors", data .. "llama.gguf", tmp .. "/g.csv",
                   root .. "/scripts/maps/llama_gguf.lua")
  T.truthy(text:find("21 rows, 0 only in", 1, true), text)
  local n = 0
  for _, l in ipairs(lines(tmp .. "/g.csv")) do if l:find(",inf,0,0,0,0,0,1,$") then n = n + 1 end end
  T.eq(n, 21, "exact pairs")
end)

T.test("best_clip.lua: mse and the sweep never lose to minmax", function()
  local text = run("best_clip.lua", data .. "hf.safetensors", "4", tmp .. "/b.csv")
  T.truthy(text:find("16 tensors, int4 per-channel", 1, true), text)
  local l = lines(tmp .. "/b.csv")
  T.eq(l[1], "name,shape,minmax_sqnr_db,mse_sqnr_db,best_clip,best_clip_sqnr_db,gain_db", "header")
  T.eq(#l, 17, "16 rank-2 tensors")
  for i = 2, #l do
    local mm, mse, clip, best = l[i]:match("^[^,]+,[^,]+,([^,]+),([^,]+),([^,]+),([^,]+),")
    mm, mse, clip, best = tonumber(mm), tonumber(mse), tonumber(clip), tonumber(best)
    T.truthy(best >= mm, "the sweep includes clip 1 (minmax): " .. l[i])
    T.truthy(clip >= 0.5 and clip <= 1, "clip in the swept range")
  end
  -- the demo tensor (outlier channels): clipping helps at 4 bits
  text = run("best_clip.lua", nil)
  local mm, mse = text:match("minmax%s+([%d.]+)%s+mse%s+([%d.]+)")
  T.truthy(tonumber(mse) > tonumber(mm), "mse calibration beats minmax on the demo tensor: " .. text)
  os.remove("best_clip.csv")
end)

os.execute("rm -rf " .. tmp)
T.done()
