use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{Env, Error, Host};

/// Called with each environment a [`Registry`] loads, once per environment.
type OnLoad = Box<dyn Fn(&str, &Env) + Send + Sync>;

/// The environments in a directory of components (`<name>.wasm`) and Python packages
/// (`<name>.pyenv`), loaded lazily and kept.
pub struct Registry {
    host: Host,
    dir: PathBuf,
    paths: BTreeMap<String, PathBuf>,
    loaded: Mutex<BTreeMap<String, Env>>,
    on_load: Option<OnLoad>,
}

impl Registry {
    /// Index `dir` (no component is compiled until it is used).
    pub fn open(host: Host, dir: &Path) -> Result<Self, Error> {
        let io = |source| Error::Io { path: dir.to_owned(), source };
        let mut paths = BTreeMap::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|ext| ext == "wasm" || ext == crate::PACKAGE_EXTENSION)
                && let Some(name) = path.file_stem().and_then(|stem| stem.to_str())
                && let Some(other) = paths.insert(name.to_owned(), path.clone())
            {
                return Err(Error::DuplicateEnv { name: name.to_owned(), first: other, second: path });
            }
        }
        Ok(Self { host, dir: dir.to_owned(), paths, loaded: Mutex::new(BTreeMap::new()), on_load: None })
    }

    /// Call `hook` with each environment as it is loaded (not when it is reused), e.g. for a
    /// front end to report its [`Env::cache_outcome`].
    pub fn on_load(mut self, hook: impl Fn(&str, &Env) + Send + Sync + 'static) -> Self {
        self.on_load = Some(Box::new(hook));
        self
    }

    /// The file of environment `name` in `dir` (`<name>.wasm` or `<name>.pyenv`), if any,
    /// without indexing the directory.
    pub fn file_in(dir: &Path, name: &str) -> Option<PathBuf> {
        ["wasm", crate::PACKAGE_EXTENSION]
            .iter()
            .map(|ext| dir.join(format!("{name}.{ext}")))
            .find(|p| p.is_file())
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Names of all environments, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.paths.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    pub fn get(&self, name: &str) -> Result<Env, Error> {
        if let Some(env) = self.loaded.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
            return Ok(env.clone());
        }
        let path = self.paths.get(name).ok_or_else(|| Error::UnknownEnv {
            name: name.to_owned(),
            available: self.names().collect::<Vec<_>>().join(", "),
        })?;
        let env = self.host.load(path)?;
        if let Some(hook) = &self.on_load {
            hook(name, &env);
        }
        self.loaded.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_owned(), env.clone());
        Ok(env)
    }

    /// Resolve `all` or a comma-separated list of names, and load them.
    pub fn select(&self, spec: &str) -> Result<Vec<Env>, Error> {
        self.select_names(spec)?.iter().map(|name| self.get(name)).collect()
    }

    /// Resolve `all` or a comma-separated list of names without loading anything; an
    /// unknown name is an error.
    pub fn select_names(&self, spec: &str) -> Result<Vec<String>, Error> {
        if spec.trim() == "all" {
            return Ok(self.names().map(str::to_owned).collect());
        }
        spec.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(|name| match self.paths.contains_key(name) {
                true => Ok(name.to_owned()),
                false => Err(Error::UnknownEnv {
                    name: name.to_owned(),
                    available: self.names().collect::<Vec<_>>().join(", "),
                }),
            })
            .collect()
    }
}
