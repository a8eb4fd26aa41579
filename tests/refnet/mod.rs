//! A whole network composed from the std-only reference ops (src/reference): forward in
//! training mode (batch statistics, running-statistic updates) and the straight-through
//! backward, written out layer by layer from the model configuration alone. The structure
//! (which layers, their channels and strides, the shortcut wiring) is derived here from
//! `ModelConfig`, not read from `pixembed::nn`, so a wiring error there shows up as a
//! difference against this twin.
#![allow(dead_code)]

use pixembed::nn::first::{FLOAT_MEAN, FLOAT_STD};
use pixembed::nn::norm::{BN_EPS, BN_MOMENTUM};
use pixembed::nn::{Arch, FirstLayerKind, LastLayer, ModelConfig, TableKind};
use pixembed::reference::bn::{self, BnBatchStats};
use pixembed::reference::conv::{conv_backward_data, conv_backward_weight, conv_forward};
use pixembed::reference::geom::ConvGeom;
use pixembed::reference::quant::{quant_backward_codes, quant_forward};
use pixembed::reference::shortcut::{shortcut_backward, shortcut_forward};
use pixembed::reference::{binarize, elementwise, embed, encode, linear, pool};
use std::collections::HashMap;

/// One layer of the body, as the configuration describes it.
#[derive(Clone, Debug)]
pub enum Layer {
    /// Residual basic block `name` (convs `name.conv1`, `name.conv2`).
    Block {
        name: String,
        c: usize,
        o: usize,
        stride: usize,
    },
    /// conv 3x3 -> BN -> quantizer, named `name.conv`, `name.bn`.
    Plain { name: String, c: usize, o: usize },
    /// 2x2 max pool, stride 2.
    Pool,
}

/// The body layers and the head's input channels, from the configuration.
pub fn body_of(cfg: &ModelConfig) -> (Vec<Layer>, usize) {
    let w = cfg.width;
    let mut body = Vec::new();
    let blocks = |body: &mut Vec<Layer>, widths: &[usize], per_stage: usize| {
        let mut c = w;
        for (stage, &o) in widths.iter().enumerate() {
            for b in 0..per_stage {
                body.push(Layer::Block {
                    name: format!("stage{}.block{b}", stage + 1),
                    c,
                    o,
                    stride: if stage > 0 && b == 0 { 2 } else { 1 },
                });
                c = o;
            }
        }
        c
    };
    let last = match cfg.arch {
        Arch::Resnet => blocks(&mut body, &[w, 2 * w, 4 * w], (cfg.depth - 2) / 6),
        Arch::Resnet18 => {
            body.push(Layer::Pool);
            blocks(&mut body, &[w, 2 * w, 4 * w, 8 * w], 2)
        }
        Arch::VggSmall => {
            let plain = |name: &str, c, o| Layer::Plain {
                name: name.into(),
                c,
                o,
            };
            body.extend([
                plain("layer1", w, w),
                Layer::Pool,
                plain("layer2", w, 2 * w),
                plain("layer3", 2 * w, 2 * w),
                Layer::Pool,
                plain("layer4", 2 * w, 4 * w),
                plain("layer5", 4 * w, 4 * w),
                Layer::Pool,
            ]);
            4 * w
        }
    };
    (body, last)
}

/// What a conv -> BN pair saves for its backward pass.
struct ConvBnSaved {
    x: Vec<f32>,
    g: ConvGeom,
    w_eff: Vec<f32>,
    a: Vec<f32>,
    stats: BnBatchStats,
}

/// What a residual block saves.
struct BlockSaved {
    unit1: ConvBnSaved,
    /// The first quantizer's input.
    b1: Vec<f32>,
    unit2: ConvBnSaved,
    /// The block input's shape.
    xs: [usize; 4],
    /// The second quantizer's input, BN2(conv2(h)) + step * shortcut(x).
    sum: Vec<f32>,
}

enum Saved {
    /// First layer: pixels, conv/BN, quantizer input.
    First(Vec<u8>, ConvBnSaved, Vec<f32>),
    Plain(ConvBnSaved, Vec<f32>),
    Block(Box<BlockSaved>),
    Pool(Vec<i32>, [usize; 4]),
    /// Codes shape, pooled, effective weights, linear output (BN input, binary head).
    Head(
        [usize; 4],
        Vec<f32>,
        Vec<f32>,
        Vec<f32>,
        Option<BnBatchStats>,
    ),
}

/// The reference network: parameters by name (as `Model::visit` names them), gradients
/// set by `backward`, running statistics updated by `forward`.
pub struct RefNet {
    pub cfg: ModelConfig,
    pub params: HashMap<String, Vec<f32>>,
    pub grads: HashMap<String, Vec<f32>>,
    /// Codes after the first layer and after every body layer (as f32), with shapes.
    pub codes: Vec<(Vec<f32>, [usize; 4])>,
    tape: Vec<Saved>,
}

impl RefNet {
    pub fn new(cfg: &ModelConfig, params: HashMap<String, Vec<f32>>) -> Self {
        RefNet {
            cfg: cfg.clone(),
            params,
            grads: HashMap::new(),
            codes: Vec::new(),
            tape: Vec::new(),
        }
    }

    fn p(&self, name: &str) -> &[f32] {
        self.params
            .get(name)
            .unwrap_or_else(|| panic!("reference: no parameter {name}"))
    }

    /// conv (binary: sign weights) -> BN with batch statistics; updates running stats.
    #[allow(clippy::too_many_arguments)]
    fn conv_bn(
        &mut self,
        conv: &str,
        bnn: &str,
        x: &[f32],
        xs: [usize; 4],
        o: usize,
        k: usize,
        stride: usize,
        binary: bool,
    ) -> (Vec<f32>, [usize; 4], ConvBnSaved) {
        let g = ConvGeom::same(xs[0], xs[1], xs[2], xs[3], o, k, stride);
        let w = self.p(&format!("{conv}.weight")).to_vec();
        let w_eff = if binary {
            binarize::binarize_forward(&w, o, true).0
        } else {
            w
        };
        let a = conv_forward(&g, x, &w_eff);
        let (gamma, beta) = (
            self.p(&format!("{bnn}.gamma")).to_vec(),
            self.p(&format!("{bnn}.beta")).to_vec(),
        );
        let mut rm = self.p(&format!("{bnn}.running_mean")).to_vec();
        let mut rv = self.p(&format!("{bnn}.running_var")).to_vec();
        let (y, stats) =
            bn::forward_train(&a, o, &gamma, &beta, &mut rm, &mut rv, BN_MOMENTUM, BN_EPS);
        self.params.insert(format!("{bnn}.running_mean"), rm);
        self.params.insert(format!("{bnn}.running_var"), rv);
        let saved = ConvBnSaved {
            x: x.to_vec(),
            g,
            w_eff,
            a,
            stats,
        };
        (y, g.output_shape(), saved)
    }

    /// Backward of `conv_bn` from dL/d(BN output); sets the weight, gamma and beta
    /// gradients and returns dL/dx.
    fn conv_bn_back(
        &mut self,
        conv: &str,
        bnn: &str,
        dy: &[f32],
        s: ConvBnSaved,
        binary: bool,
    ) -> Vec<f32> {
        let o = s.g.o;
        let gamma = self.p(&format!("{bnn}.gamma")).to_vec();
        let (da, dgamma, dbeta) = bn::backward(&s.a, dy, o, &gamma, &s.stats);
        self.grads.insert(format!("{bnn}.gamma"), dgamma);
        self.grads.insert(format!("{bnn}.beta"), dbeta);
        let dw_eff = conv_backward_weight(&s.g, &s.x, &da);
        let w = self.p(&format!("{conv}.weight")).to_vec();
        let dw = if binary {
            // Straight-through: dw = dsign * 1[|w| <= 1].
            binarize::binarize_backward(&w, &dw_eff)
        } else {
            dw_eff
        };
        self.grads.insert(format!("{conv}.weight"), dw);
        conv_backward_data(&s.g, &da, &s.w_eff)
    }

    /// The first layer's encoded input [P, C'] of u8 pixels [P, C].
    fn encode(&self, pixels: &[u8]) -> Vec<f32> {
        let c = self.cfg.input[2];
        match self.cfg.first_layer {
            FirstLayerKind::Float => {
                encode::normalize(pixels, &vec![FLOAT_MEAN; c], &vec![FLOAT_STD; c])
            }
            FirstLayerKind::Int8 => encode::to_f32(pixels),
            FirstLayerKind::Naive => encode::naive(pixels, self.cfg.embed_bits),
            FirstLayerKind::Bitplane => encode::bitplane(pixels),
            FirstLayerKind::Thermometer => encode::thermometer(pixels, self.cfg.embed_dim as u32),
            FirstLayerKind::Embed => embed::embed_forward(
                self.cfg.embed_spec(),
                self.p("first.table"),
                self.tables(),
                self.cfg.embed_dim,
                pixels,
                c,
            ),
        }
    }

    fn tables(&self) -> usize {
        match self.cfg.embed_table {
            TableKind::Shared => 1,
            TableKind::PerChannel => self.cfg.input[2],
        }
    }

    /// Logits [N, K] of pixels [N, H, W, C] in training mode.
    pub fn forward(&mut self, pixels: &[u8], n: usize) -> Vec<f32> {
        let cfg = self.cfg.clone();
        let spec = cfg.act();
        let [h, w, _] = cfg.input;
        self.tape.clear();
        self.codes.clear();
        // First layer: encode -> conv (stem: 7x7 stride 2 for resnet18) -> BN -> quantizer.
        let x = self.encode(pixels);
        let cin = x.len() / (n * h * w);
        let (k, stride) = if cfg.arch == Arch::Resnet18 {
            (7, 2)
        } else {
            (3, 1)
        };
        let binary = cfg.first_layer != FirstLayerKind::Float;
        let (b, mut shape, s) = self.conv_bn(
            "first.conv",
            "first.bn",
            &x,
            [n, h, w, cin],
            cfg.width,
            k,
            stride,
            binary,
        );
        let mut codes = quant_forward(spec, &b);
        self.tape.push(Saved::First(pixels.to_vec(), s, b));
        self.codes.push((codes.clone(), shape));
        let (body, _) = body_of(&cfg);
        for layer in &body {
            match layer {
                Layer::Plain { name, o, .. } => {
                    let (b, s2, sv) = self.conv_bn(
                        &format!("{name}.conv"),
                        &format!("{name}.bn"),
                        &codes,
                        shape,
                        *o,
                        3,
                        1,
                        true,
                    );
                    codes = quant_forward(spec, &b);
                    shape = s2;
                    self.tape.push(Saved::Plain(sv, b));
                }
                Layer::Block {
                    name, o, stride, ..
                } => {
                    // h = q(BN1(conv1(x))); out = q(BN2(conv2(h)) + step * shortcut(x)).
                    let (b1, hs, sv1) = self.conv_bn(
                        &format!("{name}.conv1"),
                        &format!("{name}.bn1"),
                        &codes,
                        shape,
                        *o,
                        3,
                        *stride,
                        true,
                    );
                    let hcodes = quant_forward(spec, &b1);
                    let (b2, os, sv2) = self.conv_bn(
                        &format!("{name}.conv2"),
                        &format!("{name}.bn2"),
                        &hcodes,
                        hs,
                        *o,
                        3,
                        1,
                        true,
                    );
                    let sum = shortcut_forward(&b2, &codes, shape, *o, *stride, spec.step());
                    codes = quant_forward(spec, &sum);
                    self.tape.push(Saved::Block(Box::new(BlockSaved {
                        unit1: sv1,
                        b1,
                        unit2: sv2,
                        xs: shape,
                        sum,
                    })));
                    shape = os;
                }
                Layer::Pool => {
                    let (y, arg) = pool::max_forward(&codes, shape, 2, 2);
                    self.tape.push(Saved::Pool(arg, shape));
                    let [n, h, w, c] = shape;
                    shape = [n, pool::out_size(h, 2, 2), pool::out_size(w, 2, 2), c];
                    codes = y;
                }
            }
            self.codes.push((codes.clone(), shape));
        }
        // Head: global average pool -> linear (float, or sign weights + per-class BN).
        let c = shape[3];
        let kcls = cfg.classes;
        let pooled = pool::global_avg_forward(&codes, shape);
        let wv = self.p("head.weight").to_vec();
        let (w_eff, bias) = match cfg.last_layer {
            LastLayer::Float => (wv, Some(self.p("head.bias").to_vec())),
            LastLayer::Binary => (binarize::binarize_forward(&wv, kcls, true).0, None),
        };
        let z = linear::forward(&pooled, &w_eff, bias.as_deref(), n, c, kcls);
        let (logits, stats) = match cfg.last_layer {
            LastLayer::Float => (z.clone(), None),
            LastLayer::Binary => {
                let (gamma, beta) = (
                    self.p("head.bn.gamma").to_vec(),
                    self.p("head.bn.beta").to_vec(),
                );
                let mut rm = self.p("head.bn.running_mean").to_vec();
                let mut rv = self.p("head.bn.running_var").to_vec();
                let (y, st) = bn::forward_train(
                    &z,
                    kcls,
                    &gamma,
                    &beta,
                    &mut rm,
                    &mut rv,
                    BN_MOMENTUM,
                    BN_EPS,
                );
                self.params.insert("head.bn.running_mean".into(), rm);
                self.params.insert("head.bn.running_var".into(), rv);
                (y, Some(st))
            }
        };
        self.tape.push(Saved::Head(shape, pooled, w_eff, z, stats));
        logits
    }

    /// Straight-through backward from dL/dlogits; fills `grads` for every trainable
    /// parameter.
    pub fn backward(&mut self, dlogits: &[f32]) {
        let cfg = self.cfg.clone();
        let spec = cfg.act();
        let kcls = cfg.classes;
        let Some(Saved::Head(shape, pooled, w_eff, z, stats)) = self.tape.pop() else {
            panic!("reference backward before forward");
        };
        let dz = match stats {
            Some(st) => {
                let gamma = self.p("head.bn.gamma").to_vec();
                let (dz, dg, db) = bn::backward(&z, dlogits, kcls, &gamma, &st);
                self.grads.insert("head.bn.gamma".into(), dg);
                self.grads.insert("head.bn.beta".into(), db);
                dz
            }
            None => dlogits.to_vec(),
        };
        let (n, c) = (shape[0], shape[3]);
        let (dp, dw, db) = linear::backward(&pooled, &w_eff, &dz, n, c, kcls);
        let dw = match cfg.last_layer {
            LastLayer::Float => {
                self.grads.insert("head.bias".into(), db);
                dw
            }
            LastLayer::Binary => binarize::binarize_backward(self.p("head.weight"), &dw),
        };
        self.grads.insert("head.weight".into(), dw);
        let mut d = pool::global_avg_backward(&dp, shape);

        let (body, _) = body_of(&cfg);
        for layer in body.iter().rev() {
            let saved = self.tape.pop().expect("tape");
            d = match (layer, saved) {
                (Layer::Plain { name, .. }, Saved::Plain(sv, b)) => {
                    let db = quant_backward_codes(spec, &b, &d);
                    self.conv_bn_back(
                        &format!("{name}.conv"),
                        &format!("{name}.bn"),
                        &db,
                        sv,
                        true,
                    )
                }
                (
                    Layer::Block {
                        name, o, stride, ..
                    },
                    Saved::Block(bs),
                ) => {
                    let BlockSaved {
                        unit1: sv1,
                        b1,
                        unit2: sv2,
                        xs,
                        sum,
                    } = *bs;
                    let ds = quant_backward_codes(spec, &sum, &d);
                    let dx_short = shortcut_backward(&ds, xs, *o, *stride, spec.step());
                    let dh = self.conv_bn_back(
                        &format!("{name}.conv2"),
                        &format!("{name}.bn2"),
                        &ds,
                        sv2,
                        true,
                    );
                    let db1 = quant_backward_codes(spec, &b1, &dh);
                    let dx = self.conv_bn_back(
                        &format!("{name}.conv1"),
                        &format!("{name}.bn1"),
                        &db1,
                        sv1,
                        true,
                    );
                    elementwise::add(&dx, &dx_short)
                }
                (Layer::Pool, Saved::Pool(arg, xs)) => pool::max_backward(&d, &arg, xs),
                _ => panic!("reference tape out of order"),
            };
        }
        let Some(Saved::First(pixels, sv, b)) = self.tape.pop() else {
            panic!("reference tape: no first layer");
        };
        let db = quant_backward_codes(spec, &b, &d);
        let binary = cfg.first_layer != FirstLayerKind::Float;
        let dx = self.conv_bn_back("first.conv", "first.bn", &db, sv, binary);
        if cfg.first_layer == FirstLayerKind::Embed {
            // The table's values are code * step, so dL/dvalue = dL/dcode * (n / max).
            let e = cfg.embed_spec();
            let dvalue = elementwise::scale(&dx, e.scale());
            let dt = embed::embed_backward(
                e,
                self.p("first.table"),
                self.tables(),
                cfg.embed_dim,
                &pixels,
                cfg.input[2],
                &dvalue,
            );
            self.grads.insert("first.table".into(), dt);
        }
    }
}
