//! The knob panels: which parameters go in which group (Envelope, Input, Pitch, Model,
//! Output), how the groups split into rows, and how big the knobs get.

use egui::{pos2, vec2, Rect, Ui, UiBuilder};
use nice_plug::prelude::*;

use super::EditorParams;
use crate::widgets::{self, palette::*};

/// The knob groups: Envelope (synth), Input, Pitch, Model, Output.
pub fn groups<P: EditorParams>(params: &P) -> Vec<Group<'_>> {
    let e = params.engine();
    let mut groups = Vec::new();
    if let Some([a, d, s, r]) = params.envelope() {
        groups.push(Group {
            name: "Envelope",
            controls: vec![
                Control::F(a, false),
                Control::F(d, false),
                Control::F(s, false),
                Control::F(r, false),
            ],
        });
    }
    groups.push(Group {
        name: "Input",
        controls: vec![
            Control::F(&e.loudness_db, true),
            Control::F(&e.gate, false),
            Control::I(&e.lowest_note_hz, false),
            Control::B(&e.auto_adjust),
            Control::B(&e.match_dynamics),
            Control::B(&e.low_latency),
        ],
    });
    groups.push(Group {
        name: "Pitch",
        controls: vec![
            Control::I(&e.semitones, true),
            Control::F(&e.cents, true),
            Control::F(&e.autotune_percent, false),
        ],
    });
    groups.push(Group {
        name: "Model",
        controls: vec![
            Control::F(&e.harmonic_gain_db, false),
            Control::F(&e.noise_gain_db, false),
            Control::F(&e.humanize_percent, false),
            Control::I(&e.humanize_spread, false),
            Control::F(&e.morph, false),
        ],
    });
    groups.push(Group {
        name: "Output",
        controls: vec![
            Control::F(&e.reverb_percent, false),
            Control::F(&e.output_gain_db, true),
        ],
    });
    if let Some([notes, bend]) = params.midi() {
        groups.push(Group {
            name: "MIDI out",
            controls: vec![Control::B(notes), Control::B(bend)],
        });
    }
    groups
}

/// Gap between panels, logical pixels.
pub const GAP: f32 = 10.0;
/// Most knobs in one row.
const KNOBS_PER_ROW: usize = 10;
/// Knob diameter limits.
const KNOB_MIN: f32 = 40.0;
/// See [`KNOB_MIN`].
const KNOB_MAX: f32 = 76.0;
/// Height a knob slot needs beyond the knob: name, value, panel title and margins.
const KNOB_EXTRA_H: f32 = 96.0;

/// A titled panel of controls.
pub struct Group<'a> {
    /// The panel title.
    name: &'static str,
    /// Its controls, left to right.
    controls: Vec<Control<'a>>,
}

/// How the groups are split into rows and how big the knobs are.
pub struct KnobPlan {
    /// Index of the first group of each row.
    row_starts: Vec<usize>,
    /// Knob diameter.
    diameter: f32,
}

impl KnobPlan {
    /// Splits `groups` into rows of at most [`KNOBS_PER_ROW`] knobs (halves when more) and
    /// sizes the knobs to the narrowest slot for `width`.
    pub fn new(groups: &[Group], width: f32) -> Self {
        let total: usize = groups.iter().map(|g| g.controls.len()).sum();
        let mut row_starts = vec![0];
        if total > KNOBS_PER_ROW {
            let mut count = 0;
            for (i, g) in groups.iter().enumerate() {
                count += g.controls.len();
                if count >= total / 2 {
                    row_starts.push(i + 1);
                    break;
                }
            }
        }
        let mut slot = f32::INFINITY;
        for r in 0..row_starts.len() {
            let row = &groups[row_starts[r]..*row_starts.get(r + 1).unwrap_or(&groups.len())];
            let knobs: usize = row.iter().map(|g| g.controls.len()).sum();
            let usable = width - GAP * (row.len() - 1) as f32 - 20.0 * row.len() as f32;
            slot = slot.min(usable / knobs.max(1) as f32);
        }
        Self {
            row_starts,
            diameter: (slot - 16.0).clamp(KNOB_MIN, KNOB_MAX),
        }
    }

    /// The height all rows need.
    pub fn height(&self) -> f32 {
        let rows = self.row_starts.len() as f32;
        rows * (self.diameter + KNOB_EXTRA_H) + (rows - 1.0) * GAP
    }
}

/// Draws the knob panels into `rect`.
pub fn draw_controls(
    ui: &mut Ui,
    rect: Rect,
    groups: &[Group],
    plan: &KnobPlan,
    setter: &ParamSetter,
) {
    let rows = plan.row_starts.len();
    let row_h = (rect.height() - GAP * (rows - 1) as f32) / rows as f32;
    for r in 0..rows {
        let row = &groups[plan.row_starts[r]..*plan.row_starts.get(r + 1).unwrap_or(&groups.len())];
        let top = rect.top() + r as f32 * (row_h + GAP);
        let units: usize = row.iter().map(|g| g.controls.len()).sum();
        let width = rect.width() - GAP * (row.len() - 1) as f32;
        let mut x = rect.left();
        for group in row {
            let w = width * group.controls.len() as f32 / units as f32;
            let panel = Rect::from_min_size(pos2(x, top), vec2(w, row_h));
            let inner = widgets::panel(ui, panel, group.name);
            let slot_w = inner.width() / group.controls.len() as f32;
            let accent = if group.name == "Output" { TEAL } else { ACCENT };
            for (i, control) in group.controls.iter().enumerate() {
                let slot = Rect::from_min_size(
                    pos2(inner.left() + i as f32 * slot_w, inner.top()),
                    vec2(slot_w, inner.height()),
                );
                let mut child = ui.new_child(
                    UiBuilder::new()
                        .max_rect(slot)
                        .layout(egui::Layout::top_down(egui::Align::Center)),
                );
                let used = plan.diameter + widgets::KNOB_LABELS_H;
                child.add_space(((slot.height() - used) / 2.0).max(0.0));
                let d = plan.diameter;
                match control {
                    Control::F(p, bipolar) => {
                        widgets::knob(&mut child, *p, setter, d, *bipolar, accent);
                    }
                    Control::I(p, bipolar) => {
                        widgets::knob(&mut child, *p, setter, d, *bipolar, accent);
                    }
                    Control::B(p) => {
                        widgets::switch(&mut child, p, setter, d, accent);
                    }
                }
            }
            x += w + GAP;
        }
    }
}

/// One control in a group.
pub enum Control<'a> {
    /// A float knob; `true` lights the arc from the centre.
    F(&'a FloatParam, bool),
    /// An integer knob; `true` lights the arc from the centre.
    I(&'a IntParam, bool),
    /// A switch.
    B(&'a BoolParam),
}
