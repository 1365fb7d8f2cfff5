//! The meters' drawings: bars, level meters, the tuner strip, the harmonic distribution and
//! the pitch trace. Pure painting from plain values; no parameters involved.

use std::collections::VecDeque;

use egui::{pos2, Align2, Color32, FontId, Pos2, Rect, Stroke, Ui};

use super::palette::*;

/// A horizontal bar filled to `fraction` (0..1).
pub fn hbar(ui: &Ui, rect: Rect, fraction: f32, color: Color32) {
    let painter = ui.painter();
    painter.rect_filled(rect, 3.0, TRACK);
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    if f > 0.0 {
        let mut lit = rect;
        lit.set_width(rect.width() * f);
        painter.rect_filled(lit, 3.0, color);
    }
}

/// The colour of a level at `db` dBFS: green, amber above -12, red above -1.
pub fn level_color(db: f32) -> Color32 {
    if db > -1.0 {
        BAD
    } else if db > -12.0 {
        WARN
    } else {
        GOOD
    }
}

/// Lowest level shown by the level meters, in dBFS.
pub const METER_FLOOR_DB: f32 = -60.0;
/// Highest level shown by the level meters, in dBFS.
pub const METER_CEIL_DB: f32 = 6.0;

/// A vertical level meter showing `db` dBFS, with a dB scale on its left when `scale`.
pub fn level_meter(ui: &Ui, rect: Rect, label: &str, db: f32, scale: bool) {
    let painter = ui.painter();
    let label_h = 18.0;
    let value_h = 18.0;
    let bar = Rect::from_min_max(
        pos2(rect.center().x - 7.0, rect.top() + label_h),
        pos2(rect.center().x + 7.0, rect.bottom() - value_h),
    );
    painter.text(
        pos2(rect.center().x, rect.top() + label_h / 2.0 - 2.0),
        Align2::CENTER_CENTER,
        label,
        FontId::proportional(12.5),
        DIM,
    );
    painter.rect_filled(bar, 3.0, TRACK);
    let y_of = |d: f32| {
        let f = ((d - METER_FLOOR_DB) / (METER_CEIL_DB - METER_FLOOR_DB)).clamp(0.0, 1.0);
        bar.bottom() - f * bar.height()
    };
    // Lit segments, coloured by level zone.
    let top = y_of(db);
    if db > METER_FLOOR_DB {
        for (lo, hi, color) in [
            (METER_FLOOR_DB, -12.0, GOOD),
            (-12.0, -1.0, WARN),
            (-1.0, METER_CEIL_DB, BAD),
        ] {
            let seg_top = y_of(hi).max(top);
            let seg_bottom = y_of(lo);
            if seg_top < seg_bottom {
                painter.rect_filled(
                    Rect::from_min_max(pos2(bar.left(), seg_top), pos2(bar.right(), seg_bottom)),
                    2.0,
                    color,
                );
            }
        }
    }
    for tick in [0.0, -6.0, -12.0, -24.0, -48.0]
        .into_iter()
        .filter(|_| scale)
    {
        let y = y_of(tick);
        painter.line_segment(
            [pos2(bar.left() - 5.0, y), pos2(bar.left() - 2.0, y)],
            Stroke::new(1.0, DIM),
        );
        painter.text(
            pos2(bar.left() - 8.0, y),
            Align2::RIGHT_CENTER,
            format!("{}", tick as i32),
            FontId::proportional(10.0),
            DIM,
        );
    }
    let (text, color) = if db <= METER_FLOOR_DB {
        ("-inf".to_string(), DIM)
    } else {
        (format!("{db:.1}"), level_color(db))
    };
    painter.text(
        pos2(rect.center().x, rect.bottom() - value_h / 2.0 + 2.0),
        Align2::CENTER_CENTER,
        text,
        FontId::proportional(12.0),
        color,
    );
}

/// The tuner strip: -50..+50 cents with a needle at `cents`, faded when `voiced` is false.
pub fn tuner_strip(ui: &Ui, rect: Rect, cents: Option<f32>, voiced: bool) {
    let painter = ui.painter();
    let mid = rect.center().y;
    painter.line_segment(
        [pos2(rect.left(), mid), pos2(rect.right(), mid)],
        Stroke::new(2.0, TRACK),
    );
    for (c, h) in [
        (-50.0, 6.0),
        (-25.0, 4.0),
        (0.0, 10.0),
        (25.0, 4.0),
        (50.0, 6.0),
    ] {
        let x = rect.left() + (c + 50.0) / 100.0 * rect.width();
        painter.line_segment([pos2(x, mid - h), pos2(x, mid + h)], Stroke::new(1.5, DIM));
    }
    if let Some(c) = cents {
        let x = rect.left() + (c.clamp(-50.0, 50.0) + 50.0) / 100.0 * rect.width();
        let color = if c.abs() < 5.0 {
            GOOD
        } else if c.abs() < 20.0 {
            WARN
        } else {
            ACCENT
        };
        let color = if voiced {
            color
        } else {
            color.gamma_multiply(0.3)
        };
        painter.add(egui::Shape::convex_polygon(
            vec![
                pos2(x, mid + 2.0),
                pos2(x - 7.0, mid - 11.0),
                pos2(x + 7.0, mid - 11.0),
            ],
            color,
            Stroke::NONE,
        ));
        painter.line_segment(
            [pos2(x, mid - 2.0), pos2(x, mid + 10.0)],
            Stroke::new(2.5, color),
        );
    }
}

/// The harmonic distribution as bars: heights on a dB scale (0 dB at the top, -50 dB at the
/// bottom), brightness following the output level `activity` (0..1).
pub fn harmonic_bars(ui: &Ui, rect: Rect, harmonics: &[f32], activity: f32) {
    let painter = ui.painter();
    let n = harmonics.len().max(1);
    let axis_h = 16.0;
    let plot = Rect::from_min_max(rect.min, pos2(rect.right(), rect.bottom() - axis_h));
    for db in [-10.0, -20.0, -30.0, -40.0] {
        let y = plot.bottom() - (db + 50.0) / 50.0 * plot.height();
        painter.line_segment(
            [pos2(plot.left(), y), pos2(plot.right(), y)],
            Stroke::new(1.0, EDGE.gamma_multiply(0.7)),
        );
    }
    let slot = plot.width() / n as f32;
    let gap = (slot * 0.25).clamp(1.0, 4.0);
    let alpha = 0.35 + 0.65 * activity.clamp(0.0, 1.0);
    for (i, &h) in harmonics.iter().enumerate() {
        let db = if h > 0.0 && h.is_finite() {
            20.0 * h.log10()
        } else {
            -100.0
        };
        let f = ((db + 50.0) / 50.0).clamp(0.0, 1.0);
        let x0 = plot.left() + i as f32 * slot + gap / 2.0;
        let bar = Rect::from_min_max(
            pos2(x0, plot.bottom() - f * plot.height()),
            pos2(x0 + slot - gap, plot.bottom()),
        );
        painter.rect_filled(
            Rect::from_min_max(pos2(bar.left(), plot.top()), bar.right_bottom()),
            2.0,
            TRACK.gamma_multiply(0.5),
        );
        if f > 0.0 {
            let t = i as f32 / (n - 1).max(1) as f32;
            let color = super::lerp_color(ACCENT, TEAL, t).gamma_multiply(alpha);
            painter.rect_filled(bar, 2.0, color);
        }
    }
    for k in [1usize, 8, 16, 24, 32] {
        if k <= n {
            let x = plot.left() + (k as f32 - 0.5) * slot;
            painter.text(
                pos2(x, rect.bottom() - axis_h / 2.0 + 1.0),
                Align2::CENTER_CENTER,
                format!("{k}"),
                FontId::proportional(10.5),
                DIM,
            );
        }
    }
}

/// A pitch trace: MIDI pitch over time (oldest left), `None` for unvoiced. The vertical range
/// follows the recent notes (at least an octave), with a faint line at every C.
pub fn pitch_trace(ui: &Ui, rect: Rect, points: &VecDeque<Option<f32>>) {
    let painter = ui.painter();
    painter.rect_filled(rect, 4.0, Color32::from_rgb(0x1a, 0x1c, 0x22));
    let voiced: Vec<f32> = points.iter().flatten().copied().collect();
    if voiced.is_empty() {
        painter.text(
            rect.center(),
            Align2::CENTER_CENTER,
            "pitch trace",
            FontId::proportional(11.5),
            TRACK,
        );
        return;
    }
    let lo = voiced.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = voiced.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mid = (lo + hi) / 2.0;
    let half = ((hi - lo) / 2.0 + 1.5).max(6.0);
    let (bottom, top) = (mid - half, mid + half);
    let y_of = |midi: f32| rect.bottom() - (midi - bottom) / (top - bottom) * rect.height();
    let mut c = (bottom / 12.0).ceil() * 12.0;
    while c < top {
        let y = y_of(c);
        painter.line_segment(
            [pos2(rect.left(), y), pos2(rect.right(), y)],
            Stroke::new(1.0, EDGE),
        );
        let octave = (c / 12.0) as i32 - 1;
        let (anchor, dy) = if y - rect.top() < 12.0 {
            (Align2::LEFT_TOP, 1.0)
        } else {
            (Align2::LEFT_BOTTOM, -1.0)
        };
        painter.text(
            pos2(rect.left() + 4.0, y + dy),
            anchor,
            format!("C{octave}"),
            FontId::proportional(10.0),
            DIM,
        );
        c += 12.0;
    }
    let n = crate::editor::TRACE_LEN.max(points.len());
    let x_of =
        |i: usize| rect.right() - (points.len() - 1 - i) as f32 / (n - 1) as f32 * rect.width();
    let mut run: Vec<Pos2> = Vec::new();
    let flush = |run: &mut Vec<Pos2>| {
        if run.len() > 1 {
            painter.line(std::mem::take(run), Stroke::new(2.0, ACCENT));
        }
        run.clear();
    };
    for (i, p) in points.iter().enumerate() {
        match p {
            Some(midi) => run.push(pos2(x_of(i), y_of(*midi))),
            None => flush(&mut run),
        }
    }
    flush(&mut run);
    if let Some(Some(last)) = points.back() {
        painter.circle_filled(pos2(rect.right(), y_of(*last)), 3.0, ACCENT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_colours_by_zone() {
        assert_eq!(level_color(-3.0), WARN);
        assert_eq!(level_color(0.0), BAD);
        assert_eq!(level_color(-30.0), GOOD);
    }
}
