//! `ServerConfig::replica`: session ids carry the replica's name, ids of other replicas are
//! unknown sessions, and a restart under the same name keeps every id (`deploy/` routes by
//! the prefix; `cli/tests/all/deploy.rs` runs two replicas behind nginx).

use std::path::Path;

use serde_json::{Value, json};

use crate::websocket::{connect, receive, result, send};
use crate::{TestServer, components, session_id};

fn replica(name: &str, data: Option<&Path>) -> TestServer {
    let (name, data) = (name.to_owned(), data.map(Path::to_owned));
    TestServer::start(&components("envs"), move |config| {
        config.replica = Some(name);
        config.data_dir = data;
    })
}

/// `NAME-` followed by 16 lowercase hex digits.
fn assert_prefixed(id: &str, name: &str) {
    let digits = id.strip_prefix(name).and_then(|rest| rest.strip_prefix('-'));
    assert!(
        digits.is_some_and(|d| d.len() == 16 && d.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))),
        "`{id}` is not `{name}-<16 hex digits>`"
    );
}

#[test]
fn a_replica_prefixes_every_id_it_prints() {
    let server = replica("r2", None);
    let id = session_id(&server.create(json!({ "env": "binary-search", "seed": 4 })));
    assert_prefixed(&id, "r2");
    assert_eq!(server.step(&id, "Length", "{}")["steps"], 1);
    assert_eq!(server.get(&format!("/v1/sessions/{id}")).1["session_id"], id.as_str());

    let (status, fork) = server.post(&format!("/v1/sessions/{id}/fork"), &json!({}));
    assert_eq!(status, 201, "{fork}");
    let fork = session_id(&fork);
    assert_prefixed(&fork, "r2");
    assert_ne!(fork, id);

    let batch = json!({ "steps": [{ "session_id": id, "name": "Observe" }, { "session_id": fork, "name": "Observe" }] });
    let (status, reply) = server.post("/v1/step", &batch);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["results"][0]["session_id"], id.as_str());
    assert_eq!(
        (&reply["results"][1]["session_id"], &reply["results"][1]["steps"]),
        (&json!(fork), &json!(2))
    );

    let mut socket = connect(&server);
    send(&mut socket, &json!({ "id": 1, "op": "create", "env": "binary-search" }));
    let created = result(&receive(&mut socket)).clone();
    assert_prefixed(created["session_id"].as_str().expect("id"), "r2");
    send(&mut socket, &json!({ "id": 2, "op": "step", "session_id": id, "name": "Observe" }));
    assert_eq!(result(&receive(&mut socket))["steps"], 3);

    let metrics = server.text("/metrics");
    assert!(metrics.contains("\ncodegym_replica_info{replica=\"r2\"} 1\n"), "{metrics}");
    assert_eq!(server.delete(&format!("/v1/sessions/{id}")).1, json!({ "deleted": id }));
}

#[test]
fn ids_of_other_replicas_are_unknown_sessions() {
    let a = replica("a", None);
    let plain = TestServer::envs();
    let id = session_id(&a.create(json!({ "env": "binary-search" })));
    let digits = id.strip_prefix("a-").expect("prefixed");
    let plain_id = session_id(&plain.create(json!({ "env": "binary-search" })));
    let step = json!({ "name": "Observe" });

    // The same 16 digits under another name, under none, or under a prefix of the name.
    for other in [format!("b-{digits}"), digits.to_owned(), format!("aa-{digits}"), format!("-{digits}")] {
        assert_eq!(a.get(&format!("/v1/sessions/{other}")).0, 404, "{other}");
        assert_eq!(a.post(&format!("/v1/sessions/{other}/step"), &step).0, 404, "{other}");
        assert_eq!(a.post(&format!("/v1/sessions/{other}/fork"), &json!({})).0, 404, "{other}");
        let (status, reply) = a.delete(&format!("/v1/sessions/{other}"));
        assert_eq!(status, 404, "{other}");
        assert!(reply["error"].as_str().is_some_and(|e| e.contains("unknown session")), "{reply}");
        let (status, reply) =
            a.post("/v1/step", &json!({ "steps": [{ "session_id": other, "name": "Observe" }] }));
        assert_eq!((status, &reply["results"][0]["status"]), (200, &json!(404)), "{reply}");
    }
    // A server without a name knows no prefixed id, and a named one no bare id.
    assert_eq!(plain.get(&format!("/v1/sessions/a-{plain_id}")).0, 404);
    assert_eq!(a.get(&format!("/v1/sessions/{plain_id}")).0, 404);

    let mut socket = connect(&a);
    send(
        &mut socket,
        &json!({ "id": 1, "op": "step", "session_id": format!("b-{digits}"), "name": "Observe" }),
    );
    let reply = receive(&mut socket);
    assert_eq!((&reply["ok"], &reply["status"]), (&json!(false), &json!(404)), "{reply}");
    // None of it touched the session.
    assert_eq!(a.get(&format!("/v1/sessions/{id}")).1["steps"], 0);
}

#[test]
fn a_restart_under_the_same_name_keeps_every_id() {
    let data = tempfile::tempdir().expect("temp dir");
    let (ids, before) = {
        let server = replica("b", Some(data.path()));
        let ids: Vec<String> = (0..3)
            .map(|seed| session_id(&server.create(json!({ "env": "binary-search", "seed": seed }))))
            .collect();
        for (index, id) in ids.iter().enumerate() {
            server.step(id, "Get", &format!(r#"{{"index": {index}}}"#));
        }
        let before: Vec<Value> = ids.iter().map(|id| server.get(&format!("/v1/sessions/{id}")).1).collect();
        (ids, before)
    };
    let server = replica("b", Some(data.path()));
    assert_eq!(server.restored.restored, 3, "{:?}", server.restored);
    for (id, before) in ids.iter().zip(&before) {
        assert_prefixed(id, "b");
        assert_eq!(&server.get(&format!("/v1/sessions/{id}")).1, before, "{id} is back under the same id");
        assert_eq!(server.step(id, "Observe", "{}")["steps"], 2);
    }
}

#[test]
fn an_invalid_replica_name_is_refused() {
    for name in ["", "A", "a-b", "abcdefghijklmnopq", "a b"] {
        let config = codegym_server::ServerConfig { replica: Some(name.to_owned()), ..Default::default() };
        let error = match codegym_server::Server::new(config, crate::registry(&components("envs"))) {
            Ok(_) => panic!("`{name}` was accepted"),
            Err(error) => error.to_string(),
        };
        assert!(error.contains(&format!("invalid replica name `{name}`")), "{error}");
    }
}

#[test]
fn a_data_directory_is_refused_under_another_replica_name() {
    let data = tempfile::tempdir().expect("temp dir");
    let id = {
        let server = replica("a", Some(data.path()));
        session_id(&server.create(json!({ "env": "binary-search" })))
    };
    let open = |replica: Option<&str>| {
        let config = codegym_server::ServerConfig {
            replica: replica.map(str::to_owned),
            data_dir: Some(data.path().to_owned()),
            ..Default::default()
        };
        codegym_server::Server::new(config, crate::registry(&components("envs"))).map(drop)
    };
    let renamed = open(Some("b")).expect_err("renamed").to_string();
    assert!(renamed.contains("belongs to replica `a`") && renamed.contains("`--replica a`"), "{renamed}");
    let unnamed = open(None).expect_err("unnamed").to_string();
    assert!(unnamed.contains("belongs to replica `a`"), "{unnamed}");

    let server = replica("a", Some(data.path()));
    assert_eq!(server.restored.restored, 1, "refusing changed nothing: {id} is still there");
    assert_eq!(server.get(&format!("/v1/sessions/{id}")).0, 200);

    let plain = tempfile::tempdir().expect("temp dir");
    drop(TestServer::start(&components("envs"), |config| config.data_dir = Some(plain.path().to_owned())));
    let config = codegym_server::ServerConfig {
        replica: Some("a".into()),
        data_dir: Some(plain.path().to_owned()),
        ..Default::default()
    };
    let error = codegym_server::Server::new(config, crate::registry(&components("envs"))).map(drop);
    let error = error.expect_err("naming an unnamed server's directory").to_string();
    assert!(error.contains("a server without `--replica`") && error.contains("no `--replica`"), "{error}");
}
