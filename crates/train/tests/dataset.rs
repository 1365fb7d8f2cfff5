//! The dataset: synthetic tones through the plugin's analysis, splits, statistics, the cache,
//! and unreadable files named one by one.

mod common;

use common::{synthetic_folder, tone, write_wav, TempDir};
use timbre_model::features::hz_to_midi;
use timbre_train::dataset::{self, BuildOptions, Split};

#[test]
fn synthetic_tones_build_a_dataset() {
    let data = TempDir::new("ds-data");
    let cache = TempDir::new("ds-cache");
    synthetic_folder(data.path());
    let options = BuildOptions {
        val_fraction: 0.25,
        ..BuildOptions::default()
    };
    let ds = dataset::build(data.path(), cache.path(), &options).unwrap();
    assert_eq!(ds.clips.len(), 4);
    assert_eq!(ds.manifest.ignored, vec!["README.md".to_string()]);
    assert_eq!(ds.split(Split::Validation).count(), 1);
    assert!(ds.clips.iter().any(|c| c.entry.name == "sub/a4.wav"));
    for clip in &ds.clips {
        // Trimmed to the tone ±0.1 s: about 1.4 s of frames, not the whole 1.4 s file plus
        // silence; and mostly voiced.
        let usable = clip.entry.end_frame - clip.entry.start_frame;
        assert!(
            (250..=360).contains(&usable),
            "{}: {usable} usable frames",
            clip.entry.name
        );
        assert!(
            clip.entry.voiced_frames > 200,
            "{}: {} voiced",
            clip.entry.name,
            clip.entry.voiced_frames
        );
        assert_eq!(clip.audio.len(), clip.entry.n_samples);
        // The mid-clip f0 is the tone's.
        let mid = (clip.entry.start_frame + clip.entry.end_frame) / 2;
        let want = match clip.entry.name.as_str() {
            "g3.wav" => 196.0,
            "c4.wav" => 261.6,
            "e4.wav" => 329.6,
            _ => 440.0,
        };
        assert!(
            (clip.f0_hz[mid] / want - 1.0).abs() < 0.01,
            "{}: f0 {}",
            clip.entry.name,
            clip.f0_hz[mid]
        );
    }
    // Statistics come from the three training tones.
    let train_midi: Vec<f32> = ds
        .split(Split::Train)
        .map(|c| hz_to_midi(c.f0_hz[(c.entry.start_frame + c.entry.end_frame) / 2]))
        .collect();
    let s = &ds.manifest.stats;
    let lo = train_midi.iter().cloned().fold(f32::MAX, f32::min);
    let hi = train_midi.iter().cloned().fold(f32::MIN, f32::max);
    assert!(
        s.pitch_mean_midi > lo - 0.5 && s.pitch_mean_midi < hi + 0.5,
        "{s:?}"
    );
    assert!(
        s.pitch_min_midi >= lo - 1.0 && s.pitch_max_midi <= hi + 1.0,
        "{s:?}"
    );
    assert_eq!(s.loudness_quantiles_db.len(), 11);
    assert!(s.loudness_quantiles_db.windows(2).all(|w| w[0] <= w[1]));

    // The cache is reused (clip files untouched) and reloads identically.
    let stamp = |ds: &dataset::Dataset| {
        ds.manifest
            .clips
            .iter()
            .map(|c| {
                std::fs::metadata(cache.path().join("clips").join(&c.cache_file))
                    .unwrap()
                    .modified()
                    .unwrap()
            })
            .collect::<Vec<_>>()
    };
    let before = stamp(&ds);
    let again = dataset::build(data.path(), cache.path(), &options).unwrap();
    assert_eq!(stamp(&again), before);
    let loaded = dataset::load(cache.path()).unwrap();
    assert_eq!(loaded.manifest.clips, ds.manifest.clips);
    assert_eq!(loaded.clips[0].audio, ds.clips[0].audio);
    // A batch has the right shapes, and validation windows come from the validation file.
    let mut rng = timbre_train::rng::Rng::new(0);
    let b = loaded.random_batch(&mut rng, 3, 100).unwrap();
    assert_eq!((b.f0_in.len(), b.audio.len()), (300, 300 * 64));
    let val = loaded.validation_examples(100);
    assert!(!val.is_empty());
    assert!(val
        .iter()
        .all(|(i, _)| loaded.clips[*i].entry.split == Split::Validation));
}

#[test]
fn the_split_is_reproducible_and_seeded() {
    let names: Vec<String> = (0..20).map(|i| format!("note{i}.wav")).collect();
    let a = dataset::assign_splits(&names, 7, 0.15);
    assert_eq!(a, dataset::assign_splits(&names, 7, 0.15));
    assert_eq!(a.iter().filter(|s| **s == Split::Validation).count(), 3);
    assert_ne!(a, dataset::assign_splits(&names, 8, 0.15));
    // Two files: one of each; one file: trained on.
    let two = dataset::assign_splits(&names[..2], 0, 0.15);
    assert!(two.contains(&Split::Train) && two.contains(&Split::Validation));
    assert_eq!(
        dataset::assign_splits(&names[..1], 0, 0.5),
        vec![Split::Train]
    );
}

#[test]
fn each_folder_is_split_on_its_own_and_a_new_folder_changes_no_other() {
    let root: Vec<String> = (0..11).map(|i| format!("note{i}.wav")).collect();
    let before = dataset::assign_splits(&root, 0, 0.15);
    let mut all = root.clone();
    all.extend((0..24).map(|i| format!("phrases/p{i:02}.wav")));
    let after = dataset::assign_splits(&all, 0, 0.15);
    assert_eq!(
        &after[..11],
        &before[..],
        "the recordings' split is unchanged"
    );
    let held = |s: &[Split]| s.iter().filter(|s| **s == Split::Validation).count();
    assert_eq!(held(&after[..11]), 2);
    assert_eq!(held(&after[11..]), 4, "round(24 · 0.15) phrases held out");
}

#[test]
fn unreadable_files_are_each_named() {
    let data = TempDir::new("bad-data");
    let cache = TempDir::new("bad-cache");
    write_wav(
        &data.path().join("good.wav"),
        &tone(220.0, 0.6, 16_000),
        16_000,
    );
    std::fs::write(
        data.path().join("garbage.wav"),
        b"RIFF\x10\x00\x00\x00not really a wave file at all",
    )
    .unwrap();
    std::fs::write(data.path().join("empty.flac"), b"").unwrap();
    std::fs::write(
        data.path().join("text.mp3"),
        "hello, this is text, not MPEG audio".repeat(20),
    )
    .unwrap();
    std::fs::write(data.path().join("notes.txt"), "not audio by extension").unwrap();
    let err = dataset::build(data.path(), cache.path(), &BuildOptions::default())
        .unwrap_err()
        .to_string();
    for name in ["garbage.wav", "empty.flac", "text.mp3"] {
        assert!(err.contains(name), "{name} missing from: {err}");
    }
    assert!(
        err.starts_with("3 audio file(s) could not be read"),
        "{err}"
    );
    assert!(!err.contains("good.wav"), "{err}");
    // With --skip-unreadable the good file is used and every skipped one is listed.
    let options = BuildOptions {
        skip_unreadable: true,
        ..BuildOptions::default()
    };
    let ds = dataset::build(data.path(), cache.path(), &options).unwrap();
    assert_eq!(ds.clips.len(), 1);
    assert_eq!(ds.manifest.skipped.len(), 3);
    assert_eq!(ds.manifest.ignored, vec!["notes.txt".to_string()]);
    let summary = ds.summary();
    for name in ["garbage.wav", "empty.flac", "text.mp3", "notes.txt"] {
        assert!(summary.contains(name), "{name} missing from: {summary}");
    }
    // A folder with no audio at all.
    let empty = TempDir::new("no-audio");
    let err = dataset::build(empty.path(), cache.path(), &BuildOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no audio files"), "{err}");
}
