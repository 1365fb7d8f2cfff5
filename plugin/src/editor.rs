//! The egui editor: a header with the model picker, a row of live meters (input pitch as a
//! tuner, the model's harmonic distribution, levels) and the knobs grouped Input / Pitch /
//! Model / Output (plus Envelope in the synth).
//!
//! The editor reads meters from atomics and the loader's status behind a mutex that the audio
//! thread never takes. Choosing a model stores it in the persisted selection and starts the
//! background load; a bad file shows its error here while the current model keeps playing.

use std::collections::BTreeMap;
use std::sync::Arc;

use egui::{pos2, vec2, Align2, Color32, FontId, Rect, RichText, Ui, UiBuilder};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::editor::{ResizeHint, SizeConstraints};
use nice_plug::prelude::*;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier,
};

mod knobs;
mod meter_view;

pub use meter_view::{PitchTrace, TRACE_LEN};

use knobs::{draw_controls, groups, KnobPlan, GAP};
use meter_view::meter_row;

use crate::loader::{LoadStatus, ModelLoader, Slot};
use crate::meters::SharedMeters;
use crate::models::{self, ModelEntry};
use crate::params::{EngineParams, ModelSelection, SynthParams, TimbreParams};
use crate::widgets::palette::*;

/// Height of the header, logical pixels.
const HEADER_H: f32 = 62.0;

/// The smallest editor size, in logical pixels.
pub const MIN_SIZE: (f32, f32) = (760.0, 480.0);

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
    /// The MIDI out switches (notes, pitch bend), for the effect.
    fn midi(&self) -> Option<[&BoolParam; 2]> {
        None
    }
}

impl EditorParams for TimbreParams {
    const TITLE: &'static str = "Tiny Timbre";
    const SYNTH: bool = false;
    fn engine(&self) -> &EngineParams {
        &self.engine
    }
    fn midi(&self) -> Option<[&BoolParam; 2]> {
        Some([&self.midi.notes, &self.midi.bend])
    }
}

impl EditorParams for SynthParams {
    const TITLE: &'static str = "Tiny Timbre Synth";
    const SYNTH: bool = true;
    fn engine(&self) -> &EngineParams {
        &self.engine
    }
    fn envelope(&self) -> Option<[&FloatParam; 4]> {
        let e = &self.envelope;
        Some([&e.attack_ms, &e.decay_ms, &e.sustain, &e.release_ms])
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
    /// The persisted selection of the morph's model B.
    pub morph_selection: ModelSelection,
}

/// What picking a model does to the knobs, by parameter id: each knob the new model
/// recommends takes its value (`Some`), and each knob the previous model recommended and the
/// new one does not goes back to its default (`None`), so one model's recommendation (the
/// trumpet's Autotune, say) does not stay with the next; every other knob keeps what the
/// musician set.
pub fn settings_on_pick(
    previous: &BTreeMap<String, f32>,
    next: &BTreeMap<String, f32>,
) -> BTreeMap<String, Option<f32>> {
    previous
        .keys()
        .map(|id| (id.clone(), None))
        .chain(next.iter().map(|(id, &value)| (id.clone(), Some(value))))
        .collect()
}

/// Sets the engine knobs named in `settings` (by parameter id) to their values, or to their
/// defaults where the value is `None` ([`settings_on_pick`]), each as a gesture the host
/// records like a turn of the knob; unknown ids are skipped. GUI thread only.
pub fn apply_settings(
    gui: &GuiContext,
    params: &EngineParams,
    settings: &BTreeMap<String, Option<f32>>,
) {
    let map = params.param_map();
    for (id, &value) in settings {
        if let Some((_, ptr, _)) = map.iter().find(|(pid, _, _)| pid == id) {
            // SAFETY: `ptr` points into `params`, which outlives this call.
            unsafe {
                let normalized = match value {
                    Some(value) => ptr.preview_normalized(value),
                    None => ptr.default_normalized_value(),
                };
                gui.raw_begin_set_parameter(*ptr);
                gui.raw_set_parameter_normalized(*ptr, normalized);
                gui.raw_end_set_parameter(*ptr);
            }
        }
    }
}

/// The editor's state (the egui app).
pub struct TimbreEditor<P: EditorParams> {
    /// The plugin's parameters.
    params: Arc<P>,
    /// Loader, meters and model selection.
    shared: Shared,
    /// Starts a background load of a slot's selection.
    load_selected: Box<dyn Fn(Slot) + Send>,
    /// The host context, while the window is open.
    gui: Option<GuiContext>,
    /// The model picker's entries (rescanned on demand).
    models: Vec<ModelEntry>,
    /// The path typed into the picker's "load a file" field.
    path_input: String,
    /// Recent input pitch for the trace.
    trace: PitchTrace,
    /// The meters' block counter at the last frame (the trace only moves with the audio).
    last_blocks: u32,
}

/// Builds the editor for `params` (called once per plugin instance).
pub fn create<P: EditorParams>(
    params: Arc<P>,
    shared: Shared,
    state: Arc<EguiEditorState>,
    repaint: RepaintNotifier,
    load_selected: Box<dyn Fn(Slot) + Send>,
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
        trace: PitchTrace::default(),
        last_blocks: 0,
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
        let blocks = self
            .shared
            .meters
            .blocks
            .load(std::sync::atomic::Ordering::Relaxed);
        let meters_fresh = blocks != self.last_blocks;
        self.last_blocks = blocks;
        let status = self.shared.loader.status();
        egui::CentralPanel::default()
            .frame(egui::Frame::new().fill(BG).inner_margin(14))
            .show(ui, |ui| {
                let full = ui.available_rect_before_wrap();
                let header = Rect::from_min_size(full.min, vec2(full.width(), HEADER_H));
                let params = self.params.clone();
                let groups = groups(&*params);
                let plan = KnobPlan::new(&groups, full.width());
                // The knobs get what they need; the meters get the rest (within limits), and
                // any height beyond that goes to the knob panels.
                let body_h = full.height() - HEADER_H - 2.0 * GAP;
                let meters_h = (body_h - plan.height()).clamp(150.0, 300.0);
                let meters_rect = Rect::from_min_size(
                    pos2(full.left(), header.bottom() + GAP),
                    vec2(full.width(), meters_h),
                );
                let controls =
                    Rect::from_min_max(pos2(full.left(), meters_rect.bottom() + GAP), full.max);
                self.header(ui, header, &status);
                let gate = self.params.engine().gate.value();
                if meters_fresh {
                    self.trace.push(&meters, gate);
                }
                meter_row::<P>(ui, meters_rect, &meters, gate, &self.trace);
                draw_controls(ui, controls, &groups, &plan, &setter);
                ui.allocate_rect(full, egui::Sense::hover());
            });
    }

    fn editor_closed(&mut self) {
        self.gui = None;
    }
}

impl<P: EditorParams> TimbreEditor<P> {
    /// Row 1: title and zoom. Row 2: the status line, and the model picker with Rescan.
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
            pos2(title.right() + 12.0, title.bottom() - 5.0),
            Align2::LEFT_BOTTOM,
            if P::SYNTH {
                "play a melody, hear the model's instrument"
            } else {
                "sing a line, hear it played by the model"
            },
            FontId::proportional(13.5),
            DIM,
        );
        let zoom = Rect::from_min_max(
            pos2(rect.right() - 200.0, rect.top()),
            pos2(rect.right(), rect.top() + 26.0),
        );
        let mut child = ui.new_child(
            UiBuilder::new()
                .max_rect(zoom)
                .layout(egui::Layout::right_to_left(egui::Align::Center)),
        );
        self.zoom_buttons(&mut child);
        child.label(RichText::new("Size").small().color(DIM));

        // Row 2, right: the model picker.
        let row2 = Rect::from_min_max(pos2(rect.left(), rect.top() + 32.0), rect.max);
        let picker_w = 640.0;
        let picker = Rect::from_min_max(pos2(row2.right() - picker_w, row2.top()), row2.max);
        let mut child = ui.new_child(
            UiBuilder::new()
                .max_rect(picker)
                .layout(egui::Layout::right_to_left(egui::Align::Center)),
        );
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
        if let Some(spec) = self.picker(&mut child, "model-picker", status) {
            self.choose(Slot::Model, &spec);
        }
        child.label(RichText::new("Model").color(DIM));
        child.add_space(12.0);
        let morph = self.shared.loader.morph_status();
        if let Some(spec) = self.picker(&mut child, "morph-picker", &morph) {
            self.choose(Slot::Morph, &spec);
        }
        child
            .label(RichText::new("Morph to").color(DIM))
            .on_hover_text("Model B: the Morph knob blends its timbre in (0%: the model alone, 100%: model B alone)");

        // Row 2, left: what is playing, or what went wrong.
        let y = row2.center().y;
        let (text, color) = match (&status.error, status.loading) {
            (None, false) if self.shared.loader.morph_status().error.is_some() => (
                self.shared.loader.morph_status().error.unwrap_or_default(),
                BAD,
            ),
            (_, true) => ("Loading model…".to_string(), WARN),
            (Some(e), _) => (e.clone(), BAD),
            (None, _) => (format!("Playing {}", display_name(status)), DIM),
        };
        let painter = ui.painter();
        if status.error.is_some() {
            painter.circle_filled(pos2(rect.left() + 9.0, y), 8.0, BAD);
            painter.text(
                pos2(rect.left() + 9.0, y),
                Align2::CENTER_CENTER,
                "!",
                FontId::proportional(13.0),
                BG,
            );
        } else {
            painter.circle_filled(
                pos2(rect.left() + 9.0, y),
                4.5,
                if status.loading { WARN } else { GOOD },
            );
        }
        let room = picker.left() - rect.left() - 110.0;
        let status_rect = painter.text(
            pos2(rect.left() + 24.0, y),
            Align2::LEFT_CENTER,
            elide(&text, (room / 7.2) as usize),
            FontId::proportional(13.5),
            color,
        );
        if status.error.is_some() {
            let dismiss =
                Rect::from_min_size(pos2(status_rect.right() + 10.0, y - 11.0), vec2(70.0, 22.0));
            let mut child = ui.new_child(UiBuilder::new().max_rect(dismiss));
            if child.small_button("Dismiss").clicked() {
                self.shared.loader.set_error(None);
            }
        }
    }

    /// A model combo box (`id`), showing what `status` says plays: embedded models, the user
    /// folder's, and a path field. Returns the model chosen, if any.
    fn picker(&mut self, ui: &mut Ui, id: &str, status: &LoadStatus) -> Option<String> {
        let mut choice: Option<String> = None;
        let shown = if status.playing.is_empty() && id == "morph-picker" {
            "none".to_string()
        } else {
            display_name(status)
        };
        egui::ComboBox::from_id_salt(id)
            .width(200.0)
            .selected_text(elide(&shown, 26))
            .show_ui(ui, |ui| {
                ui.set_min_width(300.0);
                ui.label(RichText::new("Built in").small().color(DIM));
                for m in self.models.iter().filter(|m| !m.user) {
                    if ui
                        .selectable_label(m.spec == status.playing_spec, &m.label)
                        .clicked()
                    {
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
                        RichText::new(format!(
                            "None yet: put .ttmodel files in\n{where_}\nand press Rescan."
                        ))
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
                    if (ui.button("Load").clicked() || enter) && !self.path_input.trim().is_empty()
                    {
                        choice = Some(self.path_input.trim().to_string());
                    }
                });
            });
        choice
    }

    /// Selects `spec` for `slot` and starts loading it. A model chosen for the model slot
    /// starts from its recommended settings, and the knobs only the model before it
    /// recommended go back to their defaults ([`settings_on_pick`]; a file that does not load
    /// keeps the knobs; the load reports the error).
    fn choose(&mut self, slot: Slot, spec: &str) {
        let selection = match slot {
            Slot::Model => &self.shared.selection,
            Slot::Morph => &self.shared.morph_selection,
        };
        let previous = selection.get();
        selection.select(spec);
        self.shared.loader.set_error(None);
        if slot == Slot::Model {
            if let (Some(gui), Ok(loaded)) = (self.gui.as_ref(), models::load(spec)) {
                // A model before it that no longer loads recommended nothing to undo.
                let before = models::load(&previous)
                    .map(|l| l.model.metadata().recommended_settings.clone())
                    .unwrap_or_default();
                let settings =
                    settings_on_pick(&before, &loaded.model.metadata().recommended_settings);
                apply_settings(gui, self.params.engine(), &settings);
            }
        }
        (self.load_selected)(slot);
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
            (
                TextStyle::Small,
                FontId::new(12.0, FontFamily::Proportional),
            ),
            (TextStyle::Body, FontId::new(14.0, FontFamily::Proportional)),
            (
                TextStyle::Button,
                FontId::new(14.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Heading,
                FontId::new(20.0, FontFamily::Proportional),
            ),
            (
                TextStyle::Monospace,
                FontId::new(13.0, FontFamily::Monospace),
            ),
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

    /// From the shipped trumpet to the shipped violin: the violin's recommendations are set,
    /// the trumpet's Autotune and the others only it recommends go back to their defaults,
    /// and the knobs neither names (the pitch shift) are not touched.
    #[test]
    fn picking_a_model_undoes_what_only_the_model_before_recommended() {
        let recommended = |name: &str| {
            let (model, _) = timbre_catalog::resolve(name).unwrap();
            model.metadata().recommended_settings.clone()
        };
        let (trumpet, violin) = (recommended("trumpet"), recommended("violin"));
        assert_eq!(trumpet.get("autotune"), Some(&100.0));
        assert!(!violin.contains_key("autotune"));
        let picked = settings_on_pick(&trumpet, &violin);
        assert_eq!(picked.get("autotune"), Some(&None));
        for (id, value) in &violin {
            assert_eq!(picked.get(id), Some(&Some(*value)), "{id}");
        }
        for id in trumpet.keys().filter(|id| !violin.contains_key(*id)) {
            assert_eq!(picked.get(id), Some(&None), "{id}");
        }
        assert!(!picked.contains_key("semitones"));
    }
}
