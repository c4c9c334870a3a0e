-- lesson.lua - the small API squint's lessons are written with, and the
-- runner behind `squint lesson [N | FILE.lua]` and sq.lesson(N).
--
-- A lesson is a Lua file that returns a table:
--
--   return {
--     title = "What a scale is",          -- one line
--     minutes = 6,                         -- about how long it takes a class
--     needs = function() return true end,  -- optional: false, "why" while the
--                                          -- capability has not landed ("coming")
--     run = function(lesson)               -- the lesson itself, using:
--       lesson.page("# Heading\nText ...")  -- a page of text; Enter goes on
--       lesson.view(t, cfg, {keys = {"b  fewer bits", ...}, note = "..."})
--                                           -- the panel, with keys to try
--       lesson.ask("Question?", "Answer.")  -- the answer shows on Enter
--     end,
--   }
--
-- Pages are wrapped to 76 columns and should fit 18 lines. Without a
-- terminal (a pipe, a test) nothing waits and the panel is skipped with a
-- note, so a lesson can be checked from a script. q at any prompt leaves.
local M = {}

local WIDTH = 76
local lessons_dir = (debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")) or "."
local interactive = false   -- set by M.run: stdin and stdout are terminals
local state = {number = nil, title = "", page = 0}

-- Words of text wrapped to width columns, paragraphs kept; a line starting
-- with two spaces (a formula, a table) is kept as it is.
local function wrap(text, width)
  local out = {}
  for para in (text .. "\n"):gmatch("(.-)\n") do
    if para:match("^  ") or para == "" then
      out[#out + 1] = para
    else
      local line = ""
      for word in para:gmatch("%S+") do
        if #line > 0 and utf8.len(line) + 1 + utf8.len(word) > width then
          out[#out + 1] = line
          line = word
        else
          line = #line > 0 and (line .. " " .. word) or word
        end
      end
      out[#out + 1] = line
    end
  end
  return out
end
M.wrap = wrap

local function clear()
  if interactive then io.write("\27[H\27[2J") end
end

-- The bar at the top of every screen: lesson number, title, page.
local function header(kind)
  local left = state.number and ("squint lesson " .. state.number .. ": " .. state.title)
               or ("squint lesson: " .. state.title)
  local right = kind
  local pad = WIDTH - utf8.len(left) - utf8.len(right)
  io.write(left, string.rep(" ", pad > 1 and pad or 1), right, "\n", string.rep("=", WIDTH), "\n")
end

-- Wait for Enter (nothing without a terminal); q leaves the lesson.
local function wait(prompt)
  io.write("\n", string.rep("-", WIDTH), "\n", prompt, "   q: leave the lesson\n")
  io.flush()
  if not interactive then return end
  local line = io.read("l")
  if line == nil or line:match("^%s*[qQ]%s*$") then error({lesson_quit = true}, 0) end
end

-- A page of text: "# Heading" as its first line is drawn as the heading.
function M.page(text)
  assert(type(text) == "string", "lesson.page: text must be a string")
  state.page = state.page + 1
  clear()
  header("page " .. state.page)
  local heading, body = text:match("^#%s*([^\n]*)\n(.*)$")
  if heading then io.write("\n  ", heading, "\n\n") else body = text end
  for _, l in ipairs(wrap(body, WIDTH - 2)) do io.write("  ", l, "\n") end
  wait("Enter: next page")
end

-- The panel on tensor t with configuration cfg; opts.keys (a list of
-- "key  what it does" strings) and opts.note are shown first. Without a
-- terminal the panel is skipped with a note.
function M.view(t, cfg, opts)
  opts = opts or {}
  clear()
  header("the panel")
  if opts.note then
    io.write("\n")
    for _, l in ipairs(wrap(opts.note, WIDTH - 2)) do io.write("  ", l, "\n") end
  end
  if opts.keys and #opts.keys > 0 then
    io.write("\n  Keys to try in the panel:\n")
    for _, k in ipairs(opts.keys) do io.write("    ", k, "\n") end
  end
  io.write("    q  come back to the lesson\n")
  if not interactive then
    io.write("\n  (the panel needs a terminal: skipped)\n")
    return
  end
  wait("Enter: open the panel")
  -- the note and the keys to try also stay on the panel's status line until the first key
  local try = {}
  for _, k in ipairs(opts.keys or {}) do try[#try + 1] = k:match("^(%S+)") end
  local status = opts.note or ""
  if #try > 0 then status = status .. (status ~= "" and "  " or "") .. "try: " .. table.concat(try, " ") end
  local ok, err = pcall(sq.view, t, cfg, {note = status})
  if not ok then io.write("\n  the panel could not open: ", tostring(err), "\n") wait("Enter: go on") end
end

-- A question; its answer appears on Enter.
function M.ask(question, answer)
  clear()
  header("question")
  io.write("\n")
  for _, l in ipairs(wrap(question, WIDTH - 2)) do io.write("  ", l, "\n") end
  wait("Enter: show the answer")
  io.write("\n  Answer:\n")
  for _, l in ipairs(wrap(answer, WIDTH - 4)) do io.write("    ", l, "\n") end
  wait("Enter: go on")
end

-- A small aligned table: rows of strings/numbers, the first row the header.
function M.table(rows)
  local w = {}
  for _, r in ipairs(rows) do
    for i, c in ipairs(r) do w[i] = math.max(w[i] or 0, utf8.len(tostring(c))) end
  end
  local lines = {}
  for _, r in ipairs(rows) do
    local cells = {}
    for i, c in ipairs(r) do
      local s = tostring(c)
      cells[i] = string.rep(" ", w[i] - utf8.len(s)) .. s
    end
    lines[#lines + 1] = "  " .. table.concat(cells, "  ")
  end
  return table.concat(lines, "\n")
end

-- The lesson file of number n, or nil.
local function numbered(n)
  local path = lessons_dir .. "/lesson" .. n .. ".lua"
  local f = io.open(path, "r")
  if not f then return nil end
  f:close()
  return path
end

-- Load a lesson file: its table, or nil and a message naming the file.
local function load_lesson(path)
  local chunk, err = loadfile(path)
  if not chunk then return nil, err end
  local ok, l = pcall(chunk)
  if not ok then return nil, path .. ": " .. tostring(l) end
  if type(l) ~= "table" or type(l.title) ~= "string" or type(l.run) ~= "function" then
    return nil, path .. ": a lesson returns a table with a title (string) and run (function)"
  end
  return l
end

-- Whether lesson l can run here: true, or false and why not.
local function available(l)
  if not l.needs then return true end
  local ok, yes, why = pcall(l.needs)
  if ok and yes then return true end
  return false, why or "coming"
end

-- Print the list of numbered lessons.
function M.list()
  io.write("squint lessons (squint lesson N runs one; squint lesson FILE.lua runs your own):\n\n")
  for n = 1, 99 do
    local path = numbered(n)
    if path then
      local l, err = load_lesson(path)
      if not l then
        io.write(string.format("  %2d  (broken: %s)\n", n, err))
      else
        local ok, why = available(l)
        io.write(string.format("  %2d  %-52s %s\n", n, l.title,
                               ok and ("~" .. (l.minutes or "?") .. " min") or ("coming: " .. why)))
      end
    end
  end
  io.write("\nIn the REPL: sq.lesson(N). Lessons are Lua files in ", lessons_dir, "\n")
end

-- Run the lesson in file path (numbered n, or nil); returns an exit status.
local function run_file(path, n)
  local l, err = load_lesson(path)
  if not l then io.stderr:write("squint lesson: ", err, "\n") return 1 end
  local ok, why = available(l)
  if not ok then
    io.stderr:write("squint lesson: '", l.title, "' is coming: ", why, "\n")
    return 1
  end
  state = {number = n, title = l.title, page = 0}
  local done, e = pcall(l.run, M)
  if not done then
    if type(e) == "table" and e.lesson_quit then io.write("\nLesson left.\n") return 0 end
    io.stderr:write("squint lesson: ", path, ": ", tostring(e), "\n")
    return 1
  end
  clear()
  header("the end")
  io.write("\n  End of the lesson. 'squint lesson' lists the others.\n")
  return 0
end

-- Whether stdin and stdout are terminals (as the panel needs them).
local function is_terminal()
  local ok, avail = pcall(function() return sq.view and os.execute("test -t 0 && test -t 1") end)
  return ok and avail == true
end

-- `squint lesson [N | FILE.lua]` and sq.lesson(N): returns an exit status.
function M.run(which)
  interactive = is_terminal() and os.getenv("SQUINT_LESSON_BATCH") == nil
  if which == nil then M.list() return 0 end
  local s = tostring(which)
  if s:match("%.lua$") then return run_file(s, nil) end
  local n = tonumber(s)
  local path = n and math.type(n) == "integer" and numbered(n)
  if not path then
    io.stderr:write("squint lesson: no lesson '", s, "': give a number from the list or a .lua file\n")
    M.list()
    return 2
  end
  return run_file(path, n)
end

return M
