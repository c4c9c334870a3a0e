-- sq.now, sq.write_csv and sq.write_json (atomic, nil + message on failure).
local T = require "testlib"

local dir = os.getenv("TMPDIR") or "/tmp"
local base = string.format("%s/sq_lua_io_%d", dir, math.floor(sq.now() * 1e6) % 1000000000)

local function slurp(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end

T.test("sq.now is monotonic with sub-millisecond resolution", function()
  local a = sq.now(); local b = sq.now()
  T.eq(math.type(a), "float", "float seconds"); T.truthy(b >= a, "monotonic")
  local t0, n = sq.now(), 0
  repeat n = n + 1 until sq.now() > t0
  T.truthy(sq.now() - t0 < 1e-3, "ticks quickly")
end)

T.test("write_csv with explicit columns, quoting", function()
  local path = base .. ".csv"
  T.eq(sq.write_csv({{a = 1, b = "x,y"}, {a = 2.5, b = 'say "hi"'}, {a = true}}, path, {"a", "b"}), true, "result")
  T.eq(slurp(path), 'a,b\n1,"x,y"\n2.5,"say ""hi"""\ntrue,\n', "content")
  os.remove(path)
end)

T.test("write_csv of compare rows uses their column order", function()
  local path = base .. "_rows.csv"
  local rows = sq.compare(sq.tensor{{1, 2}, {3, 4}}, {{bits = 8}, {bits = 4}})
  assert(sq.write_csv(rows, path))
  local text = slurp(path)
  T.truthy(text:find("^config,bits,mode,granularity,sqnr_db,"), "header")
  T.truthy(text:find("\nint4 sym per%-tensor,4,symmetric,tensor,"), "row")
  os.remove(path)
end)

T.test("write_csv default columns are the sorted keys", function()
  local path = base .. "_keys.csv"
  assert(sq.write_csv({{z = 1, a = 2}, {m = 3}}, path))
  T.eq(slurp(path), "a,m,z\n2,,1\n,3,\n", "content")
  os.remove(path)
end)

T.test("write_json through jansson", function()
  local path = base .. ".json"
  T.eq(sq.write_json({name = "w", sqnr = 1 / 0, list = {1, 2.5, "x"}, flag = false, nested = {k = {}}}, path), true, "result")
  T.eq(slurp(path), [[
{
  "flag": false,
  "list": [
    1,
    2.5,
    "x"
  ],
  "name": "w",
  "nested": {
    "k": {}
  },
  "sqnr": null
}
]], "content")
  os.remove(path)
end)

T.test("failures return nil + message naming the path; no temp file left", function()
  local ok, msg = sq.write_csv({{a = 1}}, "/nonexistent-dir/x.csv")
  T.eq(ok, nil, "nil"); T.eq(msg, "/nonexistent-dir/x.csv: cannot create: No such file or directory", "message")
  ok, msg = sq.write_json({1}, "/nonexistent-dir/x.json")
  T.eq(ok, nil, "nil"); T.eq(msg, "/nonexistent-dir/x.json: cannot create: No such file or directory", "json message")
  local path = base .. "_dir"
  os.execute("mkdir -p " .. path .. " && touch " .. path .. "/existing")
  ok, msg = sq.write_json({1}, path)
  T.eq(ok, nil, "renaming over a directory fails"); T.truthy(msg:find(path, 1, true) == 1, "names the path")
  local p = io.popen("ls -a " .. dir .. " | grep -c 'sq_lua_io_.*tmp' ; true"); local n = p:read("l"); p:close()
  T.eq(n, "0", "no temporary files left")
  os.execute("rm -rf " .. path)
end)

T.test("misuse raises", function()
  T.raises(function() return sq.write_csv("x", "p") end, "bad argument #1 to 'write_csv' (table expected, got string)")
  T.raises(function() return sq.write_csv({1}, "p") end, "bad argument #1 to 'write_csv' (row 1 is not a table)")
  T.raises(function() return sq.write_csv({}, nil) end, "bad argument #2 to 'write_csv' (string expected, got nil)")
  T.raises(function() return sq.write_json({f = print}, "p") end,
    "bad argument #1 to 'write_json' (holds a function, userdata or thread, which JSON cannot represent)")
  local t = {}; t.self = t
  T.raises(function() return sq.write_json(t, "p") end, "bad argument #1 to 'write_json' (nesting too deep (a cycle?))")
end)

T.test("sq.report over a checkpoint: rows per tensor and config, totals as sq.model_stats", function()
  local path = os.tmpname() .. ".safetensors"
  local a, b = sq.tensor{{127, -3}, {0, 2}}, sq.randn({8, 64}, 4)
  -- one file with two tensors: a (lossless at int8) and b
  local w = sq.quantize_named({a = a}, {bits = 8})  -- (just to exercise the API)
  T.truthy(w.a, "quantize_named")
  assert(a:save(path, "a"))
  local rows = sq.report(path, {{bits = 8}, {bits = 4, granularity = "group", group_size = 2}})
  T.eq(#rows, 2, "one tensor x two configs")
  T.eq(rows[1].name, "a", "name"); T.eq(rows[1].status, "quantized", "status")
  T.eq(rows[1].sqnr_db, math.huge, "lossless int8: SQNR +inf"); T.eq(rows[1].max_abs_err, 0.0, "max err 0")
  T.eq(rows[1].median_abs_err, 0.0, "median 0"); T.eq(rows[1].size_bytes, 4 + 8, "codes + f64 scale (as exported)")
  T.eq(rows[2].config, "int4 sym per-group(2)", "second config"); T.eq(rows[2].config_index, 2, "index")
  local ck = sq.open(path)
  local ms = sq.model_stats(ck, {bits = 4, granularity = "group", group_size = 2})
  T.eq(rows.totals[2].quantized_bytes, 2 + 2 * 8, "totals: codes + f64 scales, as the export writes them")
  T.eq(rows.totals[2].compression_ratio, ms.fp32_bytes / (2 + 2 * 8), "ratio")
  T.eq(rows.cancelled, false, "not cancelled")
  local csv, json = path .. ".csv", path .. ".json"
  local r2 = sq.report(ck, {bits = 8}, {exclude = "^a$", csv = csv, json = json})
  T.eq(#r2, 0, "exclude filter")
  T.truthy(io.open(csv) and io.open(json), "csv and json written")
  T.raises(function() return sq.report(ck, {bits = 8}, {include = "("}) end, {pattern = "bad include pattern"})
  T.raises(function() return sq.report(ck, {bitz = 8}) end, {pattern = "unknown key 'bitz'"})
  local ok, msg = sq.report("/nonexistent/m.safetensors", {bits = 8})
  T.eq(ok, nil, "missing file: nil"); T.truthy(msg:find("m.safetensors", 1, true), "named")
  ck:close()
  for _, f in ipairs{path, csv, json} do os.remove(f) end
end)

T.test("dead tensors are collected as big ones are made (bounded memory in loops)", function()
  -- 48 tensors of 8 MiB made in a loop and dropped: the collector, told of
  -- their size, runs during the loop, so few are still alive at its end (all
  -- 48 would be, were only Lua's own small heap counted). A weak table sees
  -- which are alive without forcing a collection.
  local alive = setmetatable({}, {__mode = "k"})
  for i = 1, 48 do
    local t = sq.randn({2048, 1024}, i)
    alive[t] = true
  end
  local n = 0
  for _ in pairs(alive) do n = n + 1 end
  T.truthy(n <= 16, n .. " of 48 dropped tensors still alive (at most 16 expected)")
end)

T.done()
