-- testlib.lua - a minimal test harness for squint's Lua tests.
-- T.test(name, fn) runs fn and prints "ok: name" or "FAIL: name: message";
-- T.done() prints the tally and exits non-zero when anything failed.
-- SQ_TEST_ONLY=text in the environment runs only the tests whose name
-- contains text (to run one test alone).
local T = {passed = 0, failed = 0}

local only = os.getenv("SQ_TEST_ONLY")

function T.test(name, fn)
  if only and not name:find(only, 1, true) then return end
  local ok, err = xpcall(fn, debug.traceback)
  if ok then
    T.passed = T.passed + 1
    print("ok: " .. name)
  else
    T.failed = T.failed + 1
    print("FAIL: " .. name .. ": " .. tostring(err))
  end
end

local function show(v)
  return type(v) == "string" and string.format("%q", v) or tostring(v)
end

function T.eq(got, want, what)
  if got ~= want then
    error(string.format("%s: expected %s, got %s", what or "value", show(want), show(got)), 2)
  end
end

function T.near(got, want, tol, what)
  if type(got) ~= "number" or math.abs(got - want) > tol then
    error(string.format("%s: expected %s +- %g, got %s", what or "value", show(want), tol, show(got)), 2)
  end
end

function T.truthy(v, what)
  if not v then error((what or "condition") .. " is false", 2) end
end

-- fn must raise exactly the message want (a string; the "file:line: "
-- position Lua prepends is ignored) or one matching the Lua pattern
-- want.pattern.
function T.raises(fn, want)
  local ok, err = pcall(fn)
  if ok then error("expected an error, got none", 2) end
  err = tostring(err):gsub("^[^\n]-:%d+: ", "", 1)
  if type(want) == "table" then
    if not err:find(want.pattern) then
      error(string.format("error %s does not match %s", show(err), show(want.pattern)), 2)
    end
  elseif err ~= want then
    error(string.format("expected error %s, got %s", show(want), show(err)), 2)
  end
end

function T.done()
  print(string.format("%d passed, %d failed", T.passed, T.failed))
  os.exit(T.failed == 0 and 0 or 1)
end

return T
