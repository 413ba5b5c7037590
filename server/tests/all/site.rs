//! A static site (the browser playground) served beneath the API.

use crate::TestServer;

#[test]
fn serves_the_site_at_the_root_and_keeps_the_api_first() {
    let site = tempfile::tempdir().expect("temp dir");
    std::fs::write(site.path().join("index.html"), "<!doctype html><title>playground</title>")
        .expect("write");
    std::fs::create_dir(site.path().join("envs")).expect("mkdir");
    std::fs::write(site.path().join("envs/a.wasm"), b"\0asm\x01\0\0\0").expect("write");
    std::fs::write(site.path().join(".hidden"), "secret").expect("write");
    let outside = tempfile::NamedTempFile::new().expect("temp file");
    let server = TestServer::start(&crate::components("envs"), |config| {
        config.web_dir = Some(site.path().to_owned());
    });
    let get = |path: &str| {
        let mut response = server.agent.get(format!("{}{path}", server.url)).call().expect("HTTP exchange");
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().expect("ascii").to_owned())
            .unwrap_or_default();
        (response.status().as_u16(), content_type, response.body_mut().read_to_vec().expect("body"))
    };

    let (status, content_type, body) = get("/");
    assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"));
    assert!(body.starts_with(b"<!doctype html>"));
    let (status, content_type, body) = get("/envs/a.wasm");
    assert_eq!((status, content_type.as_str(), body.len()), (200, "application/wasm", 8));

    // The API keeps priority, and what matches neither is the API's JSON 404.
    assert_eq!(server.get("/healthz"), (200, serde_json::json!({ "status": "ok" })));
    assert_eq!(server.get("/v1/no-such-route").0, 404);
    assert_eq!(server.get("/missing.js").0, 404);
    assert_eq!(server.get("/.hidden").0, 404);
    let name = outside.path().file_name().expect("name").to_str().expect("utf-8");
    assert_eq!(server.get(&format!("/../{name}")).0, 404);
    assert_eq!(server.get(&format!("/envs/%2E%2E/%2E%2E/{name}")).0, 404);
    // Only reads: a POST to a file is not found either.
    assert_eq!(server.post("/index.html", &serde_json::json!({})).0, 404);
}

#[test]
fn without_a_site_the_root_is_a_json_404() {
    let server = TestServer::envs();
    assert_eq!(server.get("/").0, 404);
    assert_eq!(server.get("/index.html").0, 404);
}
