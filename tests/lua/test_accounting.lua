-- One size accounting (issue 14): q:stats().bytes / bits_per_weight / ratio,
-- sq.compare's columns, squint report's "after" and bits/w, and the bytes
-- squint quantize writes (codes + scales + zero points of a tensor in the
-- safetensors) are the same number for the same configuration.
local T = require "testlib"

local squint = os.getenv("SQUINT") or arg[-1]
local tmp = io.popen("mktemp -d"):read("l")

local function slurp(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end

-- Bytes of every tensor of the safetensors file whose name starts with
-- prefix, from the header's data_offsets.
local function file_tensor_bytes(path, prefix)
  local s = slurp(path)
  local n = string.unpack("<I8", s)
  local header = s:sub(9, 8 + n)
  local total, count = 0, 0
  for name, a, b in header:gmatch('"([^"]+)":%s*{[^}]-"data_offsets":%s*%[%s*(%d+)%s*,%s*(%d+)%s*%]') do
    if name:sub(1, #prefix) == prefix then
      total, count = total + (tonumber(b) - tonumber(a)), count + 1
    end
  end
  assert(count > 0, "no tensor " .. prefix .. " in " .. path)
  return total, header
end

local function run(cmd)
  local ok = os.execute(cmd .. " >" .. tmp .. "/out.txt 2>&1")
  if not ok then error(cmd .. " failed: " .. slurp(tmp .. "/out.txt")) end
end

-- The first data row of a report CSV as a table column -> text (quoted
-- fields, the shape, become "q").
local function csv_row(path)
  local lines = {}
  for l in io.lines(path) do lines[#lines + 1] = l end
  local cols, vals = {}, {}
  for c in lines[1]:gmatch("[^,]+") do cols[#cols + 1] = c end
  local i = 0
  for v in (lines[2]:gsub('"[^"]*"', "q") .. ","):gmatch("([^,]*),") do i = i + 1; vals[cols[i]] = v end
  return vals
end

-- A tensor of w's shape with every value shifted by d (zero points leave I8).
local function shifted(w, d)
  local rows = w:totable()
  for _, r in ipairs(rows) do for j = 1, #r do r[j] = r[j] + d end end
  return sq.tensor(rows)
end

local w = sq.randn({8, 64}, 21)
local inputs = {plain = w, shift = shifted(w, 300), far = shifted(w, 1e6)}
for name, t in pairs(inputs) do assert(t:save(tmp .. "/" .. name .. ".safetensors", "w")) end

-- {input, Lua configuration, the same as command-line options, zero point bytes expected}
local cases = {
  {"plain", {bits = 8}, "--bits 8", 0},
  {"plain", {bits = 4, granularity = "group", group_size = 16}, "--bits 4 --granularity group --group-size 16", 0},
  {"plain", {bits = 4, mode = "asymmetric", granularity = "channel", axis = 2},
   "--bits 4 --mode asymmetric --granularity channel --axis 2", 1},
  {"plain", {bits = 3, mode = "asymmetric", zero_in_range = true, granularity = "group", group_size = 8, rounding = "even"},
   "--bits 3 --mode asymmetric --zero-in-range --granularity group --group-size 8 --rounding even", 1},
  {"plain", {bits = 5, granularity = "channel", calibration = "mse"}, "--bits 5 --granularity channel --calibration mse", 0},
  {"shift", {bits = 4, mode = "asymmetric", granularity = "group", group_size = 32},
   "--bits 4 --mode asymmetric --granularity group --group-size 32", 2},
  {"far", {bits = 2, mode = "asymmetric"}, "--bits 2 --mode asymmetric", 4},
}

-- fn raises an error whose text holds want (plain text)
local function raises_with(fn, want)
  local ok, e = pcall(fn)
  T.truthy(not ok, "an error holding " .. want)
  T.truthy(tostring(e):find(want, 1, true), string.format("error %q holds %q", tostring(e), want))
end

local function same_list(a, b, what)
  T.eq(#a, #b, what .. ": length")
  for i = 1, #a do T.eq(a[i], b[i], what .. " [" .. i .. "]") end
end

for i, c in ipairs(cases) do
  local input, cfg, opts, zpw = c[1], c[2], c[3], c[4]
  T.test(string.format("case %d (%s): stats = squint quantize's bytes = squint report's after", i, opts), function()
    local src = tmp .. "/" .. input .. ".safetensors"
    local q = sq.quantize(inputs[input], cfg)
    local s = q:stats()
    local nsc = #q:scales()
    -- the figure itself: codes + f64 scales (Lua's scale_dtype) + zero points at their width
    T.eq(s.scale_dtype, "f64", "Lua keeps f64 scales")
    local codes = (512 * cfg.bits + 7) // 8
    T.eq(s.bytes, codes + nsc * (8 + zpw), "codes + scales + zero points")
    T.eq(s.bits_per_weight, 8 * s.bytes / 512, "bits_per_weight = 8 * bytes / numel")
    T.eq(s.ratio, 512 * 4 / s.bytes, "ratio = 4 * numel / bytes")
    T.eq(tostring(q):match(", (%d+) B "), tostring(s.bytes), "tostring(q) shows the same bytes")
    local row = sq.compare(inputs[input], {cfg})[1]
    T.eq(row.bytes, s.bytes, "sq.compare bytes"); T.eq(row.ratio, s.ratio, "sq.compare ratio")
    T.eq(row.bits_per_weight, s.bits_per_weight, "sq.compare bits_per_weight")
    -- the export with the same scale precision writes exactly these bytes
    local out = tmp .. "/o" .. i .. ".safetensors"
    run(string.format("%q quantize %q %q %s --scale-dtype f64", squint, src, out, opts))
    T.eq(file_tensor_bytes(out, "w."), s.bytes, "bytes of w.codes + w.scales (+ w.zero_points) in the file")
    -- squint report's after column and bits/w (CSV) for the same configuration
    local csv = tmp .. "/r" .. i .. ".csv"
    run(string.format("%q report %q %s --scale-dtype f64 --csv %q", squint, src, opts, csv))
    local r = csv_row(csv)
    T.eq(tonumber(r.after_bytes), s.bytes, "report after_bytes")
    local lr = sq.report(src, cfg)[1]
    T.eq(lr.bytes, s.bytes, "sq.report's bytes"); T.eq(lr.size_bytes, s.bytes, "sq.report's size_bytes")
    T.eq(lr.bits_per_weight, s.bits_per_weight, "sq.report's bits_per_weight")
    T.near(tonumber(r.bits_per_weight), s.bits_per_weight, 1e-9 * s.bits_per_weight, "report bits_per_weight (CSV text)")
    -- the default export (f16 scales): the reloaded tensor, the file and the report agree
    local out16 = tmp .. "/h" .. i .. ".safetensors"
    run(string.format("%q quantize %q %q %s", squint, src, out16, opts))
    local bytes16 = file_tensor_bytes(out16, "w.")
    local ck = sq.open(out16)
    local q16 = ck:qtensor("w")
    T.eq(tostring(q16):match(", (%d+) B "), tostring(bytes16), "reloaded tensor's bytes = the file's")
    ck:close()
    T.eq(bytes16, codes + nsc * (2 + zpw), "default export: f16 scales")
    run(string.format("%q report %q %s --scale-dtype f16 --csv %q", squint, src, opts, csv))
    T.eq(tonumber(csv_row(csv).after_bytes), bytes16, "report --scale-dtype f16 after_bytes = the default export")
    -- Lua's scale_dtype = "f16" gives the default export's figures and scales
    local cfg16 = {scale_dtype = "f16"}
    for k, v in pairs(cfg) do cfg16[k] = v end
    local qh = sq.quantize(inputs[input], cfg16)
    local sh = qh:stats()
    T.eq(sh.scale_dtype, "f16", "scale_dtype = 'f16' kept"); T.eq(qh.config.scale_dtype, "f16", "q.config.scale_dtype")
    T.eq(sh.bytes, bytes16, "q:stats().bytes with scale_dtype = 'f16' = the default export's bytes")
    T.eq(sh.bits_per_weight, 8 * bytes16 / 512, "its bits_per_weight")
    T.eq(sq.compare(inputs[input], cfg16)[1].bytes, bytes16, "sq.compare with scale_dtype = 'f16'")
    T.eq(sq.report(src, cfg16)[1].bytes, bytes16, "sq.report with scale_dtype = 'f16'")
    local ck16 = sq.open(out16)
    same_list(qh:scales(), ck16:qtensor("w"):scales(), "the rounded scales are the file's")
    local a, b = qh:dequantize():totable(), ck16:qtensor("w"):dequantize():totable()
    T.eq(#a, #b, "rows")
    for r = 1, #a do same_list(a[r], b[r], "the values, row " .. r) end
    ck16:close()
    local q32 = sq.quantize(inputs[input], (function() local c = {scale_dtype = "f32"}; for k, v in pairs(cfg) do c[k] = v end; return c end)())
    T.eq(q32:stats().bytes, codes + nsc * (4 + zpw), "scale_dtype = 'f32': 4 bytes a scale")
  end)
end

T.test("scale_dtype: values, and formats that fix their scales", function()
  local t = sq.randn({4, 64}, 3)
  raises_with(function() sq.quantize(t, {scale_dtype = "f8"}) end, "scale_dtype must be 'f16', 'f32' or 'f64', got 'f8'")
  raises_with(function() sq.quantize(t, {scale_dtype = 16}) end, "scale_dtype must be")
  raises_with(function() sq.quantize(t, {format = "q4_0", scale_dtype = "f16"}) end,
        "scale_dtype = 'f16' does not apply to format q4_0")
  raises_with(function() sq.quantize(t, {format = "nf4", scale_dtype = "f16"}) end,
        "scale_dtype = 'f16' does not apply to format nf4 (it fixes scale_dtype = 'f32')")
  raises_with(function() sq.compare(t, {{bits = 4}, {format = "mxfp4", scale_dtype = "f64"}}) end, "scale_dtype")
  T.eq(sq.quantize(t, {bits = 4}).config.scale_dtype, nil, "f64 (the default) is not listed")
  local q = sq.quantize(t, {bits = 4, scale_dtype = "f32"})
  T.eq(sq.quantize(t, q.config):stats().bytes, q:stats().bytes, "q.config round-trips scale_dtype")
end)

os.execute("rm -rf " .. tmp)
T.done()
