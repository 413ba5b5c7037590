//! The browser playground's static files (`cargo xtask web` → `target/web`), served at `/`
//! beneath the API: a request no API route matches is looked up here, so the API keeps
//! priority. Only plain files under the site directory are served; a path with `..`, a
//! backslash or a hidden component is not found.

use std::path::{Component, Path, PathBuf};

use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The file under `root` that `uri` names (`/` and directories: their `index.html`), if the
/// path is one a site may serve.
fn resolve(root: &Path, uri: &Uri) -> Option<PathBuf> {
    let path = uri.path();
    if path.contains('\\') || path.contains('\0') {
        return None;
    }
    let mut file = root.to_path_buf();
    for part in path.split('/').filter(|part| !part.is_empty()) {
        let mut components = Path::new(part).components();
        match (components.next(), components.next()) {
            (Some(Component::Normal(name)), None) if !part.starts_with('.') => file.push(name),
            _ => return None,
        }
    }
    if path.ends_with('/') || file.is_dir() {
        file.push("index.html");
    }
    Some(file)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("wasm") => "application/wasm",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        Some("ts") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// `GET`/`HEAD` of a file of the site at `root`, else the API's JSON 404.
pub(crate) async fn serve(root: PathBuf, method: Method, uri: Uri) -> Response {
    let not_found = || ApiError::not_found("no such endpoint").into_response();
    if method != Method::GET && method != Method::HEAD {
        return not_found();
    }
    let Some(file) = resolve(&root, &uri) else { return not_found() };
    let read = tokio::task::spawn_blocking(move || std::fs::read(&file).map(|bytes| (file, bytes))).await;
    let Ok(Ok((file, bytes))) = read else { return not_found() };
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&file)));
    // The site is rebuilt in place; a browser must not run yesterday's components.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Cross-origin isolation: the page gets fine-grained `performance.now()` for its step
    // timings (the site loads nothing from other origins).
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert("cross-origin-embedder-policy", HeaderValue::from_static("require-corp"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_only_files_under_the_root() {
        let root = Path::new("/site");
        let at = |path: &str| resolve(root, &path.parse().expect("uri")).map(|p| p.display().to_string());
        assert_eq!(at("/").as_deref(), Some("/site/index.html"));
        assert_eq!(at("/app.js").as_deref(), Some("/site/app.js"));
        assert_eq!(at("/envs/a/a.core.wasm").as_deref(), Some("/site/envs/a/a.core.wasm"));
        assert_eq!(at("/envs/a/").as_deref(), Some("/site/envs/a/index.html"));
        for bad in ["/../etc/passwd", "/a/../../b", "/.git/config", "/a/./b", "/a\\b"] {
            if let Ok(uri) = bad.parse::<Uri>() {
                assert_eq!(resolve(root, &uri), None, "{bad}");
            }
        }
    }
}
