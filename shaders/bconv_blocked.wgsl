// Bitwise convolution, register-blocked fast path: the epilogues that write integer
// accumulators, scaled floats, or threshold codes packed as bit-planes. The math and the
// blocking are described in _bconv_block.wgsl.
//#include _bconv_block
// ---- epilogue: integer accumulators ------------------------------------------------------

@group(0) @binding(4) var<storage, read_write> out_i32: array<i32>;

fn store4_i32(pix: u32, o0: u32, v: vec4<i32>) {
    if pix == 0xffffffffu { return; }
    for (var e = 0u; e < 4u; e++) {
        if o0 + e < p.o { out_i32[pix * p.o + o0 + e] = v[e]; }
    }
}

// Channel block q of the block's 4 pixels.
fn store_i32(bl: Block, a: Px4, t: vec4<u32>, q: u32) {
    let o0 = p.o_base + (bl.g * QV + q) * 4u;
    store4_i32(out_pixel(bl, 0u), o0, block_acc(a.p0, t.x));
    store4_i32(out_pixel(bl, 1u), o0, block_acc(a.p1, t.y));
    store4_i32(out_pixel(bl, 2u), o0, block_acc(a.p2, t.z));
    store4_i32(out_pixel(bl, 3u), o0, block_acc(a.p3, t.w));
}

@compute @workgroup_size(64)
fn forward_i32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
               @builtin(local_invocation_index) lid: u32) {
    let bl = block_of(wid, nwg, lid);
    if !bl.valid { return; }
    var s = block_sums(bl);
    for (var q = 0u; q < QV; q++) {
        store_i32(bl, block(&s, q), s.t, q);
    }
}

// ---- epilogue: acc * scale[o] --------------------------------------------------------------

@group(0) @binding(4) var<storage, read_write> out_f32: array<f32>;
// scale[o] staged for this dispatch: element g QV + q holds channels 4q..4q+3 of group g.
@group(0) @binding(5) var<uniform> scale_u: array<vec4<u32>, 4096>;

fn store4_f32(pix: u32, o0: u32, v: vec4<f32>) {
    if pix == 0xffffffffu { return; }
    for (var e = 0u; e < 4u; e++) {
        if o0 + e < p.o { out_f32[pix * p.o + o0 + e] = v[e]; }
    }
}

// y = f32(acc) * scale[o] for channel block q: one rounding (acc is exact in f32 below 2^24).
fn store_scaled(bl: Block, a: Px4, t: vec4<u32>, q: u32) {
    let o0 = p.o_base + (bl.g * QV + q) * 4u;
    let sc = bitcast<vec4<f32>>(scale_u[bl.g * QV + q]);
    store4_f32(out_pixel(bl, 0u), o0, vec4<f32>(block_acc(a.p0, t.x)) * sc);
    store4_f32(out_pixel(bl, 1u), o0, vec4<f32>(block_acc(a.p1, t.y)) * sc);
    store4_f32(out_pixel(bl, 2u), o0, vec4<f32>(block_acc(a.p2, t.z)) * sc);
    store4_f32(out_pixel(bl, 3u), o0, vec4<f32>(block_acc(a.p3, t.w)) * sc);
}

@compute @workgroup_size(64)
fn forward_scaled(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) lid: u32) {
    let bl = block_of(wid, nwg, lid);
    if !bl.valid { return; }
    var s = block_sums(bl);
    for (var q = 0u; q < QV; q++) {
        store_scaled(bl, block(&s, q), s.t, q);
    }
}

// ---- epilogue: thresholds -> next layer's packed bit-planes --------------------------------

// Thresholds staged for this dispatch (bconv_stage.wgsl::stage_thresholds): channel block
// c = g QV + q owns the 2^KOUT elements from c 2^KOUT: element 0 holds the flags of its 4
// channels, element 1 + i their threshold i.
@group(0) @binding(5) var<uniform> th_u: array<vec4<u32>, 4096>;

// Codes of 4 channels of one pixel (the rule of src/reference/threshold.rs, lane-wise):
//   flag > 0: #{ i : acc >= t_i };  flag < 0: #{ i : acc <= t_i };  flag = 0: clamp(t_0, 0, n)
fn codes4(acc: vec4<i32>, flag: vec4<i32>, c: u32) -> vec4<u32> {
    let levels = (1u << KOUT) - 1u;
    let base = c * (levels + 1u);
    var up = vec4<u32>();
    var down = vec4<u32>();
    for (var i = 0u; i < levels; i++) {
        let t = bitcast<vec4<i32>>(th_u[base + 1u + i]);
        up += select(vec4<u32>(), vec4<u32>(1u), acc >= t);
        down += select(vec4<u32>(), vec4<u32>(1u), acc <= t);
    }
    let t0 = bitcast<vec4<i32>>(th_u[base + 1u]);
    let constant = vec4<u32>(clamp(t0, vec4<i32>(0), vec4<i32>(i32(levels))));
    return select(select(down, up, flag > vec4<i32>(0)), constant, flag == vec4<i32>(0));
}

// Codes of channel block q of the 4 pixels, ORed into the planes.
fn pack_block(bl: Block, a: Px4, t: vec4<u32>, q: u32, planes: ptr<function, Planes>) {
    let c = bl.g * QV + q;
    let flag = bitcast<vec4<i32>>(th_u[c << KOUT]);
    let c0 = codes4(block_acc(a.p0, t.x), flag, c);
    let c1 = codes4(block_acc(a.p1, t.y), flag, c);
    let c2 = codes4(block_acc(a.p2, t.z), flag, c);
    let c3 = codes4(block_acc(a.p3, t.w), flag, c);
    // Channel 4q + e of the group sits at bit (4q + e) % 32 of word (4q) / 32.
    let lane = vec4<u32>((4u * q) % 32u) + vec4<u32>(0u, 1u, 2u, 3u);
    for (var b = 0u; b < KOUT; b++) {
        (*planes).w[2u * b + q / 8u] |= vec4<u32>(plane_bits(c0, b, lane), plane_bits(c1, b, lane),
                                                  plane_bits(c2, b, lane), plane_bits(c3, b, lane));
    }
}

@compute @workgroup_size(64)
fn forward_threshold(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                     @builtin(local_invocation_index) lid: u32) {
    let bl = block_of(wid, nwg, lid);
    if !bl.valid { return; }
    var s = block_sums(bl);
    var planes: Planes;
    for (var q = 0u; q < QV; q++) {
        pack_block(bl, block(&s, q), s.t, q, &planes);
    }
    store_planes(bl, &planes);
}
