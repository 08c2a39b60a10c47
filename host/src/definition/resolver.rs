//! Where the components and nested workflows a definition names are found: files next to it
//! and step directories, or, for a published revision, what was pinned at publish (SPEC WF-7,
//! SH-3). Shared by the parser and the parsed model, which keeps it for its runs.

use std::path::{Path, PathBuf};

/// Where components named by a definition are found.
#[derive(Clone, Debug, Default)]
pub struct Resolver {
    /// The definition's directory: `.wasm` paths and nested workflows are relative to it.
    pub base: PathBuf,
    /// Directories searched for `step:<name>` (as `<dir>/<name>.wasm`, `-` read as `_` too).
    pub step_dirs: Vec<PathBuf>,
    /// For a published workflow: each `uses` value's pinned component (content-addressed,
    /// see `workflow::components`); nothing else is searched.
    pub pinned: Option<std::collections::BTreeMap<String, PathBuf>>,
    /// For a published workflow: the definitions of its nested workflows as pinned at
    /// publish, by path ([`Resolver::nested_key`]); they are not read from files.
    pub workflows: Option<std::collections::BTreeMap<String, String>>,
}

impl Resolver {
    /// A resolver for the definition at `file`.
    pub fn for_file(file: &Path, step_dirs: Vec<PathBuf>) -> Self {
        let base = file.parent().map(Path::to_owned).unwrap_or_default();
        Self {
            base,
            step_dirs,
            pinned: None,
            workflows: None,
        }
    }

    /// How a nested workflow's path is named among the pinned ones: as resolved against the
    /// definition's directory at publish, which is how a run resolves it again.
    pub fn nested_key(path: &Path) -> String {
        path.to_string_lossy().into_owned()
    }

    /// Whether the nested workflow at `path` can be found (pinned, or a file).
    pub fn has_nested(&self, path: &Path) -> bool {
        self.workflows
            .as_ref()
            .is_some_and(|w| w.contains_key(&Self::nested_key(path)))
            || path.is_file()
    }

    /// The definition of the nested workflow at `path` and the resolver for it: pinned ones
    /// as pinned (SPEC WF-7, SH-3: a published revision runs what was published); otherwise
    /// the file, with this resolver's step directories, or `step_dirs` for a revision
    /// published before nested workflows were pinned.
    pub fn nested(&self, path: &Path, step_dirs: &[PathBuf]) -> Result<(String, Resolver), String> {
        let base = path.parent().map(Path::to_owned).unwrap_or_default();
        if let Some(text) = self
            .workflows
            .as_ref()
            .and_then(|w| w.get(&Self::nested_key(path)))
        {
            let resolver = Resolver {
                base,
                ..self.clone()
            };
            return Ok((text.clone(), resolver));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let resolver = if self.pinned.is_some() {
            Resolver::for_file(path, step_dirs.to_vec())
        } else {
            Resolver {
                base,
                ..self.clone()
            }
        };
        Ok((text, resolver))
    }

    /// The component a `uses` value names, if it can be found.
    pub fn component(&self, uses: &str) -> Result<PathBuf, String> {
        if let Some(pinned) = &self.pinned {
            return pinned.get(uses).cloned().ok_or_else(|| {
                format!("component `{uses}` was not pinned when this revision was published")
            });
        }
        match uses.strip_prefix("step:") {
            Some(name) => {
                let files = [
                    format!("{name}.wasm"),
                    format!("{}.wasm", name.replace('-', "_")),
                ];
                self.step_dirs
                    .iter()
                    .flat_map(|d| files.iter().map(move |f| d.join(f)))
                    .find(|p| p.is_file())
                    .ok_or_else(|| {
                        let dirs: Vec<String> = self.step_dirs.iter().map(|d| d.display().to_string()).collect();
                        format!("missing component `{uses}`: no {name}.wasm in the step directories ({})", if dirs.is_empty() { "none given; use --steps DIR".into() } else { dirs.join(", ") })
                    })
            }
            None => {
                let path = self.base.join(uses);
                if path.is_file() {
                    Ok(path)
                } else {
                    Err(format!("missing component `{}`", path.display()))
                }
            }
        }
    }
}
