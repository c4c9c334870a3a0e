-- run.lua - what `squint lesson [N | FILE.lua]` runs: the lesson runner of
-- lesson.lua, found beside this file.
local dir = (arg and arg[0] and arg[0]:match("^(.*)/[^/]*$")) or "."
local lesson = dofile(dir .. "/lesson.lua")
os.exit(lesson.run(arg[1]))
