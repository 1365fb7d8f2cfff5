//! The model file is plain safetensors: Python's `safetensors` (with numpy) opens the f32 and
//! the int8 files, finds our metadata and reads tensors of the documented shapes and types.
//! Reported as ignored when python3 with safetensors and numpy is missing (fails when `CI` is
//! set).

use timbre_model::{random_model, Architecture};

#[test]
#[cfg_attr(
    missing_python_safetensors,
    ignore = "python3 with safetensors and numpy is missing: bash .ci/run --deps-only"
)]
fn python_safetensors_reads_the_file() {
    // A format-2 model with a body response.
    let model = random_model(
        &Architecture {
            body_response: true,
            ..Architecture::default()
        },
        9,
    );
    let dir = std::env::temp_dir();
    let path_f32 = dir.join(format!("tt-py-f32-{}.safetensors", std::process::id()));
    let path_i8 = dir.join(format!("tt-py-i8-{}.safetensors", std::process::id()));
    model.save(&path_f32).unwrap();
    model.quantize_int8().save(&path_i8).unwrap();
    let script = r#"
import json, sys
from safetensors import safe_open
for path, dtype in ((sys.argv[1], "float32"), (sys.argv[2], "int8")):
    with safe_open(path, framework="numpy") as f:
        meta = json.loads(f.metadata()["tiny_timbre"])
        assert meta["format_version"] == 2
        assert meta["architecture"]["channels"] == 8
        assert meta["architecture"]["body_response"] is True
        body = f.get_tensor("body.response_db")
        assert body.shape == (65,) and str(body.dtype) == "float32", body
        w = f.get_tensor("head.weight")
        assert w.shape == (126, 8), w.shape
        assert str(w.dtype) == dtype, w.dtype
        print(path, len(list(f.keys())), "tensors", float(f.get_tensor("input.bias")[0]))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&path_f32)
        .arg(&path_i8)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path_f32);
    let _ = std::fs::remove_file(&path_i8);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success());
    // Python reads the same first bias as Rust, in both files (biases stay f32 in int8 files).
    let expected = format!(" {}", model.weights().input.bias[0] as f64);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines.iter().all(|l| l.ends_with(&expected)),
        "expected lines ending with{expected}"
    );
}
