// Bit packing (layouts in ops::layout): 32 channels per u32 word, channel 32j + i at bit i of
// word j, bits past C zero. Rows are pixels (activations) or weight rows (O*KH*KW).
//   pack_codes:  codes [P, C] (integer-valued f32, 0..2^K-1) -> planes [P, K, Cw]:
//                word (p, b, j) bit i = bit b of code[p][32j + i]
//                with QUANTIZE the input is x and code = round(clamp(x, 0, max) * n / max)
//   unpack:      planes [P, K, Cw] -> codes [P, C] f32: code = sum_b bit(p, b, ch) << b
//   pack_signs:  weights [R, C] f32 -> [R, Cw]: bit = 1 for w >= 0 (+1), 0 for w < 0 (-1)
//#include _common

struct Params {
    rows: u32,      // P or R
    channels: u32,  // C
    words: u32,     // Cw = ceil(C / 32)
    _pad0: u32,
    max_v: f32,     // quantizer max (QUANTIZE only)
    scale: f32,     // n / max
    _pad1: u32,
    _pad2: u32,
}

// Bits per code.
override K: u32 = 2u;
// Quantize f32 inputs first (quantize_pack) instead of reading integer codes (pack_codes).
override QUANTIZE: bool = false;

@group(0) @binding(0) var<uniform> p: Params;

// ---- pack_codes / pack_signs: one invocation per (row r, word j) ----

@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> packed_out: array<u32>;

@compute @workgroup_size(64)
fn pack_codes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, 64u);
    if id >= p.rows * p.words { return; }
    let r = id / p.words;
    let j = id % p.words;
    let base = r * p.channels + j * 32u;
    let count = min(32u, p.channels - j * 32u);
    var planes: array<u32, 8>;
    for (var i = 0u; i < count; i++) {
        var code: u32;
        if QUANTIZE {
            code = u32(quant_code(x[base + i], p.max_v, p.scale));
        } else {
            code = u32(x[base + i]);
        }
        // plane b, bit i = bit b of the code
        for (var b = 0u; b < K; b++) {
            planes[b] |= ((code >> b) & 1u) << i;
        }
    }
    // word (r, b, j) at (r*K + b)*Cw + j
    for (var b = 0u; b < K; b++) {
        packed_out[(r * K + b) * p.words + j] = planes[b];
    }
}

@compute @workgroup_size(64)
fn pack_signs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
              @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, 64u);
    if id >= p.rows * p.words { return; }
    let r = id / p.words;
    let j = id % p.words;
    let base = r * p.channels + j * 32u;
    let count = min(32u, p.channels - j * 32u);
    var word = 0u;
    for (var i = 0u; i < count; i++) {
        // bit i = 1 for w >= 0 (+1), 0 for w < 0 (-1)
        word |= select(0u, 1u, x[base + i] >= 0.0) << i;
    }
    packed_out[id] = word;
}

// ---- unpack: one invocation per output code (row r, channel ch) ----

@group(0) @binding(1) var<storage, read> packed: array<u32>;
@group(0) @binding(2) var<storage, read_write> codes_out: array<f32>;

@compute @workgroup_size(64)
fn unpack(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let id = linear_index(wid, nwg, lid, 64u);
    if id >= p.rows * p.channels { return; }
    let r = id / p.channels;
    let ch = id % p.channels;
    var code = 0u;
    for (var b = 0u; b < K; b++) {
        // code |= bit (ch % 32) of word (r, b, ch / 32), shifted to bit b
        code |= ((packed[(r * K + b) * p.words + ch / 32u] >> (ch % 32u)) & 1u) << b;
    }
    codes_out[id] = f32(code);
}
