//! The row of live meters: the input pitch as a tuner with a pitch trace, the model's
//! harmonic distribution, and the input/output levels. Drawn from a [`MeterSnapshot`] read
//! from atomics; the pitch history lives on the GUI side.

use std::collections::VecDeque;

use egui::{pos2, vec2, Align2, Color32, FontId, Rect, Ui};

use super::EditorParams;
use crate::meters::{note_name, peak_db, MeterSnapshot};
use crate::widgets::{self, palette::*};

/// The meters: tuner and loudness, harmonic distribution, levels.
pub fn meter_row<P: EditorParams>(
    ui: &Ui,
    rect: Rect,
    m: &MeterSnapshot,
    gate: f32,
    trace: &PitchTrace,
) {
    let gap = 10.0;
    let levels_w = if P::SYNTH { 112.0 } else { 150.0 };
    let tuner_w = ((rect.width() - levels_w - 2.0 * gap) * 0.42).max(220.0);
    let tuner = Rect::from_min_size(rect.min, vec2(tuner_w, rect.height()));
    let levels = Rect::from_min_max(pos2(rect.right() - levels_w, rect.top()), rect.max);
    let bars = Rect::from_min_max(
        pos2(tuner.right() + gap, rect.top()),
        pos2(levels.left() - gap, rect.bottom()),
    );
    tuner_panel::<P>(ui, tuner, m, gate, trace);

    let inner = widgets::panel(ui, bars, "Harmonic distribution");
    let activity = ((peak_db(m.output_peak) + 60.0) / 60.0).clamp(0.0, 1.0);
    widgets::harmonic_bars(ui, inner, &m.harmonics, activity);

    let inner = widgets::panel(ui, levels, "Levels");
    if P::SYNTH {
        widgets::level_meter(ui, inner, "Out", peak_db(m.output_peak), true);
    } else {
        let split = inner.width() * 0.58;
        let left = Rect::from_min_size(
            pos2(inner.left() + 8.0, inner.top()),
            vec2(split, inner.height()),
        );
        let right = Rect::from_min_max(pos2(inner.left() + split, inner.top()), inner.max);
        widgets::level_meter(ui, left, "In", peak_db(m.input_peak), true);
        widgets::level_meter(ui, right, "Out", peak_db(m.output_peak), false);
    }
}

/// The tuner panel: the note, cents, confidence, what the model plays, and loudness.
fn tuner_panel<P: EditorParams>(
    ui: &Ui,
    rect: Rect,
    m: &MeterSnapshot,
    gate: f32,
    trace: &PitchTrace,
) {
    let inner = widgets::panel(ui, rect, if P::SYNTH { "Note" } else { "Input pitch" });
    let painter = ui.painter();
    let voiced = m.confidence >= gate && m.confidence > 0.0;
    let note = note_name(m.f0_hz).filter(|_| m.confidence > 0.05);
    let big = (inner.height() * 0.26).clamp(28.0, 56.0);
    let (name, cents) = match &note {
        Some((name, cents)) => (name.as_str(), Some(*cents)),
        None => ("–", None),
    };
    let name_color = if voiced {
        TEXT
    } else {
        DIM.gamma_multiply(0.8)
    };
    let name_rect = painter.text(
        pos2(inner.left() + 4.0, inner.top() + 2.0),
        Align2::LEFT_TOP,
        name,
        FontId::proportional(big),
        name_color,
    );
    if let Some(c) = cents {
        painter.text(
            pos2(name_rect.right() + 10.0, name_rect.center().y - big * 0.12),
            Align2::LEFT_CENTER,
            format!("{c:+.0} ct"),
            FontId::proportional(big * 0.42),
            if voiced { TEXT } else { DIM },
        );
        painter.text(
            pos2(name_rect.right() + 10.0, name_rect.center().y + big * 0.3),
            Align2::LEFT_CENTER,
            format!("{:.1} Hz", m.f0_hz),
            FontId::proportional(12.5),
            DIM,
        );
    }
    let mut y = name_rect.bottom() + 6.0;
    let strip = Rect::from_min_size(pos2(inner.left() + 4.0, y), vec2(inner.width() - 8.0, 24.0));
    widgets::tuner_strip(ui, strip, cents, voiced);
    y = strip.bottom() + 8.0;

    // Label + bar rows.
    let row = |y: f32, label: &str, value: String, fraction: f32, color: Color32| {
        let label_w = 84.0;
        let value_w = 70.0;
        painter.text(
            pos2(inner.left() + 4.0, y + 7.0),
            Align2::LEFT_CENTER,
            label,
            FontId::proportional(12.5),
            DIM,
        );
        let bar = Rect::from_min_max(
            pos2(inner.left() + label_w, y + 2.0),
            pos2(inner.right() - value_w, y + 12.0),
        );
        widgets::hbar(ui, bar, fraction, color);
        painter.text(
            pos2(inner.right() - 2.0, y + 7.0),
            Align2::RIGHT_CENTER,
            value,
            FontId::proportional(12.5),
            TEXT,
        );
    };
    let confidence_color = if voiced { GOOD } else { DIM };
    row(
        y,
        "Confidence",
        format!("{:.0} %", m.confidence * 100.0),
        m.confidence,
        confidence_color,
    );
    y += 20.0;
    let loud = m.loudness_db;
    row(
        y,
        "Loudness",
        format!("{loud:.0} dB"),
        (loud + 80.0) / 80.0,
        ACCENT,
    );
    y += 20.0;
    row(y, "Gate", format!("{:.0} %", m.gate * 100.0), m.gate, TEAL);
    y += 22.0;
    if y + 14.0 < inner.bottom() {
        let plays = match note_name(m.f0_out_hz) {
            Some((n, c)) if m.gate > 0.01 => {
                format!("Model plays {n} {c:+.0} ct ({:.0} Hz)", m.f0_out_hz)
            }
            _ => "Model is silent (gate closed)".to_string(),
        };
        painter.text(
            pos2(inner.left() + 4.0, y + 6.0),
            Align2::LEFT_CENTER,
            plays,
            FontId::proportional(12.5),
            DIM,
        );
        y += 18.0;
    }
    if y + 40.0 < inner.bottom() {
        let area = Rect::from_min_max(
            pos2(inner.left() + 2.0, y),
            pos2(inner.right() - 2.0, inner.bottom()),
        );
        widgets::pitch_trace(ui, area, trace.points());
    }
}

/// The last few seconds of input pitch, for the trace under the tuner (GUI side only).
pub struct PitchTrace {
    /// MIDI pitch per editor frame (`None`: unvoiced).
    points: VecDeque<Option<f32>>,
}

/// Editor frames kept in the pitch trace (about 4 s at 60 frames per second).
pub const TRACE_LEN: usize = 240;

impl Default for PitchTrace {
    fn default() -> Self {
        Self {
            points: VecDeque::with_capacity(TRACE_LEN),
        }
    }
}

impl PitchTrace {
    /// Adds the current input pitch (voiced when the confidence passes the gate).
    pub fn push(&mut self, m: &MeterSnapshot, gate: f32) {
        let voiced = m.confidence >= gate.max(0.05) && m.f0_hz > 0.0;
        let midi = voiced.then(|| 69.0 + 12.0 * (m.f0_hz / 440.0).log2());
        if self.points.len() == TRACE_LEN {
            self.points.pop_front();
        }
        self.points.push_back(midi);
    }

    /// The points, oldest first.
    pub fn points(&self) -> &VecDeque<Option<f32>> {
        &self.points
    }
}
