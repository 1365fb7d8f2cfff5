//! Export: a run's checkpoint → a `.ttmodel` file (`timbre_model::ModelFile`), f32 or int8,
//! with the dataset statistics for auto-adjust and the provenance (sources and licenses,
//! steps, final losses, date, wall time).
//!
//! The weights copy across unchanged (burn's conv layout is the file's); the reverb IR is the
//! learned one with sample 0 set to 0, at 16 kHz. The convention (see [`crate::synth`]):
//! training heard `dry + dry ∗ ir`, which the engine plays at reverb 50% (6 dB quieter).

use std::collections::BTreeMap;
use std::path::Path;

use burn::tensor::Device;
use timbre_model::metadata::{FeatureScaling, Provenance, WeightPrecision};
use timbre_model::{ModelFile, ModelMetadata, FORMAT_VERSION};

use crate::dataset::{self, HOP, SAMPLE_RATE};
use crate::train::{load_model, load_state};
use crate::TrainError;

/// What to call the exported model.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Display name (default: the instrument, capitalized).
    pub name: Option<String>,
    /// The instrument (default: the run folder's name).
    pub instrument: Option<String>,
    /// Quantize the layer weights to int8.
    pub int8: bool,
    /// Free-form notes for the provenance.
    pub notes: String,
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    civil_date(secs.div_euclid(86_400))
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (Howard Hinnant's algorithm).
pub fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Builds the model file of the run in `run` (its checkpoint and dataset cache).
pub fn build_model_file(run: &Path, options: &ExportOptions) -> Result<ModelFile, TrainError> {
    let state = load_state(run)?;
    let ds = dataset::load(&state.dataset)?;
    let model = load_model(run, &state, &Device::flex())?;
    let instrument = options.instrument.clone().unwrap_or_else(|| {
        run.file_name().map_or("instrument".to_string(), |n| {
            n.to_string_lossy().into_owned()
        })
    });
    let name = options.name.clone().unwrap_or_else(|| {
        let mut c = instrument.chars();
        c.next().map_or(String::new(), |f| {
            f.to_uppercase().collect::<String>() + c.as_str()
        })
    });
    let mut final_losses = BTreeMap::new();
    if let Some(v) = state.last_train_loss() {
        final_losses.insert("spectral_train".to_string(), v);
    }
    if let Some(v) = state.last_val_loss() {
        final_losses.insert("spectral_validation".to_string(), v);
    }
    let held: Vec<&str> = ds
        .split(dataset::Split::Validation)
        .map(|c| c.entry.name.as_str())
        .collect();
    let c = &state.config;
    let mut notes = format!(
        "trained with timbre-train (burn {}, Flex CPU backend): batch {} x {} s, lr {} (x{} every {} steps), \
         grad clip {}, seed {}; multi-scale spectral loss (FFT 2048..64, 75% overlap). Held out: {}. \
         Reverb: trained as dry + dry*ir, which the engine plays at reverb 50%.",
        "0.22.1",
        c.batch,
        c.example_seconds,
        c.lr,
        c.lr_decay,
        c.lr_decay_steps,
        c.grad_clip,
        c.seed,
        if held.is_empty() { "nothing".to_string() } else { held.join(", ") },
    );
    if let Some(init) = &c.init {
        let from = ModelFile::load(init).ok().map_or(String::new(), |f| {
            let p = &f.metadata().provenance;
            format!(" ({} steps, {:.0} s)", p.training_steps, p.wall_time_s)
        });
        notes.push_str(&format!(
            " Fine-tuned from {}{from}; the steps and time above are the fine-tuning's.",
            init.file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned())
        ));
    }
    if c.minimum_phase_body {
        notes.push_str(" The IR's body (first 40 ms) is trained and stored in minimum phase.");
    }
    if c.silent_body {
        notes.push_str(" The IR's body (first 40 ms) is held silent: the IR is the room only.");
    }
    if !options.notes.is_empty() {
        notes.push(' ');
        notes.push_str(&options.notes);
    }
    let metadata = ModelMetadata {
        format_version: FORMAT_VERSION,
        name,
        instrument,
        architecture: c.arch.clone(),
        sample_rate_hz: SAMPLE_RATE,
        frame_rate_hz: SAMPLE_RATE / HOP as u32,
        features: FeatureScaling::default(),
        dataset: ds.manifest.stats.clone(),
        reverb_sample_rate_hz: SAMPLE_RATE,
        weight_precision: WeightPrecision::F32,
        recommended_settings: Default::default(),
        provenance: Provenance {
            sources: ds.manifest.sources.clone(),
            training_steps: state.step,
            final_losses,
            date: today(),
            wall_time_s: state.wall_time_s,
            notes,
        },
    };
    let file = ModelFile::new(metadata, model.to_weights()).map_err(TrainError::InvalidExport)?;
    Ok(if options.int8 {
        file.quantize_int8()
    } else {
        file
    })
}

/// Exports the run in `run` to `out`.
pub fn export(run: &Path, out: &Path, options: &ExportOptions) -> Result<ModelFile, TrainError> {
    let file = build_model_file(run, options)?;
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| TrainError::Io {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    file.save(out).map_err(|source| TrainError::SaveModel {
        path: out.to_path_buf(),
        source,
    })?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::civil_date;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        // 2000-03-01 is day 11,017; 2024-02-29 is day 19,782.
        assert_eq!(civil_date(11_017), "2000-03-01");
        assert_eq!(civil_date(19_782), "2024-02-29");
    }
}
