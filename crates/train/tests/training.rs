//! End to end on synthetic tones: a few seeded training steps lower the loss, a run resumes
//! from its checkpoint, and the export is a valid model with statistics and provenance.

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use burn::tensor::Device;
use common::{synthetic_folder, TempDir};
use timbre_model::ModelFile;
use timbre_train::dataset::{self, BuildOptions, Split};
use timbre_train::export::{export, ExportOptions};
use timbre_train::model::DdspModel;
use timbre_train::rng::Rng;
use timbre_train::train::{self, load_model, load_state, SessionOptions, TrainConfig};

#[test]
fn a_few_steps_lower_the_loss_and_export() {
    let data = TempDir::new("tr-data");
    let cache = TempDir::new("tr-cache");
    let run = TempDir::new("tr-run");
    synthetic_folder(data.path());
    let ds = dataset::build(
        data.path(),
        cache.path(),
        &BuildOptions {
            val_fraction: 0.25,
            ..Default::default()
        },
    )
    .unwrap();
    let config = TrainConfig {
        batch: 4,
        example_seconds: 0.5,
        ir_seconds: 0.1,
        steps: 40,
        lr: 3e-3,
        val_every: 20,
        checkpoint_every: 20,
        seed: 1,
        ..TrainConfig::default()
    };
    // A fixed set of training windows to measure on, before and after.
    let frames = config.frames();
    let probe: Vec<(usize, usize)> = ds
        .clips
        .iter()
        .enumerate()
        .filter(|(_, c)| c.entry.split == Split::Train)
        .flat_map(|(i, c)| [(i, c.entry.start_frame), (i, c.entry.start_frame + 100)])
        .filter(|(i, s)| s + frames <= ds.clips[*i].entry.end_frame)
        .collect();
    assert!(probe.len() >= 4);
    let initial = DdspModel::init(
        &config.arch,
        config.ir_len(),
        &mut Rng::new(config.seed).fork(),
        &Device::flex(),
    );
    let before = train::validation_loss(&initial, &ds, &probe, &config).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let report = train::train(
        cache.path(),
        run.path(),
        config.clone(),
        &SessionOptions::default(),
        stop.clone(),
    )
    .unwrap();
    assert_eq!(report.state.step, 40);
    assert!(!report.interrupted);
    let trained = load_model(run.path(), &report.state, &Device::flex()).unwrap();
    let after = train::validation_loss(&trained, &ds, &probe, &config).unwrap();
    eprintln!(
        "loss before {before:.3}, after 40 steps {after:.3}; {:.3} s/step",
        report.mean_step_s
    );
    assert!(after < 0.85 * before, "loss {before} → {after}");
    assert_eq!(report.state.log.len(), 2);
    assert!(report.state.log.iter().all(|l| l.val_loss.is_some()));
    assert!(run.path().join("log.csv").exists());

    // Resume: five more steps continue the same run.
    let more = TrainConfig {
        steps: 45,
        ..config.clone()
    };
    let resumed = train::train(
        cache.path(),
        run.path(),
        more,
        &SessionOptions {
            resume: true,
            progress: false,
        },
        stop,
    )
    .unwrap();
    assert_eq!(resumed.state.step, 45);
    assert_eq!(resumed.session_steps, 5);
    assert_eq!(load_state(run.path()).unwrap().step, 45);

    // Export: a valid file with the dataset statistics and the provenance.
    let out = run.path().join("out/model.ttmodel");
    let options = ExportOptions {
        instrument: Some("test tones".into()),
        ..Default::default()
    };
    export(run.path(), &out, &options).unwrap();
    let file = ModelFile::load(&out).unwrap();
    let m = file.metadata();
    assert_eq!(m.dataset, ds.manifest.stats);
    assert_eq!(m.provenance.training_steps, 45);
    assert!(m.provenance.final_losses.contains_key("spectral_train"));
    assert!(m
        .provenance
        .final_losses
        .contains_key("spectral_validation"));
    assert!(m.provenance.wall_time_s > 0.0);
    assert_eq!(m.provenance.date.len(), 10);
    assert_eq!(file.reverb_ir().len(), 1600);
    let int8 = run.path().join("out/model-int8.ttmodel");
    export(
        run.path(),
        &int8,
        &ExportOptions {
            int8: true,
            ..options
        },
    )
    .unwrap();
    assert!(ModelFile::load(&int8).is_ok());

    // Fine-tuning from the exported file with the body in minimum phase: the new run starts
    // from the file's weights and exports a body that minimum phase leaves as it is.
    let tuned_run = TempDir::new("tr-tuned");
    let tuned = TrainConfig {
        steps: 3,
        init: Some(out.clone()),
        minimum_phase_body: true,
        ..config.clone()
    };
    let start = train::train(
        cache.path(),
        tuned_run.path(),
        TrainConfig {
            steps: 0,
            ..tuned.clone()
        },
        &SessionOptions::default(),
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let started = load_model(tuned_run.path(), &start.state, &Device::flex()).unwrap();
    let file_weights = file.weights().to_f32();
    let ours = started.to_weights();
    assert_eq!(
        ours.head.bias, file_weights.head.bias,
        "the run did not start from the file"
    );
    let report = train::train(
        cache.path(),
        tuned_run.path(),
        tuned.clone(),
        &SessionOptions {
            resume: true,
            progress: false,
        },
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    assert_eq!(report.state.step, 3);
    let tuned_out = tuned_run.path().join("tuned.ttmodel");
    export(tuned_run.path(), &tuned_out, &ExportOptions::default()).unwrap();
    let ir = ModelFile::load(&tuned_out).unwrap().reverb_ir().to_vec();
    let taps = timbre_train::synth::body_taps();
    let mut body = ir[..taps].to_vec();
    body[0] += 1.0;
    let again = timbre_dsp::offline::minimum_phase(&body, taps);
    let peak = body.iter().fold(0.0f32, |m, x| m.max(x.abs()));
    for n in 0..taps {
        assert!(
            (again[n] - body[n]).abs() < 2e-3 * peak,
            "tap {n}: {} vs {}",
            body[n],
            again[n]
        );
    }
    // Fine-tuning with the body held silent: the exported IR is the room alone (its first
    // 40 ms exactly 0, the rest still learned), which adds no delay.
    let silent_run = TempDir::new("tr-silent");
    let report = train::train(
        cache.path(),
        silent_run.path(),
        TrainConfig {
            minimum_phase_body: false,
            silent_body: true,
            ..tuned.clone()
        },
        &SessionOptions::default(),
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    assert_eq!(report.state.step, 3);
    let silent_out = silent_run.path().join("silent.ttmodel");
    export(silent_run.path(), &silent_out, &ExportOptions::default()).unwrap();
    let silent = ModelFile::load(&silent_out).unwrap();
    let ir = silent.reverb_ir();
    assert!(
        ir[..taps].iter().all(|&x| x == 0.0),
        "the body is not silent"
    );
    assert!(
        ir[taps..].iter().any(|&x| x != 0.0),
        "the room is silent too"
    );
    assert!(silent.metadata().provenance.notes.contains("held silent"));
    // A file of another shape cannot start a run.
    let wrong = TrainConfig {
        ir_seconds: 0.2,
        ..tuned
    };
    let err = train::train(
        cache.path(),
        TempDir::new("tr-wrong").path(),
        wrong,
        &SessionOptions::default(),
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap_err();
    assert!(err.to_string().contains("cannot start this run"), "{err}");
}
