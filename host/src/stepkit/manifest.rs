//! `step.toml`: what a step project is and how it builds.
//!
//! ```toml
//! name = "enrich-ip"
//! language = "python"
//! build = "componentize-py -d wit -w step componentize step -p . -o enrich-ip.wasm"
//! output = "enrich-ip.wasm"
//! grants = ["events:emit"]
//! tests = "step.test.json"
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::definition::model::GRANTS;
use crate::services::grants::Grants;

/// The manifest's file name in a step project.
pub const MANIFEST: &str = "step.toml";

/// A language a step project can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Python,
    Rust,
    Js,
    Ts,
}

impl Language {
    /// Every language, as `--lang` spells it.
    pub const ALL: [Language; 4] = [Language::Python, Language::Rust, Language::Js, Language::Ts];

    /// The name `--lang` and the manifest use.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::Rust => "rust",
            Language::Js => "js",
            Language::Ts => "ts",
        }
    }

    /// Parses `--lang`; the error lists the choices.
    pub fn parse(text: &str) -> Result<Language, String> {
        let lower = text.trim().to_ascii_lowercase();
        let alias = match lower.as_str() {
            "py" => "python",
            "javascript" => "js",
            "typescript" => "ts",
            other => other,
        };
        Language::ALL
            .into_iter()
            .find(|l| l.as_str() == alias)
            .ok_or_else(|| format!("unknown language `{text}`; expected python, rust, js or ts"))
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed `step.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The step's name: what workflows call it (`step:<name>`).
    pub name: String,
    pub language: Language,
    /// Shell command that builds the component, run in the project directory with the
    /// pinned toolchains on `PATH`.
    pub build: String,
    /// Where the build leaves the component, relative to the project directory.
    pub output: String,
    /// The grants the step expects a workflow to give it (SPEC WF-6); its tests run with
    /// exactly these.
    #[serde(default)]
    pub grants: Vec<String>,
    /// The test cases file, relative to the project directory.
    #[serde(default = "default_tests")]
    pub tests: String,
}

fn default_tests() -> String {
    "step.test.json".into()
}

impl Manifest {
    /// Reads and checks `<dir>/step.toml`; errors name the file and, for syntax, the line.
    pub fn load(dir: &Path) -> Result<Manifest, String> {
        let path = dir.join(MANIFEST);
        let text = super::read::project_file(&path, "the manifest").map_err(|e| {
            format!("{e} (is this a step project? `flowhost step new NAME` makes one)")
        })?;
        Manifest::parse(&path.display().to_string(), &text)
    }

    /// Parses manifest `text` read from `origin`.
    pub fn parse(origin: &str, text: &str) -> Result<Manifest, String> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(":{line}")
                })
                .unwrap_or_default();
            // What the decoder refused is quoted clipped and escaped, as at every door.
            format!("{origin}{at}: {}", crate::text::decoder_words(e.message()))
        })?;
        if !valid_name(&manifest.name) {
            return Err(format!(
                "{origin}: `name` {:?} must be lower-case letters, digits and `-`, starting with a letter",
                manifest.name
            ));
        }
        manifest.grants().map_err(|e| format!("{origin}: {e}"))?;
        Ok(manifest)
    }

    /// The expected grants as the host applies them.
    pub fn grants(&self) -> Result<Grants, String> {
        let mut grants = Grants::default();
        for g in &self.grants {
            match g.as_str() {
                "cases:read" => grants.cases_read = true,
                "cases:write" => grants.cases_write = true,
                "events:emit" => grants.events_emit = true,
                "access:check" => grants.access_check = true,
                other => {
                    return Err(format!(
                        "`grants`: unknown grant `{other}`; expected one of {}",
                        GRANTS.join(", ")
                    ));
                }
            }
        }
        Ok(grants)
    }

    /// The component's path.
    pub fn output_path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.output)
    }
}

/// A step name: `[a-z][a-z0-9-]*`, at most 64 bytes (it becomes a file and a crate name).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "name = \"enrich-ip\"\nlanguage = \"python\"\nbuild = \"make\"\noutput = \"x.wasm\"\ngrants = [\"events:emit\"]\n";

    #[test]
    fn parses_a_manifest() {
        let m = Manifest::parse("step.toml", GOOD).expect("parses");
        assert_eq!(m.language, Language::Python);
        assert_eq!(m.tests, "step.test.json");
        assert!(m.grants().expect("grants").events_emit);
    }

    #[test]
    fn errors_name_file_and_line() {
        let bad = GOOD.replace("language = \"python\"", "language = \"cobol\"");
        let e = Manifest::parse("step.toml", &bad).expect_err("cobol");
        assert!(e.starts_with("step.toml:2:"), "{e}");
        let e = Manifest::parse("step.toml", &GOOD.replace("events:emit", "events:all"))
            .expect_err("grant");
        assert!(e.contains("unknown grant `events:all`"), "{e}");
        let e = Manifest::parse("step.toml", &GOOD.replace("enrich-ip", "Enrich IP"))
            .expect_err("name");
        assert!(e.contains("`name`"), "{e}");
    }

    #[test]
    fn languages_parse_with_aliases() {
        assert_eq!(Language::parse("TypeScript"), Ok(Language::Ts));
        assert_eq!(Language::parse("py"), Ok(Language::Python));
        assert!(Language::parse("go").is_err());
    }
}
