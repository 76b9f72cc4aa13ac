//! The staff API's OpenAPI document, as the server serves it, against the
//! routes the code registers: every staff route and method is described
//! (a summary, its success and its refusals), and nothing else is.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::helpers::*;

/// Every `(path, method)` a `.route("/api/staff/…", get(…).post(…))` in
/// the server's sources registers.
fn registered_routes() -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    crate::layers::rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    let mut routes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let call = &rest[..closing(rest)];
            let Some(path) = call.trim_start().strip_prefix('"') else {
                continue;
            };
            let path = &path[..path.find('"').unwrap()];
            if !path.starts_with("/api/staff/") {
                continue;
            }
            let methods = &call[call.find(',').unwrap_or(call.len())..];
            for method in ["get", "post", "put", "patch", "delete"] {
                let called = methods.match_indices(&format!("{method}(")).any(|(i, _)| {
                    !methods[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if called {
                    routes.insert((path.to_owned(), method.to_owned()));
                }
            }
        }
    }
    routes
}

/// The length of a call's arguments: up to its unmatched `)`.
fn closing(text: &str) -> usize {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return i,
            ')' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

#[tokio::test]
async fn every_staff_route_is_described_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn(dir.path()).await;
    let response = reqwest::get(app.url("/api/staff/openapi.json"))
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "served without a credential");
    let doc: Value = response.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["staff_token"]["scheme"],
        "bearer"
    );

    let mut registered = registered_routes();
    registered.remove(&("/api/staff/openapi.json".to_owned(), "get".to_owned()));
    assert!(
        registered.len() > 30,
        "the scan finds the routes: {registered:?}"
    );
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            described.insert((path.clone(), method.clone()));
            let responses = op["responses"].as_object().unwrap();
            assert!(
                !op["summary"].as_str().unwrap_or_default().is_empty(),
                "{method} {path} has no summary"
            );
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} says no success"
            );
            assert!(responses.contains_key("401"), "{method} {path} says no 401");
            for parameter in op["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "path" {
                    let name = parameter["name"].as_str().unwrap();
                    assert!(
                        path.contains(&format!("{{{name}}}")),
                        "{method} {path}: {name}"
                    );
                }
            }
        }
    }
    let undescribed: Vec<_> = registered.difference(&described).collect();
    assert!(
        undescribed.is_empty(),
        "routes without a description: {undescribed:?}"
    );
    let stale: Vec<_> = described.difference(&registered).collect();
    assert!(stale.is_empty(), "described but not routed: {stale:?}");
    app.stop().await;
}

#[test]
fn the_scan_finds_chained_methods_only_in_staff_routes() {
    assert_eq!(
        closing("\"/a\", get(x).post(y)) rest"),
        "\"/a\", get(x).post(y)".len()
    );
    let routes = registered_routes();
    assert!(routes.contains(&("/api/staff/tickets/{id}".to_owned(), "patch".to_owned())));
    assert!(routes.contains(&("/api/staff/tickets/{id}".to_owned(), "get".to_owned())));
    assert!(!routes.iter().any(|(p, _)| p.starts_with("/api/sites/")));
}
