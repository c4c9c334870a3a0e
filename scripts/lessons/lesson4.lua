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
    lesson.page([[
# Three channels that shout
The demo tensor is a 256 x 512 weight matrix: 256 output channels, most of them small, and three with values 12, 25 and 40 times larger, as real layers often have.

With one scale for the whole tensor (per-tensor), those three channels set the step for all 256. The quiet channels get a step far too coarse for them: most of their values round to 0.]])
    lesson.page([[
# One scale per channel, or per group
  per-channel: one scale per output channel (row), from that row's max|x|
  per-group:   one scale per group of G consecutive values in a row

The loud channels keep their large step; every quiet channel gets its own fine one. Groups go further: even inside a row an outlier only spoils its own group of 32.]])
    lesson.page("# The demo tensor\n" .. lesson.table(rows) .. string.format([[


Per-channel wins %.1f dB at int8, as much as %.1f more bits, for 255 extra scales. At int4 it wins %.1f dB: there the 15 levels of each quiet channel are the limit, and groups of 32 add %.1f dB more.]],
      sqnr[5] - sqnr[4], (sqnr[5] - sqnr[4]) / 6.02, sqnr[2] - sqnr[1], sqnr[3] - sqnr[2]))
    lesson.view(t, {bits = 4}, {
      note = "The demo tensor, int4 per-tensor. The strip at the bottom shows each channel's scale and error; the three outlier channels stand out.",
      keys = {"g        per-tensor / per-channel / per-group", "[ / ]    smaller / larger groups",
              ", / .    previous / next channel: the level marks follow it", "p        pin, to compare"},
    })
    lesson.ask("Why not one scale per weight, then?",
               "The scales have to be stored too. One scale per weight would cost more bits than the weights themselves; the next lesson counts what scales cost.")
  end,
}
