//! The package's exceptions, defined in Python (`codegym/errors.py`, one hierarchy with the
//! HTTP client's) and raised from here.

use pyo3::PyErr;

pyo3::import_exception!(codegym.errors, CodeGymError);
pyo3::import_exception!(codegym.errors, UnknownEnvError);
pyo3::import_exception!(codegym.errors, InvalidActionError);
pyo3::import_exception!(codegym.errors, EpisodeError);

/// The host's error as a Python exception, with the host's message.
pub(crate) fn host_error(error: codegym_host::Error) -> PyErr {
    CodeGymError::new_err(error.to_string())
}

/// An error starting or forking an episode.
pub(crate) fn episode_error(error: codegym_host::Error) -> PyErr {
    EpisodeError::new_err(error.to_string())
}
