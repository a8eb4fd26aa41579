// Pixel embedding (docs/method.md): a trainable table maps each 8-bit pixel value v to D values,
// which the activation quantizer turns into k-bit codes.
//   table  [T, 256, D] f32, T = 1 (shared by every channel) or T = C (one per channel)
//   pixels [P, C] u8 (P = N*H*W), four per u32 word, byte i at bits 8*(i%4) of word i/4
//   codes  [P, C*D]: code[p][c*D + d] = q(table[t][v][d]), v = pixels[p][c], t = T > 1 ? c : 0
//          q(x) = round(clamp(x, 0, max) * n / max), n = 2^k - 1
//
// Forward runs in two steps: `table_codes` quantizes the table once into 8-bit codes, four
// to a u32 word (code e = (t*256 + v)*D + d at bits 8*(e%4) of word e/4); the gathers then
// read that code table, from a 64 KiB uniform when it fits (fast on every lane-varying
// address) or from a storage buffer when it does not.
//
// Backward (straight-through): dtable[t][v][d] = sum over pixels p and channels c of table t
// with pixels[p][c] = v of dvalue[p][c*D + d], times 1[0 < table[t][v][d] < max]. No atomics:
// `backward_partial` gives each invocation one chunk of pixels, one table t and four
// consecutive d (a vec4 group g) and sums into its own 256-row histogram in pixel order;
// `backward_reduce` adds the chunks' histograms in chunk order and applies the mask. Both
// orders are fixed, so two runs are bit-identical.
//#include _common

struct Params {
    pixels: u32,        // P = N*H*W
    channels: u32,      // C
    dim: u32,           // D
    tables: u32,        // T (1 or C)
    max_v: f32,         // quantizer max
    scale: f32,         // n / max
    words: u32,         // Cw = ceil(C*D / 32), packed words per bit-plane
    entries: u32,       // T*256*D table entries
    chunks: u32,        // backward: pixel chunks
    chunk_pixels: u32,  // backward: pixels per chunk
    groups: u32,        // backward: G = ceil(D / 4) vec4 groups of d
    _pad: u32,
}

// Bits per code of the packed output (the quantizer's k).
override K: u32 = 2u;

@group(0) @binding(0) var<uniform> p: Params;

// The byte of pixel element i (channels last).
fn pixel_value(words: u32, i: u32) -> u32 {
    return (words >> ((i & 3u) * 8u)) & 0xffu;
}

// The table a channel reads: its own when there is one per channel, else the shared one.
fn table_of(c: u32) -> u32 {
    return select(0u, c, p.tables > 1u);
}

// ---- table_codes: codes8 word w = q(table[4w + i]) << 8i, i = 0..3 ----

@group(0) @binding(1) var<storage, read> table: array<f32>;
@group(0) @binding(2) var<storage, read_write> codes_out: array<u32>;

@compute @workgroup_size(64)
fn table_codes(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let w = linear_index(wid, nwg, lid, 64u);
    if w * 4u >= p.entries { return; }
    var word = 0u;
    for (var i = 0u; i < 4u; i++) {
        let e = w * 4u + i;
        if e < p.entries {
            word |= u32(quant_code(table[e], p.max_v, p.scale)) << (8u * i);
        }
    }
    codes_out[w] = word;
}

// ---- gathers: bindings p, pixels, code table (uniform or storage), output ----

@group(0) @binding(1) var<storage, read> pixels: array<u32>;
@group(0) @binding(2) var<uniform> codes_u: array<vec4<u32>, 4096>;
@group(0) @binding(2) var<storage, read> codes_s: array<u32>;
@group(0) @binding(3) var<storage, read_write> out_f32: array<f32>;
@group(0) @binding(3) var<storage, read_write> out_bits: array<u32>;

// Code e of the table: byte e%4 of word e/4 (word w is component w%4 of vec4 w/4).
fn code_u(e: u32) -> u32 {
    return (codes_u[e >> 4u][(e >> 2u) & 3u] >> ((e & 3u) * 8u)) & 0xffu;
}
fn code_s(e: u32) -> u32 {
    return (codes_s[e >> 2u] >> ((e & 3u) * 8u)) & 0xffu;
}

// f32 codes: one invocation per (pixel, channel) element i = p*C + c writes the D codes
// out[i*D + d] = codes8[(t*256 + v)*D + d], d = 0..D-1.
@compute @workgroup_size(64)
fn gather(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.pixels * p.channels { return; }
    let v = pixel_value(pixels[i >> 2u], i);
    let base = (table_of(i % p.channels) * 256u + v) * p.dim;
    for (var d = 0u; d < p.dim; d++) {
        out_f32[i * p.dim + d] = f32(code_u(base + d));
    }
}

@compute @workgroup_size(64)
fn gather_storage(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.pixels * p.channels { return; }
    let v = pixel_value(pixels[i >> 2u], i);
    let base = (table_of(i % p.channels) * 256u + v) * p.dim;
    for (var d = 0u; d < p.dim; d++) {
        out_f32[i * p.dim + d] = f32(code_s(base + d));
    }
}

// Packed codes (ops::layout): one invocation per (pixel q, word j) builds the K plane words
// of channels ch = 32j + i, i = 0..31 (ch = c*D + d): plane b bit i = bit b of the code;
// channels past C*D stay 0. Word (q, b, j) is written at (q*K + b)*Cw + j. The two entry
// points differ only in where the code table is read from.

// The first table entry e = (t*256 + v)*D + d that channel ch = 32j reads.
fn first_entry(q: u32, c: u32, d: u32) -> u32 {
    let pi = q * p.channels + c;
    return (table_of(c) * 256u + pixel_value(pixels[pi >> 2u], pi)) * p.dim + d;
}

@compute @workgroup_size(64)
fn gather_packed(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.pixels * p.words { return; }
    let q = i / p.words;
    let j = i % p.words;
    let count = min(32u, p.channels * p.dim - j * 32u);
    var c = (j * 32u) / p.dim;
    var d = j * 32u - c * p.dim;
    var e = first_entry(q, c, d);
    var planes: array<u32, 8>;
    for (var bit = 0u; bit < count; bit++) {
        let code = code_u(e);
        for (var b = 0u; b < K; b++) {
            planes[b] |= ((code >> b) & 1u) << bit;
        }
        // Next channel: d + 1, or the first d of the next input channel's table row.
        e += 1u;
        d += 1u;
        if d == p.dim && bit + 1u < count {
            d = 0u;
            c += 1u;
            e = first_entry(q, c, 0u);
        }
    }
    for (var b = 0u; b < K; b++) {
        out_bits[(q * K + b) * p.words + j] = planes[b];
    }
}

@compute @workgroup_size(64)
fn gather_packed_storage(@builtin(workgroup_id) wid: vec3<u32>,
                         @builtin(num_workgroups) nwg: vec3<u32>,
                         @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    if i >= p.pixels * p.words { return; }
    let q = i / p.words;
    let j = i % p.words;
    let count = min(32u, p.channels * p.dim - j * 32u);
    var c = (j * 32u) / p.dim;
    var d = j * 32u - c * p.dim;
    var e = first_entry(q, c, d);
    var planes: array<u32, 8>;
    for (var bit = 0u; bit < count; bit++) {
        let code = code_s(e);
        for (var b = 0u; b < K; b++) {
            planes[b] |= ((code >> b) & 1u) << bit;
        }
        e += 1u;
        d += 1u;
        if d == p.dim && bit + 1u < count {
            d = 0u;
            c += 1u;
            e = first_entry(q, c, 0u);
        }
    }
    for (var b = 0u; b < K; b++) {
        out_bits[(q * K + b) * p.words + j] = planes[b];
    }
}

// ---- backward ----

@group(0) @binding(2) var<storage, read> dvalue: array<f32>;
@group(0) @binding(3) var<storage, read_write> partials_out: array<vec4<f32>>;

// One invocation per (chunk, t, g), g fastest: partial[chunk][t][v][g] (vec4 over
// d = 4g .. 4g+3) = sum over pixels q of the chunk (in order) and channels c of table t
// (in order) with pixels[q][c] = v of dvalue[q][c*D + d]; lanes past D read 0.
@compute @workgroup_size(16)
fn backward_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                    @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 16u);
    if i >= p.chunks * p.tables * p.groups { return; }
    let g = i % p.groups;
    let t = (i / p.groups) % p.tables;
    let chunk = i / (p.groups * p.tables);
    // The histogram lives in this invocation's own rows of the output: a private array
    // indexed by pixel value compiled for over 20 s on a software adapter.
    let base = (chunk * p.tables + t) * 256u;
    for (var v = 0u; v < 256u; v++) {
        partials_out[(base + v) * p.groups + g] = vec4<f32>(0.0);
    }
    // Channels of table t: all of them when shared, else only c = t.
    let c_lo = select(0u, t, p.tables > 1u);
    let c_hi = select(p.channels, t + 1u, p.tables > 1u);
    let d0 = g * 4u;
    // Lanes d0 + k >= D read a valid index (clamped) and contribute 0.
    let last = p.dim - 1u;
    let live = vec4<bool>(true, d0 + 1u < p.dim, d0 + 2u < p.dim, d0 + 3u < p.dim);
    let q_lo = chunk * p.chunk_pixels;
    let q_hi = min(q_lo + p.chunk_pixels, p.pixels);
    for (var q = q_lo; q < q_hi; q++) {
        for (var c = c_lo; c < c_hi; c++) {
            let pi = q * p.channels + c;
            let v = pixel_value(pixels[pi >> 2u], pi);
            let row = pi * p.dim;
            let grad = vec4<f32>(dvalue[row + d0], dvalue[row + min(d0 + 1u, last)],
                                 dvalue[row + min(d0 + 2u, last)],
                                 dvalue[row + min(d0 + 3u, last)]);
            let slot = (base + v) * p.groups + g;
            partials_out[slot] += select(vec4<f32>(0.0), grad, live);
        }
    }
}

@group(0) @binding(2) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dtable: array<f32>;

// One invocation per (t, v, g), g fastest: the vec4 sum over chunks, in order, of
// partial[chunk][t][v][g]; then dtable[(t*256 + v)*D + d] = sum[d - 4g] * 1[0 < table[..] < max]
// for d = 4g .. min(4g + 3, D - 1).
@compute @workgroup_size(64)
fn backward_reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                   @builtin(local_invocation_index) lid: u32) {
    let i = linear_index(wid, nwg, lid, 64u);
    let rows = p.tables * 256u;
    if i >= rows * p.groups { return; }
    let stride = rows * p.groups;
    var sum = vec4<f32>(0.0);
    for (var chunk = 0u; chunk < p.chunks; chunk++) {
        sum += partials[chunk * stride + i];
    }
    let tv = i / p.groups;
    let d0 = (i % p.groups) * 4u;
    for (var k = 0u; k < 4u; k++) {
        if d0 + k < p.dim {
            let e = tv * p.dim + d0 + k;
            dtable[e] = sum[k] * ste_mask(table[e], p.max_v);
        }
    }
}
