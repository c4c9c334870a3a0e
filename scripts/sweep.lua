-- sweep.lua - every bit width x mode x granularity on one tensor.
--
-- usage: squint scripts/sweep.lua [TENSOR_FILE | -] [OUT.csv]
--
-- Quantizes the tensor with bits 2..8, symmetric and asymmetric, per-tensor,
-- per-channel (axis 1) and per-group (32), prints the comparison as a table
-- and writes it to OUT.csv (default sweep.csv). Without a file (or with "-")
-- it uses the built-in demo tensor. TENSOR_FILE is a .npy file or a
-- safetensors/GGUF file holding one tensor.
local path, out = arg and arg[1], arg and arg[2] or "sweep.csv"

local t
if path and path ~= "-" then t = assert(sq.load(path)) else t = sq.demo() end
print(string.format("tensor %s  (%s)", tostring(t), path and path ~= "-" and path or "demo"))

local last = t.shape[#t.shape] or 1
local group = last % 32 == 0 and 32 or last
local configs = {}
for bits = 8, 2, -1 do
  for _, mode in ipairs{"symmetric", "asymmetric"} do
    configs[#configs + 1] = {bits = bits, mode = mode, granularity = "tensor"}
    if t.ndim > 0 then
      configs[#configs + 1] = {bits = bits, mode = mode, granularity = "channel", axis = 1}
      configs[#configs + 1] = {bits = bits, mode = mode, granularity = "group", group_size = group}
    end
  end
end

local t0 = sq.now()
local rows = sq.compare(t, configs)
local elapsed = sq.now() - t0
print(rows)
print(string.format("%d configurations in %.3f s", #rows, elapsed))
local ok, err = sq.write_csv(rows, out)
if not ok then io.stderr:write("sweep: ", err, "\n"); os.exit(1) end
print("wrote " .. out)
