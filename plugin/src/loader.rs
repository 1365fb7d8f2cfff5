//! Model loading off the audio thread, and the lock-free handoff to it.
//!
//! [`ModelLoader`] is shared (in an `Arc`) by the plugin's `activate`, the background task and
//! the editor. It owns the engine's [`VoiceSender`] and the status the editor shows. The audio
//! thread never touches it: new voices reach the engine through the sender's wait-free ring,
//! and retired voices come back to be freed here. Everything in this module may allocate, lock
//! and read files.

use parking_lot::Mutex;
use timbre_engine::{Engine, Mode, VoiceSender};

use crate::models::{self, DEFAULT_MODEL};

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

/// The engine side the background task needs: the sender and the configuration voices are
/// built for.
struct Link {
    /// Sends voices to the engine and gets retired ones back.
    sender: VoiceSender,
    /// Host sample rate of the engine, in Hz.
    host_rate: f64,
    /// The engine's maximum block size.
    max_block: usize,
    /// Bumped at every activation: a voice built for an older engine is dropped, not sent.
    generation: u64,
}

/// Loads models for one plugin instance (see the module docs).
#[derive(Default)]
pub struct ModelLoader {
    /// The current engine's sender, `None` before the first activation.
    link: Mutex<Option<Link>>,
    /// What the editor shows.
    status: Mutex<LoadStatus>,
}

impl ModelLoader {
    /// Builds an engine for `host_rate` and `max_block` playing `spec` (falling back to the
    /// default model, with an error for the editor, when `spec` cannot be loaded). Called from
    /// `activate`: allocates and may read a file. Fails only when the host configuration is
    /// refused (sample rate out of range).
    pub fn prepare(
        &self,
        spec: &str,
        host_rate: f64,
        max_block: usize,
        mode: Mode,
    ) -> Result<Engine, String> {
        let (loaded, spec, error) = match models::load(spec) {
            Ok(loaded) => (loaded, spec.to_string(), None),
            Err(e) => {
                let fallback = models::load(DEFAULT_MODEL)?;
                let message = format!("{e}. Playing \"{}\" instead.", fallback.name);
                (fallback, DEFAULT_MODEL.to_string(), Some(message))
            }
        };
        let (mut engine, sender) =
            Engine::prepare(&loaded.model, host_rate, max_block).map_err(|e| e.to_string())?;
        engine.set_mode(mode);
        {
            let mut link = self.link.lock();
            let generation = link.as_ref().map_or(0, |l| l.generation + 1);
            *link = Some(Link {
                sender,
                host_rate,
                max_block,
                generation,
            });
        }
        let mut status = self.status.lock();
        status.playing = loaded.name;
        status.playing_spec = spec;
        status.error = error;
        Ok(engine)
    }

    /// Loads `spec`, builds its voice for the current engine and sends it to the audio thread,
    /// which crossfades to it. On failure the error goes to the status and the current model
    /// keeps playing. Runs on the background task (allocates, reads files; never sleeps, so the
    /// task ends quickly and never outlives its plugin instance for long). The voice it
    /// replaces comes back from the audio thread a crossfade later and is freed by the next
    /// load, the editor ([`ModelLoader::collect_garbage`]) or the next activation. Returns
    /// whether it worked.
    pub fn load(&self, spec: &str) -> bool {
        self.status.lock().loading = true;
        let result = self.load_inner(spec);
        let mut status = self.status.lock();
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
                status.error = Some(e);
                false
            }
        }
    }

    /// [`ModelLoader::load`] without the status bookkeeping: the new model's name, or `None`
    /// when there is no engine to send it to.
    fn load_inner(&self, spec: &str) -> Result<Option<String>, String> {
        let loaded = models::load(spec)?;
        let Some((host_rate, max_block, generation)) = self.link.lock().as_mut().map(|l| {
            l.sender.collect_garbage();
            (l.host_rate, l.max_block, l.generation)
        }) else {
            return Ok(None);
        };
        let voice = Engine::voice_for(&loaded.model, host_rate, max_block)
            .map_err(|e| format!("{}: {e}", loaded.name))?;
        let mut link = self.link.lock();
        let Some(l) = link.as_mut().filter(|l| l.generation == generation) else {
            // Re-activated meanwhile: `prepare` loaded the selection itself.
            return Ok(Some(loaded.name));
        };
        l.sender.collect_garbage();
        // The ring only fills up when the audio thread has not run through several swaps.
        l.sender.send(voice).map_err(|_| {
            format!(
                "Could not switch to \"{}\": too many model changes while the audio is stopped. \
                 Start playback and try again.",
                loaded.name
            )
        })?;
        Ok(Some(loaded.name))
    }

    /// Frees voices the audio thread has retired. Never blocks (skips when another thread
    /// holds the lock); the editor calls it every frame.
    pub fn collect_garbage(&self) {
        if let Some(mut link) = self.link.try_lock() {
            if let Some(l) = link.as_mut() {
                l.sender.collect_garbage();
            }
        }
    }

    /// What the editor shows.
    pub fn status(&self) -> LoadStatus {
        self.status.lock().clone()
    }

    /// Shows `message` as the current error (e.g. a path the musician typed does not exist).
    pub fn set_error(&self, message: Option<String>) {
        self.status.lock().error = message;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_file_keeps_the_current_model_and_reports_an_error() {
        let loader = ModelLoader::default();
        let mut engine = loader
            .prepare(DEFAULT_MODEL, 48_000.0, 256, Mode::Audio)
            .unwrap();
        let before = loader.status();
        assert!(before.error.is_none());
        assert_eq!(before.playing_spec, DEFAULT_MODEL);
        let bad = std::env::temp_dir().join(format!("tt-bad-{}.ttmodel", std::process::id()));
        std::fs::write(&bad, b"{}not a model").unwrap();
        assert!(!loader.load(bad.to_str().unwrap()));
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
    fn a_missing_file_at_activation_falls_back_to_the_default() {
        let loader = ModelLoader::default();
        let engine = loader.prepare("/gone/violin.ttmodel", 44_100.0, 512, Mode::Audio);
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
            .prepare(DEFAULT_MODEL, 500.0, 512, Mode::Audio)
            .is_err());
    }

    #[test]
    fn a_good_model_is_swapped_in() {
        use std::time::Duration;
        let loader = ModelLoader::default();
        let mut engine = loader
            .prepare(DEFAULT_MODEL, 48_000.0, 128, Mode::Audio)
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
            assert!(loader.load(path.to_str().unwrap()));
            assert!(audio.join().unwrap(), "the engine never switched");
        });
        let status = loader.status();
        assert_eq!(status.playing, "Seven");
        assert!(status.error.is_none());
        std::fs::remove_file(&path).unwrap();
    }
}
