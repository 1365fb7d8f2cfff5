//! The egui editor: a header with the model picker, a row of live meters (input pitch as a
//! tuner, the model's harmonic distribution, levels) and the knobs grouped Input / Pitch /
//! Model / Output (plus Envelope in the synth).
//!
//! The editor reads meters from atomics and the loader's status behind a mutex that the audio
//! thread never takes. Choosing a model stores it in the persisted selection and starts the
//! background load; a bad file shows its error here while the current model keeps playing.

use std::sync::Arc;

use egui::{pos2, vec2, Align2, Color32, FontId, Rect, RichText, Ui, UiBuilder};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::editor::{ResizeHint, SizeConstraints};
use nice_plug::prelude::*;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier,
};

use crate::loader::{LoadStatus, ModelLoader};
use crate::meters::{note_name, peak_db, MeterSnapshot, SharedMeters};
use crate::models::{self, ModelEntry};
use crate::params::{EngineParams, ModelSelection, SynthParams, TimbreParams};
use crate::widgets::{self, palette::*};

/// The smallest editor size, in logical pixels.
pub const MIN_SIZE: (f32, f32) = (680.0, 470.0);

/// What the editor needs from a plugin's parameter struct.
pub trait EditorParams: Send + Sync + 'static {
    /// The title in the header.
    const TITLE: &'static str;
    /// Whether the notes come from MIDI (synth) rather than audio.
    const SYNTH: bool;
    /// The engine's knobs.
    fn engine(&self) -> &EngineParams;
    /// Attack, decay, sustain, release, for the synth.
    fn envelope(&self) -> Option<[&FloatParam; 4]> {
        None
    }
}

impl EditorParams for TimbreParams {
    const TITLE: &'static str = "Tiny Timbre";
    const SYNTH: bool = false;
    fn engine(&self) -> &EngineParams {
        &self.engine
    }
}

impl EditorParams for SynthParams {
    const TITLE: &'static str = "Tiny Timbre Synth";
    const SYNTH: bool = true;
    fn engine(&self) -> &EngineParams {
        &self.engine
    }
    fn envelope(&self) -> Option<[&FloatParam; 4]> {
        Some([&self.attack, &self.decay, &self.sustain, &self.release])
    }
}

/// Handles the editor shares with the plugin (never locked by the audio thread).
pub struct Shared {
    /// Model loading and its status.
    pub loader: Arc<ModelLoader>,
    /// Live meter values.
    pub meters: Arc<SharedMeters>,
    /// The persisted model selection.
    pub selection: ModelSelection,
}

/// The editor's state (the egui app).
pub struct TimbreEditor<P: EditorParams> {
    /// The plugin's parameters.
    params: Arc<P>,
    /// Loader, meters and model selection.
    shared: Shared,
    /// Starts a background load of the selection.
    load_selected: Box<dyn Fn() + Send>,
    /// The host context, while the window is open.
    gui: Option<GuiContext>,
    /// The model picker's entries (rescanned on demand).
    models: Vec<ModelEntry>,
    /// The path typed into the picker's "load a file" field.
    path_input: String,
}

/// Builds the editor for `params` (called once per plugin instance).
pub fn create<P: EditorParams>(
    params: Arc<P>,
    shared: Shared,
    state: Arc<EguiEditorState>,
    repaint: RepaintNotifier,
    load_selected: Box<dyn Fn() + Send>,
) -> Option<EguiEditor<TimbreEditor<P>>> {
    let settings = EguiNiceSettings::new()
        .with_tile(P::TITLE)
        .with_resize_hint(ResizeHint {
            can_resize: true,
            can_resize_horizontally: true,
            can_resize_vertically: true,
            size_constraints: SizeConstraints::min_logical_size(LogicalSize::new(
                MIN_SIZE.0, MIN_SIZE.1,
            )),
            ..ResizeHint::NON_RESIZABLE
        });
    let app = TimbreEditor {
        params,
        shared,
        load_selected,
        gui: None,
        models: Vec::new(),
        path_input: String::new(),
    };
    create_egui_editor(state, repaint, settings, app)
}

impl<P: EditorParams> NiceEguiApp for TimbreEditor<P> {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui = Some(gui);
        self.models = models::available();
        style(&egui_ctx);
        Ok(())
    }

    fn ui(&mut self, ui: &mut Ui, _frame: &mut nice_plug_egui::Frame) {
        // Free voices the audio thread retired (cheap; skipped while a load holds the lock).
        self.shared.loader.collect_garbage();
        let Some(gui) = self.gui.clone() else {
            return;
        };
        let setter = gui.param_setter();
        let meters = self.shared.meters.snapshot();
        let status = self.shared.loader.status();
        egui::CentralPanel::default()
            .frame(egui::Frame::new().fill(BG).inner_margin(14))
            .show(ui, |ui| {
                let full = ui.available_rect_before_wrap();
                let header_h = 62.0;
                let header = Rect::from_min_size(full.min, vec2(full.width(), header_h));
                let body = Rect::from_min_max(pos2(full.left(), header.bottom() + 6.0), full.max);
                let meters_h = if P::SYNTH {
                    (body.height() * 0.36).clamp(160.0, 300.0)
                } else {
                    (body.height() * 0.46).clamp(180.0, 360.0)
                };
                let meters_rect = Rect::from_min_size(body.min, vec2(body.width(), meters_h));
                let controls = Rect::from_min_max(
                    pos2(body.left(), meters_rect.bottom() + 10.0),
                    body.max,
                );
                self.header(ui, header, &status);
                meter_row::<P>(ui, meters_rect, &meters, self.params.engine().gate.value());
                self.controls(ui, controls, &setter);
                ui.allocate_rect(full, egui::Sense::hover());
            });
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }
}

impl<P: EditorParams> TimbreEditor<P> {
    /// Title, model picker, rescan, zoom, and the status line.
    fn header(&mut self, ui: &mut Ui, rect: Rect, status: &LoadStatus) {
        let painter = ui.painter();
        let title = painter.text(
            rect.left_top() + vec2(2.0, 0.0),
            Align2::LEFT_TOP,
            P::TITLE,
            FontId::proportional(24.0),
            TEXT,
        );
        painter.text(
            pos2(title.right() + 12.0, title.bottom() - 4.0),
            Align2::LEFT_BOTTOM,
            if P::SYNTH {
                "play it from MIDI, hear the model's instrument"
            } else {
                "sing a line, hear it played by the model"
            },
            FontId::proportional(13.0),
            DIM,
        );
        // Status line.
        let status_pos = pos2(rect.left() + 2.0, rect.top() + 42.0);
        let (text, color) = match (&status.error, status.loading) {
            (_, true) => ("Loading model…".to_string(), WARN),
            (Some(e), _) => (format!("⚠ {e}"), BAD),
            (None, _) => (format!("● Playing: {}", display_name(status)), DIM),
        };
        let status_rect = painter.text(
            status_pos,
            Align2::LEFT_CENTER,
            elide(&text, ((rect.width() - 80.0) / 7.0) as usize),
            FontId::proportional(13.5),
            color,
        );
        if status.error.is_some() {
            let dismiss = Rect::from_min_size(
                pos2(status_rect.right() + 10.0, status_pos.y - 10.0),
                vec2(64.0, 20.0),
            );
            let mut child = ui.new_child(UiBuilder::new().max_rect(dismiss));
            if child.small_button("Dismiss").clicked() {
                self.shared.loader.set_error(None);
            }
        }
        // Right side: picker, rescan, zoom.
        let controls = Rect::from_min_max(pos2(rect.right() - 470.0, rect.top()), pos2(rect.right(), rect.top() + 30.0));
        let mut child = ui.new_child(
            UiBuilder::new()
                .max_rect(controls)
                .layout(egui::Layout::right_to_left(egui::Align::Center)),
        );
        self.zoom_buttons(&mut child);
        child.add_space(6.0);
        if child
            .button("Rescan")
            .on_hover_text(match models::user_dir() {
                Some(dir) => format!("Look for new .ttmodel files in {}", dir.display()),
                None => "Look for new model files".to_string(),
            })
            .clicked()
        {
            self.models = models::available();
        }
        self.model_picker(&mut child, status);
        child.label(RichText::new("Model").color(DIM));
    }

    /// The model combo box: embedded models, the user folder's, and a path field.
    fn model_picker(&mut self, ui: &mut Ui, status: &LoadStatus) {
        let mut choice: Option<String> = None;
        egui::ComboBox::from_id_salt("model-picker")
            .width(210.0)
            .selected_text(elide(&display_name(status), 28))
            .show_ui(ui, |ui| {
                ui.set_min_width(300.0);
                ui.label(RichText::new("Built in").small().color(DIM));
                for m in self.models.iter().filter(|m| !m.user) {
                    if ui.selectable_label(m.spec == status.playing_spec, &m.label).clicked() {
                        choice = Some(m.spec.clone());
                    }
                }
                ui.separator();
                ui.label(RichText::new("Your models").small().color(DIM));
                let mut any = false;
                for m in self.models.iter().filter(|m| m.user) {
                    any = true;
                    if ui
                        .selectable_label(m.spec == status.playing_spec, &m.label)
                        .on_hover_text(&m.spec)
                        .clicked()
                    {
                        choice = Some(m.spec.clone());
                    }
                }
                if !any {
                    let where_ = models::user_dir()
                        .map(|d| d.display().to_string())
                        .unwrap_or_else(|| "your model folder".to_string());
                    ui.label(
                        RichText::new(format!("None yet: put .ttmodel files in\n{where_}\nand press Rescan."))
                            .small()
                            .color(DIM),
                    );
                }
                ui.separator();
                ui.label(RichText::new("Load a file").small().color(DIM));
                ui.horizontal(|ui| {
                    let field = ui.add(
                        egui::TextEdit::singleline(&mut self.path_input)
                            .hint_text("/path/to/model.ttmodel")
                            .desired_width(220.0),
                    );
                    let enter = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if (ui.button("Load").clicked() || enter) && !self.path_input.trim().is_empty() {
                        choice = Some(self.path_input.trim().to_string());
                    }
                });
            });
        if let Some(spec) = choice {
            self.shared.selection.select(&spec);
            self.shared.loader.set_error(None);
            (self.load_selected)();
        }
    }

    /// 100% / 150% / 200% zoom (the window grows with it).
    fn zoom_buttons(&self, ui: &mut Ui) {
        let current = ui.ctx().zoom_factor();
        for (label, zoom) in [("200%", 2.0), ("150%", 1.5), ("100%", 1.0)] {
            if ui
                .selectable_label((current - zoom).abs() < 0.01, RichText::new(label).small())
                .on_hover_text("Editor size")
                .clicked()
            {
                ui.ctx().set_zoom_factor(zoom);
            }
        }
    }

    /// The knob groups, in one row (effect) or two (synth).
    fn controls(&self, ui: &mut Ui, rect: Rect, setter: &ParamSetter) {
        let e = self.params.engine();
        let mut groups: Vec<(&str, Vec<Control>)> = Vec::new();
        if let Some([a, d, s, r]) = self.params.envelope() {
            groups.push((
                "Envelope",
                vec![Control::F(a, false), Control::F(d, false), Control::F(s, false), Control::F(r, false)],
            ));
        }
        groups.push((
            "Input",
            vec![Control::F(&e.loudness, true), Control::F(&e.gate, false), Control::B(&e.auto_adjust)],
        ));
        groups.push((
            "Pitch",
            vec![Control::I(&e.semitones), Control::F(&e.cents, true), Control::F(&e.autotune, false)],
        ));
        groups.push((
            "Model",
            vec![Control::F(&e.harmonic_gain, false), Control::F(&e.noise_gain, false)],
        ));
        groups.push((
            "Output",
            vec![Control::F(&e.reverb, false), Control::F(&e.gain, true)],
        ));
        let total: usize = groups.iter().map(|(_, c)| c.len()).sum();
        let rows: Vec<&[(&str, Vec<Control>)]> = if total > 10 {
            // Split where the first row holds about half of the knobs.
            let mut count = 0;
            let split = groups
                .iter()
                .position(|(_, c)| {
                    count += c.len();
                    count >= total / 2
                })
                .map_or(groups.len(), |i| i + 1);
            vec![&groups[..split], &groups[split..]]
        } else {
            vec![&groups[..]]
        };
        let gap = 10.0;
        let row_h = (rect.height() - gap * (rows.len() - 1) as f32) / rows.len() as f32;
        for (r, row) in rows.iter().enumerate() {
            let top = rect.top() + r as f32 * (row_h + gap);
            let units: usize = row.iter().map(|(_, c)| c.len()).sum();
            let width = rect.width() - gap * (row.len() - 1) as f32;
            let mut x = rect.left();
            for (name, group) in row.iter() {
                let w = width * group.len() as f32 / units as f32;
                let panel = Rect::from_min_size(pos2(x, top), vec2(w, row_h));
                let inner = widgets::panel(ui, panel, name);
                let slot_w = inner.width() / group.len() as f32;
                let diameter = (slot_w - 18.0).min(inner.height() - 50.0).clamp(40.0, 84.0);
                let accent = if *name == "Output" { TEAL } else { ACCENT };
                for (i, control) in group.iter().enumerate() {
                    let slot = Rect::from_min_size(
                        pos2(inner.left() + i as f32 * slot_w, inner.top()),
                        vec2(slot_w, inner.height()),
                    );
                    let mut child = ui.new_child(
                        UiBuilder::new()
                            .max_rect(slot)
                            .layout(egui::Layout::top_down(egui::Align::Center)),
                    );
                    let used = diameter + 44.0;
                    child.add_space(((slot.height() - used) / 2.0).max(0.0));
                    match control {
                        Control::F(p, bipolar) => {
                            widgets::knob(&mut child, *p, setter, diameter, *bipolar, accent);
                        }
                        Control::I(p) => {
                            widgets::knob(&mut child, *p, setter, diameter, true, accent);
                        }
                        Control::B(p) => {
                            widgets::switch(&mut child, p, setter, diameter, accent);
                        }
                    }
                }
                x += w + gap;
            }
        }
    }
}

/// One control in a group.
enum Control<'a> {
    /// A float knob; `true` lights the arc from the centre.
    F(&'a FloatParam, bool),
    /// An integer knob (bipolar).
    I(&'a IntParam),
    /// A switch.
    B(&'a BoolParam),
}

/// The meters: tuner and loudness, harmonic distribution, levels.
fn meter_row<P: EditorParams>(ui: &Ui, rect: Rect, m: &MeterSnapshot, gate: f32) {
    let gap = 10.0;
    let levels_w = if P::SYNTH { 84.0 } else { 124.0 };
    let tuner_w = ((rect.width() - levels_w - 2.0 * gap) * 0.42).max(220.0);
    let tuner = Rect::from_min_size(rect.min, vec2(tuner_w, rect.height()));
    let levels = Rect::from_min_max(pos2(rect.right() - levels_w, rect.top()), rect.max);
    let bars = Rect::from_min_max(
        pos2(tuner.right() + gap, rect.top()),
        pos2(levels.left() - gap, rect.bottom()),
    );
    tuner_panel::<P>(ui, tuner, m, gate);

    let inner = widgets::panel(ui, bars, "Harmonic distribution");
    let activity = ((peak_db(m.output_peak) + 60.0) / 60.0).clamp(0.0, 1.0);
    widgets::harmonic_bars(ui, inner, &m.harmonics, activity);

    let inner = widgets::panel(ui, levels, "Levels");
    if P::SYNTH {
        widgets::level_meter(ui, inner, "Out", peak_db(m.output_peak));
    } else {
        let half = inner.width() / 2.0;
        let left = Rect::from_min_size(inner.min, vec2(half, inner.height()));
        let right = Rect::from_min_size(pos2(inner.left() + half, inner.top()), vec2(half, inner.height()));
        widgets::level_meter(ui, left, "In", peak_db(m.input_peak));
        widgets::level_meter(ui, right, "Out", peak_db(m.output_peak));
    }
}

/// The tuner panel: the note, cents, confidence, what the model plays, and loudness.
fn tuner_panel<P: EditorParams>(ui: &Ui, rect: Rect, m: &MeterSnapshot, gate: f32) {
    let inner = widgets::panel(ui, rect, if P::SYNTH { "Note" } else { "Input pitch" });
    let painter = ui.painter();
    let voiced = m.confidence >= gate && m.confidence > 0.0;
    let note = note_name(m.f0_hz).filter(|_| m.confidence > 0.05);
    let big = (inner.height() * 0.26).clamp(28.0, 56.0);
    let (name, cents) = match &note {
        Some((name, cents)) => (name.as_str(), Some(*cents)),
        None => ("–", None),
    };
    let name_color = if voiced { TEXT } else { DIM.gamma_multiply(0.8) };
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
        painter.text(pos2(inner.left() + 4.0, y + 7.0), Align2::LEFT_CENTER, label, FontId::proportional(12.5), DIM);
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
    row(y, "Confidence", format!("{:.0} %", m.confidence * 100.0), m.confidence, confidence_color);
    y += 20.0;
    let loud = m.loudness_db;
    row(y, "Loudness", format!("{loud:.0} dB"), (loud + 80.0) / 80.0, ACCENT);
    y += 20.0;
    row(y, "Gate", format!("{:.0} %", m.gate * 100.0), m.gate, TEAL);
    y += 22.0;
    if y + 14.0 < inner.bottom() {
        let plays = match note_name(m.f0_out_hz) {
            Some((n, c)) if m.gate > 0.01 => format!("Model plays {n} {c:+.0} ct ({:.0} Hz)", m.f0_out_hz),
            _ => "Model is silent (gate closed)".to_string(),
        };
        painter.text(pos2(inner.left() + 4.0, y + 6.0), Align2::LEFT_CENTER, plays, FontId::proportional(12.5), DIM);
    }
}

/// The model name to show.
fn display_name(status: &LoadStatus) -> String {
    if status.playing.is_empty() {
        "(not running)".to_string()
    } else {
        status.playing.clone()
    }
}

/// Shortens `text` to `max` characters with an ellipsis.
pub fn elide(text: &str, max: usize) -> String {
    let max = max.max(4);
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// The editor's look: dark, with readable text sizes.
fn style(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        use egui::{FontFamily, TextStyle};
        style.text_styles = [
            (TextStyle::Small, FontId::new(12.0, FontFamily::Proportional)),
            (TextStyle::Body, FontId::new(14.0, FontFamily::Proportional)),
            (TextStyle::Button, FontId::new(14.0, FontFamily::Proportional)),
            (TextStyle::Heading, FontId::new(20.0, FontFamily::Proportional)),
            (TextStyle::Monospace, FontId::new(13.0, FontFamily::Monospace)),
        ]
        .into();
        let v = &mut style.visuals;
        *v = egui::Visuals::dark();
        v.panel_fill = BG;
        v.window_fill = PANEL;
        v.extreme_bg_color = Color32::from_rgb(0x12, 0x13, 0x17);
        v.selection.bg_fill = ACCENT.gamma_multiply(0.55);
        v.selection.stroke.color = TEXT;
        v.widgets.inactive.weak_bg_fill = Color32::from_rgb(0x2a, 0x2d, 0x36);
        v.widgets.inactive.bg_fill = Color32::from_rgb(0x2a, 0x2d, 0x36);
        v.widgets.hovered.weak_bg_fill = Color32::from_rgb(0x35, 0x39, 0x44);
        v.widgets.active.weak_bg_fill = ACCENT.gamma_multiply(0.5);
        v.widgets.noninteractive.fg_stroke.color = TEXT;
        v.widgets.inactive.fg_stroke.color = TEXT;
        style.spacing.button_padding = vec2(8.0, 4.0);
        style.spacing.interact_size.y = 24.0;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_elided() {
        assert_eq!(elide("Violin", 10), "Violin");
        assert_eq!(elide("Untrained (random weights)", 10), "Untrained…");
        assert_eq!(elide("Untrained (random weights)", 10).chars().count(), 10);
    }
}
