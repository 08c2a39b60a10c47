//! `flowhost step new`: the files of a new step project, written by the binary (no download):
//! the manifest, the source, a test file with a tenant fixture, the WIT the host speaks and the
//! SDK for the language (the same files as `wit/` and `steps/sdk*`, embedded at compile time).

use std::path::{Path, PathBuf};

use super::manifest::{Language, MANIFEST, valid_name};

/// The WIT files of world `step`, as the host speaks it.
const WIT: &[(&str, &str)] = &[
    ("wit/world.wit", include_str!("../../../wit/world.wit")),
    ("wit/types.wit", include_str!("../../../wit/types.wit")),
    ("wit/cases.wit", include_str!("../../../wit/cases.wit")),
    ("wit/access.wit", include_str!("../../../wit/access.wit")),
    ("wit/events.wit", include_str!("../../../wit/events.wit")),
    ("wit/log.wit", include_str!("../../../wit/log.wit")),
];

const PYTHON_SDK: &[(&str, &str)] = &[
    (
        "flowhost_step/__init__.py",
        include_str!("../../../steps/sdk-python/flowhost_step/__init__.py"),
    ),
    (
        "flowhost_step/cases.py",
        include_str!("../../../steps/sdk-python/flowhost_step/cases.py"),
    ),
    (
        "flowhost_step/access.py",
        include_str!("../../../steps/sdk-python/flowhost_step/access.py"),
    ),
    (
        "flowhost_step/events.py",
        include_str!("../../../steps/sdk-python/flowhost_step/events.py"),
    ),
    (
        "flowhost_step/log.py",
        include_str!("../../../steps/sdk-python/flowhost_step/log.py"),
    ),
];

const JS_SDK: &[(&str, &str)] = &[(
    "flowhost-step.ts",
    include_str!("../../../steps/sdk-js/flowhost-step.ts"),
)];

const RUST_SDK_LIB: &str = include_str!("../../../steps/sdk/src/lib.rs");
const RUST_SDK_FINITE: &str = include_str!("../../../steps/sdk/src/finite.rs");
const RUST_SDK_OBJECT_ONLY: &str = include_str!("../../../steps/sdk/src/object_only.rs");

const COMMON: &[(&str, &str)] = &[
    ("step.test.json", include_str!("templates/step.test.json")),
    (
        "fixtures/tenant.json",
        include_str!("templates/tenant.json"),
    ),
];

/// The bundler and QuickJS flags shared by the JS and TS build commands: one ES module, the
/// WIT imports left to componentize-qjs, and the synchronous runtime the host requires.
fn js_build(entry: &str, name: &str) -> String {
    format!(
        "esbuild {entry} --bundle --format=esm --platform=neutral --log-level=warning \
         '--external:flowhost:*' --outfile=build/step.js && \
         componentize-qjs --sync --wit wit --world step --js build/step.js -o {name}.wasm"
    )
}

/// The manifest, build command and output for `lang`.
fn manifest(name: &str, lang: Language) -> String {
    let (build, output) = match lang {
        Language::Python => (
            format!("componentize-py -d wit -w step componentize step -p . -o {name}.wasm"),
            format!("{name}.wasm"),
        ),
        Language::Js => (js_build("step.js", name), format!("{name}.wasm")),
        Language::Ts => (js_build("step.ts", name), format!("{name}.wasm")),
        Language::Rust => (
            "cargo build --release --target wasm32-wasip2".to_owned(),
            format!(
                "target/wasm32-wasip2/release/{}.wasm",
                name.replace('-', "_")
            ),
        ),
    };
    format!(
        "# A Flowhost step. `flowhost step build` runs `build` here, with the pinned toolchains\n\
         # on PATH, and precompiles `output` into the component cache.\n\
         name = \"{name}\"\n\
         language = \"{lang}\"\n\
         build = {build:?}\n\
         output = \"{output}\"\n\
         # The grants this step expects from a workflow (SPEC WF-6); its tests run with these.\n\
         grants = [\"events:emit\"]\n\
         tests = \"step.test.json\"\n"
    )
}

/// Every file of a new project for `name` in `lang`, as (relative path, contents).
pub fn files(name: &str, lang: Language) -> Vec<(String, String)> {
    let fill = |text: &str| text.replace("{{name}}", name);
    let mut out: Vec<(String, String)> = vec![(MANIFEST.into(), manifest(name, lang))];
    let mut add = |set: &[(&str, &str)]| {
        out.extend(set.iter().map(|(p, t)| ((*p).to_owned(), (*t).to_owned())));
    };
    add(WIT);
    add(COMMON);
    match lang {
        Language::Python => {
            add(PYTHON_SDK);
            out.push(("step.py".into(), fill(include_str!("templates/step.py"))));
        }
        Language::Js => {
            add(JS_SDK);
            out.push(("step.js".into(), fill(include_str!("templates/step.js"))));
        }
        Language::Ts => {
            add(JS_SDK);
            out.push(("step.ts".into(), fill(include_str!("templates/step.ts"))));
        }
        Language::Rust => {
            out.push((
                "Cargo.toml".into(),
                fill(include_str!("templates/Cargo.toml.tmpl")),
            ));
            out.push(("src/lib.rs".into(), fill(include_str!("templates/lib.rs"))));
            out.push((
                "sdk/Cargo.toml".into(),
                include_str!("templates/sdk-Cargo.toml.tmpl").into(),
            ));
            // The SDK reads the WIT from the project's own copy.
            out.push((
                "sdk/src/lib.rs".into(),
                RUST_SDK_LIB.replace("path: \"../../wit\"", "path: \"../wit\""),
            ));
            out.push(("sdk/src/finite.rs".into(), RUST_SDK_FINITE.into()));
            out.push(("sdk/src/object_only.rs".into(), RUST_SDK_OBJECT_ONLY.into()));
        }
    }
    out
}

/// Writes a new project for `name` into `dir` (which must not exist, or be empty). Returns
/// the files written.
pub fn write_project(dir: &Path, name: &str, lang: Language) -> Result<Vec<PathBuf>, String> {
    if !valid_name(name) {
        return Err(format!(
            "step name `{name}`: use lower-case letters, digits and `-`, starting with a letter"
        ));
    }
    // A Rust project holds the SDK as a package of its workspace: two of one name are
    // refused by cargo at the first build (round 22 steps review).
    if lang == Language::Rust && name == "flowhost-step" {
        return Err(
            "step name `flowhost-step` is the SDK's own package in a Rust project; choose another"
                .to_owned(),
        );
    }
    if let Ok(mut entries) = std::fs::read_dir(dir)
        && entries.next().is_some()
    {
        return Err(format!(
            "{} already exists and is not empty; nothing was written",
            dir.display()
        ));
    }
    let mut written = Vec::new();
    for (rel, text) in files(name, lang) {
        let path = dir.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_gets_a_manifest_the_parser_accepts() {
        for lang in Language::ALL {
            let files = files("enrich-ip", lang);
            let (_, text) = files.iter().find(|(p, _)| p == MANIFEST).expect("manifest");
            let m = super::super::Manifest::parse("step.toml", text).expect("valid manifest");
            assert_eq!(m.language, lang);
            assert!(files.iter().any(|(p, _)| p == "wit/world.wit"));
            assert!(files.iter().any(|(p, _)| p == "step.test.json"));
        }
    }

    #[test]
    fn refuses_a_bad_name_and_a_non_empty_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(write_project(&dir.path().join("x"), "Bad Name", Language::Python).is_err());
        std::fs::write(dir.path().join("keep.txt"), "mine").expect("write");
        let e = write_project(dir.path(), "ok", Language::Ts).expect_err("not empty");
        assert!(e.contains("not empty"), "{e}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("keep.txt")).expect("kept"),
            "mine"
        );
    }
}
