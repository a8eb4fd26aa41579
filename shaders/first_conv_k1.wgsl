// The fused float first layer (shaders/_first_conv.wgsl) for 1x1 kernels: the taps of one
// output channel written out in full, so that nothing is inlined for taps that do not exist.
//#include _first_conv

// Every tap of kernel row ky.
fn row(xs: ptr<function, Seg>, a: ptr<function, Acc>, o: u32, ky: u32) {
    tap_channels(xs, a, o, ky, 0u);
}

// Every tap of channel o.
fn all_taps(xs: ptr<function, Seg>, a: ptr<function, Acc>, o: u32) {
    row(xs, a, o, 0u);
}
