-- Options that do not apply are errors (issue 14 f), in sq.compare, sq.report
-- and sq.plot as in sq.quantize; one configuration table is one configuration
-- (sq.compare, sq.plot and sq.report alike).
local T = require "testlib"

local tmp = io.popen("mktemp -d"):read("l")
local t = sq.randn({8, 64}, 7)
local src = tmp .. "/w.safetensors"
assert(t:save(src, "w"))

-- fn raises an error whose text holds want (plain text)
local function raises_with(fn, want)
  local ok, e = pcall(fn)
  T.truthy(not ok, "an error holding " .. want)
  T.truthy(tostring(e):find(want, 1, true), string.format("error %q holds %q", tostring(e), want))
end

T.test("configuration keys that do not apply, in every function taking configurations", function()
  local bad = {bits = 4, group_size = 16}
  local why = "group_size applies to granularity 'group' only (granularity is 'tensor')"
  raises_with(function() sq.quantize(t, bad) end, why)
  raises_with(function() sq.compare(t, bad) end, "config 1: " .. why)
  raises_with(function() sq.compare(t, {{bits = 8}, bad}) end, "config 2: " .. why)
  raises_with(function() sq.report(src, bad) end, why)
  raises_with(function() sq.report(src, {{bits = 8}, bad}) end, "config 2: " .. why)
  raises_with(function() sq.plot(t, bad, tmp .. "/p.svg") end, why)
  raises_with(function() sq.plot(t, {{bits = 8}, bad}, tmp .. "/p.svg") end, why)
  raises_with(function() sq.compare(t, {format = "q4_0", scale_dtype = "f32"}) end,
              "scale_dtype = 'f32' does not apply to format q4_0")
end)

T.test("one configuration table is one configuration", function()
  local one = sq.compare(t, {bits = 4})
  T.eq(#one, 1, "sq.compare(t, cfg): one row"); T.eq(one[1].config, "int4 sym per-tensor", "its config")
  T.eq(sq.report(src, {bits = 4})[1].config, one[1].config, "sq.report(path, cfg)")
  T.eq(sq.plot(t, {bits = 4}, tmp .. "/one.svg"), true, "sq.plot(t, cfg, path)")
  local f = assert(io.open(tmp .. "/one.svg")); local svg = f:read("a"); f:close()
  T.truthy(svg:find("int4 sym per-tensor", 1, true), "the plot labels its one configuration")
  raises_with(function() sq.plot(t, {}, tmp .. "/z.svg") end, "no configurations to plot")
end)

T.test("sq.plot: options that do not apply are errors naming them", function()
  raises_with(function() sq.plot(t, {{bits = 4}}, tmp .. "/p.svg", {bins = 8}) end,
              "opts: 'bins' does not apply to a plot of configurations (its options: title, subtitle)")
  raises_with(function() sq.plot(t, tmp .. "/p.svg", {source = t}) end,
              "opts: 'source' does not apply to a tensor's histogram")
  raises_with(function() sq.plot(t, tmp .. "/p.svg", {titel = "x"}) end, "opts: 'titel' does not apply")
  raises_with(function() sq.plot(t, tmp .. "/p.svg", {1}) end, "opts: 1 does not apply")
  T.eq(sq.plot(t, tmp .. "/p.svg", {title = "x", subtitle = "y", xlabel = "v", bins = 8, log = true}), true,
       "a tensor's options")
  local q = sq.quantize(t, {bits = 4})
  T.eq(sq.plot(q, tmp .. "/q.svg", {source = t, bins = 8, log = true, title = "e"}), true, "a qtensor's options")
  T.eq(sq.plot(t, {{bits = 4}, {bits = 8}}, tmp .. "/c.svg", {title = "c", subtitle = "s"}), true,
       "a plot of configurations' options")
end)

os.execute("rm -rf " .. tmp)
T.done()
