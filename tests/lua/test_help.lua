-- sq.help (issue 15): every function of the sq table and every method of the
-- module's userdata types has a help entry (a new function without one
-- fails here), each entry's example runs on small data, and the module
-- table prints as the list.
local T = require "testlib"

-- The module's userdata types: every registry metatable named squint.* with
-- methods (a type added later is covered without editing this list).
local function types()
  local out = {}
  for name, mt in pairs(debug.getregistry()) do
    if type(name) == "string" and name:match("^squint%.") and type(mt) == "table" and type(mt.__methods) == "table" then
      out[#out + 1] = name
    end
  end
  table.sort(out)
  return out
end

T.test("every function in sq has a help entry, found by name and by value", function()
  local n, missing = 0, {}
  for k, v in pairs(sq) do
    if type(v) == "function" then
      n = n + 1
      local ok, text = pcall(sq.help, k, "text")
      if not ok then missing[#missing + 1] = k
      else
        T.truthy(text:find("sq." .. k .. "(", 1, true), "the text of " .. k .. " opens with its signature")
        T.eq(sq.help(v, "text"), text, "sq.help(sq." .. k .. ") = sq.help(\"" .. k .. "\")")
        T.eq(sq.help("sq." .. k, "text"), text, "sq.help(\"sq." .. k .. "\")")
      end
    end
  end
  table.sort(missing)
  T.eq(table.concat(missing, ", "), "", "functions without help")
  T.truthy(n >= 21, "the module has its functions (" .. n .. ")")
end)

T.test("every method of every squint type has a help entry", function()
  local missing, seen = {}, 0
  for _, tname in ipairs(types()) do
    for m, f in pairs(debug.getregistry()[tname].__methods) do
      seen = seen + 1
      local ok, text = pcall(sq.help, tname .. ":" .. m, "text")
      if not ok then missing[#missing + 1] = tname .. ":" .. m
      else
        T.eq(sq.help(f, "text"), text, "by value: " .. tname .. ":" .. m)
        T.truthy(text:find(":" .. m .. "(", 1, true), "signature of " .. tname .. ":" .. m)
      end
    end
  end
  table.sort(missing)
  T.eq(table.concat(missing, ", "), "", "methods without help")
  T.truthy(#types() >= 5 and seen >= 32, "tensor, qtensor, linear, qlinear and checkpoint methods seen")
end)

T.test("every help example runs (interactive ones compile)", function()
  -- the examples write sq_example.* files in the current directory (run.sh's
  -- scratch directory) and remove them
  local names = sq.help(nil, "names")
  T.truthy(#names >= 57, "entries")
  local real_print, real_write, ran = print, io.write, 0
  for _, name in ipairs(names) do
    local code = sq.help(name, "example")
    T.truthy(type(code) == "string" and #code > 0, "an example for " .. name)
    local chunk, err = load(code, "=example of " .. name)
    T.truthy(chunk, err)
    -- an entry for a function this build does not have (another branch adds
    -- it) is allowed; its example cannot run here
    local fname = name:match("^[%a_]+$") and name
    local exists = not fname or type(sq[fname]) == "function"
    if exists and not sq.help(name, "interactive") then
      print, io.write = function() end, function() return io.stdout end
      local ok, e = pcall(chunk)
      print, io.write = real_print, real_write
      T.truthy(ok, "example of " .. name .. ": " .. tostring(e))
      ran = ran + 1
    end
  end
  T.truthy(ran >= 50, "examples run: " .. ran)
end)

T.test("the list, one entry, the configuration keys and the formats", function()
  local list = tostring(sq)
  T.eq(list, sq.help(nil, "text"), "tostring(sq) is sq.help()'s list")
  for _, s in ipairs{"sq.quantize ", "sq.compare ", "q:stats ", "t:save ", "ck:names ", "ql:forward ", "sq.help "} do
    T.truthy(list:find(s, 1, true), "listed: " .. s)
  end
  T.eq(getmetatable(sq).__name, "squint", "__name")
  local q = sq.help("quantize", "text")
  for _, key in ipairs{"bits ", "mode ", "granularity ", "axis ", "group_size ", "rounding ", "zero_in_range ",
                       "calibration ", "percentile ", "clip ", "range ", "scale_dtype ", "double_quant ", "format "} do
    T.truthy(q:find("\n  " .. key, 1, true), "configuration key " .. key)
  end
  T.truthy(q:find("integer 2..8 (default 8)", 1, true), "bits range and default")
  T.truthy(q:find("(default 32)", 1, true), "group_size default")
  for _, f in ipairs{"q4_0", "q4_k", "q6_k", "iq4_xs", "fp8_e4m3", "nf4", "mxfp4", "nvfp4"} do
    T.truthy(q:find("\n%s+" .. f .. " "), "format " .. f)
  end
  T.truthy(q:find("Example:\n  local t = sq.randn", 1, true), "example")
  T.eq(sq.help("config", "text"), q:match("(Configuration table.-)\nExample:") , "sq.help(\"config\")")
  T.eq(sq.help("qtensor:stats", "text"), sq.help("q:stats", "text"), "type alias")
  T.eq(sq.help("stats", "text"), sq.help("q:stats", "text"), "a bare method name of one type")
  local both = sq.help("numel", "text")
  T.truthy(both:find("t:numel", 1, true) and both:find("q:numel", 1, true), "a bare name of two types lists both")
  T.truthy(sq.help(sq.randn({2, 2}, 1), "text"):find("^Methods of a tensor t:\n  t:numel"), "a tensor: its methods")
  T.raises(function() return sq.help("quantise") end,
    "bad argument #1 to 'help' (no help for 'quantise' (sq.help() lists what there is))")
  T.raises(function() return sq.help(print) end,
    "bad argument #1 to 'help' (not a function of the sq module or a method of its types)")
  T.raises(function() return sq.help("quantize", "loud") end, "bad argument #2 to 'help' (invalid option 'loud')")
end)

T.test("sq.help prints through print", function()
  local got
  local real_print = print
  print = function(s) got = s end
  local r = sq.help("t:get")
  print = real_print
  T.eq(r, nil, "returns nothing")
  T.eq(got, sq.help("t:get", "text"), "printed the text")
  T.truthy(got:find("^t:get%(i, j, ...%) %-> value\n"), "signature first")
end)

T.done()
