//! The model file: bit-exact round trips, the safetensors layout other tools read, and a typed
//! error that names the file for every malformed input (and no panic for any).

mod common;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use common::TestRng;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;
use timbre_model::body::BODY_BINS;
use timbre_model::file::{MAX_FILE_BYTES, MAX_HEADER_BYTES};
use timbre_model::metadata::METADATA_KEY;
use timbre_model::{random_model, Architecture, LoadError, ModelFile, NormType, FORMAT_VERSION};

/// The name every error must mention.
const NAME: &str = "models/test-violin.safetensors";

/// A raw tensor: name, dtype, shape, little-endian bytes.
type Raw = (String, Dtype, Vec<usize>, Vec<u8>);

fn valid_bytes() -> Vec<u8> {
    random_model(&Architecture::default(), 7)
        .to_bytes()
        .unwrap()
}

fn valid_int8_bytes() -> Vec<u8> {
    random_model(&Architecture::default(), 7)
        .quantize_int8()
        .to_bytes()
        .unwrap()
}

/// The tensors and the metadata map of a valid file, for building broken ones.
fn split(bytes: &[u8]) -> (Vec<Raw>, HashMap<String, String>) {
    let st = SafeTensors::deserialize(bytes).unwrap();
    let mut raws: Vec<Raw> = st
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            (
                name,
                view.dtype(),
                view.shape().to_vec(),
                view.data().to_vec(),
            )
        })
        .collect();
    raws.sort_by(|a, b| a.0.cmp(&b.0));
    let (_, meta) = SafeTensors::read_metadata(bytes).unwrap();
    (raws, meta.metadata().clone().unwrap())
}

/// Serializes tensors and metadata with the `safetensors` crate.
fn join(raws: &[Raw], metadata: Option<HashMap<String, String>>) -> Vec<u8> {
    let views: Vec<(String, TensorView)> = raws
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, metadata).unwrap()
}

/// A valid file with its tensors edited by `f`.
fn with_tensors(bytes: &[u8], f: impl FnOnce(&mut Vec<Raw>)) -> Vec<u8> {
    let (mut raws, meta) = split(bytes);
    f(&mut raws);
    join(&raws, Some(meta))
}

/// A valid file with its metadata JSON edited by `f`.
fn with_metadata(bytes: &[u8], f: impl FnOnce(&mut Value)) -> Vec<u8> {
    let (raws, mut meta) = split(bytes);
    let mut doc: Value = serde_json::from_str(&meta[METADATA_KEY]).unwrap();
    f(&mut doc);
    meta.insert(METADATA_KEY.to_string(), doc.to_string());
    join(&raws, Some(meta))
}

/// The f32 values of tensor `name` replaced by `f` applied to them.
fn edit_f32(raws: &mut [Raw], name: &str, f: impl FnOnce(&mut Vec<f32>)) {
    let raw = raws
        .iter_mut()
        .find(|r| r.0 == name)
        .unwrap_or_else(|| panic!("no {name}"));
    let mut values: Vec<f32> = raw
        .3
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    f(&mut values);
    raw.3 = values.iter().flat_map(|v| v.to_le_bytes()).collect();
}

/// Parses `bytes`, insisting that it fails, does not panic, and names the file.
fn load_err(bytes: &[u8]) -> LoadError {
    let result = catch_unwind(AssertUnwindSafe(|| ModelFile::from_bytes(bytes, NAME)))
        .expect("loader panicked");
    let err = result.expect_err("malformed file loaded");
    let message = err.to_string();
    assert!(
        message.starts_with(NAME),
        "message does not name the file: {message}"
    );
    err
}

/// Asserts an error variant (by pattern) and prints the message, so the test log shows what
/// a user would read.
macro_rules! assert_variant {
    ($err:expr, $pat:pat) => {{
        let err = $err;
        println!("{err}");
        assert!(matches!(err, $pat), "unexpected error: {err:?}");
    }};
}

#[test]
fn round_trip_is_bit_exact() {
    for channels in [8, 16] {
        for norm in [NormType::None, NormType::LayerChannels] {
            let model = random_model(
                &Architecture {
                    channels,
                    norm,
                    ..Architecture::default()
                },
                3,
            );
            for m in [model.clone(), model.quantize_int8()] {
                let bytes = m.to_bytes().unwrap();
                let back = ModelFile::from_bytes(&bytes, NAME).unwrap();
                assert_eq!(back, m);
                // Same bytes again: every weight bit and the metadata survived.
                assert_eq!(back.to_bytes().unwrap(), bytes);
            }
        }
    }
}

#[test]
fn save_and_load_through_a_file() {
    let model = random_model(&Architecture::default(), 5).quantize_int8();
    let path = std::env::temp_dir().join(format!(
        "tiny-timbre-model-test-{}.safetensors",
        std::process::id()
    ));
    model.save(&path).unwrap();
    let back = ModelFile::load(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(back.unwrap(), model);
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err = ModelFile::load("/nonexistent/dir/model.safetensors").unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }));
    assert!(
        err.to_string()
            .contains("/nonexistent/dir/model.safetensors"),
        "{err}"
    );
}

#[test]
fn header_layout_is_what_safetensors_readers_expect() {
    // The format other readers (Python's `safetensors`) parse: an 8-byte little-endian header
    // length, a JSON object header padded with spaces to a multiple of 8, then the data, with
    // each tensor's data_offsets tiling it exactly.
    for bytes in [valid_bytes(), valid_int8_bytes()] {
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        let header = header.as_object().unwrap();
        let meta = header["__metadata__"].as_object().unwrap();
        assert_eq!(meta.len(), 1);
        let doc: Value = serde_json::from_str(meta[METADATA_KEY].as_str().unwrap()).unwrap();
        assert_eq!(doc["format_version"], FORMAT_VERSION);
        let data_len = bytes.len() - 8 - n;
        let mut spans: Vec<(u64, u64)> = Vec::new();
        for (name, entry) in header.iter().filter(|(k, _)| *k != "__metadata__") {
            let dtype = entry["dtype"].as_str().unwrap();
            assert!(["F32", "I8"].contains(&dtype), "{name}: {dtype}");
            let elems: u64 = entry["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap())
                .product();
            let size = if dtype == "F32" { 4 } else { 1 };
            let offs = entry["data_offsets"].as_array().unwrap();
            let (s, e) = (offs[0].as_u64().unwrap(), offs[1].as_u64().unwrap());
            assert_eq!(e - s, elems * size, "{name}");
            spans.push((s, e));
        }
        spans.sort();
        assert_eq!(spans[0].0, 0);
        assert!(spans.windows(2).all(|w| w[0].1 == w[1].0));
        assert_eq!(spans.last().unwrap().1 as usize, data_len);
        // The documented names are there.
        for name in [
            "input.weight",
            "blocks.5.conv.bias",
            "head.weight",
            "reverb.ir",
        ] {
            assert!(header.contains_key(name), "{name}");
        }
    }
}

#[test]
fn every_truncation_is_reported_as_truncated() {
    for bytes in [valid_bytes(), valid_int8_bytes()] {
        for len in 0..bytes.len() {
            assert_variant!(load_err(&bytes[..len]), LoadError::Truncated { .. });
        }
    }
}

#[test]
fn framing_errors() {
    let bytes = valid_bytes();
    // Trailing garbage after the last tensor.
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"junk");
    assert_variant!(load_err(&longer), LoadError::NotSafetensors { .. });
    // A header length far beyond the cap, or beyond the file.
    for n in [u64::MAX, 1 << 40, MAX_HEADER_BYTES + 1] {
        let mut b = bytes.clone();
        b[..8].copy_from_slice(&n.to_le_bytes());
        assert_variant!(load_err(&b), LoadError::NotSafetensors { .. });
    }
    let mut b = bytes.clone();
    b[..8].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
    assert_variant!(load_err(&b), LoadError::Truncated { .. });
    // Not JSON, not an object.
    let mut b = bytes.clone();
    b[8] = b'x';
    assert_variant!(load_err(&b), LoadError::NotSafetensors { .. });
    let mut not_object = 8u64.to_le_bytes().to_vec();
    not_object.extend_from_slice(b"[1,2,3] ");
    assert_variant!(load_err(&not_object), LoadError::NotSafetensors { .. });
    // Not a model at all.
    assert_variant!(
        load_err(b"RIFF\x24\x00\x00\x00WAVEfmt "),
        LoadError::NotSafetensors { .. } | LoadError::Truncated { .. }
    );
    // Too large, before any parsing.
    let huge = vec![0u8; MAX_FILE_BYTES as usize + 1];
    assert_variant!(load_err(&huge), LoadError::TooLarge { .. });
}

#[test]
fn hostile_offsets_and_shapes_do_not_overflow() {
    // Offsets and shapes near usize::MAX would overflow inside the safetensors parser if it saw
    // them unchecked.
    let headers = [
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}}"#,
        r#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#,
        r#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"b":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551611,18446744073709551615]}}"#,
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
        r#"{"a":{"dtype":"X99","shape":[1],"data_offsets":[0,4]}}"#,
        r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}}"#,
        r#"{"__metadata__":{"tiny_timbre":5},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
    ];
    for header in headers {
        let mut padded = header.as_bytes().to_vec();
        while padded.len() % 8 != 0 {
            padded.push(b' ');
        }
        let mut bytes = (padded.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&padded);
        bytes.extend_from_slice(&[0; 4]);
        assert_variant!(
            load_err(&bytes),
            LoadError::NotSafetensors { .. } | LoadError::Truncated { .. }
        );
    }
}

#[test]
fn metadata_errors() {
    let bytes = valid_bytes();
    let (raws, meta) = split(&bytes);
    assert_variant!(
        load_err(&join(&raws, None)),
        LoadError::MissingMetadata { .. }
    );
    let other = HashMap::from([("format".to_string(), "pt".to_string())]);
    assert_variant!(
        load_err(&join(&raws, Some(other))),
        LoadError::MissingMetadata { .. }
    );
    let mut not_json = meta.clone();
    not_json.insert(METADATA_KEY.into(), "{oops".into());
    assert_variant!(
        load_err(&join(&raws, Some(not_json))),
        LoadError::BadMetadata { .. }
    );

    let v99 = with_metadata(&bytes, |d| d["format_version"] = 99.into());
    let err = load_err(&v99);
    assert!(err.to_string().contains("99"), "{err}");
    assert_variant!(err, LoadError::UnsupportedVersion { found: 99, .. });
    assert_variant!(
        load_err(&with_metadata(&bytes, |d| d["format_version"] = "one".into())),
        LoadError::BadMetadata { .. }
    );
    assert_variant!(
        load_err(&with_metadata(&bytes, |d| {
            d.as_object_mut().unwrap().remove("dataset");
        })),
        LoadError::BadMetadata { .. }
    );
    assert_variant!(
        load_err(&with_metadata(&bytes, |d| d["weight_precision"] = "f16".into())),
        LoadError::BadMetadata { .. }
    );
    assert_variant!(
        load_err(&with_metadata(&bytes, |d| d["features"]["f0"] = "hz".into())),
        LoadError::BadMetadata { .. }
    );
    assert_variant!(
        load_err(&with_metadata(&bytes, |d| d["frame_rate_hz"] = 0.into())),
        LoadError::BadMetadata { .. }
    );
    assert_variant!(
        load_err(&with_metadata(&bytes, |d| d["frame_rate_hz"] = 251.into())),
        LoadError::BadMetadata { .. }
    );
    assert_variant!(
        load_err(&with_metadata(&bytes, |d| d["sample_rate_hz"] = 10_000_000.into())),
        LoadError::BadMetadata { .. }
    );
    assert_variant!(
        load_err(&with_metadata(&bytes, |d| d["dataset"]
            ["loudness_quantiles_db"] =
            serde_json::json!([-10.0, -20.0]))),
        LoadError::BadMetadata { .. }
    );
    assert_variant!(
        load_err(&with_metadata(&bytes, |d| d["dataset"]
            ["pitch_mean_midi"] =
            500.0.into())),
        LoadError::BadMetadata { .. }
    );
    // Unknown extra fields are ignored (forward compatibility within a version).
    let extra = with_metadata(&bytes, |d| d["future_field"] = "hello".into());
    assert!(ModelFile::from_bytes(&extra, NAME).is_ok());
}

#[test]
fn absurd_architectures_are_rejected_before_any_allocation() {
    let bytes = valid_bytes();
    let cases: [(&str, Value); 7] = [
        ("channels", 1_000_000.into()),
        ("channels", 0.into()),
        ("n_harmonics", 1_000_000_000.into()),
        ("n_noise_bands", 100_000.into()),
        ("kernel_size", 99.into()),
        ("dilations", serde_json::json!([1, 3, 1_000_000])),
        ("dilations", Value::Array(vec![1.into(); 1000])),
    ];
    for (field, value) in cases {
        let b = with_metadata(&bytes, |d| d["architecture"][field] = value);
        assert_variant!(load_err(&b), LoadError::InvalidArchitecture { .. });
    }
    assert_variant!(
        load_err(&with_metadata(&bytes, |d| d["architecture"]["norm"] = "batch".into())),
        LoadError::BadMetadata { .. }
    );
}

#[test]
fn tensor_errors() {
    let bytes = valid_bytes();
    // Missing tensor.
    let b = with_tensors(&bytes, |r| r.retain(|t| t.0 != "blocks.3.conv.bias"));
    let err = load_err(&b);
    assert!(err.to_string().contains("blocks.3.conv.bias"));
    assert_variant!(err, LoadError::MissingTensor { .. });
    // Unexpected tensor.
    let b = with_tensors(&bytes, |r| {
        r.push((
            "blocks.9.conv.weight".into(),
            Dtype::F32,
            vec![1],
            vec![0; 4],
        ))
    });
    assert_variant!(load_err(&b), LoadError::UnexpectedTensor { .. });
    // Norm tensors in a file whose architecture has no norm.
    let b = with_tensors(&bytes, |r| {
        r.push((
            "blocks.0.norm.gain".into(),
            Dtype::F32,
            vec![8],
            vec![0; 32],
        ))
    });
    assert_variant!(load_err(&b), LoadError::UnexpectedTensor { .. });
    // Wrong shape, same byte count.
    let b = with_tensors(&bytes, |r| {
        r.iter_mut().find(|t| t.0 == "head.weight").unwrap().2 = vec![63, 16]
    });
    let err = load_err(&b);
    assert!(
        err.to_string().contains("[63, 16]") && err.to_string().contains("[126, 8]"),
        "{err}"
    );
    assert_variant!(err, LoadError::ShapeMismatch { .. });
    // Wrong shape, wrong size.
    let b = with_tensors(&bytes, |r| {
        let t = r.iter_mut().find(|t| t.0 == "input.bias").unwrap();
        t.2 = vec![7];
        t.3.truncate(28);
    });
    assert_variant!(load_err(&b), LoadError::ShapeMismatch { .. });
    // A 2-D IR.
    let b = with_tensors(&bytes, |r| {
        r.iter_mut().find(|t| t.0 == "reverb.ir").unwrap().2 = vec![40, 40]
    });
    assert_variant!(load_err(&b), LoadError::ShapeMismatch { .. });
    // Wrong dtype: F64 bias, I32 weight.
    let b = with_tensors(&bytes, |r| {
        let t = r.iter_mut().find(|t| t.0 == "input.bias").unwrap();
        t.1 = Dtype::F64;
        t.2 = vec![4];
    });
    assert_variant!(load_err(&b), LoadError::WrongDtype { .. });
    let b = with_tensors(&bytes, |r| {
        r.iter_mut().find(|t| t.0 == "head.weight").unwrap().1 = Dtype::I32
    });
    assert_variant!(load_err(&b), LoadError::WrongDtype { .. });
    // NaN and Inf weights, an absurd weight.
    let b = with_tensors(&bytes, |r| {
        edit_f32(r, "blocks.2.conv.weight", |v| v[17] = f32::NAN)
    });
    let err = load_err(&b);
    assert!(
        err.to_string().contains("blocks.2.conv.weight") && err.to_string().contains("17"),
        "{err}"
    );
    assert_variant!(err, LoadError::NonFiniteWeight { index: 17, .. });
    let b = with_tensors(&bytes, |r| {
        edit_f32(r, "reverb.ir", |v| v[100] = f32::NEG_INFINITY)
    });
    assert_variant!(load_err(&b), LoadError::NonFiniteWeight { index: 100, .. });
    let b = with_tensors(&bytes, |r| edit_f32(r, "head.bias", |v| v[3] = 1e30));
    assert_variant!(load_err(&b), LoadError::WeightOutOfRange { index: 3, .. });
    // A reverb IR longer than 3 s at its rate (16 kHz in the metadata).
    let b = with_tensors(&bytes, |r| {
        let t = r.iter_mut().find(|t| t.0 == "reverb.ir").unwrap();
        t.2 = vec![48_001];
        t.3 = vec![0; 48_001 * 4];
    });
    assert_variant!(
        load_err(&b),
        LoadError::ReverbTooLong {
            samples: 48_001,
            max: 48_000,
            ..
        }
    );
    // An empty IR is fine (no reverb).
    let b = with_tensors(&bytes, |r| {
        let t = r.iter_mut().find(|t| t.0 == "reverb.ir").unwrap();
        t.2 = vec![0];
        t.3.clear();
    });
    assert!(ModelFile::from_bytes(&b, NAME)
        .unwrap()
        .reverb_ir()
        .is_empty());
}

#[test]
fn int8_tensor_errors() {
    let bytes = valid_int8_bytes();
    let b = with_tensors(&bytes, |r| r.retain(|t| t.0 != "input.weight_scale"));
    assert_variant!(load_err(&b), LoadError::MissingTensor { .. });
    let b = with_tensors(&bytes, |r| {
        edit_f32(r, "head.weight_scale", |v| v[0] = f32::NAN)
    });
    assert_variant!(load_err(&b), LoadError::NonFiniteWeight { .. });
    let b = with_tensors(&bytes, |r| {
        let t = r.iter_mut().find(|t| t.0 == "head.weight_scale").unwrap();
        t.2 = vec![125];
        t.3.truncate(125 * 4);
    });
    assert_variant!(load_err(&b), LoadError::ShapeMismatch { .. });
    // Precision says int8 but the weights are f32, and the other way round.
    let f32_file = valid_bytes();
    let b = with_metadata(&f32_file, |d| d["weight_precision"] = "int8".into());
    assert_variant!(load_err(&b), LoadError::WrongDtype { .. });
    let b = with_metadata(&bytes, |d| d["weight_precision"] = "f32".into());
    assert_variant!(load_err(&b), LoadError::WrongDtype { .. });
}

#[test]
fn random_mutations_never_panic() {
    let originals = [valid_bytes(), valid_int8_bytes()];
    let mut rng = TestRng::new(2024);
    let (mut ok, mut errors) = (0, 0);
    for round in 0..4000 {
        let mut b = originals[round % 2].clone();
        let original_header_end = 8 + u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
        for _ in 0..rng.range(1, 4) {
            let header_end = original_header_end.min(b.len());
            match rng.range(0, 5) {
                // Flip a byte in the header (most interesting) or anywhere.
                0 => {
                    let i = rng.range(0, header_end - 1);
                    b[i] ^= 1 << rng.range(0, 7);
                }
                1 => {
                    let i = rng.range(0, b.len() - 1);
                    b[i] = rng.next_u64() as u8;
                }
                // Replace a digit of the header JSON with another digit.
                2 => {
                    let digits: Vec<usize> =
                        (8..header_end).filter(|&i| b[i].is_ascii_digit()).collect();
                    if !digits.is_empty() {
                        let i = digits[rng.range(0, digits.len() - 1)];
                        b[i] = b'0' + rng.range(0, 9) as u8;
                    }
                }
                // Cut or extend.
                3 => b.truncate(rng.range(0, b.len())),
                4 => b.extend((0..rng.range(1, 64)).map(|_| rng.next_u64() as u8)),
                // A random header length.
                _ => b[..8].copy_from_slice(&(rng.next_u64() >> rng.range(0, 63)).to_le_bytes()),
            }
            if b.len() < 8 {
                break;
            }
        }
        let result = catch_unwind(AssertUnwindSafe(|| ModelFile::from_bytes(&b, NAME)));
        match result.unwrap_or_else(|_| panic!("panic on mutation round {round}")) {
            Ok(model) => {
                // A mutation that still loads must still run.
                let mut dec = timbre_model::Decoder::new(&model);
                assert!(dec.step(0.5, 0.5).amplitude.is_finite());
                ok += 1;
            }
            Err(e) => {
                assert!(e.to_string().starts_with(NAME), "{e}");
                errors += 1;
            }
        }
    }
    println!("{ok} mutations still loaded, {errors} were rejected with an error");
    assert!(errors > 3000);
}

#[test]
fn format_versions_and_the_body_response() {
    // A format-1 file (no body response, as every model of earlier releases) still loads.
    let v1 = with_metadata(&valid_bytes(), |d| d["format_version"] = 1.into());
    let old = ModelFile::from_bytes(&v1, NAME).unwrap();
    assert!(old.body_response_db().is_empty());
    assert_eq!(old.metadata().format_version, 1);
    // A future version is refused, naming both versions.
    let v3 = with_metadata(&valid_bytes(), |d| d["format_version"] = 3.into());
    let err = load_err(&v3);
    assert_variant!(
        err,
        LoadError::UnsupportedVersion {
            found: 3,
            supported: 2,
            ..
        }
    );

    // A model with a body response round-trips it, bit for bit, in f32 and int8 files.
    let arch = Architecture {
        body_response: true,
        ..Architecture::default()
    };
    let model = random_model(&arch, 5);
    assert_eq!(model.body_response_db().len(), BODY_BINS);
    for m in [model.clone(), model.quantize_int8()] {
        let back = ModelFile::from_bytes(&m.to_bytes().unwrap(), NAME).unwrap();
        assert_eq!(back.body_response_db(), model.body_response_db());
    }
    let bytes = model.to_bytes().unwrap();
    // The body needs format 2, its tensor, its length, and gains within ±60 dB.
    let err = load_err(&with_metadata(&bytes, |d| d["format_version"] = 1.into()));
    assert!(err.to_string().contains("format version 2"), "{err}");
    assert_variant!(err, LoadError::BadMetadata { .. });
    assert_variant!(
        load_err(&with_tensors(&bytes, |raws| raws.retain(|r| r.0 != "body.response_db"))),
        LoadError::MissingTensor { .. }
    );
    assert_variant!(
        load_err(&with_tensors(&valid_bytes(), |raws| {
            let body = split(&bytes)
                .0
                .into_iter()
                .find(|r| r.0 == "body.response_db");
            raws.push(body.unwrap());
        })),
        LoadError::UnexpectedTensor { .. }
    );
    assert_variant!(
        load_err(&with_tensors(&bytes, |raws| {
            edit_f32(raws, "body.response_db", |v| v[3] = 70.0)
        })),
        LoadError::WeightOutOfRange { .. }
    );
    assert_variant!(
        load_err(&with_tensors(&bytes, |raws| {
            edit_f32(raws, "body.response_db", |v| v[0] = f32::NAN)
        })),
        LoadError::NonFiniteWeight { .. }
    );
    assert_variant!(
        load_err(&with_tensors(&bytes, |raws| {
            let r = raws.iter_mut().find(|r| r.0 == "body.response_db").unwrap();
            r.2 = vec![BODY_BINS - 1];
            r.3.truncate(4 * (BODY_BINS - 1));
        })),
        LoadError::ShapeMismatch { .. }
    );
}
