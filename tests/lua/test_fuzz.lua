-- A seeded fuzz of the Lua module: random calls of every sq.* function and
-- every method with hostile arguments (tables whose __len / __index /
-- __tostring / __pairs raise, return huge, negative or non-integer values,
-- or change the table; wrong types; freed objects). The module must answer
-- every call with a result or a Lua error: a crash, a hang or (under the
-- sanitizer build of CI) a memory error or leak fails the test.
-- SQ_FUZZ_SEED and SQ_FUZZ_ITERS override the fixed seed and the count.
local T = require "testlib"

local seed = tonumber(os.getenv("SQ_FUZZ_SEED")) or 20261130
local iters = tonumber(os.getenv("SQ_FUZZ_ITERS")) or 4000
local trace = os.getenv("SQ_FUZZ_TRACE") -- print each call's number to stderr
math.randomseed(seed)
local tmp = io.popen("mktemp -d"):read("l")

local function pick(list) return list[math.random(#list)] end

-- Sizes stay small or overflow size_t outright: a legitimate request for
-- terabytes is an allocation failure, which the sanitizer build treats as fatal.
local numbers = {0, 1, 2, 3, 4, 7, 8, 9, -1, -8, 1.5, 0.5, -0.0, 0 / 0, 1 / 0, -1 / 0, 2^63, 2.0^64,
  math.maxinteger, math.mininteger, 1 << 62, -(1 << 62)}
local strings = {"", "x", "bits", "mode", "symmetric", "asymmetric", "tensor", "channel", "group", "even",
  "away", "step", "data", "shape", "config", "weight", "bias", "t0001", "a", "\0", "é", "\xff\xfe",
  string.rep("z", 300)}
local paths = {tmp .. "/f.csv", tmp .. "/f.json", tmp .. "/f.safetensors", tmp .. "/f.npy", tmp .. "/f.gguf",
  tmp .. "/none/x.safetensors", tmp .. "/ck.safetensors", tmp}
local configs = {{bits = 4}, {bits = 8}, {bits = 2, mode = "asymmetric"}, {granularity = "channel", axis = 1},
  {granularity = "channel", axis = 2}, {granularity = "group", group_size = 2}, {granularity = "group", group_size = 3},
  {bits = 9}, {axis = 0}, {bitz = 1}, {rounding = "even", zero_in_range = true}, {}}
local shapes = {{2, 3}, {4}, {0}, {3, 0}, {1, 1, 1}, {2, 2, 2, 2}, {}, {-1}, {1.5}, {"x"}, {1, 2, 3, 4, 5, 6, 7, 8, 9}}

-- Objects of the module; refreshed now and then (the fuzz frees some).
local pool = {}
local function refill()
  pool.t = {sq.tensor{{1, 2, 3}, {4, 5, 6}}, sq.randn({4, 8}, math.random(100)), sq.tensor(3), sq.zeros({0, 4}),
    sq.tensor{0 / 0, 1}, sq.zeros({2, 2})}
  pool.q = {sq.quantize(pool.t[1], {bits = 4}), sq.quantize(pool.t[2], {granularity = "channel", axis = 2}),
    sq.quantize(pool.t[2], {granularity = "group", group_size = 2})}
  pool.l = {sq.linear(4, 3, 1), sq.linear(pool.t[1])}
  pool.ql = {sq.quantize_linear(pool.l[1], {bits = 8})}
  pool.ck = {sq.open(tmp .. "/ck.safetensors")}
  pool.rows = {sq.compare(pool.t[2], {{bits = 8}, {bits = 4}})}
end

local base_values
local hostile

-- A random value of any kind, biased by depth so tables stay small.
local function value(depth)
  depth = depth or 0
  local r = math.random(100)
  if r <= 14 then return pick(numbers)
  elseif r <= 24 then return pick(strings)
  elseif r <= 28 then return pick(paths)
  elseif r <= 36 then return pick(base_values)
  elseif r <= 44 then return pick(pool.t)
  elseif r <= 49 then return pick(pool.q)
  elseif r <= 52 then return pick(pool.l)
  elseif r <= 54 then return pick(pool.ql)
  elseif r <= 57 then return pick(pool.ck)
  elseif r <= 60 then return pick(pool.rows)
  elseif r <= 68 then return pick(configs)
  elseif r <= 74 then return pick(shapes)
  elseif depth < 2 and r <= 94 then return hostile(depth + 1)
  elseif depth < 2 then
    local t = {}
    for i = 1, math.random(0, 4) do t[i] = value(depth + 1) end
    return t
  end
  return nil
end

-- A table with random contents and random hostile metamethods.
function hostile(depth)
  local t = {}
  local kind = math.random(4)
  if kind == 1 then for i = 1, math.random(0, 3) do t[i] = value(depth) end
  elseif kind == 2 then for _ = 1, math.random(0, 3) do t[pick(strings)] = value(depth) end
  elseif kind == 3 then for k, v in pairs(pick(configs)) do t[k] = v end
  else for i = 1, math.random(0, 3) do t[i] = {a = value(depth), config = pick(strings)} end end
  local mt = {}
  local lens = {-1, 0, 1, 2, 3, 4096, 4097, 20000, (1 << 20) + 1, math.maxinteger, math.mininteger, 1.5, 0 / 0, 2^70,
    "3", "x", true, {}}
  if math.random(2) == 1 then
    local n = pick(lens)
    mt.__len = math.random(5) == 1 and function() error("hostile __len", 0) end or function() return n end
  end
  if math.random(2) == 1 then
    local v, mode = value(depth + 1), math.random(5)
    mt.__index = function(self, k)
      if mode == 1 then error("hostile __index", 0)
      elseif mode == 2 then rawset(self, math.random(3), value(depth + 1)); return v
      elseif mode == 3 then for key in pairs(self) do rawset(self, key, nil) end; return v
      elseif mode == 4 then return k == 1 and {a = 1} or v end
      return v
    end
  end
  if math.random(3) == 1 then
    local r = math.random(4)
    mt.__tostring = function()
      if r == 1 then error("hostile __tostring", 0) elseif r == 2 then return 42 elseif r == 3 then return nil end
      return "hostile"
    end
  end
  if math.random(4) == 1 then mt.__pairs = function() error("hostile __pairs", 0) end end
  if math.random(4) == 1 then mt.__name = pick({"squint.tensor", "squint.rows", 5}) end
  if math.random(4) == 1 then mt.columns = pick({5, "x", {}, {"a", "config"}, setmetatable({"a"}, {__len = function() return -1 end}), t}) end
  if math.random(5) == 1 then mt.__newindex = function() error("hostile __newindex", 0) end end
  return setmetatable(t, mt)
end

base_values = {nil, true, false, print, function() error("hostile function", 0) end, coroutine.create(print),
  io.stdout, sq, "squint.tensor"}

-- Arguments: each one plausible for its slot (from hint) half of the time.
local function args(hints)
  local a, n = {}, math.random(0, #hints + 1)
  for i = 1, n do
    local h = hints[i]
    if h and math.random(2) == 1 then a[i] = h() else a[i] = value(0) end
  end
  return a, n
end

local A = {
  t = function() return pick(pool.t) end, q = function() return pick(pool.q) end,
  l = function() return pick(pool.l) end, ql = function() return pick(pool.ql) end,
  ck = function() return pick(pool.ck) end, rows = function() return pick(pool.rows) end,
  cfg = function() return math.random(3) == 1 and hostile(1) or pick(configs) end,
  cfgs = function() return math.random(2) == 1 and hostile(1) or {pick(configs), pick(configs)} end,
  shape = function() return math.random(3) == 1 and hostile(1) or pick(shapes) end,
  path = function() return pick(paths) end, str = function() return pick(strings) end,
  int = function() return pick(numbers) end,
  bins = function() return pick({1, 2, 64, 65536, 65537, 0, -1}) end,
  name = function() return pick({"t0001", "t0002", "x", "t0001.codes"}) end,
  named = function() return math.random(2) == 1 and {a = pick(pool.t), b = pick(pool.t)} or hostile(1) end,
  nested = function() return pick({{{1, 2}, {3, 4}}, {1, 2, 3}, {{1}, {2, 3}}, {{{}}}, {"x"}, hostile(1)}) end,
  opts = function() return pick({{include = "t", exclude = "2"}, {csv = tmp .. "/r.csv", json = tmp .. "/r.json"},
    {include = "("}, hostile(1)}) end,
}

-- Every function of the module with the argument kinds it expects.
local calls = {
  {sq.tensor, {A.nested}}, {sq.randn, {A.shape, A.int}}, {sq.zeros, {A.shape}}, {sq.demo, {}},
  {sq.load, {A.path, A.name}}, {sq.open, {A.path}}, {sq.quantize, {A.t, A.cfg}}, {sq.compare, {A.t, A.cfgs}},
  {sq.linear, {A.t, A.t}}, {sq.linear, {A.int, A.int, A.int, A.int}}, {sq.quantize_linear, {A.l, A.cfg}},
  {sq.quantize_named, {A.named, A.cfg}}, {sq.quantize_named, {A.ck, A.cfg}}, {sq.model_stats, {A.named, A.cfg}},
  {sq.model_stats, {A.ck, A.cfg}}, {sq.now, {}}, {sq.write_csv, {A.rows, A.path, A.cfgs}},
  {sq.write_json, {A.rows, A.path}}, {sq.report, {A.ck, A.cfgs, A.opts}}, {sq.report, {A.path, A.cfg, A.opts}},
  {tostring, {A.rows}}, {tostring, {A.t}}, {tostring, {A.q}}, {tostring, {A.l}}, {tostring, {A.ql}}, {tostring, {A.ck}},
}
-- the rows' __tostring on any table (it is reachable through getmetatable)
local rows_tostring = getmetatable(sq.compare(sq.tensor{1}, {{bits = 8}})).__tostring
calls[#calls + 1] = {rows_tostring, {function() return hostile(1) end}}
calls[#calls + 1] = {sq.write_csv, {function() return hostile(1) end, A.path, function() return hostile(1) end}}
-- sq.view only with arguments it refuses before opening the panel
calls[#calls + 1] = {function(x, ...)
  if type(x) == "userdata" then x = nil end
  return sq.view(x, ...)
end, {A.cfg, A.cfg}}
-- methods and fields: obj:method(args), obj.key, #obj
local methods = {
  {A.t, {"numel", "get", "min", "max", "mean", "std", "totable", "save"}, {A.int, A.int, A.int}},
  {A.t, {"save"}, {A.path, A.name}},
  {A.q, {"dequantize", "codes", "scales", "zero_points", "size_bytes", "compression_ratio", "numel", "stats",
    "histogram", "code_histogram", "save"}, {A.bins, A.str}},
  {A.l, {"forward", "parameters"}, {A.t}}, {A.ql, {"forward", "memory_savings_bytes", "parameters"}, {A.t}},
  {A.ck, {"names", "info", "tensor", "tensors", "metadata", "qtensor", "quantized"}, {A.name}},
}
for _, m in ipairs(methods) do
  local get, names, hints = m[1], m[2], m[3]
  calls[#calls + 1] = {function(...)
    local obj = get()
    local f = obj[pick(names)]
    local r = table.pack(f(obj, ...))
    if type(r[1]) == "function" then r[1]() end -- run one step of ck:tensors()
    return table.unpack(r, 1, r.n)
  end, hints}
end
calls[#calls + 1] = {function(obj, k) return obj[k], #obj end, {A.t, A.str}}
calls[#calls + 1] = {function(obj, k) return obj[k], #obj end, {A.q, A.str}}
calls[#calls + 1] = {function(obj, k) return obj[k] end, {A.l, A.str}}
calls[#calls + 1] = {function(obj, k) return obj[k] end, {A.ql, A.str}}
calls[#calls + 1] = {function(obj, k) return obj[k], #obj end, {A.ck, A.str}}
-- freeing objects early, then using them (the pool is refilled now and then)
calls[#calls + 1] = {function()
  local kind = pick({"t", "q", "l", "ql", "ck"})
  local obj = pick(pool[kind])
  getmetatable(obj)[pick({"__gc", "__close"})](obj)
end, {}}

for i, c in ipairs(calls) do c.index = i end

T.test("setup: a checkpoint to fuzz with", function()
  sq.tensor{{1, 2}, {3, 4}}:save(tmp .. "/ck.safetensors", "t0001")
  refill()
  T.eq(#pool.ck[1], 1, "one tensor")
end)

T.test(string.format("%d random calls with hostile arguments (seed %d)", iters, seed), function()
  local errors, results = 0, 0
  for i = 1, iters do
    if i % 200 == 0 then refill(); collectgarbage() end
    local c = pick(calls)
    local a, n = args(c[2])
    if trace then
      local d = {}
      for j = 1, n do
        local mt = type(a[j]) == "table" and getmetatable(a[j])
        local ms = {}
        if mt then for k, v in pairs(mt) do ms[#ms + 1] = k .. "=" .. (type(v) == "number" and v or type(v)) end end
        d[j] = type(a[j]) == "table" and (#ms > 0 and "table{" .. table.concat(ms, " ") .. "}" or "table")
          or type(a[j]) == "userdata" and tostring(getmetatable(a[j]).__name) or tostring(a[j])
      end
      io.stderr:write(i, " call ", c.index, ": ", table.concat(d, ", "), "\n")
    end
    local ok, err = pcall(c[1], table.unpack(a, 1, n))
    if ok then results = results + 1 else
      errors = errors + 1
      if type(err) ~= "string" then error(string.format("call %d raised a %s, not a message", i, type(err))) end
    end
  end
  -- both outcomes happen: the fuzz reaches the module's work, not only its checks
  T.truthy(results > iters // 10, "calls that succeeded: " .. results)
  T.truthy(errors > iters // 10, "calls that raised: " .. errors)
end)

T.test("the module still works after the fuzz", function()
  collectgarbage(); collectgarbage()
  local q = sq.quantize(sq.tensor{{127, -3}, {0, 2}}, {bits = 8})
  T.eq(q:dequantize():get(1, 1), 127.0, "round trip")
  assert(sq.tensor{{1, 2}, {3, 4}}:save(tmp .. "/ok.safetensors", "t0001"))
  T.eq(#sq.report(tmp .. "/ok.safetensors", {bits = 8}), 1, "report")
end)

for _, list in pairs(pool) do for _, obj in ipairs(list) do
  if getmetatable(obj).__close then getmetatable(obj).__close(obj) end
end end
os.execute("rm -rf '" .. tmp .. "'")
T.done()
