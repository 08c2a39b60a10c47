//! Where the components and nested workflows a definition names are found: files next to it
//! and step directories, or, for a published revision, what was pinned at publish (SPEC WF-7,
//! SH-3). Shared by the parser and the parsed model, which keeps it for its runs.

use std::path::{Path, PathBuf};

/// Where components named by a definition are found.
#[derive(Clone, Debug)]
pub struct Resolver {
    /// The definition's directory: `.wasm` paths and nested workflows are relative to it.
    /// `None` for a definition that came without a file (the HTTP API): it may name only
    /// `step:<name>` components and nest no workflow files, so what it names never reaches
    /// the server's own files ([`Resolver::without_files`]).
    pub base: Option<PathBuf>,
    /// Directories searched for `step:<name>` (as `<dir>/<name>.wasm`, `-` read as `_` too).
    pub step_dirs: Vec<PathBuf>,
    /// For a published workflow: each `uses` value's pinned component (content-addressed,
    /// see `workflow::components`); nothing else is searched.
    pub pinned: Option<std::collections::BTreeMap<String, PathBuf>>,
    /// For a published workflow: the definitions of its nested workflows as pinned at
    /// publish, by path ([`Resolver::nested_key`]); they are not read from files.
    pub workflows: Option<std::collections::BTreeMap<String, String>>,
    /// A definition stored before (a published revision, a run's own): read again by the
    /// rules it was accepted under, not those added since for definitions being written
    /// (`definition/parse.rs`, `authoring`).
    pub stored: bool,
}

/// Paths relative to the working directory, no step directories: a definition read from a
/// file there.
impl Default for Resolver {
    fn default() -> Self {
        Self::for_file(Path::new(""), Vec::new())
    }
}

impl Resolver {
    /// A resolver for the definition at `file`.
    pub fn for_file(file: &Path, step_dirs: Vec<PathBuf>) -> Self {
        let base = file.parent().map(Path::to_owned).unwrap_or_default();
        Self {
            base: Some(base),
            step_dirs,
            pinned: None,
            workflows: None,
            stored: false,
        }
    }

    /// A resolver for a definition that came without a file of its own (the HTTP API's
    /// publish): its components are `step:<name>` from `step_dirs`, nothing else. A path in
    /// such a definition would name a file of the server's, read with the server's rights.
    pub fn without_files(step_dirs: Vec<PathBuf>) -> Self {
        Self {
            base: None,
            step_dirs,
            pinned: None,
            workflows: None,
            stored: false,
        }
    }

    /// Where nested workflow `file` (as a definition names it) is found, or why it cannot
    /// be: a definition without a directory nests no files.
    pub fn nested_path(&self, file: &str) -> Result<PathBuf, String> {
        match &self.base {
            Some(base) => Ok(base.join(file)),
            None => Err(format!(
                "nested workflow `{file}`: a definition sent without a file of its own (through the API) cannot nest workflow files; publish it from a file with `flowhost workflows publish`"
            )),
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
            || (self.base.is_some() && path.is_file())
    }

    /// Whether this resolver reads a definition that came with a file of its own, so that
    /// its errors may name the files it reads; one sent through the API names none of the
    /// server's.
    pub fn names_files(&self) -> bool {
        self.base.is_some()
    }

    /// The definition of the nested workflow at `path` and the resolver for it: pinned ones
    /// as pinned (SPEC WF-7, SH-3: a published revision runs what was published); otherwise
    /// the file, with this resolver's step directories, or `step_dirs` for a revision
    /// published before nested workflows were pinned.
    pub fn nested(&self, path: &Path, step_dirs: &[PathBuf]) -> Result<(String, Resolver), String> {
        let base = Some(path.parent().map(Path::to_owned).unwrap_or_default());
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
        if self.base.is_none() {
            return Err(format!(
                "nested workflow `{}` was not pinned, and a definition without a file reads none",
                path.display()
            ));
        }
        // A revision that pinned nested workflows runs those only: one it did not pin is not
        // read from disk, where anyone who may edit the file would change what it does
        // (SPEC WF-7, SH-3). A revision that pinned none predates the pinning.
        if self.workflows.as_ref().is_some_and(|w| !w.is_empty()) {
            return Err(format!(
                "nested workflow `{}` was not pinned when this revision was published",
                path.display()
            ));
        }
        // A regular file within the bound: a definition naming `/dev/zero` or a FIFO as its
        // nested workflow was read without end, or waited for a writer.
        let text = crate::regular_file::read_document(path)?;
        let resolver = if self.pinned.is_some() {
            Resolver {
                stored: self.stored,
                ..Resolver::for_file(path, step_dirs.to_vec())
            }
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
                if !step_name(name) {
                    return Err(format!(
                        "`{uses}`: a step's name is letters, digits, `-` and `_` (it names a file in the step directories)"
                    ));
                }
                let files = [
                    format!("{name}.wasm"),
                    format!("{}.wasm", name.replace('-', "_")),
                ];
                self.step_dirs
                    .iter()
                    .flat_map(|d| files.iter().map(move |f| d.join(f)))
                    .find(|p| p.is_file())
                    .ok_or_else(|| {
                        // The server's directories are not named to a definition sent
                        // through the API: they are the server's, not the sender's (authority
                        // review); a file's definition names them for the person at the CLI.
                        let dirs: Vec<String> = self
                            .step_dirs
                            .iter()
                            .map(|d| d.display().to_string())
                            .collect();
                        let searched = match (&self.base, dirs.is_empty()) {
                            (None, _) => "the server's step directories".to_owned(),
                            (Some(_), true) => {
                                "the step directories (none given; use --steps DIR)".to_owned()
                            }
                            (Some(_), false) => {
                                format!("the step directories ({})", dirs.join(", "))
                            }
                        };
                        format!("missing component `{uses}`: no {name}.wasm in {searched}")
                    })
            }
            None => {
                let Some(base) = &self.base else {
                    return Err(format!(
                        "`{uses}` is a file path; a definition sent without a file of its own (through the API) names its components as `step:<name>` from the server's step directories"
                    ));
                };
                let path = base.join(uses);
                if path.is_file() {
                    Ok(path)
                } else {
                    Err(format!("missing component `{}`", path.display()))
                }
            }
        }
    }
}

/// Whether `name` (of `step:<name>`) can only name a file directly inside a step directory:
/// no separator, no `..`, nothing hidden.
fn step_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
