//! Model loading off the audio thread, and the lock-free handoff to it.
//!
//! [`ModelLoader`] is shared (in an `Arc`) by the plugin's `activate`, the background task and
//! the editor. It owns the engine's [`VoiceFactory`] and the status the editor shows. The audio
//! thread never touches it: new voices reach the engine through the sender's wait-free ring,
//! and retired voices come back to be freed here. Everything in this module may allocate, lock
//! and read files.

use parking_lot::Mutex;
use timbre_catalog::ModelError;
use timbre_engine::{Engine, EngineError, Mode, VoiceFactory};

use crate::models::{self, DEFAULT_MODEL};

/// Why a model could not be switched to, or an engine not prepared.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The model file could not be found, read or parsed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The engine refused the host configuration or cannot play the model.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The swap ring is full: the audio thread has not run through several swaps.
    #[error(
        "Could not switch to \"{0}\": too many model changes while the audio is stopped. \
         Start playback and try again."
    )]
    Busy(String),
}

/// The engine's two model slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The model that plays (model A).
    Model,
    /// The morph's model B, blended in by the Morph knob.
    Morph,
}

/// What the editor shows about the model.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadStatus {
    /// Display name of the model playing (empty before the first activation).
    pub playing: String,
    /// The name or path of the model playing.
    pub playing_spec: String,
    /// The last load's error, for the musician (the previous model keeps playing).
    pub error: Option<String>,
    /// A load is under way.
    pub loading: bool,
}

/// Loads models for one plugin instance (see the module docs).
#[derive(Default)]
pub struct ModelLoader {
    /// The current engine's voice factory, `None` before the first activation. A new
    /// activation replaces it, so a voice can only reach the engine it was built for.
    factory: Mutex<Option<VoiceFactory>>,
    /// What the editor shows, for the model and for the morph's model B.
    status: Mutex<LoadStatus>,
    morph_status: Mutex<LoadStatus>,
}

impl ModelLoader {
    /// Builds an engine for `host_rate` and `max_block` playing `spec` (falling back to the
    /// default model, with an error for the editor, when `spec` cannot be loaded), with
    /// `morph_spec` as the morph's model B (none when empty; one that cannot be loaded leaves
    /// the slot empty, with an error for the editor). Called from `activate`: allocates and
    /// may read files. Fails only when the host configuration is refused (sample rate out of
    /// range).
    pub fn prepare(
        &self,
        spec: &str,
        morph_spec: &str,
        host_rate: f64,
        max_block: usize,
        mode: Mode,
    ) -> Result<Engine, LoadError> {
        let selected = models::load(spec)
            .map_err(LoadError::from)
            .and_then(|loaded| {
                let prepared = Engine::prepare(&loaded.model, host_rate, max_block)?;
                Ok((prepared, loaded.name))
            });
        let ((mut engine, factory), name, spec, error) = match selected {
            Ok((prepared, name)) => (prepared, name, spec.to_string(), None),
            // The host configuration is refused: no model would play.
            Err(LoadError::Engine(e)) if !matches!(e, EngineError::UnsupportedModel(_)) => {
                return Err(e.into());
            }
            Err(e) => {
                let fallback = models::load(DEFAULT_MODEL)?;
                let prepared = Engine::prepare(&fallback.model, host_rate, max_block)?;
                let message = format!("{e}. Playing \"{}\" instead.", fallback.name);
                (
                    prepared,
                    fallback.name,
                    DEFAULT_MODEL.to_string(),
                    Some(message),
                )
            }
        };
        engine.set_mode(mode);
        *self.factory.lock() = Some(factory);
        {
            let mut status = self.status.lock();
            status.playing = name;
            status.playing_spec = spec;
            status.error = error;
        }
        // The engine rests until its first input, so model B arrives without a fade.
        *self.morph_status.lock() = LoadStatus::default();
        self.load(Slot::Morph, morph_spec);
        Ok(engine)
    }

    /// Loads `spec` into `slot`, builds its voice for the current engine and sends it to the
    /// audio thread, which crossfades to it. On failure the error goes to that slot's status
    /// and the slot's current model keeps playing (an empty morph selection loads nothing).
    /// Runs on the background task (allocates, reads files; never sleeps, so the task ends
    /// quickly and never outlives its plugin instance for long). The voice it replaces comes
    /// back from the audio thread a crossfade later and is freed by the next load, the
    /// editor ([`ModelLoader::collect_garbage`]) or the next activation. Returns whether it
    /// worked.
    pub fn load(&self, slot: Slot, spec: &str) -> bool {
        if slot == Slot::Morph && spec.is_empty() {
            return true;
        }
        let status = self.status_of(slot);
        status.lock().loading = true;
        let result = self.load_inner(slot, spec);
        let mut status = status.lock();
        status.loading = false;
        match result {
            Ok(Some(name)) => {
                status.playing = name;
                status.playing_spec = spec.to_string();
                status.error = None;
                true
            }
            // Not active yet: `prepare` loads the selection at activation.
            Ok(None) => {
                status.error = None;
                true
            }
            Err(e) => {
                status.error = Some(match slot {
                    Slot::Model => e.to_string(),
                    Slot::Morph => format!("Morph: {e}"),
                });
                false
            }
        }
    }

    /// The status behind `slot`.
    fn status_of(&self, slot: Slot) -> &Mutex<LoadStatus> {
        match slot {
            Slot::Model => &self.status,
            Slot::Morph => &self.morph_status,
        }
    }

    /// [`ModelLoader::load`] without the status bookkeeping: the new model's name, or `None`
    /// when there is no engine to send it to. The voice is built while the factory is held, so
    /// an activation meanwhile waits for it and then replaces the factory: a voice never
    /// reaches an engine it was not built for.
    fn load_inner(&self, slot: Slot, spec: &str) -> Result<Option<String>, LoadError> {
        let loaded = models::load(spec)?;
        let mut factory = self.factory.lock();
        let Some(factory) = factory.as_mut() else {
            return Ok(None);
        };
        factory.collect_garbage();
        let voice = factory.build(&loaded.model)?;
        // The ring only fills up when the audio thread has not run through several swaps.
        let sent = match slot {
            Slot::Model => factory.send(voice),
            Slot::Morph => factory.send_morph(voice),
        };
        sent.map_err(|_| LoadError::Busy(loaded.name.clone()))?;
        Ok(Some(loaded.name))
    }

    /// Frees voices the audio thread has retired. Never blocks (skips when another thread
    /// holds the lock); the editor calls it every frame.
    pub fn collect_garbage(&self) {
        if let Some(mut factory) = self.factory.try_lock() {
            if let Some(factory) = factory.as_mut() {
                factory.collect_garbage();
            }
        }
    }

    /// What the editor shows about the model.
    pub fn status(&self) -> LoadStatus {
        self.slot_status(Slot::Model)
    }

    /// What the editor shows about the morph's model B.
    pub fn morph_status(&self) -> LoadStatus {
        self.slot_status(Slot::Morph)
    }

    /// What the editor shows about `slot`.
    pub fn slot_status(&self, slot: Slot) -> LoadStatus {
        self.status_of(slot).lock().clone()
    }

    /// Shows `message` as the current error (e.g. a path the musician typed does not exist),
    /// clearing the morph's.
    pub fn set_error(&self, message: Option<String>) {
        self.status.lock().error = message;
        self.morph_status.lock().error = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_file_keeps_the_current_model_and_reports_an_error() {
        let loader = ModelLoader::default();
        let mut engine = loader
            .prepare(DEFAULT_MODEL, "", 48_000.0, 256, Mode::Audio)
            .unwrap();
        let before = loader.status();
        assert!(before.error.is_none());
        assert_eq!(before.playing_spec, DEFAULT_MODEL);
        let bad = std::env::temp_dir().join(format!("tt-bad-{}.ttmodel", std::process::id()));
        std::fs::write(&bad, b"{}not a model").unwrap();
        assert!(!loader.load(Slot::Model, bad.to_str().unwrap()));
        let after = loader.status();
        assert_eq!(after.playing, before.playing);
        assert!(
            after.error.as_deref().unwrap().contains("tt-bad"),
            "{after:?}"
        );
        std::fs::remove_file(&bad).unwrap();
        // The engine keeps running.
        let (mut l, mut r) = (vec![0.0; 256], vec![0.0; 256]);
        engine.process(&[&[0.1; 256]], &mut l, &mut r);
        assert!(l.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn a_bad_model_b_leaves_the_model_playing_and_says_so() {
        let loader = ModelLoader::default();
        let mut engine = loader
            .prepare(DEFAULT_MODEL, "/gone/b.ttmodel", 48_000.0, 256, Mode::Audio)
            .unwrap();
        let error = loader.morph_status().error.unwrap();
        assert!(
            error.starts_with("Morph") && error.contains("b.ttmodel"),
            "{error}"
        );
        assert!(loader.status().error.is_none());
        assert!(!loader.load(Slot::Morph, "/gone/c.ttmodel"));
        let (mut l, mut r) = (vec![0.0; 256], vec![0.0; 256]);
        engine.process(&[&[0.1; 256]], &mut l, &mut r);
        assert!(engine.morph_voice().is_none());
        assert_eq!(loader.status().playing_spec, DEFAULT_MODEL);
        // A good one arrives.
        assert!(loader.load(Slot::Morph, "trumpet"));
        engine.process(&[&[0.1; 256]], &mut l, &mut r);
        assert!(engine.morph_voice().is_some());
        assert!(loader.morph_status().error.is_none());
    }

    #[test]
    fn a_missing_file_at_activation_falls_back_to_the_default() {
        let loader = ModelLoader::default();
        let engine = loader.prepare("/gone/violin.ttmodel", "", 44_100.0, 512, Mode::Audio);
        assert!(engine.is_ok());
        let status = loader.status();
        assert_eq!(status.playing_spec, DEFAULT_MODEL);
        let error = status.error.unwrap();
        assert!(
            error.contains("violin.ttmodel") && error.contains("instead"),
            "{error}"
        );
    }

    #[test]
    fn a_refused_sample_rate_fails_activation() {
        let loader = ModelLoader::default();
        assert!(loader
            .prepare(DEFAULT_MODEL, "", 500.0, 512, Mode::Audio)
            .is_err());
    }

    #[test]
    fn a_good_model_is_swapped_in() {
        use std::time::Duration;
        let loader = ModelLoader::default();
        let mut engine = loader
            .prepare(DEFAULT_MODEL, "", 48_000.0, 128, Mode::Audio)
            .unwrap();
        let path = std::env::temp_dir().join(format!("tt-good-{}.ttmodel", std::process::id()));
        let (mut meta, weights) =
            timbre_model::random_model(&timbre_model::Architecture::default(), 7).into_parts();
        meta.name = "Seven".into();
        timbre_model::ModelFile::new(meta, weights)
            .unwrap()
            .save(&path)
            .unwrap();
        std::thread::scope(|s| {
            let audio = s.spawn(|| {
                let (mut l, mut r) = (vec![0.0; 128], vec![0.0; 128]);
                for _ in 0..2000 {
                    engine.process(&[&[0.1; 128]], &mut l, &mut r);
                    if engine.model_name() == "Seven" {
                        return true;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                false
            });
            assert!(loader.load(Slot::Model, path.to_str().unwrap()));
            assert!(audio.join().unwrap(), "the engine never switched");
        });
        let status = loader.status();
        assert_eq!(status.playing, "Seven");
        assert!(status.error.is_none());
        std::fs::remove_file(&path).unwrap();
    }
}
