//! The editor's drawing pieces: a rotary knob and a switch bound to nice-plug parameters, and
//! the meters (tuner, bars, level meters). Everything is painted with egui's painter, so it
//! scales cleanly at any zoom.

use egui::{
    pos2, vec2, Align2, Color32, CornerRadius, FontId, Id, Pos2, Rect, Response, Sense, Stroke,
    StrokeKind, Ui,
};
use nice_plug::prelude::{BoolParam, Param, ParamSetter};

/// The editor's colours.
pub mod palette {
    use egui::Color32;

    /// Window background.
    pub const BG: Color32 = Color32::from_rgb(0x16, 0x17, 0x1c);
    /// Panel background.
    pub const PANEL: Color32 = Color32::from_rgb(0x20, 0x22, 0x29);
    /// Panel border.
    pub const EDGE: Color32 = Color32::from_rgb(0x30, 0x33, 0x3d);
    /// Unlit tracks (knob arcs, empty meters).
    pub const TRACK: Color32 = Color32::from_rgb(0x34, 0x37, 0x42);
    /// The main accent: warm amber, like varnished wood.
    pub const ACCENT: Color32 = Color32::from_rgb(0xf0, 0xa0, 0x3c);
    /// The second accent: teal, for output-side things.
    pub const TEAL: Color32 = Color32::from_rgb(0x4f, 0xc3, 0xb8);
    /// Main text.
    pub const TEXT: Color32 = Color32::from_rgb(0xe8, 0xe8, 0xea);
    /// Secondary text.
    pub const DIM: Color32 = Color32::from_rgb(0x95, 0x9c, 0xaa);
    /// In tune, healthy level.
    pub const GOOD: Color32 = Color32::from_rgb(0x6b, 0xd4, 0x7a);
    /// A little off, hot level.
    pub const WARN: Color32 = Color32::from_rgb(0xf0, 0xc8, 0x4c);
    /// Errors, clipping.
    pub const BAD: Color32 = Color32::from_rgb(0xf2, 0x5f, 0x5c);
}

pub mod gauges;

pub use gauges::*;
use palette::*;

/// Height of a knob's name and value lines together (plus spacing), logical pixels.
pub const KNOB_LABELS_H: f32 = 44.0;

/// Pixels of vertical drag for the full range of a knob.
const DRAG_PIXELS: f32 = 220.0;
/// Fine adjustment (Shift held) is this much slower.
const FINE_FACTOR: f32 = 0.1;

/// Temporary per-knob state kept in egui's memory while dragging.
#[derive(Clone, Copy, Default)]
struct DragState {
    /// Normalized value when the drag started.
    start: f32,
    /// Accumulated normalized movement.
    moved: f32,
}

/// The angle (radians, screen coordinates, y down) of normalized position `t` on a knob: the
/// arc runs clockwise from bottom-left (t = 0) through the top to bottom-right (t = 1).
fn knob_angle(t: f32) -> f32 {
    (135.0 + 270.0 * t.clamp(0.0, 1.0)).to_radians()
}

/// Points along a knob arc from `t0` to `t1`.
fn arc_points(center: Pos2, radius: f32, t0: f32, t1: f32) -> Vec<Pos2> {
    let (a, b) = if t0 <= t1 { (t0, t1) } else { (t1, t0) };
    let steps = ((b - a) * 64.0).ceil().max(1.0) as usize;
    (0..=steps)
        .map(|i| {
            let angle = knob_angle(a + (b - a) * i as f32 / steps as f32);
            center + radius * vec2(angle.cos(), angle.sin())
        })
        .collect()
}

/// A rotary knob for any parameter: drag up/down (Shift: fine), scroll, double-click to reset,
/// click the value to type one. `bipolar` knobs light the arc from the centre.
pub fn knob<P: Param>(
    ui: &mut Ui,
    param: &P,
    setter: &ParamSetter,
    diameter: f32,
    bipolar: bool,
    accent: Color32,
) -> Response {
    let name_h = 18.0;
    let value_h = 20.0;
    let width = diameter.max(64.0) + 8.0;
    let (outer, _) = ui.allocate_exact_size(vec2(width, diameter + KNOB_LABELS_H), Sense::hover());
    let knob_rect = Rect::from_center_size(
        pos2(outer.center().x, outer.top() + name_h + diameter / 2.0),
        vec2(diameter, diameter),
    );
    let id = ui.make_persistent_id(("knob", param.name()));
    let mut response = ui.interact(knob_rect, id, Sense::click_and_drag());

    // Input.
    let drag_id = id.with("drag");
    if response.drag_started() {
        setter.begin_set_parameter(param);
        let start = param.unmodulated_normalized_value();
        ui.data_mut(|d| d.insert_temp(drag_id, DragState { start, moved: 0.0 }));
    }
    if response.dragged() {
        let fine = ui.input(|i| i.modifiers.shift);
        let delta = response.drag_delta();
        let step = (delta.x - delta.y) / DRAG_PIXELS * if fine { FINE_FACTOR } else { 1.0 };
        let mut state: DragState = ui.data(|d| d.get_temp(drag_id)).unwrap_or_default();
        state.moved += step;
        ui.data_mut(|d| d.insert_temp(drag_id, state));
        let target = (state.start + state.moved).clamp(0.0, 1.0);
        set_normalized(setter, param, target);
        response.mark_changed();
    }
    if response.drag_stopped() {
        setter.end_set_parameter(param);
    }
    if response.double_clicked() || (response.clicked() && ui.input(|i| i.modifiers.command)) {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, param.default_plain_value());
        setter.end_set_parameter(param);
        response.mark_changed();
    }
    if response.hovered() {
        let scroll = ui.input(|i| i.smooth_scroll_delta.y);
        if scroll != 0.0 {
            let fine = ui.input(|i| i.modifiers.shift);
            let step = scroll / 600.0 * if fine { FINE_FACTOR } else { 1.0 };
            let target = (param.unmodulated_normalized_value() + step).clamp(0.0, 1.0);
            setter.begin_set_parameter(param);
            set_normalized(setter, param, target);
            setter.end_set_parameter(param);
            response.mark_changed();
        }
    }

    // Drawing.
    let painter = ui.painter();
    let active = response.hovered() || response.dragged();
    painter.text(
        pos2(outer.center().x, outer.top() + name_h / 2.0),
        Align2::CENTER_CENTER,
        param.name(),
        FontId::proportional(13.0),
        if active { TEXT } else { DIM },
    );
    let center = knob_rect.center();
    let radius = diameter / 2.0 - 3.0;
    let t = param.modulated_normalized_value();
    let track = Stroke::new(4.0, TRACK);
    painter.line(arc_points(center, radius, 0.0, 1.0), track);
    let origin = if bipolar { 0.5 } else { 0.0 };
    if (t - origin).abs() > 1e-4 {
        painter.line(
            arc_points(center, radius, origin, t),
            Stroke::new(4.0, accent),
        );
    }
    let body = radius - 7.0;
    painter.circle_filled(center, body, Color32::from_rgb(0x2a, 0x2d, 0x36));
    painter.circle_stroke(
        center,
        body,
        Stroke::new(
            1.0,
            if active {
                accent.gamma_multiply(0.6)
            } else {
                EDGE
            },
        ),
    );
    let angle = knob_angle(t);
    let dir = vec2(angle.cos(), angle.sin());
    painter.line_segment(
        [center + dir * body * 0.35, center + dir * (body - 3.0)],
        Stroke::new(3.0, TEXT),
    );

    // The value, click to type.
    let value_rect = Rect::from_center_size(
        pos2(outer.center().x, knob_rect.bottom() + 4.0 + value_h / 2.0),
        vec2(width, value_h),
    );
    value_entry(ui, param, setter, id, value_rect, active);
    response.on_hover_text(
        "Drag or scroll (Shift: fine) · double-click: default · click the value to type",
    )
}

/// Sets a parameter from a normalized value, snapping through the parameter's own steps.
fn set_normalized<P: Param>(setter: &ParamSetter, param: &P, normalized: f32) {
    let value = param.preview_plain(normalized);
    if value != param.modulated_plain_value() {
        setter.set_parameter(param, value);
    }
}

/// The value under a knob; a click turns it into a text field (Enter sets, Escape cancels).
fn value_entry<P: Param>(
    ui: &mut Ui,
    param: &P,
    setter: &ParamSetter,
    id: Id,
    rect: Rect,
    active: bool,
) {
    let edit_id = id.with("edit");
    let editing: Option<String> = ui.data(|d| d.get_temp(edit_id));
    match editing {
        Some(mut text) => {
            let mut child = ui.new_child(egui::UiBuilder::new().max_rect(rect));
            let field = child.add(
                egui::TextEdit::singleline(&mut text)
                    .desired_width(rect.width() - 8.0)
                    .align(Align2::CENTER_CENTER)
                    .font(FontId::proportional(13.0)),
            );
            field.request_focus();
            let (enter, escape) = ui.input(|i| {
                (
                    i.key_pressed(egui::Key::Enter),
                    i.key_pressed(egui::Key::Escape),
                )
            });
            if enter {
                if let Some(normalized) = param.string_to_normalized_value(&text) {
                    setter.begin_set_parameter(param);
                    setter.set_parameter_normalized(param, normalized);
                    setter.end_set_parameter(param);
                }
                ui.data_mut(|d| d.remove::<String>(edit_id));
            } else if escape || field.lost_focus() {
                ui.data_mut(|d| d.remove::<String>(edit_id));
            } else {
                ui.data_mut(|d| d.insert_temp(edit_id, text));
            }
        }
        None => {
            let response = ui.interact(rect, id.with("value"), Sense::click());
            let color = if active || response.hovered() {
                TEXT
            } else {
                Color32::from_rgb(0xc8, 0xcb, 0xd2)
            };
            if response.hovered() {
                ui.painter().rect_filled(
                    rect.shrink2(vec2(6.0, 1.0)),
                    4.0,
                    PANEL.gamma_multiply(1.6),
                );
            }
            // A long value ("100 Hz, 9.9 ms") shrinks to fit under its knob.
            let text = param.to_string();
            let fits = |size: f32| {
                ui.painter()
                    .layout_no_wrap(text.clone(), FontId::proportional(size), color)
                    .size()
                    .x
                    <= rect.width() - 4.0
            };
            let size = [14.0, 12.5, 11.0, 10.0]
                .into_iter()
                .find(|&s| fits(s))
                .unwrap_or(10.0);
            ui.painter().text(
                rect.center(),
                Align2::CENTER_CENTER,
                text,
                FontId::proportional(size),
                color,
            );
            if response.clicked() {
                let current =
                    param.normalized_value_to_string(param.unmodulated_normalized_value(), false);
                ui.data_mut(|d| d.insert_temp(edit_id, current));
            }
        }
    }
}

/// An on/off switch for a [`BoolParam`], sized like a knob so it lines up in a group.
pub fn switch(
    ui: &mut Ui,
    param: &BoolParam,
    setter: &ParamSetter,
    diameter: f32,
    accent: Color32,
) -> Response {
    let name_h = 18.0;
    let width = diameter.max(64.0) + 8.0;
    let (outer, _) = ui.allocate_exact_size(vec2(width, diameter + KNOB_LABELS_H), Sense::hover());
    let pill = Rect::from_center_size(
        pos2(outer.center().x, outer.top() + name_h + diameter / 2.0),
        vec2(diameter.min(56.0), 26.0),
    );
    let id = ui.make_persistent_id(("switch", param.name()));
    let response = ui.interact(pill.expand(6.0), id, Sense::click());
    let on = param.value();
    if response.clicked() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, !on);
        setter.end_set_parameter(param);
    }
    let painter = ui.painter();
    let hovered = response.hovered();
    painter.text(
        pos2(outer.center().x, outer.top() + name_h / 2.0),
        Align2::CENTER_CENTER,
        param.name(),
        FontId::proportional(13.0),
        if hovered { TEXT } else { DIM },
    );
    let fill = if on { accent } else { TRACK };
    painter.rect_filled(pill, CornerRadius::same(13), fill);
    let knob_x = if on {
        pill.right() - 13.0
    } else {
        pill.left() + 13.0
    };
    painter.circle_filled(
        pos2(knob_x, pill.center().y),
        10.0,
        if on { BG } else { DIM },
    );
    painter.text(
        pos2(
            outer.center().x,
            pill.bottom() + (outer.bottom() - pill.bottom()) / 2.0,
        ),
        Align2::CENTER_CENTER,
        if on { "On" } else { "Off" },
        FontId::proportional(14.0),
        if on { TEXT } else { DIM },
    );
    response.on_hover_text("Map the input's octave and loudness onto the model's training range")
}

/// Paints a panel (rounded background, border, title) on `rect`; returns the area inside.
pub fn panel(ui: &Ui, rect: Rect, title: &str) -> Rect {
    let painter = ui.painter();
    painter.rect_filled(rect, 8.0, PANEL);
    painter.rect_stroke(rect, 8.0, Stroke::new(1.0, EDGE), StrokeKind::Inside);
    if title.is_empty() {
        return rect.shrink(10.0);
    }
    painter.text(
        rect.left_top() + vec2(12.0, 9.0),
        Align2::LEFT_TOP,
        title.to_uppercase(),
        FontId::proportional(11.5),
        DIM,
    );
    Rect::from_min_max(
        rect.left_top() + vec2(10.0, 28.0),
        rect.right_bottom() - vec2(10.0, 8.0),
    )
}

/// Linear interpolation between two colours.
pub fn lerp_color(a: Color32, b: Color32, t: f32) -> Color32 {
    let t = t.clamp(0.0, 1.0);
    let mix = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * t).round() as u8;
    Color32::from_rgb(mix(a.r(), b.r()), mix(a.g(), b.g()), mix(a.b(), b.b()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::PI;

    #[test]
    fn knob_arc_runs_clockwise_through_the_top() {
        let up = knob_angle(0.5);
        assert!((up.sin() + 1.0).abs() < 1e-6, "middle points up");
        assert!(knob_angle(0.0).sin() > 0.0 && knob_angle(0.0).cos() < 0.0);
        assert!(knob_angle(1.0).sin() > 0.0 && knob_angle(1.0).cos() > 0.0);
        assert!((knob_angle(1.0) - knob_angle(0.0) - 1.5 * PI).abs() < 1e-5);
    }

    #[test]
    fn colours_interpolate() {
        assert_eq!(lerp_color(ACCENT, TEAL, 0.0), ACCENT);
        assert_eq!(lerp_color(ACCENT, TEAL, 1.0), TEAL);
    }
}
