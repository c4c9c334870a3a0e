-- The example scripts in scripts/ run and write their result files.
local T = require "testlib"

local here = arg[0]:match("^(.*)/[^/]*$") or "."
local root = os.getenv("SQUINT_SRCDIR") or (here .. "/../..")
local tmp = (os.getenv("TMPDIR") or "/tmp") .. "/sq_scripts_" .. math.floor(sq.now() * 1e6) % 1000000000
os.execute("mkdir -p " .. tmp)

-- Run script with args, capturing print output; returns the text.
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

local function slurp(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end

T.test("sweep.lua: 42 configurations, table and CSV", function()
  local text = run("sweep.lua", "-", tmp .. "/sweep.csv")
  T.truthy(text:find("int2 asym per%-group%(32%)"), "table lists int2 asym per-group")
  T.truthy(text:find("42 configurations"), "7 bit widths x 2 modes x 3 granularities")
  local csv = slurp(tmp .. "/sweep.csv")
  local n = select(2, csv:gsub("\n", "\n"))
  T.eq(n, 43, "header + 42 rows")
end)

T.test("outliers.lua: per-channel and per-group beat per-tensor on ordinary rows", function()
  local text = run("outliers.lua", "4")
  local t = tonumber(text:match("per%-tensor%s+[%d.%-]+%s+[%d.%-]+%s+([%d.%-]+)"))
  local c = tonumber(text:match("per%-channel%(axis 1%)%s+[%d.%-]+%s+[%d.%-]+%s+([%d.%-]+)"))
  T.truthy(t and c and c > t + 10, "ordinary-row SQNR per-channel " .. tostring(c) .. " vs per-tensor " .. tostring(t))
end)

T.test("model_report.lua: CSV and JSON", function()
  local text = run("model_report.lua", tmp .. "/report", "4", "32")
  T.truthy(text:find("9 quantized, 2 kept fp32"), "totals line")
  local csv = slurp(tmp .. "/report.csv")
  T.truthy(csv:find("^name,shape,numel,quantized,sqnr_db,"), "CSV header")
  T.truthy(csv:find("\nembed.weight,512x128,65536,true,"), "CSV row")
  local json = slurp(tmp .. "/report.json")
  T.truthy(json:find('"num_quantized": 9'), "JSON totals"); T.truthy(json:find('"name": "embed.weight"'), "JSON rows")
end)

T.test("model_report.lua on a checkpoint: sq.report to CSV and JSON", function()
  assert(sq.randn({32, 64}, 6):save(tmp .. "/ck.safetensors", "layer.w"))
  local text = run("model_report.lua", tmp .. "/ckrep", "4", "32", tmp .. "/ck.safetensors")
  T.truthy(text:find("layer.w", 1, true), "row printed")
  T.truthy(text:find("1 quantized, 0 kept fp32"), "totals line")
  T.truthy(slurp(tmp .. "/ckrep.csv"):find("layer.w", 1, true), "CSV row")
  T.truthy(slurp(tmp .. "/ckrep.json"):find('"name": "layer.w"', 1, true), "JSON row")
end)

T.test("sweep.lua on a tensor file", function()
  assert(sq.randn({16, 64}, 5):save(tmp .. "/w.npy"))
  local text = run("sweep.lua", tmp .. "/w.npy", tmp .. "/x.csv")
  T.truthy(text:find("w.npy", 1, true), "names the file")
  local csv = slurp(tmp .. "/x.csv")
  local lines = 0
  for _ in csv:gmatch("\n") do lines = lines + 1 end
  T.eq(lines, 43, "header + 42 configurations")
end)

os.execute("rm -rf " .. tmp)
T.done()
