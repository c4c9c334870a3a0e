-- Lesson 4: granularity and outliers.
return {
  title = "Granularity and outliers",
  minutes = 8,
  run = function(lesson)
    local t = sq.demo()
    local cfgs = {
      {bits = 4},
      {bits = 4, granularity = "channel"},
      {bits = 4, granularity = "group", group_size = 32},
      {bits = 8},
      {bits = 8, granularity = "channel"},
    }
    local rows, sqnr = {{"configuration", "scales", "SQNR dB"}}, {}
    for i, c in ipairs(cfgs) do
      local q = sq.quantize(t, c)
      sqnr[i] = q:stats().sqnr_db
      rows[#rows + 1] = {tostring(q):match("int%d [^,]+"), #q:scales(), string.format("%.2f", sqnr[i])}
    end
    -- each channel's max|x| against the median channel's; the three loudest
    local tv = t:totable()
    local rmax = {}
    for i, row in ipairs(tv) do
      local m = 0
      for _, v in ipairs(row) do m = math.max(m, math.abs(v)) end
      rmax[i] = {m = m, i = i}
    end
    local sorted = {}
    for i, r in ipairs(rmax) do sorted[i] = r.m end
    table.sort(sorted)
    local median = sorted[#sorted // 2]
    table.sort(rmax, function(a, b) return a.m > b.m end)
    local loud = {}
    for k = 1, 3 do loud[rmax[k].i] = true end
    local ratios = {}
    for k = 3, 1, -1 do ratios[#ratios + 1] = string.format("%.0f", rmax[k].m / median) end
    -- how many values of the quiet channels per-tensor int4 rounds to 0
    local codes = sq.quantize(t, {bits = 4}):codes():totable()
    local zero, quiet = 0, 0
    for i, row in ipairs(codes) do
      if not loud[i] then
        for _, c in ipairs(row) do
          quiet = quiet + 1
          if c == 0 then zero = zero + 1 end
        end
      end
    end
    lesson.page(string.format([[
# Three channels that shout
The demo tensor is a %d x %d weight matrix: %d output channels, most of them small, and three whose largest values are %s, %s and %s times the median channel's, as real layers often have.

With one scale for the whole tensor (per-tensor), those three channels set the step for all %d. The quiet channels get a step far too coarse for them: at int4, %.1f%% of their values round to 0.]],
      #tv, #tv[1], #tv, ratios[1], ratios[2], ratios[3], #tv, 100 * zero / quiet))
    lesson.page([[
# One scale per channel, or per group
  per-channel: one scale per output channel (row), from that row's max|x|
  per-group:   one scale per group of G consecutive values in a row

The loud channels keep their large step; every quiet channel gets its own fine one. Groups go further: even inside a row an outlier only spoils its own group of 32.]])
    lesson.page("# The demo tensor\n" .. lesson.table(rows) .. string.format([[


Per-channel wins %.1f dB at int8, as much as %.1f more bits, for %d extra scales. At int4 it wins %.1f dB: there the 15 levels of each quiet channel are the limit, and groups of 32 add %.1f dB more.]],
      sqnr[5] - sqnr[4], (sqnr[5] - sqnr[4]) / 6.02, #tv - 1, sqnr[2] - sqnr[1], sqnr[3] - sqnr[2]))
    lesson.view(t, {bits = 4}, {
      note = "The demo tensor, int4 per-tensor. The strip at the bottom shows each channel's scale and error; the three outlier channels stand out.",
      keys = {"g        per-tensor / per-channel / per-group", "[ / ]    smaller / larger groups",
              ", / .    previous / next channel: the level marks follow it", "p        pin, to compare"},
    })
    lesson.ask("Why not one scale per weight, then?",
               "The scales have to be stored too. One scale per weight would cost more bits than the weights themselves; the next lesson counts what scales cost.")
  end,
}
