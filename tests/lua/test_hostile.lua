-- Hostile values cannot crash the module or leak: lengths from __len are
-- range-checked, metamethods that raise or change things mid-call leave the C
-- side consistent, and resources are released when an argument error is
-- raised (issue 10).
local T = require "testlib"

local tmp = io.popen("mktemp -d"):read("l")
local squint = os.getenv("SQUINT") or arg[-1]
local rows_mt = getmetatable(sq.compare(sq.tensor{1, 2}, {{bits = 8}}))

local function slurp(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end

-- VmSize of this process in kB (/proc/self/status).
local function vmsize()
  local kb = slurp("/proc/self/status"):match("VmSize:%s*(%d+) kB")
  return tonumber(kb)
end
-- Sanitizer builds reserve terabytes of shadow memory and keep freed blocks
-- in a quarantine: there LeakSanitizer checks leaks, not these bounds.
local sanitized = vmsize() > 1024 * 1024 * 1024

local function len_is(n) return {__len = function() return n end} end

T.test("sq.report: a configuration list claiming a huge length is an argument error", function()
  for _, n in ipairs{math.maxinteger, math.maxinteger // 8 + 1, 2^40, 4097, -1, math.mininteger} do
    local cfgs = setmetatable({{bits = 8}}, len_is(n))
    T.raises(function() return sq.report(tmp .. "/none.safetensors", cfgs) end,
      string.format("bad argument #2 to 'report' (configuration list has length %d (expected 0..4096))", n))
  end
  T.raises(function() return sq.report(tmp .. "/none.safetensors", setmetatable({{bits = 8}}, len_is(0.5))) end,
    "object length is not an integer")
end)

T.test("sq.compare: a huge or negative configuration count is an argument error", function()
  local t = sq.tensor{1, 2}
  T.raises(function() return sq.compare(t, setmetatable({}, len_is(math.maxinteger))) end,
    string.format("bad argument #2 to 'compare' (configuration list has length %d (expected 0..4096))", math.maxinteger))
  T.raises(function() return sq.compare(t, setmetatable({}, len_is(-1))) end,
    "bad argument #2 to 'compare' (configuration list has length -1 (expected 0..4096))")
end)

T.test("sq.compare: a configuration's __index freeing the tensor raises, no use after free", function()
  local t = sq.randn({4, 4}, 1)
  local cfgs = setmetatable({}, {__len = function() return 2 end,
    __index = function(_, i) if i == 2 then getmetatable(t).__close(t) end; return {bits = 8} end})
  T.raises(function() return sq.compare(t, cfgs) end, "bad argument #1 to 'compare' (tensor has been freed)")
end)

T.test("rows __tostring: a column list of length -1 or huge is an error", function()
  for _, n in ipairs{-1, math.maxinteger, 4097} do
    local r = setmetatable({{a = 1}}, {__tostring = rows_mt.__tostring, columns = setmetatable({"a"}, len_is(n))})
    T.raises(function() return tostring(r) end,
      string.format("bad argument #1 to '?' (column list has length %d (expected 0..4096))", n))
  end
  local r = setmetatable({}, {__tostring = rows_mt.__tostring, __len = function() return -1 end, columns = {"a"}})
  T.raises(function() return tostring(r) end, "bad argument #1 to '?' (rows table has length -1 (expected 0..1048576))")
end)

T.test("a non-table 'columns' in the metatable is an argument error, not a type confusion", function()
  for _, v in ipairs{5, "x", true, print, io.stdout} do
    local r = setmetatable({{a = 1}}, {__tostring = rows_mt.__tostring, columns = v})
    T.raises(function() return tostring(r) end,
      {pattern = "^bad argument #1 to '%?' %(the metatable's 'columns' is a %a+, not a table%)$"})
    T.raises(function() return sq.write_csv(setmetatable({{a = 1}}, {columns = v}), tmp .. "/c.csv") end,
      {pattern = "^bad argument #1 to 'write_csv' %(the metatable's 'columns' is a %a+, not a table%)$"})
  end
end)

T.test("sq.write_csv: rows whose metamethods change the columns mid-call", function()
  local cols = {"a", "b"}
  local row = setmetatable({}, {__index = function(_, k) cols[1], cols[2] = nil, 42; return k .. "!" end})
  local path = tmp .. "/mut.csv"
  T.eq(sq.write_csv({row, row}, path, cols), true, "written")
  T.eq(slurp(path), "a,b\na!,b!\na!,b!\n", "the columns as they were at the call")
  -- the same through the rows' metatable columns, and in __tostring
  local mcols = {"x"}
  local r = setmetatable({setmetatable({}, {__index = function() mcols[1] = nil; mcols[5] = {}; return 1 end})},
    {__tostring = rows_mt.__tostring, columns = mcols})
  T.eq(tostring(r), "x\n1\n", "tostring")
  mcols[1], mcols[5] = "x", nil
  T.eq(sq.write_csv(r, path), true, "written")
  T.eq(slurp(path), "x\n1\n", "csv")
  -- a row read through __index that is not a table
  local rows = setmetatable({}, {__len = function() return 2 end,
    __index = function(_, i) return i == 1 and {a = 1} or 7 end})
  T.raises(function() return sq.write_csv(rows, path, {"a"}) end, "bad argument #1 to 'write_csv' (row 2 is not a table)")
  T.raises(function() return sq.write_csv({{a = 1}}, path, {"a", 3}) end,
    "bad argument #3 to 'write_csv' (column 2 is a number, not a string)")
end)

T.test("a rows table claiming a huge length is refused, not iterated", function()
  local rows = setmetatable({}, {__len = function() return math.maxinteger end})
  T.raises(function() return sq.write_csv(rows, tmp .. "/h.csv", {"a"}) end,
    string.format("bad argument #1 to 'write_csv' (rows table has length %d (expected 0..1048576))", math.maxinteger))
  T.raises(function() return sq.write_csv(rows, tmp .. "/h.csv") end,
    string.format("bad argument #1 to 'write_csv' (rows table has length %d (expected 0..1048576))", math.maxinteger))
end)

T.test("a rows table of more than 2^24 cells is refused", function()
  local cols = {}
  for i = 1, 4096 do cols[i] = "c" .. i end
  local rows = setmetatable({}, {__len = function() return 1 << 20 end, __index = function() return {} end})
  T.raises(function() return sq.write_csv(rows, tmp .. "/h.csv", cols) end,
    "bad argument #1 to 'write_csv' (1048577 rows x 4096 columns is more than 16777216 cells)")
  T.raises(function() return tostring(setmetatable(rows, {__len = function() return 1 << 20 end,
    __index = function() return {} end, __tostring = rows_mt.__tostring, columns = cols})) end,
    "bad argument #1 to '?' (1048577 rows x 4096 columns is more than 16777216 cells)")
end)

T.test("a shape table claiming a negative length is an argument error", function()
  T.raises(function() return sq.zeros(setmetatable({}, len_is(-1))) end,
    "bad argument #1 to 'zeros' (a shape has 0..8 dimensions, this one claims -1)")
  T.raises(function() return sq.randn(setmetatable({}, len_is(9))) end,
    "bad argument #1 to 'randn' (a shape has 0..8 dimensions, this one claims 9)")
end)

T.test("t:totable() and sq.view on a [1, 2^40, 0] tensor refuse instead of growing without bound", function()
  local z = sq.zeros({1, 2^40, 0})
  T.eq(z:numel(), 0, "numel")
  T.raises(function() return z:totable() end,
    "totable: a tensor of shape [1, 1099511627776, 0] has 0 elements but would need 1099511627778 nested tables")
  T.raises(function() return sq.view(z) end,
    "bad argument #1 to 'view' (the tensor of shape [1, 1099511627776, 0] has no elements to show)")
  local e = sq.zeros({3, 0}):totable()
  T.eq(#e, 3, "small empty shapes still convert"); T.eq(#e[1], 0, "inner")
  T.eq(#sq.zeros({2, 3}):totable()[2], 3, "ordinary tensors convert")
end)

-- A checkpoint with n tensors of shape [rows, 4] (values 1, 2, 3, 4 in each
-- row), written directly in the safetensors layout.
local function write_checkpoint(path, n, rows)
  local header, data = {}, string.rep(string.pack("<ffff", 1, 2, 3, 4), rows)
  for i = 1, n do
    header[#header + 1] = string.format('"t%04d":{"dtype":"F32","shape":[%d,4],"data_offsets":[%d,%d]}',
      i, rows, (i - 1) * #data, i * #data)
  end
  local h = "{" .. table.concat(header, ",") .. "}"
  local f = assert(io.open(path, "wb"))
  f:write(string.pack("<I8", #h), h, string.rep(data, n)); f:close()
end

T.test("2,000 sq.report calls failing on their arguments do not leak the checkpoint", function()
  local path = tmp .. "/leak.safetensors"
  write_checkpoint(path, 4, 1 << 18)  -- 16 MiB mapped per open
  T.eq(#sq.report(path, {bits = 8}), 4, "the checkpoint itself is fine")
  collectgarbage(); collectgarbage()
  local before = vmsize()
  for i = 1, 2000 do
    local bad = ({42, {bitz = 1}, {{bits = 8}, "x"}})[i % 3 + 1]
    assert(not pcall(sq.report, path, bad))
    assert(not pcall(sq.report, path, {bits = 8}, {include = 5 < 4}))
  end
  local grown = vmsize() - before
  T.truthy(grown < (sanitized and 1024 or 64) * 1024, "VmSize grew by " .. grown .. " kB")
  -- an engine error after the checkpoint is open releases it too
  for _ = 1, 200 do assert(not pcall(sq.report, path, {bits = 8}, {include = "("})) end
  grown = vmsize() - before
  T.truthy(grown < (sanitized and 1024 or 64) * 1024, "VmSize grew by " .. grown .. " kB")
end)

T.test("sq.write_json frees what it built when a __tostring raises", function()
  local big = {}
  for i = 1, 20000 do big[i] = i end
  local bad = setmetatable({}, {__tostring = function() error("no text", 0) end})
  local value = {big, {[bad] = 1}}
  collectgarbage(); collectgarbage()
  local before = vmsize()
  for _ = 1, 100 do T.raises(function() return sq.write_json(value, tmp .. "/j.json") end, "no text") end
  local grown = vmsize() - before
  if not sanitized then T.truthy(grown < 32 * 1024, "VmSize grew by " .. grown .. " kB") end
end)

T.test("sq.report opts: strings from __index functions and numbers stay valid", function()
  local path = tmp .. "/opts.safetensors"
  write_checkpoint(path, 3, 1)
  local opts = setmetatable({}, {__index = function(_, k)
    if k == "include" then return "t000" .. "[12]" elseif k == "csv" then return tmp .. "/o" .. ".csv" end end})
  local rows = sq.report(path, {{bits = 8}}, opts)
  T.eq(#rows, 2, "include from __index"); T.eq(rows[2].name, "t0002", "name")
  T.truthy(slurp(tmp .. "/o.csv"):find("t0002", 1, true), "csv path from __index")
  T.eq(#sq.report(path, {bits = 8}, {include = 3}), 1, "a number pattern")
  T.raises(function() return sq.report(path, {bits = 8}, {exclude = {}}) end,
    "bad argument #3 to 'report' ('exclude' must be a string, got table)")
end)

T.test("sq.report: a configuration's __index closing the checkpoint raises, no use after free", function()
  local path = tmp .. "/close.safetensors"
  write_checkpoint(path, 2, 1)
  local ck = sq.open(path)
  local cfgs = setmetatable({}, {__len = function() return 1 end,
    __index = function() getmetatable(ck).__close(ck); return {bits = 8} end})
  T.raises(function() return sq.report(ck, cfgs) end, "bad argument #1 to 'report' (checkpoint has been closed)")
end)

T.test("Ctrl-C during sq.report returns the rows computed so far", function()
  local path = tmp .. "/slow.safetensors"
  write_checkpoint(path, 100, 1 << 14)
  local script = tmp .. "/int.lua"
  local f = assert(io.open(script, "w"))
  f:write(string.format([[
local cfgs = {}
for b = 2, 8 do cfgs[#cfgs + 1] = {bits = b}; cfgs[#cfgs + 1] = {bits = b, mode = "asymmetric"} end
io.open(%q, "w"):close()
local rows = sq.report(%q, cfgs)
print("rows", #rows, #rows %% #cfgs, rows.interrupted, rows.cancelled, rows.totals[1].num_quantized)
]], tmp .. "/started", path))
  f:close()
  os.execute(string.format("'%s' '%s' > '%s/out' 2> '%s/err' & echo $! > '%s/pid'", squint, script, tmp, tmp, tmp))
  local pid = slurp(tmp .. "/pid"):match("%d+")
  for _ = 1, 100 do if io.open(tmp .. "/started") then break end; os.execute("sleep 0.05") end
  os.execute("sleep 0.3; kill -INT " .. pid)
  for _ = 1, 200 do
    if not os.execute("kill -0 " .. pid .. " 2>/dev/null") then break end
    os.execute("sleep 0.05")
  end
  local out, err = slurp(tmp .. "/out"), slurp(tmp .. "/err")
  local n, rem, interrupted, cancelled, nq = out:match("^rows\t(%d+)\t(%d+)\t(%a+)\t(%a+)\t(%d+)\n$")
  T.truthy(n, "script printed its result line; out = " .. out .. ", err = " .. err)
  n = tonumber(n)
  T.truthy(n > 0 and n < 100 * 14, "partial rows: " .. n)
  T.eq(rem, "0", "whole tensors"); T.eq(interrupted, "true", "interrupted"); T.eq(cancelled, "true", "cancelled")
  T.eq(tonumber(nq), n // 14, "totals over the rows computed")
  T.eq(err, squint .. ": interrupted: sq.report returns the rows computed so far (rows.interrupted = true)\n", "note")
end)

os.execute("rm -rf '" .. tmp .. "'")
T.done()
