-- compare_checkpoints.lua - every tensor of one checkpoint against the same
-- tensor of another, with sq.diff, to a CSV file (what `squint diff` does,
-- written as a script to adapt: other figures, other matching rules).
--
-- usage: squint scripts/compare_checkpoints.lua REF OTHER [OUT.csv] [MAP.lua]
--
-- REF is the reference. Tensors are matched by name; MAP.lua (as for
-- `squint diff --map`) may return a function renaming OTHER's tensors, or a
-- table {name = function, tensor = function}. squint-quantized tensors
-- (ck:quantized()) are dequantized. Rows whose shapes differ carry a note.
local ref_path, other_path = arg and arg[1], arg and arg[2]
local out = arg and arg[3] or "compare.csv"
if not (ref_path and other_path) then
  error("usage: squint compare_checkpoints.lua REF OTHER [OUT.csv] [MAP.lua]", 0)
end
local map = arg[4] and dofile(arg[4]) or {}
if type(map) == "function" then map = {name = map} end

local ref, other = assert(sq.open(ref_path)), assert(sq.open(other_path))
local meta = other:metadata()

-- name -> loader of every logical tensor of ck (quantized parts folded into their tensor)
local function tensors(ck)
  local list, order, parts = {}, {}, {}
  for _, q in ipairs(ck:quantized()) do
    for _, p in ipairs{".codes", ".scales", ".zero_points"} do parts[q .. p] = true end
    list[q] = function() return ck:qtensor(q):dequantize() end
    order[#order + 1] = q
  end
  for _, n in ipairs(ck:names()) do
    if not parts[n] then
      list[n] = function() return ck:tensor(n) end
      order[#order + 1] = n
    end
  end
  return list, order
end

local rlist, rorder = tensors(ref)
local olist, oorder = tensors(other)
local mapped, back = {}, {}
for _, n in ipairs(oorder) do
  local m = map.name and map.name(n, meta) or (not map.name and n)
  if m then mapped[m] = olist[n]; back[m] = n end
end

local rows, sx, se, only_ref = {}, 0, 0, 0
for _, n in ipairs(rorder) do
  if mapped[n] then
    local a, b = rlist[n](), mapped[n]()
    if map.tensor then b = map.tensor(n, b, meta, back[n]) end
    local row = {name = n, other_name = back[n], shape = table.concat(a.shape, "x")}
    local ok, d = pcall(sq.diff, a, b)
    if ok then
      for _, k in ipairs{"sqnr_db", "rmse", "max_abs_err", "mean_abs_err", "median_abs_err", "p95_abs_err",
                         "cosine"} do row[k] = d[k] end
      sx, se = sx + d.sum_x2, se + d.sum_e2
      mapped[n] = nil
    else
      row.note = tostring(d):gsub("^.-%((.*)%)$", "%1")
      mapped[n] = nil
    end
    rows[#rows + 1] = row
  else
    only_ref = only_ref + 1
    rows[#rows + 1] = {name = n, note = "only in " .. ref_path}
  end
end
local only_other = 0
for m, _ in pairs(mapped) do
  only_other = only_other + 1
  rows[#rows + 1] = {name = m, other_name = back[m], note = "only in " .. other_path}
end
local total = se == 0 and math.huge or sx == 0 and -math.huge or 10 * math.log(sx / se, 10)
rows[#rows + 1] = {name = "TOTAL", sqnr_db = total}
assert(sq.write_csv(rows, out, {"name", "other_name", "shape", "sqnr_db", "rmse", "max_abs_err", "mean_abs_err",
                                "median_abs_err", "p95_abs_err", "cosine", "note"}))
print(string.format("%d rows, %d only in %s, %d only in %s; pooled SQNR %.2f dB; wrote %s", #rows - 1, only_ref,
                    ref_path, only_other, other_path, total, out))
