-- llama_gguf.lua - a name map for `squint diff HF OTHER.gguf --map llama_gguf.lua`:
-- llama.cpp's GGUF names of a Llama-family model (Llama, Mistral, ...) to the
-- Hugging Face names, and the inverse of the row permutation llama.cpp's
-- convert_hf_to_gguf.py applies to the Q and K projections, so that a GGUF
-- converted from the Hugging Face checkpoint compares equal to it (SQNR inf
-- when nothing else changed; the quantization error when it was quantized).
--
--   squint diff model-hf/ model-q4_k_m.gguf --map scripts/maps/llama_gguf.lua
--
-- The GGUF goes second (OTHER): the map renames OTHER's tensors and reads
-- llama.attention.head_count / head_count_kv from OTHER's metadata.
--
-- The permutation. For rotary embeddings llama.cpp interleaves the two halves
-- of every head's rows: permute(w, n_head) = w.reshape(n_head, 2, rows / n_head / 2,
-- cols).swapaxes(1, 2).reshape(w.shape), n_head the query heads for Q and
-- the key/value heads for K. So GGUF row h*R + 2j + i holds Hugging Face row
-- h*R + i*R/2 + j (R = rows per head, i in {0, 1}, j < R/2), and the inverse
-- takes, for each Hugging Face row, that GGUF row (sq.take_rows).

local M = {}

local per_layer = {
    attn_q = "self_attn.q_proj",
    attn_k = "self_attn.k_proj",
    attn_v = "self_attn.v_proj",
    attn_output = "self_attn.o_proj",
    ffn_gate = "mlp.gate_proj",
    ffn_up = "mlp.up_proj",
    ffn_down = "mlp.down_proj",
    attn_norm = "input_layernorm",
    ffn_norm = "post_attention_layernorm",
}

local global = {
    token_embd = "model.embed_tokens",
    output_norm = "model.norm",
    output = "lm_head",
}

-- GGUF name -> Hugging Face name; nil for tensors with no counterpart
-- (rope_freqs, llama.cpp's precomputed rotary frequencies).
function M.name(name)
    local layer, part, kind = name:match("^blk%.(%d+)%.([%w_]+)%.(%a+)$")
    if layer and per_layer[part] then
        return ("model.layers.%s.%s.%s"):format(layer, per_layer[part], kind)
    end
    local base, k = name:match("^([%w_]+)%.(%a+)$")
    if base and global[base] then
        return global[base] .. "." .. k
    end
    if name:match("^rope_freqs") then
        return nil
    end
    return name
end

-- A metadata count (a u32 written as text), raising when absent.
local function count(meta, key, fallback)
    local v = tonumber(meta[key]) or (fallback and tonumber(meta[fallback]))
    if not v then
        error(("the GGUF has no %s (is it second on the command line?)"):format(key), 0)
    end
    return math.tointeger(v) or v
end

-- The row order that undoes permute(w, n_head): Hugging Face row r (1-based)
-- comes from GGUF row idx[r].
function M.unpermute_rows(rows, n_head)
    local R = rows // n_head
    if rows % n_head ~= 0 or R % 2 ~= 0 then
        error(("%d rows do not split into %d heads of an even size"):format(rows, n_head), 0)
    end
    local half, idx = R // 2, {}
    for h = 0, n_head - 1 do
        for i = 0, 1 do
            for j = 0, half - 1 do
                idx[#idx + 1] = h * R + 2 * j + i + 1
            end
        end
    end
    return idx
end

-- Undo the Q / K permutation (weights and biases); other tensors as they are.
function M.tensor(new_name, t, meta)
    local n_head
    if new_name:match("self_attn%.q_proj%.%a+$") then
        n_head = count(meta, "llama.attention.head_count")
    elseif new_name:match("self_attn%.k_proj%.%a+$") then
        n_head = count(meta, "llama.attention.head_count_kv", "llama.attention.head_count")
    else
        return t
    end
    return sq.take_rows(t, M.unpermute_rows(t.shape[1], n_head))
end

return M
